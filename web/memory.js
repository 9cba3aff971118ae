// Memory on the detail page: the 'Similar incidents' panel (the most similar earlier
// incidents, with their effective labels, state, time and resolution note) and the
// resolve note and triage feedback a responder leaves for the next incident.

import { api, describeError } from './api.js';
import { h, replace, badge, time } from './dom.js';

export const NOTE_MAX_BYTES = 4096; // docs/API.md: a resolution note, in UTF-8 bytes

export class SimilarPanel {
  constructor(id) {
    this.id = id;
    this.el = h('section', { class: 'card similar', id: 'similar-panel', 'aria-labelledby': 'h-similar' });
    this.token = 0;
  }

  async load() {
    const token = ++this.token;
    try {
      const r = await api.similar(this.id);
      if (token === this.token) this.render(r.items || []);
    } catch (e) {
      if (token !== this.token) return;
      replace(this.el, h('h2', { id: 'h-similar', text: 'Similar incidents' }),
        h('p', { class: 'notice error', text: describeError(e) }));
    }
  }

  render(items) {
    replace(this.el,
      h('h2', { id: 'h-similar', text: 'Similar incidents' }),
      items.length === 0 ? h('p', { class: 'muted', text: 'No similar earlier incidents.' }) :
        h('ol', { class: 'similar-list' }, items.map((s) => h('li', { class: 'similar-item', dataset: { id: String(s.id) } },
          h('div', { class: 'ev-head' },
            h('a', { href: `#/incidents/${s.id}`, text: `#${s.id} ${s.title}` }), ' ',
            h('span', { class: 'muted score', text: `${Math.round(s.score * 100)}% similar` })),
          h('div', { class: 'badges' }, badge('severity', s.severity), badge('category', s.category),
            badge('state', s.state), s.human_labelled ? h('span', { class: 'muted', text: 'confirmed by a responder' }) : null),
          h('div', { class: 'muted' }, 'Reported ', time(s.created_at),
            s.resolved_at ? [' · resolved ', time(s.resolved_at)] : null),
          s.resolution_note ? h('p', { class: 'resolution-note', text: s.resolution_note })
            : h('p', { class: 'muted', text: 'No resolution note.' })))));
  }
}

/** The resolve form (optional note, optional verdict on the triage). */
export function resolveForm(onResolve) {
  const note = h('textarea', { id: 'resolve-note', name: 'note', rows: 3,
    placeholder: 'What fixed it (optional), e.g. restarted the pgbouncer pool' });
  const feedback = h('select', { id: 'resolve-feedback', name: 'feedback' },
    h('option', { value: '', text: 'No verdict on the triage' }),
    h('option', { value: 'right', text: 'The triage was right' }),
    h('option', { value: 'wrong', text: 'The triage was wrong' }));
  const form = h('form', { class: 'resolve-form' },
    h('label', { for: 'resolve-note', text: 'Resolution note' }), note,
    h('label', { for: 'resolve-feedback', text: 'Triage' }), feedback,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn primary', id: 'action-resolve', text: 'Resolve' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = {};
    const text = note.value.trim();
    if (text) body.note = text;
    if (feedback.value) body.feedback = feedback.value;
    if (new TextEncoder().encode(text).length > NOTE_MAX_BYTES) {
      onResolve(null, `The note is over ${NOTE_MAX_BYTES} bytes.`);
      return;
    }
    onResolve(body, null);
  });
  form.button = form.querySelector('button');
  return form;
}

/** 'Triage right' / 'Triage wrong' without resolving. */
export function feedbackButtons(onFeedback) {
  return h('div', { class: 'row feedback', role: 'group', 'aria-label': 'Was the triage right?' },
    h('button', { type: 'button', class: 'btn small', id: 'feedback-right', text: 'Triage right',
      onclick: () => onFeedback('right') }),
    h('button', { type: 'button', class: 'btn small', id: 'feedback-wrong', text: 'Triage wrong',
      onclick: () => onFeedback('wrong') }));
}

// The form to report an incident: checked here against the API's limits, sent with an
// Idempotency-Key so a double submit or a retry after a lost answer creates one incident.

import { api, describeError } from './api.js';
import { h } from './dom.js';
import { TITLE_MAX_CHARS, DESCRIPTION_MAX_BYTES, SHORT_MAX, LABELS_MAX, LABEL_KEY_MAX,
  LABEL_VALUE_MAX } from './constants.js';

function field(id, label, control, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    control,
    hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null);
}

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** "key=value" per line -> object; throws Error with a sentence on a bad line. */
export function parseLabels(text) {
  const labels = {};
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > LABELS_MAX) throw new Error(`At most ${LABELS_MAX} labels.`);
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Label “${line.slice(0, 40)}” must look like key=value.`);
    const k = line.slice(0, eq).trim();
    const v = line.slice(eq + 1).trim();
    const enc = new TextEncoder();
    if (enc.encode(k).length > LABEL_KEY_MAX) throw new Error(`Label key “${k.slice(0, 40)}” is over ${LABEL_KEY_MAX} bytes.`);
    if (enc.encode(v).length > LABEL_VALUE_MAX) throw new Error(`Label value for “${k}” is over ${LABEL_VALUE_MAX} bytes.`);
    labels[k] = v;
  }
  return labels;
}

export class SubmitView {
  constructor({ onSubmitted }) {
    this.onSubmitted = onSubmitted;
    this.idempotencyKey = newIdempotencyKey();
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.button = h('button', { type: 'submit', class: 'btn primary', id: 'submit-incident', text: 'Submit incident' });
    this.form = h('form', { class: 'card form submit-form', novalidate: true },
      field('new-title', 'Title', h('input', { id: 'new-title', name: 'title', required: true, maxLength: TITLE_MAX_CHARS,
        autocomplete: 'off', 'aria-describedby': 'new-title-hint' }), `Required, up to ${TITLE_MAX_CHARS} characters.`),
      field('new-description', 'Description', h('textarea', { id: 'new-description', name: 'description', rows: '6',
        required: true, maxLength: DESCRIPTION_MAX_BYTES, 'aria-describedby': 'new-description-hint' }),
      'What is happening, since when, who is affected.'),
      h('div', { class: 'two' },
        field('new-source', 'Source (optional)', h('input', { id: 'new-source', name: 'source', maxLength: SHORT_MAX,
          autocomplete: 'off', placeholder: 'e.g. prometheus' })),
        field('new-service', 'Service (optional)', h('input', { id: 'new-service', name: 'service', maxLength: SHORT_MAX,
          autocomplete: 'off', placeholder: 'e.g. checkout' }))),
      field('new-labels', 'Labels (optional)', h('textarea', { id: 'new-labels', name: 'labels', rows: '3',
        placeholder: 'env=prod\nregion=eu-west-1', 'aria-describedby': 'new-labels-hint' }),
      'One key=value per line, at most 32.'),
      this.error,
      h('div', { class: 'row' }, this.button, h('a', { class: 'btn ghost', href: '#/incidents', text: 'Cancel' })));
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.form.addEventListener('input', () => { this.error.hidden = true; });
    this.el = h('section', { class: 'view submit', 'aria-labelledby': 'submit-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'submit-title', tabindex: '-1', text: 'New incident' })),
      this.form);
  }

  fail(text, focus) {
    this.error.textContent = text;
    this.error.hidden = false;
    focus?.focus();
  }

  async submit() {
    const f = this.form.elements;
    const title = f.title.value.trim();
    const description = f.description.value.trim();
    if (!title) return this.fail('Give the incident a title.', f.title);
    if (title.length > TITLE_MAX_CHARS) return this.fail(`The title is over ${TITLE_MAX_CHARS} characters.`, f.title);
    if (!description) return this.fail('Describe the incident.', f.description);
    if (new TextEncoder().encode(description).length > DESCRIPTION_MAX_BYTES) {
      return this.fail('The description is over 16 KiB.', f.description);
    }
    const body = { title, description };
    if (f.source.value.trim()) body.source = f.source.value.trim();
    if (f.service.value.trim()) body.service = f.service.value.trim();
    try {
      const labels = parseLabels(f.labels.value);
      if (Object.keys(labels).length) body.labels = labels;
    } catch (e) {
      return this.fail(e.message, f.labels);
    }
    this.button.disabled = true;
    this.button.textContent = 'Submitting…';
    try {
      const inc = await api.submit(body, this.idempotencyKey);
      this.idempotencyKey = newIdempotencyKey();
      this.form.reset();
      this.onSubmitted(inc);
    } catch (e) {
      this.fail(describeError(e));
    } finally {
      this.button.disabled = false;
      this.button.textContent = 'Submit incident';
    }
  }

  destroy() {}
}

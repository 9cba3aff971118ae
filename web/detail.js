// One incident: what was reported, the AI's triage, the responders' override beside it,
// actions (re-triage, acknowledge, resolve with a note), similar incidents and the full
// timeline, kept live.

import { api, describeError } from './api.js';
import { h, replace, badge, time } from './dom.js';
import { needsReview, reviewThreshold } from './review.js';
import { SEVERITIES, CATEGORIES } from './constants.js';
import { NotificationsCard } from './notifications.js';
import { SimilarPanel, resolveForm, feedbackButtons } from './memory.js';
import { can } from './roles.js';

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v, cls]) => [
    h('dt', { text: k }),
    h('dd', { class: cls }, v === null || v === undefined || v === '' ? h('span', { class: 'muted', text: '—' }) : v),
  ]));
}

// Links an alerting tool sent (generator, dashboard, panel, silence, ...): only http(s)
// URLs become links; anything else is shown as text.
function sourceLinks(links) {
  if (!Array.isArray(links) || links.length === 0) return null;
  return h('ul', { class: 'source-links' }, links.map((l) => {
    const safe = typeof l.href === 'string' && /^https?:\/\//i.test(l.href);
    const label = `${l.rel}${l.text ? `: ${l.text}` : ''}`;
    return h('li', {}, safe
      ? h('a', { href: l.href, rel: 'noopener noreferrer', target: '_blank', text: label })
      : h('span', { text: `${label}: ${l.href}` }));
  }));
}

function recurrence(inc) {
  if (!inc.recurrence_of) return null;
  const n = inc.recurrences_7d || 0;
  return h('span', {}, `recurred ${n} time${n === 1 ? '' : 's'} in 7 days; previous `,
    h('a', { href: `#/incidents/${Number(inc.recurrence_of)}`, text: `#${inc.recurrence_of}` }));
}

function pct(x) { return typeof x === 'number' ? `${Math.round(x * 100)}%` : null; }

function choice(id, label, values, current) {
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    h('select', { id },
      h('option', { value: '', text: 'AI’s answer (no override)' }),
      values.map((v) => h('option', { value: v, text: v, selected: v === current }))));
}

export class DetailView {
  constructor(id) {
    this.id = Number(id);
    this.incident = null;
    this.loadToken = 0;
    this.busy = false;
    this.build();
    this.load();
  }

  build() {
    this.title = h('h1', { tabindex: '-1', class: 'detail-title', text: `Incident #${this.id}` });
    this.badges = h('div', { class: 'badges' });
    this.notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
    this.retriageBtn = h('button', { type: 'button', class: 'btn', id: 'action-retriage', text: 'Re-triage',
      onclick: () => this.act('retriage', 'Re-triage requested.') });
    this.ackBtn = h('button', { type: 'button', class: 'btn', id: 'action-acknowledge', text: 'Acknowledge',
      onclick: () => this.act('acknowledge', 'Acknowledged.') });
    this.resolveForm = resolveForm((body, error) => {
      if (error) { this.actionMsg.className = 'action-msg error'; this.actionMsg.textContent = error; return; }
      this.act('resolve', 'Resolved.', body);
    });
    this.resolveBtn = this.resolveForm.button;
    this.feedbackEl = feedbackButtons((verdict) => this.act('feedback', `Feedback saved: the triage was ${verdict}.`, verdict));
    this.similar = new SimilarPanel(this.id);
    this.actionMsg = h('p', { class: 'action-msg', role: 'status', 'aria-live': 'polite' });
    this.reported = h('section', { class: 'card reported', 'aria-labelledby': 'h-reported' });
    this.ai = h('section', { class: 'card ai', 'aria-labelledby': 'h-ai' });
    this.human = h('section', { class: 'card human', 'aria-labelledby': 'h-human' });
    this.timeline = h('section', { class: 'card timeline', 'aria-labelledby': 'h-timeline' });
    this.notifications = new NotificationsCard(this.id);
    this.body = h('div', { class: 'detail-grid', hidden: true },
      this.reported, this.ai, this.human, this.similar.el, this.timeline, this.notifications.el);
    this.el = h('section', { class: 'view detail' },
      h('p', { class: 'back' }, h('a', { href: '#/incidents', text: '← All incidents' })),
      h('div', { class: 'view-head' }, this.title, this.badges),
      this.notice,
      can('responder') ? h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
        this.retriageBtn, this.ackBtn, this.resolveForm) : null,
      this.actionMsg,
      this.body);
    this.buildOverrideForm();
  }

  buildOverrideForm() {
    this.sevSelect = choice('override-severity', 'Severity', SEVERITIES, null).querySelector('select');
    this.catSelect = choice('override-category', 'Category', CATEGORIES, null).querySelector('select');
    this.overrideForm = h('form', { class: 'override-form' },
      this.sevSelect.parentNode, this.catSelect.parentNode,
      h('div', { class: 'row' },
        h('button', { type: 'submit', class: 'btn primary', id: 'override-save', text: 'Save override' }),
        h('button', { type: 'button', class: 'btn ghost', id: 'override-clear', text: 'Clear override',
          onclick: () => this.saveOverride({ severity: null, category: null }) })));
    this.overrideForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.saveOverride({ severity: this.sevSelect.value || null, category: this.catSelect.value || null });
    });
    this.overrideForm.addEventListener('change', () => { this.overrideDirty = true; });
  }

  /** Reads the incident; calls during a read cause one more read after it. */
  async load() {
    if (this.reading) { this.readAgain = true; return; }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        await this.read();
      } while (this.readAgain && !this.destroyed);
    } finally {
      this.reading = false;
    }
  }

  async read() {
    const token = ++this.loadToken;
    if (!this.incident) this.notice.textContent = 'Loading…';
    try {
      const inc = await api.get(this.id);
      if (token !== this.loadToken) return;
      this.show(inc);
      this.notice.replaceChildren();
      this.notice.className = 'notice';
    } catch (e) {
      if (token !== this.loadToken) return;
      this.notice.className = 'notice error';
      if (e.status === 404) {
        replace(this.notice, `There is no incident #${this.id}.`);
        this.body.hidden = true;
      } else {
        replace(this.notice, h('span', { text: describeError(e) }),
          h('button', { type: 'button', class: 'btn small', text: 'Retry', onclick: () => this.load() }));
      }
    }
  }

  onIncident(ev) {
    if (ev.id !== this.id) return;
    if (this.incident && this.incident.version >= ev.version && ev.kind !== 'deduplicated') return;
    this.load();
  }

  resync() { this.load(); }

  show(inc) {
    this.incident = inc;
    this.title.textContent = `#${inc.id} ${inc.title}`;
    document.title = `#${inc.id} ${inc.title} · Incident triage`;
    replace(this.badges, badge('status', inc.status), badge('severity', inc.severity),
      badge('category', inc.category), badge('state', inc.state));
    this.renderReported(inc);
    this.renderAI(inc);
    this.renderHuman(inc);
    this.renderTimeline(inc.timeline || []);
    this.notifications.load();
    if (this.similarState !== inc.state) { this.similarState = inc.state; this.similar.load(); }
    this.body.hidden = false;
    this.updateButtons();
  }

  updateButtons() {
    const inc = this.incident;
    const inFlight = inc.status === 'submitted' || inc.status === 'processing';
    this.retriageBtn.disabled = this.busy || inFlight;
    this.retriageBtn.title = inFlight ? 'Triage is already under way' : '';
    this.ackBtn.disabled = this.busy || inc.state !== 'open';
    this.resolveBtn.disabled = this.busy || inc.state === 'resolved';
    this.resolveForm.querySelectorAll('textarea, select').forEach((f) => { f.disabled = inc.state === 'resolved'; });
    this.feedbackEl.querySelectorAll('button').forEach((b) => { b.disabled = this.busy; });
  }

  renderReported(inc) {
    const labels = Object.entries(inc.labels || {});
    replace(this.reported,
      h('h2', { id: 'h-reported', text: 'Reported' }),
      h('p', { class: 'description', text: inc.description }),
      dl([
        ['Source', inc.source],
        ['Service', inc.service],
        ['Labels', labels.length ? h('ul', { class: 'labels' },
          labels.map(([k, v]) => h('li', {}, h('span', { class: 'label-key', text: k }), '=', h('span', { text: v })))) : null],
        ['Dedup key', inc.dedup_key],
        ['Source severity', inc.source_severity, 'source-severity'],
        ['Source links', sourceLinks(inc.source_links), 'source-links'],
        ['Occurrences', String(inc.occurrence_count ?? 1), 'occurrences'],
        ['Recurrences', recurrence(inc), 'recurrences'],
        ['Created', time(inc.created_at)],
        ['Last seen', time(inc.last_seen_at)],
        ['Acknowledged', inc.acknowledged_at ? time(inc.acknowledged_at) : null],
        ['Resolved', inc.resolved_at ? time(inc.resolved_at) : null],
        ['Resolution note', inc.resolution_note, 'resolution-note'],
        ['Triage feedback', inc.triage_feedback, 'triage-feedback'],
        ['Attempt', String(inc.attempt ?? 0)],
      ]));
  }

  renderAI(inc) {
    const t = inc.triage;
    const parts = [h('h2', { id: 'h-ai', text: 'AI triage' })];
    if (inc.status === 'failed') {
      parts.push(h('div', { class: 'failure', role: 'note' },
        h('strong', { text: 'Triage failed: ' }),
        h('span', { class: 'failure-reason', text: inc.failure_reason || 'unknown reason' }),
        inc.failure_detail ? h('p', { class: 'failure-detail', text: inc.failure_detail }) : null,
        h('p', { class: 'muted', text: 'Use Re-triage once the cause is fixed.' })));
    } else if (inc.status === 'submitted' || inc.status === 'processing') {
      parts.push(h('p', { class: 'pending', text: inc.status === 'submitted'
        ? 'Waiting for an enricher…' : 'An enricher is triaging this incident…' }));
    }
    if (!t) {
      if (inc.status !== 'failed' && inc.status !== 'submitted' && inc.status !== 'processing') {
        parts.push(h('p', { class: 'muted', text: 'No triage yet.' }));
      }
      replace(this.ai, parts);
      return;
    }
    if (inc.status !== 'triaged') parts.push(h('p', { class: 'muted', text: 'The answer below is from an earlier attempt.' }));
    const rules = t.backend === 'rules';
    if (rules) {
      parts.push(h('p', { class: 'rules-label', text: 'Built-in rules: no language model was used for this triage.' }));
    }
    if (needsReview(inc)) {
      parts.push(h('p', { class: 'needs-review', role: 'note', text: `Needs review: confidence ${pct(t.confidence)} is below ${pct(reviewThreshold())}. Confirm or override the severity and category.` }));
    }
    parts.push(
      h('p', { class: 'summary', text: t.summary }),
      dl([
        ['Severity', badge('severity', t.severity), 'ai-severity'],
        ['Category', badge('category', t.category), 'ai-category'],
        ['Confidence', pct(t.confidence), 'confidence'],
        ['Backend', rules ? 'built-in rules' : t.backend === 'model' ? 'built-in model' : t.backend, 'backend'],
        ['Model', t.model, 'model'],
        ['Prompt version', t.prompt_version],
        ['Latency', typeof t.latency_ms === 'number' ? `${t.latency_ms} ms` : null, 'latency'],
        ['Tokens', t.prompt_tokens || t.completion_tokens ? `${t.prompt_tokens ?? '?'} in · ${t.completion_tokens ?? '?'} out` : null],
        ['Triaged', time(t.triaged_at)],
        ['Similar incidents used', (t.similar_used || []).length
          ? t.similar_used.map((id) => `#${id}`).join(', ') : null, 'similar-used'],
      ]),
      h('h3', { text: 'Suggested actions' }),
      (t.suggested_actions || []).length
        ? h('ol', { class: 'suggested' }, t.suggested_actions.map((a) => h('li', { text: a })))
        : h('p', { class: 'muted', text: 'None suggested.' }),
      can('responder') ? this.feedbackEl : null);
    replace(this.ai, parts);
  }

  renderHuman(inc) {
    const o = inc.override || {};
    if (!this.overrideDirty) {
      this.sevSelect.value = o.severity || '';
      this.catSelect.value = o.category || '';
    }
    replace(this.human,
      h('h2', { id: 'h-human', text: 'Responder override' }),
      h('p', { class: 'muted', text: 'The effective values below are used by filters; the AI’s answer stays as it was.' }),
      dl([
        ['Effective severity', h('span', {}, badge('severity', inc.severity),
          o.severity ? h('span', { class: 'muted', text: ' (override)' }) : null), 'effective-severity'],
        ['Effective category', h('span', {}, badge('category', inc.category),
          o.category ? h('span', { class: 'muted', text: ' (override)' }) : null), 'effective-category'],
        ['Override severity', o.severity ? badge('severity', o.severity) : null, 'override-severity'],
        ['Override category', o.category ? badge('category', o.category) : null, 'override-category'],
      ]),
      can('responder') ? this.overrideForm : null);
  }

  renderTimeline(entries) {
    replace(this.timeline,
      h('h2', { id: 'h-timeline', text: 'Timeline' }),
      entries.length === 0 ? h('p', { class: 'muted', text: 'No events yet.' }) :
        h('ol', { class: 'events' }, entries.map((e) => h('li', { dataset: { kind: String(e.kind) } },
          h('div', { class: 'ev-head' },
            time(e.at), ' ',
            h('strong', { class: 'ev-kind', text: e.kind }),
            e.status ? [' ', badge('status', e.status)] : null,
            e.attempt ? h('span', { class: 'muted', text: ` attempt ${e.attempt}` }) : null,
            e.actor ? h('span', { class: 'muted', text: ` by ${e.actor}` }) : null),
          this.detailFacts(e.detail)))));
  }

  detailFacts(detail) {
    if (!detail || typeof detail !== 'object') return null;
    const entries = Object.entries(detail);
    if (!entries.length) return null;
    return h('dl', { class: 'ev-detail' }, entries.map(([k, v]) => [
      h('dt', { text: k }),
      h('dd', { text: typeof v === 'string' ? v : JSON.stringify(v) }),
    ]));
  }

  async act(action, done, arg) {
    this.busy = true;
    this.updateButtons();
    this.actionMsg.className = 'action-msg';
    this.actionMsg.textContent = 'Working…';
    try {
      const inc = await api[action](this.id, arg);
      this.actionMsg.textContent = done;
      if (inc && inc.id === this.id && !inc.timeline) this.incident = { ...this.incident, ...inc };
    } catch (e) {
      this.actionMsg.className = 'action-msg error';
      this.actionMsg.textContent = e.status === 409 ? `Not possible now: ${e.detail}` : describeError(e);
    } finally {
      this.busy = false;
      this.updateButtons();
    }
    this.load();
  }

  async saveOverride(patch) {
    this.actionMsg.className = 'action-msg';
    this.actionMsg.textContent = 'Saving override…';
    try {
      await api.override(this.id, patch);
      this.overrideDirty = false;
      this.actionMsg.textContent = patch.severity || patch.category ? 'Override saved.' : 'Override cleared.';
    } catch (e) {
      this.actionMsg.className = 'action-msg error';
      this.actionMsg.textContent = describeError(e);
    }
    this.load();
  }

  destroy() { this.destroyed = true; this.loadToken++; this.notifications.destroy(); document.title = 'Incident triage'; }
}

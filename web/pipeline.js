// The pipeline panel: counts by status, enrichers, triage latency, failure rate, the
// model in use (changeable through PUT /settings) and incidents over time by severity.

import { api, describeError } from './api.js';
import { h, replace } from './dom.js';
import { severityChart } from './chart.js';
import { can } from './roles.js';

const REFRESH_THROTTLE_MS = 1000;
const REFRESH_EVERY_MS = 30000; // latency and the hourly buckets move without events too
const MODEL_RE = /^[A-Za-z0-9._:/-]{1,255}$/;

function stat(label, value, cls) {
  return h('div', { class: ['stat', cls] }, h('div', { class: 'stat-value', text: value }),
    h('div', { class: 'stat-label', text: label }));
}

export class PipelineView {
  constructor() {
    this.notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
    this.stats = h('div', { class: 'stats-grid', 'aria-live': 'off' });
    this.chart = h('div', { class: 'card chart-card' });
    this.modelInput = h('input', { id: 'model-input', name: 'model', required: true, maxLength: 255,
      autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9._:/\\-]{1,255}' });
    this.modelMsg = h('p', { class: 'action-msg', role: 'status', 'aria-live': 'polite' });
    this.modelCurrent = h('strong', { class: 'model-current', text: '…' });
    const form = h('form', { class: 'card form model-form', novalidate: true },
      h('h2', { text: 'Model' }),
      h('p', {}, 'In use: ', this.modelCurrent),
      h('label', { for: 'model-input', text: 'Change model' }),
      h('div', { class: 'row' }, this.modelInput,
        h('button', { type: 'submit', class: 'btn primary', id: 'model-save', text: 'Use this model' })),
      h('p', { class: 'hint', text: 'Takes effect for the next incident dispatched; no restart needed.' }),
      this.modelMsg);
    form.addEventListener('submit', (e) => { e.preventDefault(); this.saveModel(); });
    this.el = h('section', { class: 'view pipeline', 'aria-labelledby': 'pipeline-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'pipeline-title', tabindex: '-1', text: 'Pipeline' })),
      this.notice, this.stats,
      h('div', { class: 'pipeline-grid' }, this.chart, can('admin') ? form : null));
    this.token = 0;
    this.timer = setInterval(() => this.load(), REFRESH_EVERY_MS);
    this.load();
    this.loadModel();
  }

  async load() {
    const token = ++this.token;
    if (!this.loaded) this.notice.textContent = 'Loading…';
    try {
      const s = await api.stats();
      if (token !== this.token) return;
      this.loaded = true;
      this.render(s);
      this.notice.replaceChildren();
      this.notice.className = 'notice';
    } catch (e) {
      if (token !== this.token) return;
      this.notice.className = 'notice error';
      replace(this.notice, h('span', { text: describeError(e) }),
        h('button', { type: 'button', class: 'btn small', text: 'Retry', onclick: () => this.load() }));
    }
  }

  render(s) {
    const c = s.counts || {};
    const e = s.enrichers || {};
    const l = s.triage_latency_ms || {};
    const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
    replace(this.stats,
      stat('submitted', String(c.submitted ?? 0), 'status-submitted'),
      stat('processing', String(c.processing ?? 0), 'status-processing'),
      stat('triaged', String(c.triaged ?? 0), 'status-triaged'),
      stat('failed', String(c.failed ?? 0), 'status-failed'),
      stat('enrichers active', `${e.active ?? 0}`, 'enrichers'),
      stat('slots busy', `${e.busy ?? 0} / ${e.slots ?? 0}`, 'slots'),
      stat('triage p50', ms(l.p50), 'p50'),
      stat('triage p95', ms(l.p95), 'p95'),
      stat('failure rate', typeof s.failure_rate === 'number' ? `${(s.failure_rate * 100).toFixed(1)}%` : '—', 'failure-rate'),
      stat('backends', (s.backends || []).join(', ') || '—', 'backends'));
    if (s.model) this.modelCurrent.textContent = s.model;
    replace(this.chart, h('h2', { text: 'Incidents over time' }),
      (s.series || []).length ? severityChart(s.series) : h('p', { class: 'muted', text: 'No data yet.' }));
  }

  async loadModel() {
    try {
      const st = await api.settings();
      this.modelCurrent.textContent = st.model;
      if (!this.modelInput.value) this.modelInput.value = st.model;
    } catch (e) {
      this.modelMsg.className = 'action-msg error';
      this.modelMsg.textContent = describeError(e);
    }
  }

  async saveModel() {
    const model = this.modelInput.value.trim();
    if (!MODEL_RE.test(model)) {
      this.modelMsg.className = 'action-msg error';
      this.modelMsg.textContent = 'A model name is 1–255 characters of letters, digits and . _ : / -';
      this.modelInput.focus();
      return;
    }
    this.modelMsg.className = 'action-msg';
    this.modelMsg.textContent = 'Saving…';
    try {
      const st = await api.setModel(model);
      this.modelCurrent.textContent = st?.model || model;
      this.modelMsg.textContent = `Now using ${st?.model || model} for new triage jobs.`;
    } catch (e) {
      this.modelMsg.className = 'action-msg error';
      this.modelMsg.textContent = describeError(e);
    }
  }

  /** Events re-read the stats at most once per REFRESH_THROTTLE_MS, even in a flood. */
  onIncident() {
    if (this.throttle) return;
    this.throttle = setTimeout(() => { this.throttle = null; this.load(); }, REFRESH_THROTTLE_MS);
  }

  resync() { this.load(); }

  destroy() { this.token++; clearInterval(this.timer); clearTimeout(this.throttle); }
}

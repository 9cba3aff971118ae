// The Channels page (admin): notification channels with their delivery health, a form
// to add or edit one (secrets are write-only: never shown, left unchanged when empty),
// and per channel: send a test, enable/disable, delete.

import { api, describeError } from './api.js';
import { h, replace, time } from './dom.js';
import { SEVERITIES, CATEGORIES } from './constants.js';

const EVENTS = [['triaged', 'Triaged'], ['severity_raised', 'Severity raised'], ['resolved', 'Resolved']];
const REFRESH_EVERY_MS = 10000;

function checks(name, values) {
  return h('div', { class: 'checks', role: 'group', 'aria-label': name },
    values.map(([v, label]) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name, value: v }), ` ${label}`)));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function setChecked(form, name, values) {
  for (const i of form.querySelectorAll(`input[name="${name}"]`)) i.checked = values.includes(i.value);
}

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
    hint ? h('p', { class: 'hint', text: hint }) : null);
}

export class ChannelsView {
  constructor() {
    this.notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
    this.list = h('div', { class: 'table-wrap' });
    this.msg = h('p', { class: 'action-msg', role: 'status', 'aria-live': 'polite' });
    this.editing = null;
    this.buildForm();
    this.el = h('section', { class: 'view channels', 'aria-labelledby': 'channels-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'channels-title', tabindex: '-1', text: 'Channels' })),
      h('p', { class: 'muted', text: 'Where notifications go: webhooks (signed) and Slack-compatible incoming webhooks. Admins only.' }),
      this.notice, this.list, this.msg, this.form);
    this.token = 0;
    this.timer = setInterval(() => this.load(), REFRESH_EVERY_MS);
    this.load();
  }

  buildForm() {
    this.inputs = {
      name: h('input', { maxLength: 100, required: true, autocomplete: 'off' }),
      kind: h('select', {}, h('option', { value: 'webhook', text: 'Webhook (JSON, signed)' }),
        h('option', { value: 'slack', text: 'Slack-compatible (Slack, Mattermost, Rocket.Chat)' })),
      url: h('input', { type: 'url', maxLength: 1000, required: true, autocomplete: 'off', spellcheck: 'false' }),
      secret: h('input', { type: 'password', maxLength: 255, autocomplete: 'new-password' }),
      min_severity: h('select', {}, h('option', { value: '', text: 'any' }),
        SEVERITIES.map((s) => h('option', { value: s, text: `${s} and above` }))),
      services: h('input', { autocomplete: 'off', placeholder: 'all services' }),
      hold_down_s: h('input', { type: 'number', min: '0', max: '86400', value: '0' }),
    };
    const i = this.inputs;
    this.formTitle = h('h2', { text: 'Add a channel' });
    this.saveBtn = h('button', { type: 'submit', class: 'btn primary', id: 'channel-save', text: 'Add channel' });
    this.cancelBtn = h('button', { type: 'button', class: 'btn ghost', text: 'Cancel edit', hidden: true,
      onclick: () => this.edit(null) });
    this.formMsg = h('p', { class: 'action-msg', role: 'status', 'aria-live': 'polite' });
    this.form = h('form', { class: 'card form channel-form', novalidate: true },
      this.formTitle,
      h('div', { class: 'two' }, field('channel-name', 'Name', i.name), field('channel-kind', 'Kind', i.kind)),
      field('channel-url', 'URL', i.url),
      field('channel-secret', 'Secret (webhook HMAC key)', i.secret,
        'Write-only: it is never shown. Leave empty when editing to keep the current one.'),
      h('div', { class: 'two' }, field('channel-min-severity', 'Minimum severity', i.min_severity),
        field('channel-hold-down', 'Hold-down (seconds)', i.hold_down_s,
          'Wait before notifying; nothing is sent if the incident is resolved meanwhile.')),
      h('fieldset', {}, h('legend', { text: 'Events' }), checks('events', EVENTS)),
      h('fieldset', {}, h('legend', { text: 'Categories (none ticked: all)' }),
        checks('categories', CATEGORIES.map((c) => [c, c]))),
      field('channel-services', 'Services (comma-separated; empty: all)', i.services),
      h('div', { class: 'row' }, this.saveBtn, this.cancelBtn),
      this.formMsg);
    setChecked(this.form, 'events', EVENTS.map(([v]) => v));
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
  }

  async load() {
    const token = ++this.token;
    if (!this.channels) this.notice.textContent = 'Loading…';
    try {
      const r = await api.channels();
      if (token !== this.token) return;
      this.channels = r.channels || [];
      this.render();
      this.notice.replaceChildren();
      this.notice.className = 'notice';
    } catch (e) {
      if (token !== this.token) return;
      this.notice.className = 'notice error';
      replace(this.notice, h('span', { text: describeError(e) }),
        h('button', { type: 'button', class: 'btn small', text: 'Retry', onclick: () => this.load() }));
    }
  }

  render() {
    if (!this.channels.length) {
      replace(this.list, h('p', { class: 'muted empty', text: 'No channels yet: add one below.' }));
      return;
    }
    const rules = (c) => [c.min_severity ? `${c.min_severity}+` : 'any severity',
      c.categories.length ? c.categories.join(', ') : 'all categories',
      c.services.length ? c.services.join(', ') : 'all services',
      c.events.join(', '), c.hold_down_s ? `hold ${c.hold_down_s}s` : null].filter(Boolean).join(' · ');
    replace(this.list, h('table', { class: 'incidents channel-table' },
      h('thead', {}, h('tr', {}, ['Channel', 'Rules', 'Delivery health', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, this.channels.map((c) => {
        const hl = c.health || {};
        const sick = hl.failed_24h > 0 || hl.retrying > 0;
        return h('tr', { dataset: { channel: String(c.id) } },
          h('td', { class: 'c-title' }, h('strong', { text: c.name }),
            h('div', { class: 'sub', text: `${c.kind} → ${c.url}` }),
            c.enabled ? null : h('span', { class: 'badge none', text: 'disabled' })),
          h('td', { text: rules(c) }),
          h('td', { class: ['health', sick ? 'health-bad' : 'health-ok'] },
            h('div', { text: `${hl.sent_24h ?? 0} sent, ${hl.failed_24h ?? 0} failed (24 h)` }),
            h('div', { text: `${hl.pending ?? 0} queued${hl.retrying ? `, ${hl.retrying} retrying` : ''}` }),
            h('div', { class: 'sub' }, 'last sent ', time(hl.last_sent_at)),
            hl.last_error ? h('div', { class: 'sub error-text', text: `last error: ${hl.last_error}` }) : null),
          h('td', { class: 'row' },
            h('button', { type: 'button', class: 'btn small', text: 'Send test', onclick: () => this.test(c) }),
            h('button', { type: 'button', class: 'btn small', text: 'Edit', onclick: () => this.edit(c) }),
            h('button', { type: 'button', class: 'btn small', text: c.enabled ? 'Disable' : 'Enable',
              onclick: () => this.run(api.updateChannel(c.id, { enabled: !c.enabled }), `${c.name} ${c.enabled ? 'disabled' : 'enabled'}.`) }),
            h('button', { type: 'button', class: 'btn small ghost', text: 'Delete', onclick: () => this.remove(c) })));
      }))));
  }

  edit(c) {
    this.editing = c;
    const i = this.inputs;
    this.formTitle.textContent = c ? `Edit ${c.name}` : 'Add a channel';
    this.saveBtn.textContent = c ? 'Save changes' : 'Add channel';
    this.cancelBtn.hidden = !c;
    i.name.value = c?.name || '';
    i.kind.value = c?.kind || 'webhook';
    i.url.value = c && c.kind !== 'slack' ? c.url : '';
    i.url.placeholder = c?.kind === 'slack' ? 'unchanged (the URL is a secret)' : '';
    i.secret.value = '';
    i.min_severity.value = c?.min_severity || '';
    i.services.value = (c?.services || []).join(', ');
    i.hold_down_s.value = String(c?.hold_down_s ?? 0);
    setChecked(this.form, 'events', c ? c.events : EVENTS.map(([v]) => v));
    setChecked(this.form, 'categories', c ? c.categories : []);
    this.formMsg.textContent = '';
    if (c) i.name.focus();
  }

  body() {
    const i = this.inputs;
    const b = {
      name: i.name.value.trim(), kind: i.kind.value,
      min_severity: i.min_severity.value || null,
      categories: checked(this.form, 'categories'), events: checked(this.form, 'events'),
      services: i.services.value.split(',').map((s) => s.trim()).filter(Boolean),
      hold_down_s: Number(i.hold_down_s.value || 0),
    };
    if (i.url.value.trim()) b.url = i.url.value.trim();
    if (i.secret.value) b.secret = i.secret.value;
    return b;
  }

  async save() {
    const b = this.body();
    if (!b.events.length) { this.fail(this.formMsg, 'Tick at least one event.'); return; }
    if (!Number.isInteger(b.hold_down_s) || b.hold_down_s < 0 || b.hold_down_s > 86400) {
      this.fail(this.formMsg, 'Hold-down is a whole number of seconds, 0 to 86400.'); return;
    }
    this.formMsg.className = 'action-msg';
    this.formMsg.textContent = 'Saving…';
    try {
      if (this.editing) await api.updateChannel(this.editing.id, b);
      else await api.createChannel(b);
      this.formMsg.textContent = this.editing ? `Saved ${b.name}.` : `Added ${b.name}.`;
      this.edit(null);
      this.formMsg.textContent = 'Saved.';
      this.load();
    } catch (e) {
      this.fail(this.formMsg, describeError(e));
    }
  }

  async test(c) {
    await this.run(api.testChannel(c.id).then((r) => r), `Test delivery queued for ${c.name}; its outcome shows in the health column.`);
  }

  async remove(c) {
    if (!window.confirm(`Delete channel ${c.name}? Its queued notifications are dropped.`)) return;
    await this.run(api.deleteChannel(c.id), `${c.name} deleted.`);
  }

  async run(promise, done) {
    this.msg.className = 'action-msg';
    this.msg.textContent = 'Working…';
    try {
      await promise;
      this.msg.textContent = done;
      this.load();
    } catch (e) {
      this.fail(this.msg, describeError(e));
    }
  }

  fail(el, text) {
    el.className = 'action-msg error';
    el.textContent = text;
  }

  onIncident() {}

  resync() { this.load(); }

  destroy() { this.token++; clearInterval(this.timer); }
}

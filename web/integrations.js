// The Integrations page: the exact URL, header and configuration to paste into
// Alertmanager, Grafana and a PagerDuty client for this gateway, and the last event
// each source delivered (GET /integrations). The key is never shown: "<your key>".

import { api, describeError } from './api.js';
import { h, replace, time } from './dom.js';

const REFRESH_EVERY_MS = 15000;

function sources(origin) {
  return [
    { id: 'alertmanager', name: 'Prometheus Alertmanager',
      url: `${origin}/integrations/alertmanager`,
      header: 'Authorization: Bearer <your key>',
      config: ['receivers:', '  - name: triage', '    webhook_configs:',
        `      - url: ${origin}/integrations/alertmanager`, '        send_resolved: true',
        '        http_config:', '          authorization:', '            type: Bearer',
        '            credentials: <your key>'].join('\n') },
    { id: 'grafana', name: 'Grafana (webhook contact point)',
      url: `${origin}/integrations/grafana`,
      header: 'Basic auth: any user name, password <your key> (or Authorization: Bearer <your key>)',
      config: ['type: webhook', 'settings:', `  url: ${origin}/integrations/grafana`,
        '  httpMethod: POST', '  username: grafana', '  password: <your key>'].join('\n') },
    { id: 'pagerduty', name: 'PagerDuty Events API v2 clients',
      url: `${origin}/v2/enqueue`,
      header: 'No header: "routing_key": "<your 32-character key>" in the body',
      config: ['# Alertmanager pagerduty_configs, or any Events API v2 client:',
        '- routing_key: <your 32-character key>', `  url: ${origin}/v2/enqueue`].join('\n') },
  ];
}

function summaryText(s) {
  const parts = Object.entries(s || {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : 'nothing changed';
}

export class IntegrationsView {
  constructor() {
    this.notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
    this.cards = {};
    const list = sources(location.origin).map((s) => {
      const last = h('dd', { class: 'last-event', id: `last-${s.id}`, text: 'none received yet' });
      this.cards[s.id] = last;
      return h('section', { class: 'card integration', id: `integration-${s.id}`,
        'aria-labelledby': `h-${s.id}` },
        h('h2', { id: `h-${s.id}`, text: s.name }),
        h('dl', { class: 'facts' },
          h('dt', { text: 'URL' }), h('dd', {}, h('code', { class: 'int-url', text: s.url })),
          h('dt', { text: 'Auth' }), h('dd', {}, h('code', { class: 'int-header', text: s.header })),
          h('dt', { text: 'Last event' }), last),
        h('pre', { class: 'int-config' }, h('code', { text: s.config })));
    });
    this.el = h('section', { class: 'view integrations', 'aria-labelledby': 'integrations-title' },
      h('div', { class: 'view-head' },
        h('h1', { id: 'integrations-title', tabindex: '-1', text: 'Integrations' })),
      h('p', { class: 'muted', text: 'Alerts in: paste these into your alerting tools. '
        + 'Repeats of an open alert count as occurrences; a retried delivery counts once.' }),
      this.notice, list,
      // Outbound notifications (delivery health) live on the Channels page.
      h('p', { id: 'channels-slot' }, 'Notifications out: ',
        h('a', { href: '#/channels', text: 'Channels' })));
    this.token = 0;
    this.timer = setInterval(() => this.load(), REFRESH_EVERY_MS);
    this.load();
  }

  async load() {
    const token = ++this.token;
    try {
      const r = await api.integrations();
      if (token !== this.token) return;
      this.notice.replaceChildren();
      this.notice.className = 'notice';
      for (const s of r.sources || []) {
        const dd = this.cards[s.source];
        if (!dd) continue;
        replace(dd, time(s.last_at), ` — ${s.last_events} event${s.last_events === 1 ? '' : 's'}`
          + ` (${summaryText(s.last_summary)}); ${s.deliveries} deliveries, ${s.events} events in all`);
      }
    } catch (e) {
      if (token !== this.token) return;
      this.notice.className = 'notice error';
      replace(this.notice, h('span', { text: describeError(e) }),
        h('button', { type: 'button', class: 'btn small', text: 'Retry', onclick: () => this.load() }));
    }
  }

  onIncident() {}
  resync() { this.load(); }
  destroy() { clearInterval(this.timer); this.token++; }
}

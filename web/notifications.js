// The incident detail's "Notifications" card: what this incident sent to which channel,
// and how each delivery went (GET /incidents/{id}/notifications). Deliveries change
// without incident events, so while one is unfinished the card re-reads itself.

import { api, describeError } from './api.js';
import { h, replace, time, safeClass } from './dom.js';

const RECHECK_MS = 3000;
const EVENT_TEXT = { triaged: 'triaged', severity_raised: 'severity raised', resolved: 'resolved' };

export class NotificationsCard {
  constructor(id) {
    this.id = id;
    this.token = 0;
    this.el = h('section', { class: 'card notifications', 'aria-labelledby': 'h-notifications' },
      h('h2', { id: 'h-notifications', text: 'Notifications' }));
  }

  async load() {
    const token = ++this.token;
    clearTimeout(this.timer);
    try {
      const r = await api.notifications(this.id);
      if (token !== this.token) return;
      const list = r.notifications || [];
      this.render(list);
      if (list.some((n) => n.state === 'pending' || n.state === 'sending')) {
        this.timer = setTimeout(() => this.load(), RECHECK_MS);
      }
    } catch (e) {
      if (token !== this.token) return;
      replace(this.el, h('h2', { id: 'h-notifications', text: 'Notifications' }),
        h('p', { class: 'error', text: describeError(e) }));
    }
  }

  render(list) {
    replace(this.el, h('h2', { id: 'h-notifications', text: 'Notifications' }),
      list.length === 0 ? h('p', { class: 'muted', text: 'None sent: no channel matched, or none is configured.' }) :
        h('ul', { class: 'deliveries' }, list.map((n) => h('li', { dataset: { state: safeClass(n.state) } },
          h('strong', { text: EVENT_TEXT[n.event] || n.event }), ' → ',
          h('span', { text: `${n.channel?.name} (${n.channel?.kind})` }), ' ',
          h('span', { class: ['badge', 'delivery', `delivery-${safeClass(n.state)}`], text: n.state }),
          h('span', { class: 'muted', text: ` ${n.attempts} attempt${n.attempts === 1 ? '' : 's'} ` }),
          time(n.finished_at || n.due_at),
          n.last_error && n.state !== 'sent' ? h('div', { class: 'sub', text: n.last_error }) : null))));
  }

  destroy() { this.token++; clearTimeout(this.timer); }
}

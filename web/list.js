// The incident list: newest first, filters and search, cursor paging. Only the current
// page is in the DOM; live events update its rows in place and insert new incidents.

import { api, describeError } from './api.js';
import { h, replace, badge, time } from './dom.js';
import { needsReview } from './review.js';
import { STATUSES, SEVERITIES, CATEGORIES, STATES } from './constants.js';

const MAX_LIVE_ROWS = 400; // a page that grew this much from live inserts is re-read
const MAX_QUEUED_EVENTS = 1000;
const NEW_BATCH_MS = 150; // new incidents arriving within this window are handled together
const NEW_BATCH_MAX = 5; // more than this at once: re-read the page instead

function select(name, label, values) {
  const id = `filter-${name}`;
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    h('select', { id, name },
      h('option', { value: '', text: 'Any' }),
      values.map((v) => h('option', { value: v, text: v }))));
}

export class ListView {
  constructor() {
    this.filters = { status: '', severity: '', category: '', state: '', q: '' };
    this.limit = 50;
    this.cursors = [null]; // cursors[i] opens page i
    this.page = 0;
    this.nextCursor = null;
    this.rows = new Map(); // id -> <tr>, the rows on screen
    this.loadToken = 0;
    this.loading = false;
    this.queued = []; // events that arrived during a load, replayed after it
    this.fetching = new Map(); // id -> 'busy' | 'again'
    this.highlightId = null;
    this.pendingNew = new Set();
    this.newTimer = null;
    this.build();
    this.load();
  }

  build() {
    this.form = h('form', { class: 'filters card', role: 'search', 'aria-label': 'Filter incidents' },
      select('status', 'Status', STATUSES),
      select('severity', 'Severity', SEVERITIES),
      select('category', 'Category', CATEGORIES),
      select('state', 'State', STATES),
      h('div', { class: 'field grow' },
        h('label', { for: 'filter-q', text: 'Search' }),
        h('input', { id: 'filter-q', name: 'q', type: 'search', maxLength: 200,
          placeholder: 'Title or description', autocomplete: 'off' })),
      h('div', { class: 'field' },
        h('label', { for: 'filter-limit', text: 'Per page' }),
        h('select', { id: 'filter-limit', name: 'limit' },
          [25, 50, 100, 200].map((n) => h('option', { value: String(n), text: String(n), selected: n === this.limit })))),
      h('div', { class: 'field actions-end' },
        h('button', { type: 'reset', class: 'btn ghost', text: 'Clear filters' })));
    this.form.addEventListener('change', (e) => { if (e.target.name !== 'q') this.applyFilters(); });
    this.form.addEventListener('input', (e) => {
      if (e.target.name !== 'q') return;
      clearTimeout(this.qTimer);
      this.qTimer = setTimeout(() => this.applyFilters(), 300);
    });
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.applyFilters(); });
    this.form.addEventListener('reset', () => setTimeout(() => this.applyFilters(), 0));

    // On phones the filters fold away behind their summary; open on wider screens.
    this.filterSummary = h('summary', { text: 'Filters' });
    this.filterBox = h('details', { class: 'filter-box', open: window.matchMedia('(min-width: 721px)').matches },
      this.filterSummary, this.form);
    this.notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
    this.tbody = h('tbody');
    this.table = h('table', { class: 'incidents' },
      h('caption', { class: 'sr-only', text: 'Incidents, newest first' }),
      h('thead', {}, h('tr', {},
        ['#', 'Title', 'Status', 'Severity', 'Category', 'State', 'Seen', 'Created']
          .map((t) => h('th', { scope: 'col', text: t })))),
      this.tbody);
    this.empty = h('div', { class: 'empty', hidden: true });
    this.prevBtn = h('button', { type: 'button', class: 'btn', text: '← Newer', onclick: () => this.goPage(-1) });
    this.nextBtn = h('button', { type: 'button', class: 'btn', text: 'Older →', onclick: () => this.goPage(1) });
    this.pageLabel = h('span', { class: 'muted' });
    this.el = h('section', { class: 'view list', 'aria-labelledby': 'list-title' },
      h('div', { class: 'view-head' },
        h('h1', { id: 'list-title', tabindex: '-1', text: 'Incidents' }),
        h('a', { class: 'btn primary', href: '#/new', text: 'New incident' })),
      this.filterBox,
      this.notice,
      h('div', { class: 'table-wrap' }, this.table),
      this.empty,
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, this.prevBtn, this.pageLabel, this.nextBtn));
  }

  applyFilters() {
    clearTimeout(this.qTimer);
    const fd = new FormData(this.form);
    const before = JSON.stringify([this.filters, this.limit]);
    for (const k of Object.keys(this.filters)) this.filters[k] = String(fd.get(k) || '').trim();
    this.limit = Number(fd.get('limit')) || 50;
    if (JSON.stringify([this.filters, this.limit]) === before) return; // nothing changed
    const active = Object.values(this.filters).filter(Boolean).length;
    this.filterSummary.textContent = active ? `Filters (${active} active)` : 'Filters';
    this.cursors = [null];
    this.page = 0;
    this.load();
  }

  goPage(delta) {
    if (delta > 0 && this.nextCursor) {
      this.cursors[this.page + 1] = this.nextCursor;
      this.page++;
    } else if (delta < 0 && this.page > 0) {
      this.page--;
    } else {
      return;
    }
    this.load();
    this.table.focus?.();
  }

  /** Reads the current page again (after a resync, a reconnect or navigation). */
  resync() { this.load(); }

  /** Shows the incident just submitted (the gateway's answer) at once and marks it;
   * the next read and the live stream bring it up to date in place. */
  highlight(inc) {
    this.highlightId = inc?.id ?? null;
    if (inc && !this.rows.has(inc.id) && this.page === 0 && this.matches(inc)) this.insert(inc);
  }

  async load() {
    const token = ++this.loadToken;
    this.loading = true;
    this.table.setAttribute('aria-busy', 'true');
    if (this.rows.size === 0) this.setNotice('loading', 'Loading incidents…');
    try {
      const params = { ...this.filters, limit: this.limit, cursor: this.cursors[this.page] };
      const page = await api.list(params);
      if (token !== this.loadToken) return;
      this.nextCursor = page.next_cursor || null;
      this.render(page.items || []);
      this.setNotice(null);
    } catch (e) {
      if (token !== this.loadToken) return;
      if (e.status === 400 && this.page > 0) { // a cursor the gateway no longer takes
        this.cursors = [null];
        this.page = 0;
        this.load();
        return;
      }
      this.setNotice('error', describeError(e), true);
    } finally {
      if (token === this.loadToken) {
        this.loading = false;
        this.table.removeAttribute('aria-busy');
        const queued = this.queued;
        this.queued = [];
        for (const ev of queued) this.onIncident(ev);
      }
    }
  }

  setNotice(kind, text, retry) {
    if (!kind) { this.notice.replaceChildren(); this.notice.className = 'notice'; return; }
    this.notice.className = `notice ${kind}`;
    replace(this.notice, h('span', { text }),
      retry ? h('button', { type: 'button', class: 'btn small', text: 'Retry', onclick: () => this.load() }) : null);
  }

  render(items) {
    const keep = new Set();
    let i = 0;
    for (const inc of items) {
      keep.add(inc.id);
      let tr = this.rows.get(inc.id);
      if (!tr) {
        tr = this.makeRow(inc.id);
        this.rows.set(inc.id, tr);
      }
      this.fillRow(tr, inc);
      const at = this.tbody.children[i];
      if (at !== tr) this.tbody.insertBefore(tr, at || null);
      i++;
    }
    for (const [id, tr] of this.rows) {
      if (!keep.has(id)) { tr.remove(); this.rows.delete(id); }
    }
    this.updateChrome();
  }

  updateChrome() {
    const n = this.rows.size;
    const filtered = Object.values(this.filters).some(Boolean);
    this.empty.hidden = n > 0;
    if (n === 0) {
      replace(this.empty,
        h('p', { text: filtered ? 'No incidents match these filters.' : 'No incidents yet.' }),
        filtered ? null : h('p', {}, h('a', { href: '#/new', text: 'Submit the first one' })));
    }
    this.table.hidden = n === 0;
    this.prevBtn.disabled = this.page === 0;
    this.nextBtn.disabled = !this.nextCursor;
    this.pageLabel.textContent = `Page ${this.page + 1} · ${n} shown`;
  }

  /** A row's cells are made once; updates change their contents, so a focused title
   * link keeps its focus while the row changes under it. */
  makeRow(id) {
    const cells = {
      id: h('td', { class: 'c-id', 'data-label': '#', text: `#${id}` }),
      link: h('a', { href: `#/incidents/${Number(id)}` }),
      sub: h('div', { class: 'sub' }),
      status: h('td', { class: 'c-status', 'data-label': 'Status' }),
      severity: h('td', { class: 'c-severity', 'data-label': 'Severity' }),
      category: h('td', { class: 'c-category', 'data-label': 'Category' }),
      state: h('td', { class: 'c-state', 'data-label': 'State' }),
      count: h('td', { class: 'c-count', 'data-label': 'Seen' }),
      created: h('td', { class: 'c-created', 'data-label': 'Created' }),
    };
    const tr = h('tr', { dataset: { id: String(id) } },
      cells.id, h('td', { class: 'c-title', 'data-label': 'Title' }, cells.link, cells.sub),
      cells.status, cells.severity, cells.category, cells.state, cells.count, cells.created);
    tr._cells = cells;
    tr.addEventListener('animationend', () => tr.classList.remove('flash'));
    return tr;
  }

  fillRow(tr, inc) {
    const prev = tr._incident;
    if (prev && prev.version > inc.version) return; // an older read than the one shown
    if (prev && prev.version === inc.version && prev.updated_at === inc.updated_at
        && prev.occurrence_count === inc.occurrence_count) return;
    tr._incident = inc;
    const c = tr._cells;
    const mark = () => h('span', { class: 'overridden', title: 'Set by a responder', text: ' ✎' });
    if (c.link.textContent !== inc.title) c.link.textContent = inc.title;
    c.sub.textContent = [inc.service, inc.source].filter(Boolean).join(' · ');
    c.sub.hidden = !c.sub.textContent;
    replace(c.status, badge('status', inc.status));
    replace(c.severity, badge('severity', inc.severity), inc.override?.severity ? mark() : null);
    replace(c.category, badge('category', inc.category), inc.override?.category ? mark() : null);
    replace(c.state, badge('state', inc.state), needsReview(inc)
      ? h('span', { class: 'needs-review', title: 'Low confidence: a responder should check the triage', text: 'needs review' })
      : null);
    c.count.textContent = `×${inc.occurrence_count ?? 1}`;
    if (!prev) replace(c.created, time(inc.created_at));
    tr.classList.toggle('has-override', Boolean(inc.override?.severity || inc.override?.category));
    if (prev && prev.status !== inc.status) this.flash(tr);
    if (!prev && inc.id === this.highlightId) { this.flash(tr); this.highlightId = null; }
  }

  flash(tr) {
    tr.classList.remove('flash');
    void tr.offsetWidth; // restart the animation
    tr.classList.add('flash');
  }

  matches(inc) {
    const f = this.filters;
    if (f.status && inc.status !== f.status) return false;
    if (f.severity && inc.severity !== f.severity) return false;
    if (f.category && inc.category !== f.category) return false;
    if (f.state && inc.state !== f.state) return false;
    if (f.q) {
      const q = f.q.toLowerCase();
      if (!`${inc.title}\n${inc.description}`.toLowerCase().includes(q)) return false;
    }
    return true;
  }

  /** An `incident` event: refresh its row if shown, insert it if new and wanted. */
  onIncident(ev) {
    if (this.loading) {
      if (this.queued.length < MAX_QUEUED_EVENTS) this.queued.push(ev);
      else { this.queued = []; this.load(); }
      return;
    }
    const tr = this.rows.get(ev.id);
    if (tr) {
      if (tr._incident && tr._incident.version >= ev.version) return;
      this.fetchOne(ev.id);
      return;
    }
    if (this.page !== 0) return;
    let newest = 0;
    for (const id of this.rows.keys()) newest = Math.max(newest, id);
    if (ev.id <= newest && this.rows.size > 0) return;
    // New incidents: a few are fetched one by one; a burst becomes one read of the page.
    this.pendingNew.add(ev.id);
    if (!this.newTimer) this.newTimer = setTimeout(() => this.flushNew(), NEW_BATCH_MS);
  }

  flushNew() {
    this.newTimer = null;
    const ids = [...this.pendingNew];
    this.pendingNew.clear();
    if (ids.length > NEW_BATCH_MAX) this.load();
    else for (const id of ids) this.fetchOne(id);
  }

  async fetchOne(id) {
    if (this.fetching.has(id)) { this.fetching.set(id, 'again'); return; }
    this.fetching.set(id, 'busy');
    const token = this.loadToken;
    try {
      const inc = await api.get(id);
      if (token !== this.loadToken) return;
      const tr = this.rows.get(id);
      if (tr) this.fillRow(tr, inc);
      else if (this.page === 0 && this.matches(inc)) this.insert(inc);
    } catch (e) {
      if (e.status !== 404) this.setNotice('error', describeError(e), true);
    } finally {
      const again = this.fetching.get(id) === 'again';
      this.fetching.delete(id);
      if (again) this.fetchOne(id);
    }
  }

  insert(inc) {
    if (this.rows.size >= MAX_LIVE_ROWS) { this.load(); return; }
    const tr = this.makeRow(inc.id);
    this.rows.set(inc.id, tr);
    this.fillRow(tr, inc);
    let before = null;
    for (const row of this.tbody.children) {
      if (Number(row.dataset.id) < inc.id) { before = row; break; }
    }
    this.tbody.insertBefore(tr, before);
    this.flash(tr);
    this.updateChrome();
  }

  destroy() { this.loadToken++; clearTimeout(this.qTimer); clearTimeout(this.newTimer); }
}

// A stacked bar chart of incidents per hour by severity, drawn as SVG through DOM APIs
// (colours come from CSS classes), with the same figures as a table for screen readers.

import { h, svg } from './dom.js';

export const SERIES_KEYS = ['critical', 'high', 'medium', 'low', 'untriaged'];

function hourLabel(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** series: [{t, critical, high, medium, low, untriaged}] -> <figure>. */
export function severityChart(series) {
  const W = 720; const H = 240;
  const pad = { l: 36, r: 8, t: 10, b: 28 };
  const n = Math.max(series.length, 1);
  const totals = series.map((b) => SERIES_KEYS.reduce((s, k) => s + (Number(b[k]) || 0), 0));
  const max = Math.max(1, ...totals);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const bw = plotW / n;
  const y = (v) => pad.t + plotH - (v / top) * plotH;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `Incidents per hour by severity over the last ${series.length} hours; busiest hour had ${max}.` });
  for (let v = 0; v <= top; v += step) {
    root.appendChild(svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: pad.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v)));
  }
  series.forEach((b, i) => {
    let acc = 0;
    const g = svg('g', { class: 'bar' });
    const x = pad.l + i * bw + bw * 0.12;
    for (const k of SERIES_KEYS) {
      const v = Number(b[k]) || 0;
      if (v <= 0) continue;
      g.appendChild(svg('rect', { x, width: Math.max(bw * 0.76, 1), y: y(acc + v), height: y(acc) - y(acc + v),
        class: `seg sev-${k}` }, svg('title', {}, `${hourLabel(b.t)}: ${v} ${k}`)));
      acc += v;
    }
    root.appendChild(g);
    if (i % Math.ceil(n / 8) === 0) {
      root.appendChild(svg('text', { x: pad.l + i * bw + bw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' },
        hourLabel(b.t)));
    }
  });

  const legend = h('ul', { class: 'legend' }, SERIES_KEYS.map((k) =>
    h('li', {}, h('span', { class: `swatch sev-${k}`, 'aria-hidden': 'true' }), k)));
  const table = h('table', { class: 'sr-only' },
    h('caption', { text: 'Incidents per hour by severity' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Hour' }),
      SERIES_KEYS.map((k) => h('th', { scope: 'col', text: k })))),
    h('tbody', {}, series.map((b) => h('tr', {}, h('th', { scope: 'row', text: hourLabel(b.t) }),
      SERIES_KEYS.map((k) => h('td', { text: String(Number(b[k]) || 0) }))))));
  return h('figure', { class: 'chart-figure' },
    root, legend, table,
    h('figcaption', { class: 'muted', text: 'Incidents created per hour, last 24 hours, by effective severity.' }));
}

function niceStep(max) {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * mag) return Math.max(1, m * mag);
  return Math.max(1, 10 * mag);
}

// DOM building for the dashboard: every piece of incident data becomes a text node.
// There is no path from data to HTML parsing here (no innerHTML, no style attributes).

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'required',
  'htmlFor', 'type', 'name', 'id', 'placeholder', 'maxLength', 'autocomplete']);

/** h('tag', {class, text, onclick, dataset, ...attrs}, ...children) -> Element.
 * Children are nodes, strings (as text), arrays, or null/false (skipped). */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** The same for SVG elements. */
export function svg(tag, props, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

function build(el, props, children) {
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'style' || k === 'innerHTML' || k === 'outerHTML' || k === 'srcdoc') {
        throw new Error(`h(): refusing to set ${k}`);
      }
      if (k === 'class') {
        el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (k.startsWith('on')) {
        if (typeof v !== 'function') throw new Error(`h(): ${k} must be a function`);
        el.addEventListener(k.slice(2), v);
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v);
      } else if (PROPS.has(k) && !(el instanceof SVGElement)) {
        el[k] = v;
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, strings as text, nested arrays; null/false skipped). */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A time element: local date and time, ISO in datetime. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', { text: iso });
  return h('time', { datetime: iso, title: iso, text: formatTime(d) });
}

export function formatTime(d) {
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (sameDay) return t;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${t}`;
}

/** A small coloured label: kind is status|severity|category|state. */
export function badge(kind, value, extra) {
  if (value === null || value === undefined || value === '') {
    return h('span', { class: `badge ${kind} none`, text: '—' });
  }
  return h('span', { class: ['badge', kind, `${kind}-${safeClass(value)}`, extra], text: value });
}

/** Restricts a data value to a class-name-safe token. */
export function safeClass(v) {
  return String(v).toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 40);
}

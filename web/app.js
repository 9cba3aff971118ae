// Dashboard entry point: sign-in with an API key, hash routing (#/incidents,
// #/incidents/42, #/new, #/pipeline) and the live stream feeding the view on screen.

import { api, session, setUnauthorizedHandler, describeError } from './api.js';
import { EventStream } from './stream.js';
import { h } from './dom.js';
import { ListView } from './list.js';
import { DetailView } from './detail.js';
import { SubmitView } from './submit.js';
import { PipelineView } from './pipeline.js';
import { setRole, can } from './roles.js';
import { loadReviewThreshold } from './review.js';

const $ = (id) => document.getElementById(id);

const CONN_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unreachable: 'gateway unreachable',
};

const app = {
  view: null, // the view on screen: {el, onIncident(ev), resync(reason), destroy()}
  list: null, // the incident list outlives navigation, so filters and page are kept
  stream: null,
  routeKey: null,
};

function showConn(state) {
  const conn = $('conn');
  conn.dataset.state = state;
  conn.querySelector('.conn-text').textContent = CONN_TEXT[state] || state;
  conn.title = state === 'live' ? 'Receiving live updates' : 'Live updates paused; the page re-reads state on reconnect';
  $('retry-stream').hidden = state !== 'unreachable';
  const down = state === 'unreachable' || state === 'reconnecting';
  document.body.classList.toggle('stream-down', down);
  $('stream-banner').hidden = !down;
  $('stream-banner-text').textContent = state === 'unreachable'
    ? 'Gateway unreachable. Live updates are paused; the page retries by itself and re-reads everything when it is back.'
    : 'Live stream lost: reconnecting… What is on screen will be re-read when it is back.';
}

function startStream() {
  app.stream?.stop();
  app.stream = new EventStream(() => session.key(), {
    onEvent: (type, data) => {
      if (type === 'incident' && data && Number.isInteger(data.id)) app.view?.onIncident?.(data);
    },
    onResync: (reason) => app.view?.resync?.(reason),
    onState: showConn,
    onUnauthorized: () => signOut('Key rejected: the gateway no longer accepts this API key.'),
  });
  app.stream.start();
}

function showSignin(message) {
  $('stream-banner').hidden = true;
  $('nav').hidden = true;
  $('session').hidden = true;
  $('view').hidden = true;
  $('signin').hidden = false;
  const err = $('signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('signin-key').focus();
}

function signOut(message) {
  app.stream?.stop();
  app.stream = null;
  session.clear();
  app.view?.destroy?.();
  app.view = null;
  app.list?.destroy?.();
  app.list = null;
  app.routeKey = null;
  $('view').replaceChildren();
  showSignin(message);
}

async function signIn(ev) {
  ev.preventDefault();
  const input = $('signin-key');
  const key = input.value.trim();
  const err = $('signin-error');
  if (!key || !/^[\x21-\x7e]{1,512}$/.test(key)) {
    err.textContent = key ? 'An API key is printable ASCII without spaces.' : 'Enter an API key.';
    err.hidden = false;
    input.focus();
    return;
  }
  const button = $('signin-submit');
  button.disabled = true;
  button.textContent = 'Checking…';
  try {
    const me = await api.check(key);
    session.set(key);
    setRole(me?.role);
    input.value = '';
    err.hidden = true;
    enter();
  } catch (e) {
    err.textContent = describeError(e);
    err.hidden = false;
    input.select();
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

/** After a reload the key is in the session but its role is not: ask the gateway. */
async function resume() {
  try {
    const me = await api.whoami();
    setRole(me?.role);
    enter();
  } catch (e) {
    if (e.status !== 401) showSignin(describeError(e));
  }
}

function enter() {
  $('nav-new').hidden = !can('reporter');
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  $('view').hidden = false;
  loadReviewThreshold();
  startStream();
  route(false);
}

function parseRoute() {
  const hash = location.hash || '#/incidents';
  if (hash === '#/' || hash === '#' || hash === '#/incidents') return { name: 'incidents', key: 'incidents' };
  const m = /^#\/incidents\/(\d{1,18})$/.exec(hash);
  if (m) return { name: 'detail', id: m[1], key: `detail/${m[1]}` };
  if (hash === '#/new') return { name: 'new', key: 'new' };
  if (hash === '#/pipeline') return { name: 'pipeline', key: 'pipeline' };
  return { name: 'notfound', key: `notfound/${hash}` };
}

function route(moveFocus = true) {
  if (!session.key()) { showSignin(); return; }
  const r = parseRoute();
  if (r.key === app.routeKey) return;
  app.routeKey = r.key;
  if (app.view && app.view !== app.list) app.view.destroy?.();
  app.view = null;
  let v;
  switch (r.name) {
    case 'incidents':
      if (!app.list) app.list = new ListView();
      else app.list.resync('navigation');
      v = app.list;
      break;
    case 'detail': v = new DetailView(r.id); break;
    case 'new': v = !can('reporter') ? { el: h('section', { class: 'view' },
      h('h1', { tabindex: '-1', text: 'Not allowed' }),
      h('p', { text: 'This key may read incidents but not submit them.' }),
      h('p', {}, h('a', { href: '#/incidents', text: 'Back to the incidents' }))) }
      : new SubmitView({ onSubmitted: (inc) => {
      if (!app.list) app.list = new ListView();
      app.list.highlight(inc);
      location.hash = '#/incidents';
    } }); break;
    case 'pipeline': v = new PipelineView(); break;
    default:
      v = { el: h('section', { class: 'view' },
        h('h1', { tabindex: '-1', text: 'Page not found' }),
        h('p', {}, h('a', { href: '#/incidents', text: 'Back to the incidents' }))) };
  }
  app.view = v;
  $('view').replaceChildren(v.el);
  for (const a of document.querySelectorAll('#nav a')) {
    const active = a.dataset.route === r.name || (r.name === 'detail' && a.dataset.route === 'incidents');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (moveFocus) v.el.querySelector('h1')?.focus({ preventScroll: false });
}

function init() {
  setUnauthorizedHandler(() => signOut('Key rejected: the gateway no longer accepts this API key.'));
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => signOut());
  $('retry-stream').addEventListener('click', () => app.stream?.retryNow());
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    $('main').focus();
  });
  window.addEventListener('hashchange', () => route(true));
  window.addEventListener('online', () => app.stream?.retryNow());
  if (session.key()) resume();
  else showSignin();
}

init();

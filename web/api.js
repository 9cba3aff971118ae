// The gateway's HTTP API as used by the dashboard: the key travels in the X-API-KEY
// header only, errors become ApiError with the gateway's {"error","detail"}.

const KEY_SLOT = 'triage.apiKey';

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error || `HTTP ${status}`);
    this.status = status; // 0: the gateway could not be reached
    this.error = error;
    this.detail = detail;
  }
}

/** The key lives in sessionStorage (this tab's session) and nowhere else. */
export const session = {
  key() { return sessionStorage.getItem(KEY_SLOT); },
  set(key) { sessionStorage.setItem(KEY_SLOT, key); },
  clear() { sessionStorage.removeItem(KEY_SLOT); },
};

let onUnauthorized = () => {};
/** fn() is called when the gateway answers 401 to a signed-in request. */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** One request; resolves to the parsed JSON body, rejects with ApiError. opts.key
 * overrides the session key (used to check a key before keeping it). */
export async function request(method, path, body, opts = {}) {
  const key = opts.key ?? session.key();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (key) headers['X-API-KEY'] = key;
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'The gateway could not be reached.');
  }
  let data = null;
  const text = await r.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, data?.error || `http_${r.status}`,
      data?.detail || r.statusText || `HTTP ${r.status}`);
    if (r.status === 401 && opts.key === undefined) onUnauthorized(err);
    throw err;
  }
  return data;
}

const qs = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
};

export const api = {
  check: (key) => request('GET', '/whoami', undefined, { key }),
  whoami: () => request('GET', '/whoami'),
  list: (params) => request('GET', `/incidents${qs(params)}`),
  get: (id) => request('GET', `/incidents/${encodeURIComponent(id)}`),
  submit: (incident, idempotencyKey) => request('POST', '/incidents', incident,
    idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}),
  retriage: (id) => request('POST', `/incidents/${encodeURIComponent(id)}/retriage`),
  acknowledge: (id) => request('POST', `/incidents/${encodeURIComponent(id)}/acknowledge`),
  resolve: (id, body) => request('POST', `/incidents/${encodeURIComponent(id)}/resolve`, body),
  feedback: (id, feedback) => request('POST', `/incidents/${encodeURIComponent(id)}/feedback`, { feedback }),
  similar: (id) => request('GET', `/incidents/${encodeURIComponent(id)}/similar`),
  override: (id, patch) => request('PATCH', `/incidents/${encodeURIComponent(id)}`, patch),
  stats: () => request('GET', '/stats'),
  settings: () => request('GET', '/settings'),
  setModel: (model) => request('PUT', '/settings', { model }),
  integrations: () => request('GET', '/integrations'),
  notifications: (id) => request('GET', `/incidents/${encodeURIComponent(id)}/notifications`),
  channels: () => request('GET', '/channels'),
  createChannel: (c) => request('POST', '/channels', c),
  updateChannel: (id, c) => request('PATCH', `/channels/${encodeURIComponent(id)}`, c),
  deleteChannel: (id) => request('DELETE', `/channels/${encodeURIComponent(id)}`),
  testChannel: (id) => request('POST', `/channels/${encodeURIComponent(id)}/test`),
};

/** A human sentence for an error, for the page. */
export function describeError(e) {
  if (!(e instanceof ApiError)) return `Unexpected error: ${e?.message || e}`;
  if (e.status === 0) return 'Gateway unreachable: check that it is running, then retry.';
  if (e.status === 401) return 'Key rejected: the gateway does not accept this API key.';
  if (e.status === 403) return `Not allowed for this key: ${e.detail}`;
  if (e.status === 429) return `Too many requests: ${e.detail}. Try again shortly.`;
  if (e.status === 503) return `The pipeline is busy or the database is unavailable (${e.detail}). Try again shortly.`;
  return e.detail ? `${e.detail}` : `Request failed (${e.status} ${e.error}).`;
}

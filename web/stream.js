// The live stream: GET /events read through fetch (EventSource cannot send the key
// header), parsed as Server-Sent Events, reconnected with backoff and Last-Event-ID.

const HEARTBEAT_TIMEOUT_MS = 45000; // the gateway sends a comment every 15 s
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const UNREACHABLE_AFTER = 2; // failed attempts in a row before saying so

/** Incremental SSE parser: feed() text chunks, get frames {event, id, data}. */
export class SSEParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.buf = '';
    this.reset();
  }

  reset() { this.event = ''; this.data = []; this.id = null; }

  feed(chunk) {
    this.buf += chunk;
    if (this.buf.length > 1 << 20) throw new Error('SSE line too long');
    let nl;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sep = this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1;
      // A lone \r at the end of the buffer may be the first half of \r\n: wait.
      if (this.buf[nl] === '\r' && nl + 1 === this.buf.length) break;
      this.buf = this.buf.slice(nl + sep);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length || this.event) {
        this.onFrame({ event: this.event || 'message', id: this.id, data: this.data.join('\n') });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) { this.onFrame({ comment: line.slice(1) }); return; }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/**
 * EventStream: keeps one /events stream open while started.
 *   handlers.onEvent(type, data, id)  each frame with JSON data (hello, incident, ...)
 *   handlers.onResync(reason)         current state must be re-read (connected, resync)
 *   handlers.onState(state)           'connecting' | 'live' | 'reconnecting' | 'unreachable'
 *   handlers.onUnauthorized()         the key was refused (the stream stops)
 */
export class EventStream {
  constructor(getKey, handlers) {
    this.getKey = getKey;
    this.h = handlers;
    this.lastId = null;
    this.running = false;
    this.state = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.abort?.abort();
    clearTimeout(this.watchdog);
    this.wake?.();
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    this.h.onState(s);
  }

  async loop() {
    let failures = 0;
    while (this.running) {
      this.setState(failures === 0 ? 'connecting' : failures >= UNREACHABLE_AFTER ? 'unreachable' : 'reconnecting');
      const abort = new AbortController();
      this.abort = abort;
      try {
        const headers = { 'X-API-KEY': this.getKey() || '', Accept: 'text/event-stream' };
        if (this.lastId) headers['Last-Event-ID'] = this.lastId;
        const r = await fetch('/events', { headers, signal: abort.signal, cache: 'no-store' });
        if (r.status === 401) {
          this.running = false;
          this.h.onUnauthorized();
          return;
        }
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        failures = 0;
        this.setState('live');
        // Whatever happened while we were not listening is re-read now.
        this.h.onResync('connected');
        await this.read(r.body, abort);
      } catch (e) {
        if (!this.running) return;
      } finally {
        clearTimeout(this.watchdog);
      }
      if (!this.running) return;
      failures++;
      this.setState(failures >= UNREACHABLE_AFTER ? 'unreachable' : 'reconnecting');
      const base = BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)];
      await this.pause(base / 2 + Math.random() * base / 2);
    }
  }

  pause(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }

  /** Reconnects now (e.g. the user pressed retry, or the tab came back online). */
  retryNow() { this.wake?.(); }

  async read(body, abort) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const arm = () => {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => abort.abort(), HEARTBEAT_TIMEOUT_MS);
    };
    const parser = new SSEParser((f) => this.frame(f));
    arm();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      arm();
      parser.feed(value);
    }
  }

  frame(f) {
    if (f.comment !== undefined) return; // heartbeat
    // The id goes back in a header: keep only what a header can carry.
    if (f.id && /^[\x21-\x7e]{1,128}$/.test(f.id)) this.lastId = f.id;
    let data = null;
    try { data = f.data ? JSON.parse(f.data) : null; } catch { data = null; }
    if (f.event === 'resync') this.h.onResync(data?.reason || 'resync');
    else this.h.onEvent(f.event, data, f.id);
  }
}

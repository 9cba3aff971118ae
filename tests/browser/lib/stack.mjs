// A whole private pipeline for the browser tests, run by the Python harness's CLI
// (tests/harness/cli.py): PostgreSQL, store, gateway, enrichers and the fake LLM server.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.TRIAGE_SOURCE_DIR || path.resolve(HERE, '..', '..', '..');
const TESTS_DIR = path.join(SOURCE_DIR, 'tests');
export const TMP_ROOT = process.env.TRIAGE_TEST_TMP || path.join(SOURCE_DIR, 'build', 'testrun');
export const ARTIFACTS = process.env.TRIAGE_ARTIFACTS || path.join(SOURCE_DIR, 'build', 'artifacts');

/** Polls cond() (sync or async) until it returns something truthy and returns that;
 * throws with `what` after timeout ms. The only way these tests wait outside the page. */
export async function waitFor(cond, { timeout = 15000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export class Stack {
  /** Starts the pipeline; resolves once the gateway is ready. opts.llm: 'fake' | 'rules'. */
  static async start({ llm = 'fake', enrichers = 2, name = 'browser', notifier = false } = {}) {
    fs.mkdirSync(TMP_ROOT, { recursive: true });
    const dir = fs.mkdtempSync(path.join(TMP_ROOT, `${name}-js-`));
    const info = path.join(dir, 'stack.json');
    const log = path.join(dir, 'harness.log');
    const out = fs.openSync(log, 'a');
    const env = { ...process.env, PYTHONPATH: TESTS_DIR + (process.env.PYTHONPATH ? `:${process.env.PYTHONPATH}` : '') };
    const proc = spawn('python3', ['-m', 'harness.cli', '--info', info, '--llm', llm,
      '--enrichers', String(enrichers), '--name', name, ...(notifier ? ['--notifier'] : [])], { cwd: TESTS_DIR, env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const stack = new Stack(proc, dir, log);
    try {
      await waitFor(() => stack.exited !== null || fs.existsSync(info),
        { timeout: 120000, interval: 100, what: 'the harness to start the pipeline' });
      if (stack.exited !== null) throw new Error(`the harness exited (${stack.exited}):\n${stack.logTail()}`);
      Object.assign(stack, JSON.parse(fs.readFileSync(info, 'utf8')));
    } catch (e) {
      await stack.stop().catch(() => {});
      throw e;
    }
    return stack;
  }

  constructor(proc, dir, log) {
    this.proc = proc;
    this.dir = dir;
    this.logPath = log;
    this.exited = null;
    this.exitPromise = new Promise((resolve) => proc.on('exit', (code, sig) => {
      this.exited = code ?? sig;
      resolve(this.exited);
    }));
  }

  logTail(n = 4000) {
    try { return fs.readFileSync(this.logPath, 'utf8').slice(-n); } catch { return ''; }
  }

  /** An API request with the key (or opts.key), JSON in and out: {status, body, headers}. */
  async request(method, p, body, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    const key = opts.key === undefined ? this.key : opts.key;
    if (key) headers['X-API-KEY'] = key;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: r.status, body: json, text, headers: r.headers };
  }

  async submit(fields) {
    const r = await this.request('POST', '/incidents', { description: 'Reported by the browser tests', ...fields });
    if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
    return r.body;
  }

  async incident(id) {
    const r = await this.request('GET', `/incidents/${id}`);
    if (r.status !== 200) throw new Error(`GET /incidents/${id}: ${r.status} ${r.text}`);
    return r.body;
  }

  async waitStatus(id, status, timeout = 30000) {
    return waitFor(async () => { const inc = await this.incident(id); return inc.status === status && inc; },
      { timeout, what: `incident ${id} to become ${status}` });
  }

  /** Drives the fake LLM server (its /_control), e.g. {mode: 'not_found'}. */
  async fakeLLM(settings) {
    const r = await fetch(`${this.fakellm_url}/_control`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(settings) });
    if (r.status !== 200) throw new Error(`fake LLM /_control ${JSON.stringify(settings)}: ${r.status} ${await r.text()}`);
    return r.json();
  }

  /** The harness's control API: 'restart' | 'stop' | 'start' the gateway. */
  async gateway(action) {
    const r = await fetch(`${this.control_url}/gateway/${action}`, { method: 'POST' });
    if (r.status !== 200) throw new Error(`gateway ${action}: ${r.status} ${await r.text()}`);
  }

  /** Stops everything; throws if the harness reports a failure (e.g. a sanitizer report). */
  async stop() {
    if (this.exited === null) this.proc.kill('SIGTERM');
    let timer;
    const code = await Promise.race([this.exitPromise,
      new Promise((r) => { timer = setTimeout(() => r('timeout'), 60000); })]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.proc.kill('SIGKILL');
      throw new Error('the harness did not stop within 60 s');
    }
    if (code !== 0) throw new Error(`the harness exited with ${code}:\n${this.logTail()}`);
    fs.rmSync(this.dir, { recursive: true, force: true }); // kept only when something failed
  }
}

// The dashboard in Debian's chromium against the real pipeline (PostgreSQL, store,
// gateway, enrichers, fake LLM server): sign-in, live updates, detail, actions, safety.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, waitFor } from './lib/stack.mjs';
import { SEVERITIES } from '../../web/constants.js';
import { launch, newPage, signIn, rowStatus, screenshot, recordChanges, records,
  recordRowStatuses, rowStatuses } from './lib/browser.mjs';

// How the tests drive the fake LLM server (tests/fakellm, POST /_control).
const LLM_OK = () => ({ reset: true }); // answers at once with a deterministic triage
const LLM_SLOW = () => ({ mode: 'slow', delay_ms: 1500 });
const LLM_NOT_FOUND = () => ({ mode: 'not_found' }); // 404 "model not found"

const T = { timeout: 120000 };
let stack;
let browser;

before(async () => {
  stack = await Stack.start({ llm: 'fake', enrichers: 2, name: 'browser' });
  await stack.fakeLLM(LLM_OK());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop(); // fails the run if any process printed a sanitizer report
});

async function signedIn(viewport) {
  const page = await newPage(browser, viewport);
  await signIn(page, stack.url, stack.key);
  return page;
}

async function done(page) {
  assert.deepEqual(page.problems, [], 'no page errors, dialogs or CSP violations');
  await page.context().close();
}

test('a wrong key shows "key rejected" and nothing else opens', T, async () => {
  const page = await newPage(browser);
  await page.goto(stack.url);
  await page.locator('#signin-key').fill('not-the-key');
  await page.locator('#signin-submit').click();
  const err = page.locator('#signin-error');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /key rejected/i);
  assert.equal(await page.locator('#nav').isVisible(), false, 'navigation stays hidden');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a rejected key is not kept');
  await done(page);
});

test('signs in with the key: kept in the session, never in the URL or the page; signs out', T, async () => {
  const page = await signedIn();
  assert.ok(!page.url().includes(stack.key), 'key not in the URL');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('triage.apiKey')), stack.key);
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  assert.ok(!html.includes(stack.key), 'key not in the document');
  assert.equal(await page.locator('#signin-key').inputValue(), '', 'the input was cleared');
  await page.locator('h1', { hasText: 'Incidents' }).waitFor();
  await page.locator('#signout').click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('triage.apiKey')), null);
  // The page is served with a CSP that forbids inline script.
  const r = await fetch(stack.url + '/');
  const csp = r.headers.get('content-security-policy') || '';
  assert.match(csp, /script-src 'self'/, `CSP: ${csp}`);
  assert.ok(!/unsafe-inline/.test(csp.match(/script-src[^;]*/)?.[0] || ''), 'no inline script allowed');
  await done(page);
});

let formIncident; // the incident submitted through the form, used by the next tests

test('an incident submitted through the form goes submitted → triaged live, without reload', T, async () => {
  await stack.fakeLLM(LLM_SLOW()); // so the user can see it waiting
  try {
    const page = await signedIn();
    await page.evaluate(() => { window.__noReload = 'still here'; });
    await recordRowStatuses(page);
    await page.locator('#nav a[href="#/new"]').click();
    const title = `Disk full on db-7 ${Date.now()}`;
    await page.locator('#new-title').fill(title);
    await page.locator('#new-description').fill('Production disk at 100% on /var/lib/postgresql; writes fail.');
    await page.locator('#new-source').fill('prometheus');
    await page.locator('#new-service').fill('orders-db');
    await page.locator('#new-labels').fill('env=prod\nregion=eu-west-1');
    await page.locator('#submit-incident').click();

    const row = page.locator('tr[data-id]', { has: page.locator('td.c-title a', { hasText: title }) });
    await row.waitFor();
    const id = Number(await row.getAttribute('data-id'));
    assert.ok(id > 0);
    await row.locator('td.c-title a').focus(); // a keyboard user on the row as it changes
    await rowStatus(page, id).filter({ hasText: 'triaged' }).waitFor({ timeout: 30000 });
    assert.equal(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.id), String(id),
      'the focused link kept its focus through the live updates');
    const seen = await rowStatuses(page, id);
    assert.equal(seen[0], 'submitted', `the row first showed submitted (saw ${seen.join(' → ')})`);
    assert.equal(seen[seen.length - 1], 'triaged');
    assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'the page was not reloaded');
    // The row carries the triage's effective severity and category.
    const inc = await stack.incident(id);
    assert.equal(inc.status, 'triaged');
    assert.equal(await page.locator(`tr[data-id="${id}"] .c-severity .badge`).textContent(), inc.severity);
    assert.equal(await page.locator(`tr[data-id="${id}"] .c-category .badge`).textContent(), inc.category);
    formIncident = inc;
    await screenshot(page, 'dashboard-list-new.png');
    await done(page);
  } finally {
    await stack.fakeLLM(LLM_OK());
  }
});

test('the detail shows the triage, provenance and the full timeline', T, async () => {
  assert.ok(formIncident, 'needs the incident from the form test');
  const page = await signedIn();
  await page.locator(`tr[data-id="${formIncident.id}"] td.c-title a`).click();
  await page.waitForURL(new RegExp(`#/incidents/${formIncident.id}$`));
  const t = formIncident.triage;
  await page.locator('.ai .summary').waitFor();
  assert.equal(await page.locator('.ai .summary').textContent(), t.summary);
  assert.equal(await page.locator('.ai-severity .badge').textContent(), t.severity);
  assert.equal(await page.locator('.ai-category .badge').textContent(), t.category);
  assert.equal(await page.locator('.ai .model').textContent(), t.model);
  assert.equal(await page.locator('.ai .confidence').textContent(), `${Math.round(t.confidence * 100)}%`);
  assert.match(await page.locator('.ai .latency').textContent(), /^\d+ ms$/);
  assert.equal(await page.locator('.ai .suggested li').count(), t.suggested_actions.length);
  assert.equal(await page.locator('.reported .description').textContent(), formIncident.description);
  assert.equal(await page.locator('.reported .occurrences').textContent(), '1');
  const kinds = await page.locator('.timeline .events li').evaluateAll((lis) => lis.map((li) => li.dataset.kind));
  const full = await stack.incident(formIncident.id);
  assert.deepEqual(kinds, full.timeline.map((e) => String(e.kind)), 'every timeline entry, oldest first');
  assert.equal(await page.locator('.rules-label').count(), t.backend === 'rules' ? 1 : 0);
  await screenshot(page, 'dashboard-detail.png');
  await done(page);
});

test('overriding the severity keeps the AI answer visible beside it', T, async () => {
  assert.ok(formIncident, 'needs the incident from the form test');
  const page = await signedIn();
  await page.goto(`${stack.url}/#/incidents/${formIncident.id}`);
  await page.locator('.ai .summary').waitFor();
  const ai = formIncident.triage.severity;
  const human = ai === SEVERITIES[0] ? SEVERITIES.at(-1) : SEVERITIES[0];
  await page.locator('#override-severity').selectOption(human);
  await page.locator('#override-save').click();
  await page.locator('.effective-severity .badge', { hasText: human }).waitFor();
  assert.equal(await page.locator('.override-severity .badge').textContent(), human);
  assert.equal(await page.locator('.ai-severity .badge').textContent(), ai, 'the AI answer is still shown');
  const inc = await stack.incident(formIncident.id);
  assert.equal(inc.override.severity, human);
  assert.equal(inc.severity, human);
  assert.equal(inc.triage.severity, ai);
  // The list shows the effective severity, marked as overridden.
  await page.locator('#nav a[href="#/incidents"]').click();
  const row = page.locator(`tr[data-id="${formIncident.id}"]`);
  await row.locator('.c-severity .badge', { hasText: human }).waitFor();
  assert.equal(await row.locator('.c-severity .overridden').count(), 1);
  await done(page);
});

test('a failed incident shows why, and re-triage brings it to triaged live', T, async () => {
  await stack.fakeLLM(LLM_NOT_FOUND());
  let page;
  try {
    page = await signedIn();
    const inc = await stack.submit({ title: 'Checkout returns 500s', description: 'HTTP 500 on /checkout since the deploy' });
    await page.goto(`${stack.url}/#/incidents/${inc.id}`);
    await page.locator('.view-head .badge.status', { hasText: 'failed' }).waitFor({ timeout: 30000 });
    const failed = await stack.incident(inc.id);
    assert.equal(await page.locator('.failure-reason').textContent(), failed.failure_reason);
    assert.ok(failed.failure_reason, 'the failure has a reason');
    await stack.fakeLLM(LLM_OK());
    await page.evaluate(() => { window.__noReload = 'still here'; });
    const retriage = page.locator('#action-retriage');
    assert.equal(await retriage.isEnabled(), true);
    await retriage.click();
    await page.locator('.view-head .badge.status', { hasText: 'triaged' }).waitFor({ timeout: 30000 });
    assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'updated live');
    await page.locator('.ai .summary').waitFor();
    const after = await stack.incident(inc.id);
    assert.equal(after.status, 'triaged');
    // The page's timeline is the incident's: the failure, the re-triage, the new result.
    const kinds = await page.locator('.timeline .events li').evaluateAll((lis) => lis.map((li) => li.dataset.kind));
    assert.deepEqual(kinds, after.timeline.map((e) => String(e.kind)));
    const iFailed = kinds.indexOf('failed');
    const iRetriage = kinds.indexOf('retriage');
    assert.ok(iFailed >= 0 && iRetriage > iFailed && kinds.at(-1) === 'triaged',
      `the earlier failure stays in the timeline before the re-triage (${kinds.join(', ')})`);
    assert.equal(await page.locator('.failure-reason').count(), 0, 'no failure shown once triaged');
    await done(page);
  } finally {
    await stack.fakeLLM(LLM_OK());
  }
});

test('an incident titled <img src=x onerror=alert(1)> shows as text and runs nothing', T, async () => {
  const page = await signedIn();
  const title = '<img src=x onerror=alert(1)>';
  const description = '<script>alert(2)</script><b onmouseover=alert(3)>bold</b>';
  const inc = await stack.submit({ title, description, service: '<svg onload=alert(4)>',
    labels: { '<i>k</i>': '<img src=y onerror=alert(5)>' } });
  const link = page.locator(`tr[data-id="${inc.id}"] td.c-title a`);
  await link.waitFor(); // arrives live
  assert.equal(await link.textContent(), title);
  await link.click();
  await page.locator('.reported .description').waitFor();
  assert.equal(await page.locator('.detail-title').textContent(), `#${inc.id} ${title}`);
  assert.equal(await page.locator('.reported .description').textContent(), description);
  await stack.waitStatus(inc.id, 'triaged');
  await page.locator('.view-head .badge.status', { hasText: 'triaged' }).waitFor();
  const found = await page.evaluate(() => ({
    img: document.querySelectorAll('img').length,
    svgFromData: document.querySelectorAll('svg[onload]').length,
    b: document.querySelectorAll('b').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
  }));
  assert.deepEqual(found, { img: 0, svgFromData: 0, b: 0, scripts: ['app.js'] });
  assert.deepEqual(page.problems, [], 'no dialog opened, no script ran');
  await done(page);
});

test('acknowledge, then resolve: the state follows and the buttons fit it', T, async () => {
  const page = await signedIn();
  const inc = await stack.submit({ title: 'Certificate for api.example.com expires in 2 days' });
  await page.goto(`${stack.url}/#/incidents/${inc.id}`);
  await page.locator('.view-head .badge.state', { hasText: 'open' }).waitFor();
  await page.locator('#action-acknowledge').click();
  await page.locator('.view-head .badge.state', { hasText: 'acknowledged' }).waitFor();
  assert.equal(await page.locator('#action-acknowledge').isDisabled(), true);
  await page.locator('#action-resolve').click();
  await page.locator('.view-head .badge.state', { hasText: 'resolved' }).waitFor();
  assert.equal(await page.locator('#action-resolve').isDisabled(), true);
  const after = await stack.incident(inc.id);
  assert.equal(after.state, 'resolved');
  assert.ok(after.acknowledged_at && after.resolved_at);
  await done(page);
});

test('filters by text and state, and pages with the cursor', T, async () => {
  const word = `zebra${Date.now()}`;
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push((await stack.submit({ title: `${word} disk ${i}` })).id);
  const page = await signedIn();
  await page.locator('#filter-limit').selectOption('25');
  await page.locator('#filter-q').fill(word);
  await page.locator('#filter-q').press('Enter');
  const rows = page.locator('tr[data-id]');
  const newest = ids.at(-1);
  await page.waitForFunction(({ n, w }) => {
    const links = [...document.querySelectorAll('tr[data-id] td.c-title a')];
    return links.length === n && links.every((a) => a.textContent.includes(w));
  }, { n: 25, w: word });
  assert.equal(await rows.first().getAttribute('data-id'), String(newest), 'newest first');
  const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  assert.deepEqual(firstPage, ids.slice(5).reverse());
  await page.locator('button', { hasText: 'Older' }).click();
  await page.waitForFunction(() => document.querySelectorAll('tr[data-id]').length === 5);
  const second = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  assert.deepEqual(second, ids.slice(0, 5).reverse());
  assert.equal(await page.locator('button', { hasText: 'Older' }).isDisabled(), true);
  await page.locator('button', { hasText: 'Newer' }).click();
  await page.waitForFunction(() => document.querySelectorAll('tr[data-id]').length === 25);
  // A state filter nothing matches shows the empty state.
  await page.locator('#filter-state').selectOption('resolved');
  await page.locator('.empty', { hasText: 'No incidents match' }).waitFor();
  await done(page);
});

test('the pipeline panel shows counts and changes the model', T, async () => {
  const page = await signedIn();
  await page.locator('#nav a[href="#/pipeline"]').click();
  await page.locator('.stat.status-triaged .stat-value').waitFor();
  const stats = (await stack.request('GET', '/stats')).body;
  assert.equal(await page.locator('.stat.status-triaged .stat-value').textContent(), String(stats.counts.triaged));
  assert.equal(await page.locator('.model-current').textContent(), stats.model);
  await page.locator('svg.chart').waitFor();
  const old = stats.model;
  await page.locator('#model-input').fill('browser-test:1b');
  await page.locator('#model-save').click();
  await page.locator('.model-current', { hasText: 'browser-test:1b' }).waitFor();
  assert.equal((await stack.request('GET', '/settings')).body.model, 'browser-test:1b');
  const r = await stack.request('PUT', '/settings', { model: old });
  assert.equal(r.status, 200);
  await screenshot(page, 'dashboard-pipeline.png');
  await done(page);
});

test('the Integrations page gives the URLs to paste and the last event; the detail shows source links', T, async () => {
  const page = await signedIn();
  await page.locator('#nav a[href="#/integrations"]').click();
  await page.locator('#integrations-title').waitFor();
  assert.equal(await page.locator('#integration-alertmanager .int-url').textContent(),
    `${stack.url}/integrations/alertmanager`);
  assert.equal(await page.locator('#integration-pagerduty .int-url').textContent(), `${stack.url}/v2/enqueue`);
  assert.match(await page.locator('#integration-alertmanager .int-header').textContent(), /^Authorization: Bearer </);
  assert.ok(!(await page.content()).includes(stack.key), 'the key is never shown');
  assert.equal(await page.locator('#channels-slot a').getAttribute('href'), '#/channels');
  const alert = { status: 'firing', labels: { alertname: 'BrowserAlert', job: 'web', severity: 'warning' },
    annotations: { summary: 'Browser alert fired' }, startsAt: '2026-12-01T00:00:00Z',
    endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus.example/graph',
    fingerprint: 'b0b0b0b0b0b0b0b0' };
  const r = await stack.request('POST', '/integrations/alertmanager', { version: '4', status: 'firing',
    receiver: 'triage', groupKey: '{}', truncatedAlerts: 0, groupLabels: {}, commonLabels: {},
    commonAnnotations: {}, externalURL: '', alerts: [alert] });
  assert.equal(r.status, 202, r.text);
  await page.locator('#nav a[href="#/incidents"]').click();
  await page.locator('#nav a[href="#/integrations"]').click();
  await page.locator('#last-alertmanager', { hasText: '1 event (1 created)' }).waitFor();
  const id = r.body.results[0].incident_id;
  await page.goto(`${stack.url}/#/incidents/${id}`);
  await page.locator('.source-severity', { hasText: 'warning' }).waitFor();
  assert.equal(await page.locator('.source-links a').getAttribute('href'), 'http://prometheus.example/graph');
  await screenshot(page, 'dashboard-integrations.png');
  await done(page);
});

test('at phone width the list is readable and the detail reachable by keyboard', T, async () => {
  const page = await signedIn({ width: 390, height: 844 });
  await page.locator('tr[data-id] td.c-title a').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no horizontal scrolling at 390 px');
  await page.locator('tr[data-id] td.c-title a').first().focus();
  await page.keyboard.press('Enter');
  await page.locator('.reported .description').waitFor();
  await screenshot(page, 'dashboard-phone.png');
  await done(page);
});

test('while the gateway is down the page says so, and it comes back by itself', T, async () => {
  const page = await signedIn();
  await page.locator('h1', { hasText: 'Incidents' }).waitFor();
  await stack.gateway('stop');
  try {
    await page.locator('#conn[data-state="unreachable"]').waitFor({ timeout: 30000 });
    assert.equal(await page.locator('#conn .conn-text').textContent(), 'gateway unreachable');
    assert.match(await page.locator('#stream-banner').textContent(), /unreachable/i);
    assert.equal(await page.locator('#retry-stream').isVisible(), true, 'a way to retry at once');
  } finally {
    await stack.gateway('start');
  }
  // "Retry now" reconnects without waiting for the backoff (unless already live again).
  await page.locator('#retry-stream').click({ timeout: 2000 }).catch(() => {});
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30000 });
  assert.equal(await page.locator('#stream-banner').isVisible(), false);
  assert.equal(await page.locator('#conn .conn-text').textContent(), 'live');
  await done(page);
});

test('the stream recovers after the gateway restarts and new incidents appear live', T, async () => {
  const page = await signedIn();
  await page.locator('h1', { hasText: 'Incidents' }).waitFor();
  await recordChanges(page, 'conn', '#conn', 'data-state');
  await page.evaluate(() => { window.__noReload = 'still here'; });
  await stack.gateway('restart'); // SIGTERM, then a new gateway process on the same port
  // a loaded browser may see the old stream end only after the new gateway is up: wait
  // (with a deadline) for the page to show the loss, then to be live again
  await page.waitForFunction(() => window.__records.conn.some(
    (s) => s === 'reconnecting' || s === 'unreachable'), null, { timeout: 30000 })
    .catch(() => {});
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30000 });
  const states = await records(page, 'conn');
  assert.ok(states.some((s) => s === 'reconnecting' || s === 'unreachable'),
    `the page showed the stream was lost (${states.join(' → ')})`);
  assert.equal(states.at(-1), 'live');
  const inc = await stack.submit({ title: `After the restart ${Date.now()}` });
  await page.locator(`tr[data-id="${inc.id}"]`).waitFor({ timeout: 20000 });
  await rowStatus(page, inc.id).filter({ hasText: 'triaged' }).waitFor({ timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'no reload');
  await screenshot(page, 'dashboard-list.png'); // by now the list has a bit of everything
  await done(page);
});

test('the key never appears in the logs of the pipeline\'s processes', T, async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const files = fs.readdirSync(stack.logs).filter((f) => f.endsWith('.log'));
  assert.ok(files.some((f) => f.startsWith('gateway')), `gateway log among ${files.join(', ')}`);
  for (const f of files) {
    const text = fs.readFileSync(path.join(stack.logs, f), 'utf8');
    assert.ok(!text.includes(stack.key), `${f} contains the API key`);
  }
});

// The 'Similar incidents' panel and the resolve note / triage feedback on the detail page,
// in Debian's chromium against the real pipeline (fake LLM server for triage).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, waitFor } from './lib/stack.mjs';
import { launch, newPage, signIn, screenshot } from './lib/browser.mjs';

const T = { timeout: 120000 };
let stack;
let browser;

before(async () => {
  stack = await Stack.start({ llm: 'fake', enrichers: 1, name: 'memory' });
  await stack.fakeLLM({ reset: true });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('similar incidents with their labels, state, time and note; resolve with a note and feedback', T, async () => {
  const past = await stack.submit({ title: 'Database connection pool exhausted on db-pay-01', service: 'payments' });
  await stack.waitStatus(past.id, 'triaged');
  const note = 'Restarted the pgbouncer pool <img src=x onerror=alert(1)>';
  let r = await stack.request('POST', `/incidents/${past.id}/resolve`, { note, feedback: 'right' });
  assert.equal(r.status, 200, r.text);
  const unrelated = await stack.submit({ title: 'Typo on the settings page', description: 'A label reads Sumbit' });
  const inc = await stack.submit({ title: 'Database connection pool exhausted on db-pay-02', service: 'payments' });
  await stack.waitStatus(inc.id, 'triaged');

  const page = await newPage(browser);
  await signIn(page, stack.url, stack.key);
  await page.goto(`${stack.url}/#/incidents/${inc.id}`);
  const item = page.locator(`#similar-panel .similar-item[data-id="${past.id}"]`);
  await item.waitFor();
  assert.equal(await page.locator(`#similar-panel .similar-item[data-id="${unrelated.id}"]`).count(), 0);
  assert.match(await item.locator('a').textContent(), /Database connection pool exhausted on db-pay-01/);
  assert.equal(await item.locator('.resolution-note').textContent(), note, 'the note is shown as text');
  assert.equal(await item.locator('img').count(), 0, 'no markup from a note');
  assert.equal(await item.locator('.badge.state').textContent(), 'resolved');
  assert.equal(await item.locator('.badge.category').textContent(), 'database');
  assert.ok(await item.locator('time').count() >= 2, 'when it was reported and resolved');
  assert.match(await item.textContent(), /confirmed by a responder/);
  // The triage says which past incidents it used.
  await page.locator('.similar-used', { hasText: `#${past.id}` }).waitFor();
  await screenshot(page, 'memory-similar.png');

  // Feedback without resolving, then resolve with a note.
  await page.locator('#feedback-wrong').click();
  await waitFor(async () => (await stack.incident(inc.id)).triage_feedback === 'wrong', { what: 'feedback stored' });
  await page.locator('#resolve-note').fill('Same as #' + past.id + ': restarted the pool');
  await page.locator('#resolve-feedback').selectOption('right');
  await page.locator('#action-resolve').click();
  await page.locator('.view-head .badge.state', { hasText: 'resolved' }).waitFor();
  await page.locator('.resolution-note', { hasText: 'restarted the pool' }).first().waitFor();
  const after = await stack.incident(inc.id);
  assert.equal(after.resolution_note, `Same as #${past.id}: restarted the pool`);
  assert.equal(after.triage_feedback, 'right');
  const kinds = after.timeline.map((e) => e.kind);
  assert.deepEqual(kinds.slice(-2), ['feedback', 'resolved']);
  assert.deepEqual(page.problems, [], 'no page errors, dialogs or CSP violations');
  await page.context().close();
});

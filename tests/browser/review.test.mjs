// The "needs review" mark: a triage below the store's review threshold (GET /settings,
// TRIAGE_REVIEW_THRESHOLD_PCT, 50% by default) that no responder has overridden is
// flagged in the list and the detail; a confident one is not; an override clears it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './lib/stack.mjs';
import { launch, newPage, signIn } from './lib/browser.mjs';

const T = { timeout: 120000 };
const answer = (confidence) => ({
  mode: 'ok',
  answer: { summary: 'The data volume is almost full.', severity: 'high', category: 'storage',
    suggested_actions: ['Free space'], confidence },
});
let stack;
let browser;

before(async () => {
  stack = await Stack.start({ llm: 'fake', enrichers: 1, name: 'review' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a low-confidence triage needs review until a responder overrides it', T, async () => {
  const settings = (await stack.request('GET', '/settings')).body;
  assert.equal(settings.review_threshold, 0.5);
  await stack.fakeLLM(answer(0.2));
  const unsure = await stack.submit({ title: 'Volume nearly full', description: 'pg data at 93%' });
  await stack.waitStatus(unsure.id, 'triaged');
  await stack.fakeLLM(answer(0.9));
  const sure = await stack.submit({ title: 'Volume full', description: 'pg data at 100%' });
  await stack.waitStatus(sure.id, 'triaged');

  const page = await newPage(browser);
  await signIn(page, stack.url, stack.key);
  const row = (id) => page.locator(`tr[data-id="${id}"]`);
  await row(unsure.id).locator('.needs-review').waitFor();
  await row(sure.id).waitFor();
  assert.equal(await row(sure.id).locator('.needs-review').count(), 0, 'confident: no mark');

  await page.goto(`${stack.url}/#/incidents/${unsure.id}`);
  const note = page.locator('.ai p.needs-review');
  await note.waitFor();
  assert.match(await note.textContent(), /20% is below 50%/);
  await page.locator('#override-severity').selectOption('medium');
  await page.locator('#override-save').click();
  await page.locator('.effective-severity .badge', { hasText: 'medium' }).waitFor();
  await note.waitFor({ state: 'detached' });
  await page.locator('#nav a[href="#/incidents"]').click();
  await row(unsure.id).locator('.c-severity .badge', { hasText: 'medium' }).waitFor();
  assert.equal(await row(unsure.id).locator('.needs-review').count(), 0, 'overridden: no mark');
  assert.deepEqual(page.problems, [], 'no page errors, dialogs or CSP violations');
  await page.context().close();
});

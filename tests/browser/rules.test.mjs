// The dashboard on a pipeline with no language model: the enrichers use the built-in
// rules, and the detail says so plainly.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './lib/stack.mjs';
import { launch, newPage, signIn } from './lib/browser.mjs';

let stack;
let browser;

before(async () => {
  stack = await Stack.start({ llm: 'rules', enrichers: 1, name: 'browser-rules' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a triage by the built-in rules is labelled as such', { timeout: 120000 }, async () => {
  const page = await newPage(browser);
  await signIn(page, stack.url, stack.key);
  const inc = await stack.submit({ title: 'Postgres replication lag 30 minutes',
    description: 'replica db-2 is 30 minutes behind the primary; reads are stale' });
  const t = (await stack.waitStatus(inc.id, 'triaged')).triage;
  assert.equal(t.backend, 'rules');
  await page.locator(`tr[data-id="${inc.id}"] td.c-title a`).click();
  await page.locator('.ai .summary').waitFor();
  const label = page.locator('.rules-label');
  assert.equal(await label.count(), 1);
  assert.match(await label.textContent(), /built-in rules/i);
  assert.equal(await page.locator('.ai .backend').textContent(), 'built-in rules');
  assert.equal(await page.locator('.ai-category .badge').textContent(), t.category);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

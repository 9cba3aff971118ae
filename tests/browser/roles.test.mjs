// The dashboard shows only what the signed-in key's role may do: a viewer sees no
// actions, override, submit link or form, or model form; a responder sees the incident actions
// but not the model form; the admin sees everything. Keys are made through POST /keys.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './lib/stack.mjs';
import { launch, newPage, signIn } from './lib/browser.mjs';

const T = { timeout: 120000 };
let stack;
let browser;
let incident;
const keys = {};

before(async () => {
  stack = await Stack.start({ llm: 'rules', enrichers: 1, name: 'roles' });
  browser = await launch();
  for (const role of ['viewer', 'responder']) {
    const r = await stack.request('POST', '/keys', { name: `browser ${role}`, role });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    keys[role] = r.body.key;
  }
  const r = await stack.request('POST', '/incidents', { title: 'Disk full on db-1', description: 'at 100%' });
  assert.equal(r.status, 202);
  incident = r.body.id;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function controls(key) {
  const page = await newPage(browser);
  await signIn(page, stack.url, key);
  await page.evaluate((id) => { location.hash = `#/incidents/${id}`; }, incident);
  await page.locator('.detail-grid').waitFor({ state: 'visible' });
  const seen = {
    role: await page.evaluate(() => document.body.dataset.role),
    acknowledge: await page.locator('#action-acknowledge').count(),
    resolve: await page.locator('#action-resolve').count(),
    retriage: await page.locator('#action-retriage').count(),
    override: await page.locator('#override-save').count(),
    newLink: await page.locator('#nav-new').isVisible(),
  };
  await page.evaluate(() => { location.hash = '#/pipeline'; });
  await page.locator('#pipeline-title').waitFor();
  await page.locator('.stats-grid .stat').first().waitFor();
  seen.model = await page.locator('#model-save').count();
  await page.evaluate(() => { location.hash = '#/new'; });
  await page.locator('#view h1:not(#pipeline-title)').waitFor(); // the view changed
  seen.submitForm = await page.locator('#view form.submit-form').count() > 0;
  assert.deepEqual(page.problems, [], 'no page errors, dialogs or CSP violations');
  await page.context().close();
  return seen;
}

test('a viewer sees no actions, no override, no submit link and no model form', T, async () => {
  assert.deepEqual(await controls(keys.viewer), { role: 'viewer', acknowledge: 0, resolve: 0,
    retriage: 0, override: 0, newLink: false, model: 0, submitForm: false });
});

test('a responder sees the incident actions and the override, not the model form', T, async () => {
  assert.deepEqual(await controls(keys.responder), { role: 'responder', acknowledge: 1, resolve: 1,
    retriage: 1, override: 1, newLink: true, model: 0, submitForm: true });
});

test('the admin sees everything', T, async () => {
  assert.deepEqual(await controls(stack.key), { role: 'admin', acknowledge: 1, resolve: 1,
    retriage: 1, override: 1, newLink: true, model: 1, submitForm: true });
});

test('a reload keeps the role (asked again with /whoami)', T, async () => {
  const page = await newPage(browser);
  await signIn(page, stack.url, keys.viewer);
  await page.reload();
  await page.locator('#conn[data-state="live"]').waitFor();
  assert.equal(await page.evaluate(() => document.body.dataset.role), 'viewer');
  assert.equal(await page.locator('#nav-new').isVisible(), false);
  await page.context().close();
});

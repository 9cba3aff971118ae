// The Channels page and the incident's notifications in Debian's chromium, against the
// real pipeline with a triage-notifier and a local webhook receiver (tests/harness).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, waitFor } from './lib/stack.mjs';
import { launch, newPage, signIn, screenshot } from './lib/browser.mjs';

const T = { timeout: 120000 };
let stack;
let browser;

before(async () => {
  stack = await Stack.start({ llm: 'rules', enrichers: 1, name: 'channels', notifier: true });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('an admin adds a webhook channel; its secret is never shown; a test is delivered', T, async () => {
  const page = await newPage(browser);
  await signIn(page, stack.url, stack.key);
  await page.locator('#nav a[href="#/channels"]').click();
  await page.locator('.channels .empty').waitFor();
  await page.locator('#channel-name').fill('oncall hook');
  await page.locator('#channel-url').fill(stack.receiver_url);
  await page.locator('#channel-secret').fill('browser-secret-123');
  await page.locator('#channel-min-severity').selectOption('high');
  await page.locator('#channel-save').click();
  const row = page.locator('tr', { hasText: 'oncall hook' });
  await row.waitFor();
  assert.match(await row.textContent(), /high\+/);
  assert.ok(!(await page.content()).includes('browser-secret-123'), 'the secret is not in the page');
  const channels = (await stack.request('GET', '/channels')).body.channels;
  assert.equal(channels.length, 1);
  assert.equal(channels[0].has_secret, true);
  await row.locator('button', { hasText: 'Send test' }).click();
  await page.locator('.channels .action-msg', { hasText: 'Test delivery queued' }).waitFor();
  await waitFor(async () => (await stack.request('GET', '/channels')).body.channels[0].health.sent_24h === 1,
    { timeout: 20000, what: 'the test delivery to be sent' });
  await page.locator('tr', { hasText: '1 sent, 0 failed' }).waitFor({ timeout: 20000 });
  await screenshot(page, 'dashboard-channels.png');
  // a bad URL is refused with the gateway's reason, and nothing is added
  await page.locator('#channel-name').fill('broken');
  await page.locator('#channel-url').fill('ftp://nowhere');
  await page.locator('#channel-secret').fill('x');
  await page.locator('#channel-save').click();
  await page.locator('.channel-form .action-msg.error', { hasText: 'url' }).waitFor();
  assert.equal((await stack.request('GET', '/channels')).body.channels.length, 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the incident detail lists the notifications it sent', T, async () => {
  const inc = await stack.submit({ title: 'Production database down',
    description: 'all users see errors, primary postgres is unreachable, outage' });
  await stack.waitStatus(inc.id, 'triaged');
  await waitFor(async () => {
    const n = (await stack.request('GET', `/incidents/${inc.id}/notifications`)).body.notifications;
    return n.length === 1 && n[0].state === 'sent';
  }, { timeout: 20000, what: 'the notification to be sent' });
  const page = await newPage(browser);
  await signIn(page, stack.url, stack.key);
  await page.goto(`${stack.url}/#/incidents/${inc.id}`);
  const item = page.locator('.notifications .deliveries li');
  await item.waitFor();
  const text = await item.textContent();
  assert.match(text, /triaged → oncall hook \(webhook\)/);
  assert.match(text, /sent/);
  await page.locator('#nav a[href="#/pipeline"]').click();
  await page.locator('.stat.outbox-pending .stat-value').waitFor();
  assert.equal(await page.locator('.stat.outbox-pending .stat-value').textContent(), '0');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

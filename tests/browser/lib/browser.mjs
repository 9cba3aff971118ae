// Debian's chromium driven by playwright-core (never a downloaded browser), and the
// page-level steps the dashboard tests share.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS } from './stack.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.TRIAGE_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
  });
}

/** A fresh context (own sessionStorage) and page. page.problems collects uncaught page
 * errors and dialogs, which no test expects. */
export async function newPage(browser, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { page.problems.push(`dialog (${d.type()}): ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('console', (m) => {
    // CSP violations are reported on the console: any is a bug in the page.
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.problems.push(`csp: ${m.text()}`);
  });
  return page;
}

export async function signIn(page, url, key) {
  await page.goto(url);
  await page.locator('#signin-key').fill(key);
  await page.locator('#signin-submit').click();
  await page.locator('#conn[data-state="live"]').waitFor();
}

/** Text of the status badge of incident id's row in the list. */
export function rowStatus(page, id) {
  return page.locator(`tr[data-id="${id}"] .c-status .badge`);
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Records every value that attribute `read` (or 'text') of the elements matching
 * selector takes from now on (a MutationObserver in the page): what the user saw. */
export async function recordChanges(page, name, selector, read) {
  await page.evaluate(({ name, selector, read }) => {
    const log = [];
    window.__records = window.__records || {};
    window.__records[name] = log;
    const sample = () => {
      for (const el of document.querySelectorAll(selector)) {
        const v = read === 'text' ? el.textContent : el.getAttribute(read);
        if (log[log.length - 1] !== v) log.push(v);
      }
    };
    sample();
    new MutationObserver(sample).observe(document.body, { subtree: true, childList: true,
      attributes: true, characterData: true });
  }, { name, selector, read });
}

export function records(page, name) {
  return page.evaluate((n) => (window.__records && window.__records[n]) || [], name);
}

/** From now on, records for every list row (by incident id) the sequence of statuses
 * its badge showed. Survives hash navigation (same document). */
export async function recordRowStatuses(page) {
  await page.evaluate(() => {
    const seen = {};
    window.__rowStatuses = seen;
    const sample = () => {
      for (const tr of document.querySelectorAll('tr[data-id]')) {
        const b = tr.querySelector('.c-status .badge');
        if (!b) continue;
        const l = seen[tr.dataset.id] || (seen[tr.dataset.id] = []);
        if (l[l.length - 1] !== b.textContent) l.push(b.textContent);
      }
    };
    sample();
    new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export function rowStatuses(page, id) {
  return page.evaluate((i) => (window.__rowStatuses && window.__rowStatuses[i]) || [], String(id));
}

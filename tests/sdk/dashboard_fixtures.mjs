// Browser helpers for the dashboard suites (tests/sdk/dashboard_*.test.mjs):
// playwright-core driving Debian's chromium (installed by scripts/test, never
// `npx playwright install`), sign-in, axe-core scans, and a screenshot saved
// on failure (tests/sdk/screenshots/failures/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { test as serverTest, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, REPO_ROOT } from './harness.mjs';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const FAILURES = path.join(REPO_ROOT, 'tests', 'sdk', 'screenshots', 'failures');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One browser per test file (each launch gets a fresh temporary profile). */
export function useBrowser() {
  const handle = { browser: null, pages: new Set() };
  before(async () => {
    handle.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await handle.browser?.close();
  });
  return handle;
}

/** A fresh context (no cookies) and page; `colorScheme`, `viewport` as playwright's. */
export async function newPage(b, srv, opts = {}) {
  const context = await b.browser.newContext({ baseURL: srv.url, ...opts });
  const page = await context.newPage();
  page.on('dialog', (d) => {
    page.__dialogs = (page.__dialogs || 0) + 1;
    d.dismiss().catch(() => {});
  });
  b.pages.add(page);
  return page;
}

/** Signs in through the form; lands on `next` (default the dashboard home). */
export async function signIn(page, { email = SUPERUSER_EMAIL, password = SUPERUSER_PASSWORD, next = '/_/' } = {}) {
  await page.goto(`/_/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/_/login'));
}

/** A signed-in page. */
export async function signedInPage(b, srv, opts = {}) {
  const page = await newPage(b, srv, opts);
  await signIn(page);
  return page;
}

/** axe-core on the current page: the serious and critical violations. */
export async function axeViolations(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function assertAxeClean(page, what) {
  const bad = await axeViolations(page);
  assert.deepEqual(bad, [], `axe serious/critical violations on ${what}: ${JSON.stringify(bad, null, 2)}`);
}

/** The server's test wrapper, plus a screenshot of every open page on failure. */
export function test(name, b, fn) {
  return serverTest(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      fs.mkdirSync(FAILURES, { recursive: true });
      let i = 0;
      for (const page of b.pages) {
        if (page.isClosed()) continue;
        const file = path.join(FAILURES, `${name.replace(/[^a-z0-9]+/gi, '_').slice(0, 60)}_${i++}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        if (typeof err.message === 'string') err.message += `\n(screenshot: ${file})`;
      }
      throw err;
    } finally {
      for (const page of b.pages) await page.context().close().catch(() => {});
      b.pages.clear();
    }
  });
}

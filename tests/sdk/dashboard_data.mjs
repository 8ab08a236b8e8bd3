// Shared checks for the data-editing dashboard suites (dashboard_files,
// dashboard_relations, dashboard_auth_config, dashboard_schema_io,
// dashboard_csv): axe-core in both themes and the 375 px layout of a page.
import assert from 'node:assert/strict';
import { newPage, signIn, assertAxeClean } from './dashboard_fixtures.mjs';

/** A 1x1 PNG, padded with `pad` bytes (still sniffed as PNG). */
export function png(pad = 0) {
  const one = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
  return Buffer.concat([one, Buffer.alloc(pad)]);
}

/**
 * axe (light and dark) and no sideways scroll at 375 px on `path`, after
 * `prepare(page)` (e.g. opening a dialog or submitting a preview).
 */
export async function checkLayout(b, srv, path, prepare = async () => {}) {
  for (const colorScheme of ['light', 'dark']) {
    // axe is injected as an inline script: this context bypasses the CSP.
    const page = await newPage(b, srv, { colorScheme, bypassCSP: true });
    await signIn(page, { next: path });
    await prepare(page);
    await assertAxeClean(page, `${path} (${colorScheme})`);
    await page.context().close();
  }
  const page = await newPage(b, srv, { viewport: { width: 375, height: 812 } });
  await signIn(page, { next: path });
  await prepare(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px at 375 px`);
  await page.context().close();
}

/** Clicks the button named `name` and waits for the page it loads. */
export async function submit(page, name) {
  await submitVia(page, page.getByRole('button', { name }));
}

/** Clicks `locator` (a button or link) and waits for the page it loads. */
export async function submitVia(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

// The server every dashboard-pages file crawls (dashboard_pages*.test.mjs):
// something on every kind of page, a full records page, a file, a webhook
// endpoint with deliveries, a backup, log lines. The crawls are split over
// files so that each stays well inside the per-file test timeout.
import assert from 'node:assert/strict';
import { cairnOnly, IS_POCKETBASE, useServer } from './harness.mjs';
import { useBrowser, newPage, signIn, axeViolations, test } from './dashboard_fixtures.mjs';
import { png } from './dashboard_data.mjs';
import { crawl } from './dashboard_crawl.mjs';
import { webhookEnv, startReceiver, waitFor, newCollection, createEndpoint, createRecord, deliveries } from './webhook_fixtures.mjs';

/** Shapes every crawl must reach (the webhooks pages among them). */
const MUST = ['/_/webhooks?', '/_/webhooks/new?', '/_/webhooks/:id?', '/_/webhooks/:id/edit?', '/_/collections/wt_files/records/:id?', '/_/sql?', '/_/backups?'];

export const skip = IS_POCKETBASE ? cairnOnly : false;

/** Starts the crawled server (call at a test file's top level). */
export function pagesServer() {
  webhookEnv();
  return useServer(async (s) => {
    const rx = await startReceiver(() => ({ body: 'ok '.repeat(100) }));
    try {
      const col = await newCollection(s, 'wt');
      const ep = await createEndpoint(s, { name: 'weighed', url: rx.url(), collection: col });
      for (let i = 0; i < 45; i++) await createRecord(s, col, { title: `record ${i} `.repeat(8), status: 'open' });
      await waitFor(async () => (await deliveries(s, { webhook: ep.id, state: 'succeeded' })).length >= 45, 20_000, 'deliveries');
    } finally {
      await rx.close();
    }
    await s.pb.collections.create({ name: 'wt_files', type: 'base', fields: [{ name: 'pic', type: 'file', maxSelect: 3 }] });
    const form = new FormData();
    form.append('pic', new Blob([png(64)], { type: 'image/png' }), 'a.png');
    await s.pb.collection('wt_files').create(form);
    await s.su('POST', '/api/backups', { body: { name: 'weighed.zip' } });
  });
}

/** Asserts that a crawl reached every page shape it must. */
export function reached(seen) {
  const shapes = [...seen.keys()];
  for (const must of MUST) assert.ok(shapes.includes(must), `${must} was reached (reached: ${shapes.join(' ')})`);
  assert.ok(seen.size >= 20, `only ${seen.size} pages found`);
}

/** Registers the axe crawl of every page in one colour scheme. */
export function axeCrawl(colorScheme) {
  const srv = pagesServer();
  const b = useBrowser();
  test(`every dashboard page from the navigation is axe-clean (${colorScheme})`, b, async (t) => {
    if (skip) return;
    // axe is injected as an inline script: this context bypasses the CSP.
    const page = await newPage(b, srv, { colorScheme, bypassCSP: true });
    await signIn(page);
    const bad = [];
    const seen = await crawl(page, async (url) => {
      await page.goto(url);
      const v = await axeViolations(page);
      if (v.length) bad.push({ url, v });
      return url;
    });
    assert.deepEqual(bad, [], `axe serious/critical violations (${colorScheme}): ${JSON.stringify(bad, null, 2)}`);
    t.diagnostic(`${seen.size} pages scanned`);
    reached(seen);
  });
}

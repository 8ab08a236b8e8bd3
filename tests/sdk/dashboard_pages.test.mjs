// Every dashboard page, found from the navigation rather than listed
// (dashboard_crawl.mjs), against issue 16 scope 6:
//  - weight: "a whole page weighs under 200 KB compressed", as a browser
//    loads it: the HTML and every stylesheet, script and image it fetches,
//    each gzipped (level 6);
//  - accessibility and layout: no serious or critical axe-core violation in
//    the light and the dark theme, and no sideways scroll at 375 px.
// A page added to the navigation is checked without touching this file.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { cairnOnly, IS_POCKETBASE, useServer } from './harness.mjs';
import { useBrowser, newPage, signIn, signedInPage, axeViolations, test } from './dashboard_fixtures.mjs';
import { png } from './dashboard_data.mjs';
import { crawl } from './dashboard_crawl.mjs';
import { webhookEnv, startReceiver, waitFor, newCollection, createEndpoint, createRecord, deliveries } from './webhook_fixtures.mjs';

const BUDGET = 200 * 1024;
/** Shapes every crawl must reach (the webhooks pages among them). */
const MUST = ['/_/webhooks?', '/_/webhooks/new?', '/_/webhooks/:id?', '/_/webhooks/:id/edit?', '/_/collections/wt_files/records/:id?', '/_/sql?', '/_/backups?'];

webhookEnv();
// Something on every kind of page: a full records page, a file, a webhook
// endpoint with deliveries, a backup, log lines.
const srv = useServer(async (s) => {
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
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

function reached(seen) {
  const shapes = [...seen.keys()];
  for (const must of MUST) assert.ok(shapes.includes(must), `${must} was reached (reached: ${shapes.join(' ')})`);
  assert.ok(seen.size >= 20, `only ${seen.size} pages found`);
}

/** Loads `url` and sums the gzipped size of everything the page fetched. */
async function weigh(page, url) {
  const parts = [];
  const onResponse = (r) => parts.push(r);
  page.on('response', onResponse);
  const res = await page.goto(url, { waitUntil: 'load' });
  page.off('response', onResponse);
  let total = 0;
  const detail = [];
  for (const r of parts) {
    // The records page's live stream never ends; it carries no page weight.
    if ((r.headers()['content-type'] || '').startsWith('text/event-stream')) continue;
    const body = await r.body().catch(() => Buffer.alloc(0));
    const gz = zlib.gzipSync(body, { level: 6 }).length;
    total += gz;
    detail.push(`${new URL(r.url()).pathname} ${gz}`);
  }
  return { status: res.status(), total, detail };
}

test('every dashboard page from the navigation weighs under 200 KB compressed', b, async (t) => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  const seen = await crawl(page, async (url) => {
    const w = await weigh(page, url);
    assert.ok(w.status < 400, `${url}: HTTP ${w.status}`);
    assert.ok(w.total < BUDGET, `${url} weighs ${w.total} bytes gzipped:\n${w.detail.join('\n')}`);
    return { url, ...w };
  });
  const heaviest = [...seen.values()].sort((x, y) => y.total - x.total).slice(0, 5);
  t.diagnostic(`${seen.size} pages weighed; heaviest: ${heaviest.map((w) => `${new URL(w.url).pathname} ${w.total} B`).join(', ')}`);
  reached(seen);
});

for (const colorScheme of ['light', 'dark']) {
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

test('no dashboard page from the navigation scrolls sideways at 375 px', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv, { viewport: { width: 375, height: 812 } });
  await signIn(page);
  const wide = [];
  const seen = await crawl(page, async (url) => {
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) wide.push(`${url} by ${overflow}px`);
    return url;
  });
  assert.deepEqual(wide, [], 'pages that scroll sideways at 375 px');
  reached(seen);
});

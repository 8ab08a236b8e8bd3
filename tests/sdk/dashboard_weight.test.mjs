// Page weight (issue 16 scope 6: "a whole page weighs under 200 KB
// compressed"). Rather than a hand-written list, the test starts from every
// link of the main navigation and the collections sidebar, follows the
// dashboard links it finds on those pages (two levels, one page per URL
// shape), and weighs each page as a browser loads it: the HTML and every
// stylesheet, script and image it fetches, each gzipped (level 6). A page
// added to the navigation is therefore weighed without touching this file.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { cairnOnly, IS_POCKETBASE, useServer } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { png } from './dashboard_data.mjs';
import { webhookEnv, startReceiver, waitFor, newCollection, createEndpoint, createRecord, deliveries } from './webhook_fixtures.mjs';

const BUDGET = 200 * 1024;
const MAX_PAGES = 120;

webhookEnv();
const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** One URL per shape: ids (a segment with a digit, 8+ characters, or all digits) and query values do not count. */
function shape(u) {
  const path = u.pathname
    .split('/')
    .map((s) => (/^\d+$/.test(s) || (s.length >= 8 && /\d/.test(s)) ? ':id' : s))
    .join('/');
  return `${path}?${[...u.searchParams.keys()].sort().join('&')}`;
}

/** Dashboard pages linked from the current page (GET links only, no downloads or files). */
async function links(page, scope) {
  const hrefs = await page.locator(`${scope} a[href]:not([download])`).evaluateAll((as) => as.map((a) => a.href));
  return hrefs
    .map((h) => new URL(h))
    .filter((u) => u.origin === new URL(page.url()).origin && u.pathname.startsWith('/_/'))
    .filter((u) => !/\/(download|logout|live|pick)\b|\/files\//.test(u.pathname))
    .map((u) => {
      u.hash = '';
      return u;
    });
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
  // Something on every kind of page: a full records page with a file, a
  // webhook endpoint with a delivery, a backup, log lines.
  const rx = await startReceiver(() => ({ body: 'ok '.repeat(100) }));
  try {
    const col = await newCollection(srv, 'wt');
    const ep = await createEndpoint(srv, { name: 'weighed', url: rx.url(), collection: col });
    for (let i = 0; i < 45; i++) await createRecord(srv, col, { title: `record ${i} `.repeat(8), status: 'open' });
    await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'succeeded' })).length >= 45, 20_000, 'deliveries');
    await srv.pb.collections.create({ name: 'wt_files', type: 'base', fields: [{ name: 'pic', type: 'file', maxSelect: 3 }] });
    const form = new FormData();
    form.append('pic', new Blob([png(64)], { type: 'image/png' }), 'a.png');
    await srv.pb.collection('wt_files').create(form);
    await srv.su('POST', '/api/backups', { body: { name: 'weighed.zip' } });

    const page = await signedInPage(b, srv);
    await page.goto('/_/collections');
    const start = [...(await links(page, 'nav[aria-label="Main"]')), ...(await links(page, '#sidebar'))];
    assert.ok(start.some((u) => u.pathname === '/_/webhooks'), 'the nav links the webhooks page');
    const seen = new Map();
    let level = start;
    for (let depth = 0; depth < 3 && level.length; depth++) {
      const next = [];
      for (const u of level) {
        const key = shape(u);
        if (seen.has(key) || seen.size >= MAX_PAGES) continue;
        const w = await weigh(page, u.href);
        seen.set(key, { url: u.href, ...w });
        assert.ok(w.status < 400, `${u.href}: HTTP ${w.status}`);
        assert.ok(w.total < BUDGET, `${u.href} weighs ${w.total} bytes gzipped:\n${w.detail.join('\n')}`);
        if (depth < 2) next.push(...(await links(page, 'main')));
      }
      level = next;
    }
    const heaviest = [...seen.values()].sort((x, y) => y.total - x.total).slice(0, 5);
    t.diagnostic(`${seen.size} pages weighed; heaviest: ${heaviest.map((w) => `${new URL(w.url).pathname} ${w.total} B`).join(', ')}`);
    const shapes = [...seen.keys()];
    for (const must of ['/_/webhooks?', '/_/webhooks/new?', '/_/webhooks/:id?', '/_/webhooks/:id/edit?', '/_/collections/wt_files/records/:id?', '/_/sql?', '/_/backups?']) {
      assert.ok(shapes.includes(must), `${must} was weighed (weighed: ${shapes.join(' ')})`);
    }
    assert.ok(seen.size >= 20, `only ${seen.size} pages found`);
  } finally {
    await rx.close();
  }
});

// Every dashboard page, found from the navigation rather than listed
// (dashboard_crawl.mjs), against issue 16 scope 6:
//  - weight: "a whole page weighs under 200 KB compressed", as a browser
//    loads it: the HTML and every stylesheet, script and image it fetches,
//    each gzipped (level 6);
//  - layout: no sideways scroll at 375 px;
//  - accessibility: no serious or critical axe-core violation in the light
//    (dashboard_pages_axe_light) and the dark theme (dashboard_pages_axe_dark).
// A page added to the navigation is checked without touching these files.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { useBrowser, newPage, signIn, signedInPage, test } from './dashboard_fixtures.mjs';
import { crawl } from './dashboard_crawl.mjs';
import { pagesServer, reached, skip } from './dashboard_pages_fixtures.mjs';

const BUDGET = 200 * 1024;
const srv = pagesServer();
const b = useBrowser();

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

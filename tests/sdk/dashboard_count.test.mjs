// The records list's total never holds back its rows (DASHBOARD.md item 17,
// PocketBase #3344): the page is rendered without a count and fetches it
// afterwards from /_/collections/NAME/count. The count request is held in
// the browser (page.route) to stand for a slow count: the rows, paging and
// "Next page" are there while the total still says "Counting records…";
// once released, the total equals REST `totalItems`. A failed count leaves
// the rows alone.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';

const COUNT = 2000;
const PER_PAGE = 40;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'many',
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
    ],
  });
  const query = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${COUNT})
    INSERT INTO many (id, title, n) SELECT 'many' || (10000000000 + x), 'row ' || x, x FROM c`; // portable: SQLite and PostgreSQL
  const r = await s.su('POST', '/api/sql', { body: { query, write: true } });
  if (r.status !== 200) throw new Error(`seed: ${r.status} ${r.text}`);
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
const isCount = (u) => u.pathname === '/_/collections/many/count';

async function rowIds(page) {
  return page.locator('table.records tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
}

test('rows and paging arrive before the total; the total equals REST totalItems', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  let release;
  const held = new Promise((r) => (release = r));
  let asked = 0;
  await page.route(isCount, async (route) => {
    asked++;
    await held;
    await route.continue();
  });
  await page.goto('/_/collections/many?sort=n');
  const rest = await srv.pb.collection('many').getList(1, PER_PAGE, { sort: 'n' });
  assert.deepEqual(await rowIds(page), rest.items.map((r) => r.id), 'the rows are there while the count is held');
  assert.equal(await page.locator('#total').innerText(), 'Counting records…');
  assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 1, 'paging without the total');
  assert.equal(asked, 1);
  release();
  await page.locator('#total', { hasText: `${COUNT} record(s), page 1 of ${COUNT / PER_PAGE}` }).waitFor();
  assert.equal(rest.totalItems, COUNT);
  await page.unroute(isCount);
});

test('the total follows the filter; the last full page has no Next page', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  const filter = 'n > 1960';
  await page.goto(`/_/collections/many?sort=n&filter=${encodeURIComponent(filter)}`);
  const rest = await srv.pb.collection('many').getList(1, PER_PAGE, { sort: 'n', filter });
  assert.equal(rest.totalItems, PER_PAGE);
  await page.locator('#total', { hasText: `${rest.totalItems} record(s)` }).waitFor();
  assert.equal(await page.locator('#total').innerText(), `${PER_PAGE} record(s)`);
  assert.deepEqual(await rowIds(page), rest.items.map((r) => r.id));
  assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 0, 'exactly one full page');
  // The count endpoint itself, for the same filter.
  const r = await page.evaluate(async (f) => {
    const res = await fetch(`/_/collections/many/count?filter=${encodeURIComponent(f)}`, { headers: { 'x-requested-with': 'fetch' } });
    return { status: res.status, body: await res.json() };
  }, filter);
  assert.deepEqual(r, { status: 200, body: { totalItems: PER_PAGE, totalPages: 1 } });
  const bad = await page.evaluate(async () => {
    const res = await fetch('/_/collections/many/count?filter=' + encodeURIComponent('nope = 1'), { headers: { 'x-requested-with': 'fetch' } });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /Something went wrong/);
});

test('a failed count leaves the rows and says so', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.route(isCount, (route) => route.abort());
  await page.goto('/_/collections/many?sort=-n');
  await page.locator('#total', { hasText: 'The total could not be counted' }).waitFor();
  const rest = await srv.pb.collection('many').getList(1, PER_PAGE, { sort: '-n' });
  assert.deepEqual(await rowIds(page), rest.items.map((r) => r.id));
  await page.unroute(isCount);
});

test('signed out: the count answers 401 with HX-Redirect, not a sign-in form', b, async () => {
  if (skip) return;
  const r = await fetch(`${srv.url}/_/collections/many/count`, { headers: { 'x-requested-with': 'fetch' }, redirect: 'manual' });
  assert.equal(r.status, 401);
  assert.ok(r.headers.get('hx-redirect').startsWith('/_/login?next='));
});

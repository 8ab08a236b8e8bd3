// A large list (DASHBOARD.md item 17): 5,000 records. The total shown
// equals REST `totalItems`, the pages are REST's pages, and paging (the URL's
// `page` and the "Next page" link) reaches the last record.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { submitVia } from './dashboard_data.mjs';

const COUNT = 5000;
const PER_PAGE = 40;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'big',
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  // Seeded in one statement through the SQL console's API (fast; the rows are
  // plain records), in SQL that SQLite and PostgreSQL both run.
  const query = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${COUNT})
    INSERT INTO big (id, title, n, created, updated)
    SELECT 'big' || (100000000000 + x), 'row ' || x, x, '2026-01-01 00:00:00.000Z', '2026-01-01 00:00:00.000Z' FROM c`;
  const r = await s.su('POST', '/api/sql', { body: { query, write: true } });
  if (r.status !== 200) throw new Error(`seed: ${r.status} ${r.text}`);
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** The record ids of the table, in order. */
async function rowIds(page) {
  return page.locator('table.records tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
}

test('large list: 5,000 records, total = REST totalItems, pages = REST pages, paging reaches the last', b, async () => {
  if (skip) return;
  const rest = await srv.pb.collection('big').getList(1, PER_PAGE, { sort: 'n' });
  assert.equal(rest.totalItems, COUNT);
  const last = Math.ceil(COUNT / PER_PAGE);
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/big?sort=n');
  // The total is fetched after the rows (dashboard_count.test.mjs).
  await page.locator('#total', { hasText: `${COUNT} record(s), page 1 of ${last}` }).waitFor();
  assert.deepEqual(await rowIds(page), rest.items.map((r) => r.id));
  // The page before the last, then "Next page" to the last one.
  await page.goto(`/_/collections/big?sort=n&page=${last - 1}`);
  await submitVia(page, page.getByRole('link', { name: 'Next page' }));
  await page.locator('#total', { hasText: `${COUNT} record(s), page ${last} of ${last}` }).waitFor();
  const tail = await srv.pb.collection('big').getList(last, PER_PAGE, { sort: 'n' });
  assert.deepEqual(await rowIds(page), tail.items.map((r) => r.id));
  assert.equal((await rowIds(page)).at(-1), `big${100000000000 + COUNT}`, 'the last record');
  assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 0);
  assert.equal(new URL(page.url()).searchParams.get('page'), String(last), 'the page is in the URL');
});

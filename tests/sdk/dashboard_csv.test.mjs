// Dashboard CSV import of records (DASHBOARD.md item 32): load or paste a
// CSV, map its columns to fields, preview (a dry run that lists every row
// the import would refuse, with the API's messages), then import all rows
// in one transaction: nothing is stored if any row fails. Cross-checked
// through REST.
import assert from 'node:assert/strict';
import { useServer, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'people',
    type: 'base',
    fields: [
      { name: 'name', type: 'text', required: true, presentable: true },
      { name: 'age', type: 'number' },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
      { name: 'email', type: 'email' },
      { name: 'meta', type: 'json' },
      { name: 'active', type: 'bool' },
    ],
    indexes: ['CREATE UNIQUE INDEX idx_people_email ON people (email) WHERE email != \'\''],
  });
});
const b = useBrowser();
const PATH = '/_/collections/people/import-csv';
const count = async () => (await srv.pb.collection('people').getList(1, 1)).totalItems;

const GOOD = [
  'Full name,age,tags,email,meta,active,ignored',
  'Ada,36,"a,b",ada@example.com,"{""k"": 1}",true,x',
  '"Lin, Jr.",41,"[""b"",""c""]",lin@example.com,,false,y',
  '<img src=x onerror="window.__x=1">,5,,,,,z',
].join('\n');

test('map columns, preview (dry run), import: REST has exactly the rows', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/people');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Import CSV' }).click()]);
  await page.getByLabel('Load a CSV file (optional)').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD) });
  await page.waitForFunction(() => document.getElementById('csv-text').value !== '');
  assert.equal(await page.getByLabel('CSV, with a header row').inputValue(), GOOD);
  await submit(page, 'Preview');
  // Same-named columns are preselected; "Full name" is mapped by hand.
  assert.equal(await page.getByLabel('Column for age').locator('option:checked').textContent(), 'age');
  assert.equal(await page.getByLabel('Column for name').inputValue(), '');
  await page.getByLabel('Column for name').selectOption({ label: 'Full name' });
  await submit(page, 'Update preview');
  await page.getByText('All 3 rows are valid.').waitFor();
  const table = page.getByRole('region', { name: 'Preview of the first rows' });
  await table.getByRole('cell', { name: 'Lin, Jr.' }).waitFor();
  await table.getByRole('cell', { name: '<img src=x onerror="window.__x=1">' }).waitFor();
  assert.equal(await page.evaluate(() => window.__x), undefined);
  assert.equal(await count(), 0, 'the preview stores nothing');
  await submit(page, 'Import 3 rows');
  await page.getByText('Imported 3 records.').first().waitFor();
  const rows = await srv.pb.collection('people').getFullList({ sort: 'age' });
  assert.deepEqual(
    rows.map((r) => [r.name, r.age, r.tags, r.email, r.meta, r.active]),
    [
      ['<img src=x onerror="window.__x=1">', 5, [], '', null, false],
      ['Ada', 36, ['a', 'b'], 'ada@example.com', { k: 1 }, true],
      ['Lin, Jr.', 41, ['b', 'c'], 'lin@example.com', null, false],
    ],
  );
});

test('any bad row: every failing row listed with its message, nothing stored', b, async () => {
  if (skip) return;
  await srv.pb.collection('people').create({ name: 'Pre', email: 'pre@example.com' });
  const before = await count();
  const csv = ['name,age,email,tags', ',3,a@example.com,a', 'Bo,2,b@example.com,zzz', 'Cy,4,pre@example.com,', 'Di,5,d@example.com,', 'Ed,6,d@example.com,'].join('\n');
  const page = await signedInPage(b, srv);
  await page.goto(PATH);
  await page.getByLabel('CSV, with a header row').fill(csv);
  await submit(page, 'Preview');
  assert.match(await page.getByRole('alert').textContent(), /4 of 5 rows cannot be imported; nothing is stored until every row is valid/);
  const list = await page.locator('[data-row-errors] li').allTextContents();
  assert.equal(list.length, 4);
  assert.match(list[0], /^Row 1 \(line 2\): name: Cannot be blank/);
  assert.match(list[1], /^Row 2 \(line 3\): tags: /);
  assert.match(list[2], /^Row 3 \(line 4\): email: Value must be unique/, 'unique against stored rows');
  assert.match(list[3], /^Row 5 \(line 6\): email: Value must be unique/, 'unique against earlier rows of the same file');
  assert.equal(await page.getByRole('button', { name: 'Import 5 rows' }).isDisabled(), true);
  // Forcing the import anyway (button bypassed) stores nothing.
  const token = await page.locator('input[name="_csrf"]').first().inputValue();
  const r = await page.request.post(PATH, { form: { _csrf: token, csv, action: 'import' } });
  assert.equal(r.status(), 400);
  assert.match(await r.text(), /4 of 5 rows cannot be imported; nothing was stored/);
  assert.equal(await count(), before);
  // Without the CSRF token: 403.
  const r2 = await page.request.post(PATH, { form: { csv: 'name\nx', action: 'import' } });
  assert.equal(r2.status(), 403);
  assert.equal(await count(), before);
});

test('round trip: the records CSV export imports into a copy unchanged (ids kept)', b, async () => {
  if (skip) return;
  const src = await srv.pb.collections.getOne('people');
  await srv.pb.collections.create({ name: 'people_copy', type: 'base', fields: src.fields.filter((f) => f.name !== 'id').map(({ id, ...f }) => f) });
  const page = await signedInPage(b, srv);
  const exported = await (await page.request.get('/_/collections/people/export?format=csv')).text();
  await page.goto('/_/collections/people_copy/import-csv');
  await page.getByLabel('CSV, with a header row').fill(exported);
  await submit(page, 'Preview');
  const total = (await srv.pb.collection('people').getFullList()).length;
  await page.getByText(`All ${total} rows are valid.`).waitFor();
  await submit(page, `Import ${total} rows`);
  await page.getByText(`Imported ${total} records.`).first().waitFor();
  const pick = (r) => [r.id, r.name, r.age, r.tags, r.email, r.meta, r.active];
  const a = (await srv.pb.collection('people').getFullList({ sort: 'id' })).map(pick);
  const c = (await srv.pb.collection('people_copy').getFullList({ sort: 'id' })).map(pick);
  assert.deepEqual(c, a);
});

test('malformed CSV and view collections', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto(PATH);
  await page.getByLabel('CSV, with a header row').fill('');
  await submit(page, 'Preview');
  assert.match(await page.getByRole('alert').textContent(), /header row/);
  await srv.pb.collections.create({ name: 'people_view', type: 'view', viewQuery: 'SELECT id, name FROM people' });
  const res = await page.goto('/_/collections/people_view/import-csv');
  assert.equal(res.status(), 404);
});

test('CSV import: axe clean with a preview and errors in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, PATH, async (page) => {
    await page.getByLabel('CSV, with a header row').fill('name,age,a_long_column_name_that_might_overflow_on_small_screens\nx,1,y\n,2,z');
    await submit(page, 'Preview');
  });
});

// Dashboard collections import/export (DASHBOARD.md item 23): the export
// equals GET /api/collections (minus timestamps, as PocketBase's export);
// an edited JSON shows a diff (added / changed field by field / deleted)
// before anything is written; deleteMissing needs an explicit tick; after
// the import REST matches, data kept through a field rename.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'zz_a', type: 'base', fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }] });
  await s.pb.collections.create({ name: 'zz_b', type: 'base', fields: [{ name: 't', type: 'text' }] });
  await s.pb.collection('zz_a').create({ title: 'x', n: 5 });
});
const b = useBrowser();

async function restExport() {
  const r = await srv.su('GET', '/api/collections?perPage=1000');
  return r.json.items.map(({ created, updated, ...c }) => c);
}

test('export equals REST (all, a chosen subset, and the downloaded file)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Export', exact: true }).click()]);
  const shown = JSON.parse(await page.getByLabel(/^JSON of/).inputValue());
  assert.deepEqual(shown, await restExport());
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
  const file = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(file, await restExport());
  for (const box of await page.getByRole('checkbox').all()) await box.uncheck();
  await page.getByRole('checkbox', { name: 'zz_b' }).check();
  await submit(page, 'Show JSON');
  const one = JSON.parse(await page.getByLabel(/^JSON of 1 /).inputValue());
  assert.deepEqual(one, (await restExport()).filter((c) => c.name === 'zz_b'));
});

test('import: diff preview, deleteMissing needs a tick, REST matches after confirm', b, async () => {
  if (skip) return;
  const list = await restExport();
  const a = list.find((c) => c.name === 'zz_a');
  a.fields = a.fields.filter((f) => f.name !== 'title').map((f) => (f.name === 'n' ? { ...f, name: 'num' } : f));
  a.fields.push({ name: 'extra', type: 'bool' });
  a.listRule = '';
  const edited = list.filter((c) => c.name !== 'zz_b');
  edited.push({ name: 'zz_new', type: 'base', fields: [{ name: 'label', type: 'text' }] });
  const page = await signedInPage(b, srv);
  await page.goto('/_/import-collections');
  // A file is read into the box.
  await page.getByLabel('Load a JSON file (optional)').setInputFiles({ name: 'schema.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(edited)) });
  await page.waitForFunction(() => document.getElementById('import-json').value !== '');
  assert.deepEqual(JSON.parse(await page.getByLabel(/^Collections JSON/).inputValue()), edited);
  await page.getByLabel(/Delete the collections/).check();
  await submit(page, 'Review changes');
  const diff = page.getByRole('region', { name: 'Review the changes' });
  const text = await diff.textContent();
  assert.match(text, /Added \(1\)\s*zz_new/);
  assert.match(text, /field n renamed to num/);
  assert.match(text, /field extra \(bool\) added/);
  assert.match(text, /field title deleted, with its data/);
  assert.match(text, /listRule changed/);
  assert.match(text, /Deleted \(1\)\s*zz_b/);
  // Nothing written by the review.
  assert.equal((await srv.su('GET', '/api/collections/zz_b')).status, 200);
  assert.equal((await srv.su('GET', '/api/collections/zz_new')).status, 404);
  // Confirm without the tick: refused, nothing written.
  await submit(page, 'Confirm and import');
  assert.match(await page.getByRole('alert').textContent(), /Tick the box to confirm deleting 1 collection/);
  assert.equal((await srv.su('GET', '/api/collections/zz_b')).status, 200);
  await submit(page, 'Review changes');
  await page.getByLabel(/I understand that 1 collection/).check();
  await submit(page, 'Confirm and import');
  await page.getByText('Collections imported.').first().waitFor();
  assert.equal((await srv.su('GET', '/api/collections/zz_b')).status, 404);
  assert.equal((await srv.su('GET', '/api/collections/zz_new')).status, 200);
  const now = (await srv.su('GET', '/api/collections/zz_a')).json;
  assert.deepEqual(now.fields.map((f) => f.name), ['id', 'num', 'extra']);
  assert.equal(now.listRule, '');
  const [rec] = (await srv.su('GET', '/api/collections/zz_a/records')).json.items;
  assert.equal(rec.num, 5, 'the renamed field kept its data');
});

test('import: bad JSON and invalid collections are reported, nothing written', b, async () => {
  if (skip) return;
  const before = await restExport();
  const page = await signedInPage(b, srv);
  await page.goto('/_/import-collections');
  await page.getByLabel(/^Collections JSON/).fill('{"nope": ');
  await submit(page, 'Review changes');
  assert.match(await page.getByRole('alert').textContent(), /Invalid JSON/);
  await page.getByLabel(/^Collections JSON/).fill(JSON.stringify([{ name: 'zz_bad', type: 'base', fields: [{ name: 'x', type: 'nosuchtype' }] }]));
  await submit(page, 'Review changes');
  const alert = await page.getByRole('alert').textContent();
  assert.match(alert, /zz_bad/);
  // The same answer REST gives for the same body.
  const rest = await srv.su('PUT', '/api/collections/import', { body: { collections: [{ name: 'zz_bad', type: 'base', fields: [{ name: 'x', type: 'nosuchtype' }] }] } });
  assert.equal(rest.status, 400);
  assert.ok(alert.includes(rest.json.message), `${alert} has ${rest.json.message}`);
  assert.deepEqual(await restExport(), before);
  // CSRF applies.
  const r = await page.request.post('/_/import-collections', { form: { json: '[]', action: 'import' } });
  assert.equal(r.status(), 403);
});

test('import/export pages: axe clean in both themes (with a diff), 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, '/_/export-collections');
  await checkLayout(b, srv, '/_/import-collections', async (page) => {
    const list = await restExport();
    list.push({ name: 'zz_axe', type: 'base', fields: [] });
    await page.getByLabel(/^Collections JSON/).fill(JSON.stringify(list));
    await page.getByLabel(/Delete the collections/).check();
    await submit(page, 'Review changes');
  });
});

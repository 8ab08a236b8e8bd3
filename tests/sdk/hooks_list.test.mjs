// onRecordsListRequest (PocketBase 0.23+ semantics), measured on
// PocketBase 0.40.6 and run on both targets (hook file:
// tests/plugins/list_hooks): it runs over the page the list rule and the
// filter selected, with e.records and e.result ({page, perPage,
// totalItems, totalPages, items}, items being the same records in an array
// of their own). The answer is e.result as the handlers left it: changes
// to a record show (before ?fields= applies), so do a new e.result.items
// or total; a new e.records does not, nor changes after e.next(). A throw
// answers the thrown error; not calling e.next() answers what the handler
// wrote, else 200 with an empty body. Nothing is saved.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody, SUPERUSER_EMAIL } from './harness.mjs';

const ids = {};
const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'list_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.collections.create({
    name: 'lh_items', type: 'base', listRule: 'title != "ruled-out"', viewRule: '', createRule: '',
    fields: [{ name: 'title', type: 'text' }, { name: 'note', type: 'text' }],
  });
  for (const t of ['a', 'b', 'c', 'ruled-out']) {
    ids[t] = (await s.pb.collection('lh_items').create({ title: t, note: 'n' })).id;
  }
});

const list = (mode, q = '') => srv.api('GET', `/api/collections/lh_items/records?sort=title&mode=${mode}${q}`);
const titles = (r) => r.json.items.map((x) => x.title);
const stored = async (key) => (await srv.api('GET', `/api/lh/store/${encodeURIComponent(key)}`)).json;

test('the hook sees the page the rule selected: e.records, e.result, e.collection, e.auth', async () => {
  const r = await list('info');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    n: 3, first: 'a', keys: ['items', 'page', 'perPage', 'totalItems', 'totalPages'],
    page: 1, perPage: 30, totalItems: 3, totalPages: 1,
    sameArray: false, sameRecords: true, json: ['a', 'b', 'c'],
  });
  assert.deepEqual(await stored('list:info'), { has: true, value: { n: 3, auth: 'guest', collection: 'lh_items' } });
  const su = await srv.su('GET', '/api/collections/lh_items/records?mode=su&perPage=2');
  assert.equal(su.status, 200);
  assert.deepEqual([su.json.items.length, su.json.totalItems], [2, 4]);
  assert.deepEqual(await stored('list:su'), { has: true, value: { n: 2, auth: SUPERUSER_EMAIL, collection: 'lh_items' } });
});

test('a plain pass answers the page unchanged', async () => {
  const r = await list('none');
  assert.deepEqual([r.status, titles(r), r.json.totalItems, r.json.page], [200, ['a', 'b', 'c'], 3, 1]);
});

test('changes to the records show in the answer, before ?fields= applies; nothing is saved', async () => {
  const r = await list('set');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(titles(r), ['changed', 'b', 'c']);
  assert.equal(r.json.items[0].note, 'n');
  assert.equal('note' in r.json.items[1], false);
  const f = await list('set', '&fields=title');
  assert.deepEqual(f.json.items, [{ title: 'changed' }, { title: 'b' }, { title: 'c' }]);
  const again = await list('none');
  assert.deepEqual(titles(again), ['a', 'b', 'c']);
});

test('e.result is the answer: new items or totals show, a new e.records does not', async () => {
  assert.deepEqual(titles(await list('reassign')), ['a', 'b', 'c']);
  const items = await list('items');
  assert.deepEqual([titles(items), items.json.totalItems], [['c'], 3]);
  assert.deepEqual((await list('plain')).json.items, [{ x: 1 }]);
  const total = await list('total');
  assert.deepEqual([total.json.totalItems, total.json.page, total.json.items.length], [99, 7, 3]);
});

test('changes after e.next() do not show', async () => {
  assert.deepEqual(titles(await list('after')), ['a', 'b', 'c']);
});

test('not calling e.next() answers with what the handler wrote, else 200 empty; a throw answers its error', async () => {
  const s = await list('stop');
  assert.deepEqual([s.status, s.text], [200, '']);
  const c = await list('custom');
  assert.deepEqual([c.status, c.json], [201, { custom: true }]);
  const t = await list('throw');
  assert.deepEqual([t.status, t.json], [400, errBody(400, 'No list.')]);
});

test('other collections and the view endpoint do not run it', async () => {
  await srv.pb.collections.create({ name: 'lh_other', type: 'base', listRule: '', fields: [{ name: 'title', type: 'text' }] });
  const r = await srv.api('GET', '/api/collections/lh_other/records?mode=other');
  assert.equal(r.status, 200);
  assert.equal((await stored('list:other')).has, false);
  const v = await srv.api('GET', `/api/collections/lh_items/records/${ids.a}?mode=view`);
  assert.equal(v.json.title, 'a');
  assert.equal((await stored('list:view')).has, false);
});

// onRecordViewRequest, measured on PocketBase 0.40.6 and run on both
// targets (hook file: tests/plugins/view_hooks): it runs once the view rule
// let the caller see the record, with e.record and e.auth; a throw answers
// the thrown error, a handler that does not call e.next() answers with what
// it wrote (else 200 and an empty body), and what it changes in e.record is
// what the answer shows (before ?fields= applies); nothing is saved.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody, SUPERUSER_EMAIL } from './harness.mjs';

const ids = {};
const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'view_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.collections.create({
    name: 'vh_items', type: 'base', listRule: '', viewRule: 'title != "ruled-out"', createRule: '',
    fields: [{ name: 'title', type: 'text' }, { name: 'note', type: 'text' }],
  });
  for (const t of ['plain', 'hide', 'custom', 'secret', 'shaped', 'ruled-out']) {
    ids[t] = (await s.pb.collection('vh_items').create({ title: t, note: 'n' })).id;
  }
});

const view = (t, q = '') => srv.api('GET', `/api/collections/vh_items/records/${ids[t]}${q}`);
const stored = async (key) => (await srv.api('GET', `/api/vh/store/${encodeURIComponent(key)}`)).json;

test('a view runs the hook with the record and the caller', async () => {
  const r = await view('plain');
  assert.deepEqual([r.status, r.json.title, r.json.note], [200, 'plain', 'n']);
  assert.deepEqual(await stored('view:plain'), { has: true, value: 'guest' });
  const su = await srv.su('GET', `/api/collections/vh_items/records/${ids.plain}`);
  assert.equal(su.status, 200);
  assert.deepEqual(await stored('view:plain'), { has: true, value: SUPERUSER_EMAIL });
});

test('a record the view rule hides never reaches the hook', async () => {
  assert.equal((await view('ruled-out')).status, 404);
  assert.equal((await stored('view:ruled-out')).has, false);
});

test('not calling e.next() answers with what the handler wrote, else 200 empty; a throw answers its error', async () => {
  const h = await view('hide');
  assert.deepEqual([h.status, h.text], [200, '']);
  const c = await view('custom');
  assert.deepEqual([c.status, c.json], [200, { v: 1 }]);
  const s = await view('secret');
  assert.deepEqual([s.status, s.json], [403, errBody(403, 'Not this one.')]);
});

test('what the handler changes in e.record is what the answer shows; ?fields= applies after it; nothing is saved', async () => {
  const r = await view('shaped');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.title, 'shaped by the hook');
  assert.equal('note' in r.json, false);
  const f = await view('shaped', '?fields=id,title');
  assert.deepEqual(f.json, { id: ids.shaped, title: 'shaped by the hook' });
  const list = await srv.pb.collection('vh_items').getFullList({ filter: 'title = "shaped"' });
  assert.equal(list.length, 1);
});

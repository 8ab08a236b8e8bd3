// Handlers that do not call e.next(), measured on PocketBase 0.40.6 and run
// on both targets (hook file: tests/plugins/stop_hooks). A request hook
// (onRecord…Request, onCollection…Request, onBatchRequest, a route
// middleware) that stops answers with the response it wrote (e.json,
// e.string…), else 200 with an empty body. A model hook (onRecordCreate,
// onCollectionDelete…) that stops lets the API answer as if it had written:
// the record (200) or 204 for a delete, and the after-success hooks run.
// Nothing is written either way. In a batch, a stopped sub-request answers
// {status: 200, body: null} (or what its handler wrote) and the others are
// written.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, ID_RE } from './harness.mjs';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'stop_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  const open = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };
  await s.pb.collections.create({ name: 'st_items', type: 'base', ...open, fields: [{ name: 'title', type: 'text' }, { name: 'secret', type: 'text', hidden: true }] });
  await s.pb.settings.update({ batch: { enabled: true } });
});

const URL_ = '/api/collections/st_items/records';
const create = (title, extra = {}) => srv.api('POST', URL_, { body: { title, ...extra } });
const titles = async () => (await srv.pb.collection('st_items').getFullList({ sort: 'title' })).map((r) => r.title);
const count = async (title) => (await srv.pb.collection('st_items').getList(1, 1, { filter: `title = "${title}"` })).totalItems;
const ran = async (key) => (await srv.api('GET', `/api/st/store/${encodeURIComponent(key)}`)).json.has;
const ranAfter = (title) => ran('after:' + title);
const make = async (title) => (await srv.pb.collection('st_items').create({ title: 'x' + title })).id;

test('a record request hook that does not call e.next() answers 200 with an empty body and writes nothing', async () => {
  const r = await create('no-next');
  assert.deepEqual([r.status, r.text], [200, '']);
  assert.equal(await count('no-next'), 0);
  assert.equal(await ranAfter('no-next'), false);
});

test('a request hook that stops answers with the response it wrote', async () => {
  const j = await create('json');
  assert.deepEqual([j.status, j.json], [201, { custom: true }]);
  const t = await create('text');
  assert.deepEqual([t.status, t.text, t.headers.get('content-type')], [202, 'hi', 'text/plain; charset=utf-8']);
  assert.equal(await count('json') + await count('text'), 0);
});

test('a model hook that does not call e.next(): the API answers with the record as if written, but nothing is written', async () => {
  const r = await create('model-no-next', { secret: 's' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.title, 'model-no-next');
  assert.equal(r.json.collectionName, 'st_items');
  assert.match(r.json.id, ID_RE);
  assert.equal('secret' in r.json, false, 'hidden fields stay hidden');
  assert.equal(await count('model-no-next'), 0);
  // As if written: the after-success hooks run (with the unsaved record).
  assert.equal(await ranAfter('model-no-next'), true);
});

test('update and delete: request hooks answer 200 empty, model hooks answer as if written; nothing changes', async () => {
  const id = await make('u');
  const u = await srv.api('PATCH', `${URL_}/${id}`, { body: { title: 'no-next' } });
  assert.deepEqual([u.status, u.text], [200, '']);
  const m = await srv.api('PATCH', `${URL_}/${id}`, { body: { title: 'model-no-next' } });
  assert.deepEqual([m.status, m.json.id, m.json.title], [200, id, 'model-no-next']);
  assert.equal((await srv.pb.collection('st_items').getOne(id)).title, 'xu');

  const keep = await srv.pb.collection('st_items').create({ title: 'keep' });
  const keepModel = await srv.pb.collection('st_items').create({ title: 'keep-model' });
  const d = await srv.api('DELETE', `${URL_}/${keep.id}`);
  assert.deepEqual([d.status, d.text], [200, '']);
  const dm = await srv.api('DELETE', `${URL_}/${keepModel.id}`);
  assert.deepEqual([dm.status, dm.text], [204, '']);
  assert.equal(await count('keep') + await count('keep-model'), 2);
  // A handler that calls e.next() still deletes.
  const gone = await srv.pb.collection('st_items').create({ title: 'gone' });
  assert.equal((await srv.api('DELETE', `${URL_}/${gone.id}`)).status, 204);
  assert.equal(await count('gone'), 0);
});

test('in a batch, a stopped sub-request answers on its own and the others are written', async () => {
  const post = (title) => ({ method: 'POST', url: URL_, body: { title } });
  const r = await srv.api('POST', '/api/batch', { body: { requests: [post('no-next'), post('b-one'), post('json'), post('model-no-next')] } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.length, 4);
  assert.deepEqual(r.json[0], { status: 200, body: null });
  assert.deepEqual([r.json[1].status, r.json[1].body.title], [200, 'b-one']);
  assert.deepEqual(r.json[2], { status: 201, body: { custom: true } });
  assert.deepEqual([r.json[3].status, r.json[3].body.title], [200, 'model-no-next']);
  assert.match(r.json[3].body.id, ID_RE);
  assert.equal(await count('b-one'), 1);
  assert.equal(await count('no-next') + await count('json') + await count('model-no-next'), 0);
  assert.equal(await ranAfter('b-one'), true);
  assert.equal(await ranAfter('model-no-next'), true);
  assert.equal(await ranAfter('no-next') || await ranAfter('json'), false);
});

test('onBatchRequest that does not call e.next() answers 200 empty and runs nothing', async () => {
  const before = await titles();
  const post = (title) => ({ method: 'POST', url: URL_, body: { title } });
  const r = await srv.api('POST', '/api/batch', { body: { requests: [post('c1'), post('c2'), post('c3')] } });
  assert.deepEqual([r.status, r.text], [200, '']);
  assert.deepEqual(await titles(), before);
});

test('collections: a request hook that stops answers 200 empty (or what it wrote); a model hook that stops lets the API answer', async () => {
  const c = await srv.su('POST', '/api/collections', { body: { name: 'st_nonext', type: 'base' } });
  assert.deepEqual([c.status, c.text], [200, '']);
  assert.equal((await srv.su('GET', '/api/collections/st_nonext')).status, 404);
  const cm = await srv.su('POST', '/api/collections', { body: { name: 'st_nonext_model', type: 'base' } });
  assert.deepEqual([cm.status, cm.json.name], [200, 'st_nonext_model']);
  assert.equal((await srv.su('GET', '/api/collections/st_nonext_model')).status, 404);
  assert.equal(await ran('cafter:st_nonext'), false);
  assert.equal(await ran('cafter:st_nonext_model'), true);

  for (const name of ['st_keep', 'st_keep_model']) {
    assert.equal((await srv.su('POST', '/api/collections', { body: { name, type: 'base' } })).status, 200);
  }
  const d = await srv.su('DELETE', '/api/collections/st_keep');
  assert.deepEqual([d.status, d.json], [409, { kept: true }]);
  const dm = await srv.su('DELETE', '/api/collections/st_keep_model');
  assert.deepEqual([dm.status, dm.text], [204, '']);
  assert.equal((await srv.su('GET', '/api/collections/st_keep')).status, 200);
  assert.equal((await srv.su('GET', '/api/collections/st_keep_model')).status, 200);
});

test('a route middleware that does not call e.next() answers 200 with an empty body', async () => {
  const r = await srv.api('GET', '/api/st/mw');
  assert.deepEqual([r.status, r.text], [200, '']);
});

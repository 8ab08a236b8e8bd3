// Record hooks around $app.save / $app.delete, in routes and in migrations,
// the newer record hooks (onRecordValidate, …Execute, …AfterError), and
// $app.store() / $app.settings(); the same on PocketBase 0.40.6 and Cairn.
// Fixtures: tests/plugins/model_hooks (a migration that saves a record and
// a hook file logging each step).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins', 'model_hooks');
const srv = useServer(async (s) => {
  await fsp.cp(path.join(FIXTURES, 'pb_migrations'), path.join(s.root, 'pb_migrations'), { recursive: true });
  await fsp.cp(path.join(FIXTURES, 'pb_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
});

const post = (p, body) => srv.su('POST', p, { body });
const log = async () => (await srv.pb.collection('mh_log').getFullList({ sort: 'n' })).map((r) => [r.n, r.msg]);

test('a migration\'s app.save fires the record hooks; after-success waits for its commit', async () => {
  const seed = await srv.pb.collection('mh_items').getFirstListItem('title = "seed"');
  assert.equal(seed.note, '[create][validate][execute]');
  // The migration wrote its own log entry after the save, yet the after-success
  // hook's entry comes second: it ran once the migration's transaction committed.
  assert.deepEqual((await log()).slice(0, 2), [[1, 'migration end'], [2, 'created seed']]);
  // The collection hooks fired for the migration's app.save(collection):
  // onCollectionCreate (tagged mh_items) added a field.
  const fields = async (name) => (await srv.pb.collections.getOne(name)).fields.map((f) => f.name);
  assert.ok((await fields('mh_items')).includes('tag'));
  assert.equal((await fields('mh_log')).includes('tag'), false);
});

test('$app.save in a route runs onRecordCreate → onRecordValidate → onRecordCreateExecute → write → after-success', async () => {
  const r = await post('/api/mh/save', { title: 'route' });
  assert.equal(r.status, 200, r.text);
  // Code after e.next() in onRecordCreate ran after the write (isNew() false).
  assert.deepEqual(r.json, { isNew: false, note: '[create][validate][execute]', failed: false, afterNext: false, after: true, error: null });
  const stored = await srv.pb.collection('mh_items').getFirstListItem('title = "route"');
  assert.equal(stored.note, '[create][validate][execute]');
  assert.ok((await log()).some(([, m]) => m === 'created route'));
});

test('a handler that does not call e.next() skips the write, and save still succeeds', async () => {
  const r = await post('/api/mh/save', { title: 'stop' });
  assert.deepEqual(r.json, { isNew: true, note: '', failed: false, afterNext: null, after: true, error: null });
  assert.equal((await srv.pb.collection('mh_items').getList(1, 1, { filter: 'title = "stop"' })).totalItems, 0);
});

test('a failing save runs onRecordAfterCreateError: a validate hook that throws, a validation error, a throw after e.next()', async () => {
  const refused = await post('/api/mh/save', { title: 'refuse' });
  assert.deepEqual(refused.json, { isNew: true, note: '[create]', failed: true, afterNext: null, after: false, error: true });
  const invalid = await post('/api/mh/save', { title: '' });
  assert.deepEqual([invalid.json.failed, invalid.json.after, invalid.json.error], [true, false, true]);
  // Outside a transaction the write stays (as in PocketBase); the save fails.
  const undo = await post('/api/mh/save', { title: 'undo' });
  assert.deepEqual([undo.json.failed, undo.json.afterNext, undo.json.after, undo.json.error], [true, false, false, true]);
});

test('$app.save of an existing record runs the update hooks', async () => {
  const rec = await srv.pb.collection('mh_items').create({ title: 'upd' });
  const r = await post(`/api/mh/update/${rec.id}`, { title: 'upd2' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { note: `${rec.note}[update][validate][uexec]`, after: `${rec.note}[update][validate][uexec]` });
});

test('$app.delete runs onRecordDelete → onRecordDeleteExecute → delete → after-success, or the error hook', async () => {
  const a = await srv.pb.collection('mh_items').create({ title: 'gone' });
  const r = await post(`/api/mh/delete/${a.id}`, {});
  assert.deepEqual(r.json, { failed: false, deleting: true, execute: true, deleted: true, deleteError: null });
  const b = await srv.pb.collection('mh_items').create({ title: 'keep' });
  const r2 = await post(`/api/mh/delete/${b.id}`, {});
  assert.deepEqual(r2.json, { failed: true, deleting: false, execute: false, deleted: false, deleteError: true });
  assert.equal((await srv.pb.collection('mh_items').getOne(b.id)).title, 'keep');
});

test('inside runInTransaction the after-success hooks wait for the end of the transaction', async () => {
  const r = await post('/api/mh/tx', {});
  assert.deepEqual(r.json, { during: false, after: true });
});

test('REST writes run onRecordValidate and onRecordCreateExecute, and onRecordAfterCreateError on failure', async () => {
  const rec = await srv.pb.collection('mh_items').create({ title: 'rest' });
  assert.equal(rec.note, '[create][validate][execute]');
  await assert.rejects(srv.pb.collection('mh_items').create({ title: '' }), (e) => e.status === 400);
  let value = null;
  for (let i = 0; i < 50 && value === null; i++) {
    value = (await srv.su('GET', '/api/mh/store/error:empty')).json.value;
    if (value === null) await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(value, true);
});

test('$app.store() is shared by every handler: set, get, has, remove, getAll', async () => {
  assert.deepEqual((await post('/api/mh/kv', { op: 'set', key: 'kv1', value: { a: [1, 'x'] } })).json, { value: { a: [1, 'x'] }, has: true, all: ['kv1'] });
  assert.deepEqual((await post('/api/mh/kv', { op: 'set', key: 'kv2', value: 7 })).json, { value: 7, has: true, all: ['kv1', 'kv2'] });
  // Many requests (any worker) see the same store.
  for (let i = 0; i < 8; i++) {
    assert.deepEqual((await post('/api/mh/kv', { op: 'get', key: 'kv1' })).json.value, { a: [1, 'x'] });
  }
  assert.deepEqual((await post('/api/mh/kv', { op: 'remove', key: 'kv1' })).json, { value: null, has: false, all: ['kv2'] });
});

test('$app.settings() reads the settings and $app.save(settings) changes them', async () => {
  const r = await srv.su('GET', '/api/mh/settings');
  assert.deepEqual(r.json, { appName: (await srv.pb.settings.getAll()).meta.appName, batch: false });
  const saved = await post('/api/mh/settings', { appName: 'Renamed by a hook' });
  assert.deepEqual(saved.json, { appName: 'Renamed by a hook' });
  assert.equal((await srv.pb.settings.getAll()).meta.appName, 'Renamed by a hook');
});

test('onBatchRequest sees and changes e.batch before the sub-requests run, and may refuse the batch', async () => {
  await srv.pb.settings.update({ batch: { enabled: true } });
  const create = (msg) => ({ method: 'POST', url: '/api/collections/mh_log/records', body: { msg, n: 100 } });
  const r = await srv.su('POST', '/api/batch', { body: { requests: [create('b1'), create('b2')] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.map((x) => x.body.msg), ['b1!', 'b2!']);
  const refused = await srv.su('POST', '/api/batch', { body: { requests: [create('b3'), create('refuse')] } });
  assert.deepEqual([refused.status, refused.json], [400, { data: {}, message: 'No such batch.', status: 400 }]);
  assert.equal((await srv.pb.collection('mh_log').getList(1, 1, { filter: 'msg = "b3!" || msg = "b3"' })).totalItems, 0);
});

// Record hooks around a REST write and $app.runInTransaction, measured on
// PocketBase 0.40.6 and run on both targets (hook file:
// tests/plugins/tx_hooks). Code after e.next() runs after the write, before
// the after-success hooks; a throw there answers the thrown error and runs
// the after-error hooks. PocketBase keeps the write then (there is no
// transaction around a REST write); Cairn runs that code inside the write
// transaction and rolls it back (the Cairn-only assertions below).
// runInTransaction and a batch are one transaction on both: in a batch a
// throw after e.next() rolls every sub-request back.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, IS_POCKETBASE, cairnOnly, errBody } from './harness.mjs';

// A short budget for the spinning-hook tests (Cairn reads it at start).
process.env.CAIRN_JS_TIME_LIMIT_MS = '1500';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'tx_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  const open = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };
  await s.pb.collections.create({ name: 'tx_items', type: 'base', ...open, fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collections.create({ name: 'tx_log', type: 'base', ...open, fields: [{ name: 'msg', type: 'text' }] });
  await s.pb.settings.update({ batch: { enabled: true } });
});

const create = (title) => srv.api('POST', '/api/collections/tx_items/records', { body: { title } });
const stored = async (key) => (await srv.su('GET', `/api/tx/store/${encodeURIComponent(key)}`)).json;
const count = async (coll, filter) => (await srv.pb.collection(coll).getList(1, 1, { filter })).totalItems;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('code after e.next() runs after the write (the record is found, isNew() is false), before after-success', async () => {
  const r = await create('ok');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.title, 'ok');
  assert.deepEqual(await stored('req.seen:ok'), { has: true, value: true });
  assert.deepEqual(await stored('req.isNew:ok'), { has: true, value: false });
  // In onRecordCreate, after e.next(), the after-success hook has not run yet.
  assert.deepEqual(await stored('model.afterRan:ok'), { has: true, value: false });
  assert.deepEqual(await stored('after:ok'), { has: true, value: true });
});

test('a throw after e.next() in onRecordCreate answers that error and runs onRecordAfterCreateError', async () => {
  const r = await create('model-undo');
  assert.deepEqual([r.status, r.json], [400, errBody(400, 'Undo in model hook.')]);
  assert.deepEqual(await stored('error:model-undo'), { has: true, value: true });
  assert.equal((await stored('after:model-undo')).has, false);
  // PocketBase keeps the record (no transaction); Cairn rolls the write back.
  assert.equal(await count('tx_items', 'title = "model-undo"'), IS_POCKETBASE ? 1 : 0);
});

test('a throw after e.next() in onRecordUpdate / onRecordDelete answers that error', async () => {
  const a = await srv.pb.collection('tx_items').create({ title: 'before' });
  const u = await srv.api('PATCH', `/api/collections/tx_items/records/${a.id}`, { body: { title: 'upd-undo' } });
  assert.deepEqual([u.status, u.json], [400, errBody(400, 'Undo update.')]);
  assert.equal((await srv.pb.collection('tx_items').getOne(a.id)).title, IS_POCKETBASE ? 'upd-undo' : 'before');
  const b = await srv.pb.collection('tx_items').create({ title: 'del-undo' });
  const d = await srv.api('DELETE', `/api/collections/tx_items/records/${b.id}`);
  assert.deepEqual([d.status, d.json], [400, errBody(400, 'Undo delete.')]);
  assert.equal(await count('tx_items', `id = "${b.id}"`), IS_POCKETBASE ? 0 : 1);
});

test('a request hook that does not call e.next() stops the write', async () => {
  const r = await create('no-next');
  // As PocketBase: 200 with an empty body (tests/sdk/hooks_stop.test.mjs).
  assert.deepEqual([r.status, r.text], [200, '']);
  assert.equal(await count('tx_items', 'title = "no-next"'), 0);
});

test('Cairn: a throw after e.next() in onRecordCreateRequest rolls the write back', { skip: cairnOnly }, async () => {
  // (PocketBase has already answered 200 by then and keeps the record.)
  const r = await create('req-undo');
  assert.deepEqual([r.status, r.json], [400, errBody(400, 'Undo in request hook.')]);
  assert.equal(await count('tx_items', 'title = "req-undo"'), 0);
  assert.deepEqual(await stored('req.seen:req-undo'), { has: true, value: true });
});

test('Cairn: $app writes after e.next() join the transaction; writes before it do not', { skip: cairnOnly }, async () => {
  const r1 = await create('log-after-undo');
  assert.equal(r1.status, 400);
  assert.equal(await count('tx_log', 'msg = "after:log-after-undo"'), 0);
  assert.equal(await count('tx_items', 'title = "log-after-undo"'), 0);
  // Before e.next() no transaction is open yet (as in PocketBase): that save stays.
  const r2 = await create('log-before-undo');
  assert.equal(r2.status, 400);
  assert.equal(await count('tx_log', 'msg = "before:log-before-undo"'), 1);
  assert.equal(await count('tx_items', 'title = "log-before-undo"'), 0);
});

const batch = (titles) => srv.su('POST', '/api/batch', {
  body: { requests: titles.map((title) => ({ method: 'POST', url: '/api/collections/tx_items/records', body: { title } })) },
});
const batchFailed = (i, message) => errBody(400, 'Batch transaction failed.', {
  requests: { [String(i)]: { code: 'batch_request_failed', message: 'Batch request failed.', response: { data: {}, message, status: 400 } } },
});

test('in a batch, code after e.next() runs after each sub-request\'s write', async () => {
  const r = await batch(['b-ok1', 'b-ok2']);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.map((x) => x.body.title), ['b-ok1', 'b-ok2']);
  assert.deepEqual(await stored('req.seen:b-ok1'), { has: true, value: true });
  assert.deepEqual(await stored('req.isNew:b-ok1'), { has: true, value: false });
  assert.deepEqual(await stored('model.afterRan:b-ok1'), { has: true, value: false });
  assert.deepEqual(await stored('after:b-ok2'), { has: true, value: true });
});

test('in a batch, a throw after e.next() rolls every sub-request back and runs their after-error hooks', async () => {
  const model = await batch(['b-first', 'model-undo']);
  assert.deepEqual([model.status, model.json], [400, batchFailed(1, 'Undo in model hook.')]);
  assert.equal(await count('tx_items', 'title = "b-first"'), 0);
  assert.deepEqual(await stored('error:b-first'), { has: true, value: true });
  assert.equal((await stored('after:b-first')).has, false);
  const req = await batch(['b-second', 'req-undo']);
  assert.deepEqual([req.status, req.json], [400, batchFailed(1, 'Undo in request hook.')]);
  assert.equal(await count('tx_items', 'title = "b-second" || title = "req-undo"'), 0);
  // A hook's own $app.save after e.next() is part of the batch's transaction.
  const log = await batch(['log-after-undo', 'b-third']);
  assert.deepEqual([log.status, log.json], [400, batchFailed(0, 'Undo in model hook.')]);
  assert.equal(await count('tx_log', 'msg = "after:log-after-undo"'), 0);
});

test('$app.runInTransaction is one transaction: later finds see its saves, after-success waits for the commit', async () => {
  const r = await srv.su('POST', '/api/tx/run', { body: { prefix: 'rok' } });
  assert.deepEqual(r.json, { seen: 2, failed: false, afterDuring: false, afterNow: true, errorNow: false, count: 2 });
});

test('a throw inside runInTransaction undoes every save and runs the after-error hooks', async () => {
  const r = await srv.su('POST', '/api/tx/run', { body: { prefix: 'rfail', fail: true } });
  assert.deepEqual(r.json, { seen: 2, failed: true, afterDuring: false, afterNow: false, errorNow: true, count: 0 });
});

test('nested runInTransaction calls join the outer transaction', async () => {
  const ok = await srv.su('POST', '/api/tx/nested', { body: { prefix: 'nok' } });
  assert.deepEqual(ok.json, { failed: false, seen: 2, count: 2, settings: null });
  const undone = await srv.su('POST', '/api/tx/nested', { body: { prefix: 'nfail', fail: true } });
  assert.deepEqual(undone.json, { failed: true, seen: 2, count: 0, settings: null });
});

test('Cairn: $app.save(settings) inside a transaction fails with a message', { skip: cairnOnly }, async () => {
  const r = await srv.su('POST', '/api/tx/nested', { body: { prefix: 'nset', settings: true } });
  assert.deepEqual(r.json, { failed: false, seen: 2, count: 2, settings: 'settings.save is not available inside a transaction in Cairn' });
});

test('Cairn: a hook spinning inside the transaction is stopped at its budget, rolled back, and other writes go on', { skip: cairnOnly }, async () => {
  const spin = create('spin');
  await sleep(300); // the spinner now holds the write transaction
  const started = Date.now();
  const others = await Promise.all([0, 1, 2, 3].map((i) => srv.pb.collection('tx_log').create({ msg: `other-${i}` })));
  const waited = Date.now() - started;
  const r = await spin;
  assert.equal(r.status, 400, r.text);
  assert.equal(others.length, 4);
  // They waited for the spinner's budget (1.5 s) at most, not for the spinner.
  assert.ok(waited < 1500 + 2500, `other writes waited ${waited} ms`);
  assert.equal(await count('tx_items', 'title = "spin"'), 0);
  assert.equal(await count('tx_log', 'msg ~ "other-"'), 4);
  assert.equal((await create('after-spin')).status, 200);
});

test('Cairn: a hook busy before e.next() holds no transaction: other writes finish first', { skip: cairnOnly }, async () => {
  let spinnerDone = false;
  const spin = create('spin-before').then((r) => { spinnerDone = true; return r; });
  await sleep(100);
  await srv.pb.collection('tx_log').create({ msg: 'during-spin-before' });
  assert.equal(spinnerDone, false, 'the other write waited for the hook');
  assert.equal((await spin).status, 200);
});

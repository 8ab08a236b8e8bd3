// Collection hooks around the collections API, measured on PocketBase
// 0.40.6 and run on both targets (hook file: tests/plugins/collection_hooks):
// onCollection…Request → e.next() → onCollectionCreate → onCollectionValidate
// → onCollectionCreateExecute → the write → after-success, then the code
// after e.next(); what a handler changes in e.collection is saved; a throw
// before e.next() refuses the change; there is no transaction, so after it
// the change stays (and a request hook's throw no longer changes the answer).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody } from './harness.mjs';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'collection_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
});

const stored = async (key) => (await srv.su('GET', `/api/hc/store/${encodeURIComponent(key)}`)).json;
const create = (name) => srv.su('POST', '/api/collections', { body: { name, type: 'base', fields: [{ name: 'title', type: 'text' }] } });
const exists = async (name) => (await srv.su('GET', `/api/collections/${name}`)).status === 200;

test('create runs the request hook, then onCollectionCreate → Validate → Execute, the write, after-success', async () => {
  const r = await create('hc_plain');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await stored('model:hc_plain'), { has: true, value: '[create][validate][execute]' });
  // After e.next() the collection is saved (it has its id) and after-success has run.
  assert.deepEqual(await stored('req.after:hc_plain'), { has: true, value: r.json.id });
  assert.deepEqual(await stored('req.afterSuccessRan:hc_plain'), { has: true, value: true });
});

test('what a request hook changes in e.collection is saved', async () => {
  const r = await create('hc_stamped');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.listRule, '');
  const back = await srv.su('GET', '/api/collections/hc_stamped');
  assert.equal(back.json.listRule, '');
});

test('a throw before e.next() refuses the create; after e.next() the collection is saved and answered', async () => {
  const refused = await create('hc_refused');
  assert.deepEqual([refused.status, refused.json], [400, errBody(400, 'No such collections.')]);
  assert.equal(await exists('hc_refused'), false);
  assert.equal((await stored('model:hc_refused')).has, false);
  // The response was written by then: a request hook's throw after e.next() changes nothing.
  const thrown = await create('hc_thrown');
  assert.equal(thrown.status, 200, thrown.text);
  assert.equal(thrown.json.name, 'hc_thrown');
  assert.equal(await exists('hc_thrown'), true);
});

test('update and delete run their request hooks and after-success hooks', async () => {
  await create('hc_upd');
  const u = await srv.su('PATCH', '/api/collections/hc_upd', { body: { listRule: '' } });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.viewRule, '');
  assert.equal(u.json.listRule, '');
  assert.deepEqual(await stored('updated:hc_upd'), { has: true, value: '' });
  assert.deepEqual(await stored('afterUpdate:hc_upd'), { has: true, value: true });
  await create('hc_keep');
  const keep = await srv.su('DELETE', '/api/collections/hc_keep');
  assert.deepEqual([keep.status, keep.json], [400, errBody(400, 'Keep me.')]);
  assert.equal(await exists('hc_keep'), true);
  const del = await srv.su('DELETE', '/api/collections/hc_upd');
  assert.equal(del.status, 204);
  assert.equal(await exists('hc_upd'), false);
  assert.deepEqual(await stored('deleted:hc_upd'), { has: true, value: true });
});

test('a model hook\'s throw refuses the change and runs onCollectionAfterCreateError; tags pick collections', async () => {
  const r = await create('hc_model_refused');
  assert.deepEqual([r.status, r.json], [400, errBody(400, 'Failed to create collection. Raw error: \nRefused by the model hook.')]);
  assert.equal(await exists('hc_model_refused'), false);
  assert.deepEqual(await stored('error:hc_model_refused'), { has: true, value: true });
  assert.equal((await create('hc_tagged')).status, 200);
  assert.deepEqual(await stored('tagged:hc_tagged'), { has: true, value: true });
  assert.equal((await stored('tagged:hc_plain')).has, false);
});

test('$app.save(collection) and $app.delete(collection) in a script run the collection model hooks', async () => {
  const r = await srv.su('POST', '/api/hc/script', { body: { name: 'hc_script' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.created, '[create][validate][execute]');
  assert.equal(r.json.updated, '[create][validate][execute][update][validate]');
  assert.equal(r.json.listRule, '');
  assert.deepEqual(await stored('model:hc_script'), { has: true, value: '[create][validate][execute][update][validate][delete]' });
  // After-success hooks ran for each step; the request hooks did not.
  assert.deepEqual(await stored('after:hc_script'), { has: true, value: true });
  assert.deepEqual(await stored('afterUpdate:hc_script'), { has: true, value: true });
  assert.deepEqual(await stored('deleted:hc_script'), { has: true, value: true });
  assert.equal((await stored('req.before:hc_script')).has, false);
  assert.equal(await exists('hc_script'), false);
  // A model hook's throw refuses the save, reaches the script, and runs the after-error hook.
  assert.match(r.json.refusedModel, /refused by the model hook/i);
  assert.equal(await exists('hc_model_refused_script'), false);
  assert.deepEqual(await stored('error:hc_model_refused_script'), { has: true, value: true });
});

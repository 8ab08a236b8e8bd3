// Record hooks on POST /api/batch, the same on PocketBase 0.40.6 and Cairn:
// each sub-request runs the request and model hooks of its action (create,
// update, delete; PUT as whichever it becomes), a hook that throws fails
// the whole batch with PocketBase's batch error, and the after-success
// hooks run once the batch committed. Hook file: tests/plugins/batch_hooks.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody } from './harness.mjs';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'batch_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.settings.update({ batch: { enabled: true } });
  const open = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };
  await s.pb.collections.create({ name: 'bposts', type: 'base', ...open, fields: [{ name: 'title', type: 'text' }, { name: 'note', type: 'text' }] });
  await s.pb.collections.create({ name: 'blog', type: 'base', ...open, fields: [{ name: 'msg', type: 'text' }] });
});

/** The 400 body of a rolled back batch: request `i` failed with `response`. */
function batchFailed(i, status, message, data = {}) {
  return errBody(400, 'Batch transaction failed.', {
    requests: { [String(i)]: { code: 'batch_request_failed', message: 'Batch request failed.', response: { data, message, status } } },
  });
}

const batch = (requests) => srv.su('POST', '/api/batch', { body: { requests } });
const create = (title) => ({ method: 'POST', url: '/api/collections/bposts/records', body: { title } });

/** The `blog` messages among `expected` (sorted), waiting a moment for all of them. */
async function logged(expected) {
  let seen = [];
  for (let i = 0; i < 100; i++) {
    const all = (await srv.pb.collection('blog').getFullList()).map((r) => r.msg);
    seen = expected.filter((m) => all.includes(m)).sort();
    if (seen.length === expected.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

test('batch creates run onRecordCreateRequest and onRecordCreate, then the after-success hooks', async () => {
  const r = await batch([create('one'), create('two')]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.map((x) => x.body.title), ['req:one:model', 'req:two:model']);
  const expected = ['created req:one:model', 'created req:two:model'];
  assert.deepEqual(await logged(expected), expected);
});

test('batch updates, upserts and deletes run their hooks', async () => {
  const rec = await srv.pb.collection('bposts').create({ title: 'three' });
  assert.equal(rec.title, 'req:three:model');
  const gone = await srv.pb.collection('bposts').create({ title: 'four' });
  const r = await batch([
    { method: 'PATCH', url: `/api/collections/bposts/records/${rec.id}`, body: { title: 'three2' } },
    { method: 'PUT', url: '/api/collections/bposts/records', body: { id: rec.id, title: 'three3' } },
    { method: 'PUT', url: '/api/collections/bposts/records', body: { id: 'upsertnew123456', title: 'five' } },
    { method: 'DELETE', url: `/api/collections/bposts/records/${gone.id}` },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.slice(0, 3).map((x) => [x.body.title, x.body.note]), [['three2:upd', 'updreq'], ['three3:upd', 'updreq'], ['req:five:model', '']]);
  assert.equal(r.json[3].status, 204);
  const expected = ['created req:five:model', 'deleted req:four:model', 'updated three2:upd', 'updated three3:upd'];
  assert.deepEqual(await logged(expected), expected);
});

test('a hook that throws fails the whole batch with the batch error', async () => {
  const before = (await srv.pb.collection('bposts').getFullList()).length;
  const r = await batch([create('fine'), create('forbidden')]);
  assert.deepEqual([r.status, r.json], [400, batchFailed(1, 400, 'Title not allowed.')]);
  assert.equal((await srv.pb.collection('bposts').getFullList()).length, before);
});

test('delete hooks can refuse: request and model hooks', async () => {
  const keep = await srv.pb.collection('bposts').create({ title: 'keep' });
  const guard = await srv.pb.collection('bposts').create({ title: 'guard' });
  const r1 = await batch([{ method: 'DELETE', url: `/api/collections/bposts/records/${keep.id}` }]);
  assert.deepEqual([r1.status, r1.json], [400, batchFailed(0, 400, 'Keep me.')]);
  const r2 = await batch([{ method: 'DELETE', url: `/api/collections/bposts/records/${guard.id}` }]);
  assert.deepEqual([r2.status, r2.json], [400, batchFailed(0, 400, 'Guarded.')]);
  assert.equal((await srv.pb.collection('bposts').getOne(keep.id)).title, 'req:keep:model');
  assert.equal((await srv.pb.collection('bposts').getOne(guard.id)).title, 'req:guard:model');
});

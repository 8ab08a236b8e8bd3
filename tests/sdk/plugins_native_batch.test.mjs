// A native plugin's record hooks and pb_hooks together on POST /api/batch
// (Cairn-only: PocketBase has no native plugins). The plugin's before-hooks
// run for every sub-request first (outside the batch transaction, as for a
// single REST write), then each sub-request's pb_hooks chain around its
// write inside the one transaction; a throw after e.next() rolls back the
// whole batch, the plugin's changes included, and no after-success hook
// runs. Fixtures: tests/plugins/native/data.js, tests/plugins/native_batch_hooks.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, describe, test, cairnOnly, IS_POCKETBASE, REPO_ROOT } from './harness.mjs';

const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await fsp.mkdir(path.join(s.root, 'plugins'), { recursive: true });
  await fsp.copyFile(path.join(REPO_ROOT, 'tests', 'plugins', 'native', 'data.js'), path.join(s.root, 'plugins', 'data.js'));
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'native_batch_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.settings.update({ batch: { enabled: true } });
  await s.pb.collections.create({
    name: 'notes',
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'slug', type: 'text' },
    ],
    createRule: '',
    listRule: '',
    viewRule: '',
  });
});

const create = (title) => ({ method: 'POST', url: '/api/collections/notes/records', body: { title } });
const batch = (requests) => srv.su('POST', '/api/batch', { body: { requests } });
const created = async () => (await srv.api('GET', '/api/native/created')).json.created;
const count = async (title) =>
  (await srv.api('GET', `/api/collections/notes/records?filter=${encodeURIComponent(`title='${title}'`)}`)).json.totalItems;

describe('native plugin and pb_hooks on one batch', { skip: cairnOnly }, () => {
  test('both hooks change each sub-request; after-success runs per write', async () => {
    const n = await created();
    const ok = await batch([create('Mixed One'), create('Mixed Two')]);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.map((x) => [x.body.title, x.body.slug]), [
      ['Mixed One!', 'mixed-one'],
      ['Mixed Two!', 'mixed-two'],
    ]);
    assert.equal(await created(), n + 2);
  });

  test('a plugin refusal fails the batch before any pb_hooks chain runs', async () => {
    const n = await created();
    const bad = await batch([create('Mixed Three'), create('forbidden')]);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.data.requests['1'].response.message, 'That title is not allowed.');
    assert.equal(await count('Mixed Three!'), 0);
    assert.equal(await created(), n);
  });

  test('a pb_hooks throw after e.next() rolls back every sub-request', async () => {
    const n = await created();
    const bad = await batch([create('Mixed Four'), create('boom')]);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.data.requests['1'].response.message, 'Boom after the write.');
    assert.equal(await count('Mixed Four!'), 0);
    assert.equal(await count('boom!'), 0);
    assert.equal(await created(), n);
  });
});

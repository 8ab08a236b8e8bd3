// Records: API rules null (superusers only) vs "" (anyone). Rule expressions are a later issue.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';

const ONLY_SUPERUSERS = errBody(403, 'Only superusers can perform this action.');
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");

let lockedId;
let user;
const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'locked', fields: [{ name: 'name', type: 'text' }] });
  lockedId = (await s.pb.collection('locked').create({ name: 'secret' })).id;
  user = await s.userClient();
});

describe('null rules: superusers only', () => {
  for (const who of ['guest', 'user']) {
    const client = () => (who === 'guest' ? srv.client() : user);
    test(`${who}: list -> 403`, async () => {
      await rejects(client().collection('locked').getList(), 403, ONLY_SUPERUSERS);
    });
    test(`${who}: view -> 403, even for a missing id`, async () => {
      await rejects(client().collection('locked').getOne(lockedId), 403, ONLY_SUPERUSERS);
      await rejects(client().collection('locked').getOne('nonexistent12345'), 403, ONLY_SUPERUSERS);
    });
    test(`${who}: create -> 403, nothing stored`, async () => {
      await rejects(client().collection('locked').create({ name: 'x' }), 403, ONLY_SUPERUSERS);
      assert.equal((await srv.pb.collection('locked').getList()).totalItems, 1);
    });
    test(`${who}: update -> 403, even for a missing id; nothing changed`, async () => {
      await rejects(client().collection('locked').update(lockedId, { name: 'x' }), 403, ONLY_SUPERUSERS);
      await rejects(client().collection('locked').update('nonexistent12345', { name: 'x' }), 403, ONLY_SUPERUSERS);
      assert.equal((await srv.pb.collection('locked').getOne(lockedId)).name, 'secret');
    });
    test(`${who}: delete -> 403, even for a missing id; nothing deleted`, async () => {
      await rejects(client().collection('locked').delete(lockedId), 403, ONLY_SUPERUSERS);
      await rejects(client().collection('locked').delete('nonexistent12345'), 403, ONLY_SUPERUSERS);
      assert.ok(await srv.pb.collection('locked').getOne(lockedId));
    });
  }

  test('superusers bypass null rules', async () => {
    const L = srv.pb.collection('locked');
    const r = await L.create({ name: 'su' });
    assert.equal((await L.getOne(r.id)).name, 'su');
    assert.equal((await L.update(r.id, { name: 'su2' })).name, 'su2');
    assert.ok((await L.getList()).totalItems >= 2);
    assert.equal(await L.delete(r.id), true);
  });

  test('the _superusers collection records are superuser-only', async () => {
    await rejects(srv.client().collection('_superusers').getList(), 403, ONLY_SUPERUSERS);
    await rejects(user.collection('_superusers').getList(), 403, ONLY_SUPERUSERS);
  });
});

describe('"" rules: anyone', () => {
  test('guest can list, view, create, update and delete', async () => {
    await srv.pb.collections.create({
      name: 'open',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [{ name: 'name', type: 'text' }],
    });
    const G = srv.client().collection('open');
    const r = await G.create({ name: 'a' });
    assert.equal(r.name, 'a');
    assert.deepEqual(await G.getOne(r.id), r);
    assert.equal((await G.getList()).totalItems, 1);
    assert.equal((await G.update(r.id, { name: 'b' })).name, 'b');
    assert.equal(await G.delete(r.id), true);
    await rejects(G.getOne(r.id), 404, NOT_FOUND);
    await rejects(G.update(r.id, { name: 'c' }), 404, NOT_FOUND);
    await rejects(G.delete(r.id), 404, NOT_FOUND);
  });

  test('each rule is independent', async () => {
    await srv.pb.collections.create({ name: 'mixed', listRule: '', fields: [{ name: 'name', type: 'text' }] });
    const r = await srv.pb.collection('mixed').create({ name: 'a' });
    const G = srv.client().collection('mixed');
    assert.equal((await G.getList()).totalItems, 1);
    await rejects(G.getOne(r.id), 403, ONLY_SUPERUSERS);
    await rejects(G.create({ name: 'b' }), 403, ONLY_SUPERUSERS);
  });

  test('a guest create/update answers with the record although the guest cannot view it', async () => {
    await srv.pb.collections.create({
      name: 'writeonly',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [{ name: 'name', type: 'text' }],
    });
    const G = srv.client().collection('writeonly');
    const r = await G.create({ name: 'y' });
    assert.deepEqual(Object.keys(r).sort(), ['collectionId', 'collectionName', 'id', 'name']);
    assert.equal(r.name, 'y');
    const u = await G.update(r.id, { name: 'z' });
    assert.equal(u.name, 'z');
    await rejects(G.getOne(r.id), 403, ONLY_SUPERUSERS);
    await rejects(G.getList(), 403, ONLY_SUPERUSERS);
    // update/delete of a missing id is a plain 404 when the rule allows it
    await rejects(G.update('nonexistent12345', { name: 'q' }), 404, NOT_FOUND);
    assert.equal(await G.delete(r.id), true);
    await rejects(G.delete(r.id), 404, NOT_FOUND);
  });

  test('changing a rule takes effect immediately', async () => {
    await srv.pb.collections.create({ name: 'toggle', fields: [{ name: 'name', type: 'text' }] });
    const G = srv.client().collection('toggle');
    await rejects(G.getList(), 403, ONLY_SUPERUSERS);
    await srv.pb.collections.update('toggle', { listRule: '' });
    assert.equal((await G.getList()).totalItems, 0);
    await srv.pb.collections.update('toggle', { listRule: null });
    await rejects(G.getList(), 403, ONLY_SUPERUSERS);
  });
});

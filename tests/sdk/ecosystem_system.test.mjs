// Cairn's own system collections (`_roles`, `_roleAssignments`, `_policies`,
// `_apiKeys`) and PocketBase tooling (docs/ecosystem.md):
// - the collections list matches PocketBase's default schema until a Cairn
//   feature is used (a collection shows once it holds records);
// - importing a PocketBase snapshot with deleteMissing leaves them in place,
//   and the features keep working afterwards.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IS_POCKETBASE } from './harness.mjs';
import { createSchema, startBoth } from './ecosystem_fixtures.mjs';

const CAIRN_OWN = ['_roles', '_roleAssignments', '_policies', '_apiKeys'];
const skip = IS_POCKETBASE ? 'Cairn-only collections (SDK_TARGET=pocketbase)' : false;

let servers;

before(async () => {
  servers = await startBoth();
  await Promise.all([createSchema(servers.cairn.pb), createSchema(servers.pocketbase.pb)]);
});

after(async () => {
  await servers?.stop();
});

const names = async (pb) => (await pb.collections.getFullList()).map((c) => c.name).sort();

test('the collections list is PocketBase\'s while no Cairn feature is used', async () => {
  const [cairn, pocketbase] = await Promise.all([names(servers.cairn.pb), names(servers.pocketbase.pb)]);
  assert.deepEqual(cairn, pocketbase);
  // The same through plain paging (what typegen calls).
  const page = await servers.cairn.pb.collections.getList(1, 200);
  assert.equal(page.totalItems, pocketbase.length);
});

test('a Cairn collection is listed once it holds records, and viewable before', { skip }, async () => {
  const pb = servers.cairn.pb;
  for (const name of CAIRN_OWN) {
    const c = await pb.collections.getOne(name);
    assert.equal(c.system, true, name);
  }
  const role = await pb.collection('_roles').create({ name: 'editors' });
  const listed = await names(pb);
  assert.ok(listed.includes('_roles'), 'listed once used');
  assert.ok(!listed.includes('_apiKeys'), 'unused ones stay out');
  await pb.collection('_roles').delete(role.id);
  assert.ok(!(await names(pb)).includes('_roles'), 'out again once empty');
});

test('importing a PocketBase snapshot with deleteMissing keeps Cairn\'s collections', { skip }, async () => {
  const snapshot = await servers.pocketbase.pb.collections.getFullList();
  // PocketBase takes its own snapshot back.
  assert.equal(await servers.pocketbase.pb.collections.import(snapshot, true), true);
  // Cairn takes it too, and deletes only what the snapshot lacks and is not system.
  const cairn = servers.cairn.pb;
  await cairn.collections.create({ name: 'scratch', type: 'base', fields: [{ name: 't', type: 'text' }] });
  const role = await cairn.collection('_roles').create({ name: 'keepers' });
  assert.equal(await cairn.collections.import(snapshot, true), true);
  const listed = await names(cairn);
  assert.ok(!listed.includes('scratch'), 'a missing app collection is deleted');
  for (const name of CAIRN_OWN) {
    assert.equal((await cairn.collections.getOne(name)).name, name, `${name} survives`);
  }
  // Its data and the feature survive too.
  assert.equal((await cairn.collection('_roles').getOne(role.id)).name, 'keepers');
  const su = await cairn.collection('_superusers').getFirstListItem('');
  const key = await cairn.collection('_apiKeys').create({ name: 'after-import', collectionRef: '_superusers', recordRef: su.id });
  assert.match(key.key, /^cairn_/);
  // And the imported app collections are PocketBase's, field for field.
  const fieldsOf = async (pb, name) => (await pb.collections.getOne(name)).fields.map((f) => `${f.name}:${f.type}`);
  assert.deepEqual(await fieldsOf(cairn, 'posts'), await fieldsOf(servers.pocketbase.pb, 'posts'));
});

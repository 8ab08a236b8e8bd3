// Collections API, schema changes: add/rename/remove fields with existing records,
// indexes, rename, delete, truncate, import, concurrent creation.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, newClient, cairnOnly, ON_POSTGRES } from './harness.mjs';

const srv = useServer();
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const UPDATE_FAILED = 'Failed to update collection.';

describe('schema changes with existing records', () => {
  test('add, rename (same field id) and remove fields: data survives', async () => {
    let c = await srv.pb.collections.create({
      name: 'evo',
      fields: [
        { name: 'a', type: 'text' },
        { name: 'b', type: 'number' },
        { name: 'c', type: 'bool' },
        { name: 'tags', type: 'select', values: ['x', 'y'], maxSelect: 2 },
        { name: 'meta', type: 'json' },
      ],
    });
    const E = srv.pb.collection('evo');
    const r1 = await E.create({ a: 'one', b: 1, c: true, tags: ['x', 'y'], meta: { k: [1] } });
    const r2 = await E.create({ a: 'two', b: 2 });
    const aId = c.fields.find((f) => f.name === 'a').id;

    const fields = c.fields
      .filter((f) => f.name !== 'c')
      .map((f) => (f.name === 'a' ? { ...f, name: 'title' } : f));
    fields.push({ name: 'extra', type: 'text' }, { name: 'score', type: 'number' });
    c = await srv.pb.collections.update('evo', { fields });

    assert.deepEqual(c.fields.map((f) => f.name), ['id', 'title', 'b', 'tags', 'meta', 'extra', 'score']);
    assert.equal(c.fields.find((f) => f.name === 'title').id, aId, 'rename keeps the field id');
    assert.deepEqual(await E.getOne(r1.id), {
      collectionId: c.id,
      collectionName: 'evo',
      id: r1.id,
      title: 'one',
      b: 1,
      tags: ['x', 'y'],
      meta: { k: [1] },
      extra: '',
      score: 0,
    });
    assert.equal((await E.getOne(r2.id)).title, 'two');
    // the new and renamed fields are writable
    assert.deepEqual(
      await E.update(r2.id, { title: 'deux', extra: 'e', score: 9 }).then((r) => [r.title, r.extra, r.score]),
      ['deux', 'e', 9],
    );
    // submitting the old names does nothing
    const after = await E.update(r1.id, { a: 'ignored', c: false });
    assert.equal(after.title, 'one');
    assert.equal('a' in after || 'c' in after, false);
  });

  test('swapping two field names keeps each value with its field id', async () => {
    const c = await srv.pb.collections.create({ name: 'swap', fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'number' }] });
    const r = await srv.pb.collection('swap').create({ a: 'A', b: 5 });
    const fields = c.fields.map((f) => (f.name === 'a' ? { ...f, name: 'b' } : f.name === 'b' ? { ...f, name: 'a' } : f));
    await srv.pb.collections.update('swap', { fields });
    const got = await srv.pb.collection('swap').getOne(r.id);
    assert.equal(got.b, 'A');
    assert.equal(got.a, 5);
  });

  test('a removed field re-added with the same name starts empty', async () => {
    let c = await srv.pb.collections.create({ name: 'readd', fields: [{ name: 'x', type: 'text' }, { name: 'y', type: 'text' }] });
    const r = await srv.pb.collection('readd').create({ x: 'xx', y: 'yy' });
    c = await srv.pb.collections.update('readd', { fields: c.fields.filter((f) => f.name !== 'x') });
    c = await srv.pb.collections.update('readd', { fields: [...c.fields, { name: 'x', type: 'text' }] });
    const got = await srv.pb.collection('readd').getOne(r.id);
    assert.equal(got.x, '');
    assert.equal(got.y, 'yy');
  });

  test("changing a field's type -> validation_field_type_change, nothing changed", async () => {
    const c = await srv.pb.collections.create({ name: 'typechg', fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'number' }] });
    await srv.pb.collection('typechg').create({ a: 'x', b: 3 });
    const fields = c.fields.map((f) => (f.name === 'b' ? { ...f, type: 'text' } : f));
    const err = await rejects(srv.pb.collections.update('typechg', { fields }), 400);
    // the error sits directly at the field index (no property nesting)
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { fields: { 2: fieldErr('validation_field_type_change', 'Field type cannot be changed.') } }),
    );
    assert.deepEqual(await srv.pb.collections.getOne('typechg'), c);
    assert.equal((await srv.pb.collection('typechg').getFullList())[0].b, 3);
  });

  test('renaming a field onto an existing name -> duplicated field name', async () => {
    const c = await srv.pb.collections.create({ name: 'rnclash', fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }] });
    const fields = c.fields.map((f) => (f.name === 'b' ? { ...f, name: 'a' } : f));
    const err = await rejects(srv.pb.collections.update('rnclash', { fields }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, {
        fields: { 2: { name: fieldErr('validation_duplicated_field_name', 'Duplicated or invalid field name a.', { fieldName: 'a' }) } },
      }),
    );
  });

  test('system fields cannot be removed (they are silently kept)', async () => {
    const before = await srv.pb.collections.getOne('users');
    const after = await srv.pb.collections.update('users', { fields: before.fields.filter((f) => f.name !== 'email' && f.name !== 'id') });
    const names = after.fields.map((f) => f.name);
    assert.ok(names.includes('email'));
    assert.ok(names.includes('id'));
  });

  test('rules and other properties update; unknown keys are ignored', async () => {
    await srv.pb.collections.create({ name: 'rulesupd' });
    const c = await srv.pb.collections.update('rulesupd', { listRule: '', viewRule: '', createRule: null, foo: 'bar' });
    assert.equal(c.listRule, '');
    assert.equal(c.viewRule, '');
    assert.equal(c.createRule, null);
    assert.equal('foo' in c, false);
    assert.equal((await srv.client().collection('rulesupd').getList()).totalItems, 0);
  });

  test('a system collection cannot be renamed', async () => {
    const err = await rejects(srv.pb.collections.update('_superusers', { name: 'admins' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, {
        name: fieldErr('validation_collection_system_name_change', 'System collection name cannot be changed.'),
      }),
    );
  });

  test('renaming a collection keeps its records, id and indexes', async () => {
    const c = await srv.pb.collections.create({
      name: 'oldname',
      fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'number' }],
      indexes: ['CREATE UNIQUE INDEX idx_oldname_ab ON oldname (a, b)'],
    });
    await srv.pb.collection('oldname').create({ a: 'x', b: 1 });
    const renamed = await srv.pb.collections.update('oldname', { name: 'newname' });
    assert.equal(renamed.id, c.id);
    assert.equal(renamed.indexes.length, 1);
    assert.match(renamed.indexes[0], /idx_oldname_ab/);
    assert.match(renamed.indexes[0], /ON `?newname`?/);
    assert.deepEqual((await srv.pb.collection('newname').getFullList()).map((r) => r.a), ['x']);
    assert.equal((await srv.pb.collection(c.id).getList()).totalItems, 1);
    await rejects(srv.pb.collection('oldname').getList(), 404, errBody(404, 'Missing collection context.'));
    await rejects(srv.pb.collections.getOne('oldname'), 404);
    const dup = await rejects(srv.pb.collection('newname').create({ a: 'x', b: 1 }), 400);
    assert.equal(dup.response.data.a.code, 'validation_not_unique');
  });
});

describe('indexes', () => {
  test('a unique index makes duplicate values fail with validation_not_unique', async () => {
    await srv.pb.collections.create({ name: 'uniq', fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }] });
    const U = srv.pb.collection('uniq');
    const r1 = await U.create({ title: 'one', n: 1 });
    const r2 = await U.create({ title: 'two', n: 1 });
    const c = await srv.pb.collections.update('uniq', { indexes: ['CREATE UNIQUE INDEX idx_uniq_title ON uniq (title)'] });
    assert.deepEqual(c.indexes, ['CREATE UNIQUE INDEX idx_uniq_title ON uniq (title)']);

    let err = await rejects(U.create({ title: 'one' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'Failed to create record.', { title: fieldErr('validation_not_unique', 'Value must be unique.') }),
    );
    err = await rejects(U.update(r2.id, { title: 'one' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'Failed to update record.', { title: fieldErr('validation_not_unique', 'Value must be unique.') }),
    );
    assert.equal((await U.getOne(r2.id)).title, 'two');
    assert.equal((await U.getList()).totalItems, 2);
    // updating a record to its own value is fine
    assert.equal((await U.update(r1.id, { title: 'one' })).title, 'one');
  });

  test('a unique index over existing duplicates fails and leaves the collection unchanged', async () => {
    const c = await srv.pb.collections.create({ name: 'dupdata', fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'number' }] });
    await srv.pb.collection('dupdata').create({ a: 'x', b: 1 });
    await srv.pb.collection('dupdata').create({ a: 'y', b: 1 });
    const err = await rejects(
      srv.pb.collections.update('dupdata', {
        indexes: ['CREATE UNIQUE INDEX idx_dupdata_a ON dupdata (a)', 'CREATE UNIQUE INDEX idx_dupdata_b ON dupdata (b)'],
        fields: [...c.fields, { name: 'z', type: 'text' }],
      }),
      400,
    );
    assert.equal(err.response.message, UPDATE_FAILED);
    assert.deepEqual(Object.keys(err.response.data), ['indexes']);
    assert.deepEqual(Object.keys(err.response.data.indexes), ['1']);
    assert.equal(err.response.data.indexes[1].code, 'validation_invalid_index_expression');
    // the message continues with the database's own error text
    assert.match(err.response.data.indexes[1].message, /^Failed to create index idx_dupdata_b/);
    // nothing of the change was applied: no field z, no index a, same updated time
    assert.deepEqual(await srv.pb.collections.getOne('dupdata'), c);
    assert.deepEqual(Object.keys((await srv.pb.collection('dupdata').getFullList())[0]).includes('z'), false);
    // and the would-be unique a-index is really absent
    await srv.pb.collection('dupdata').create({ a: 'x', b: 2 });
  });

  test('invalid index definitions', async () => {
    await srv.pb.collections.create({ name: 'badidx', fields: [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }] });
    let err = await rejects(srv.pb.collections.update('badidx', { indexes: ['DROP TABLE badidx'] }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { indexes: { 0: fieldErr('validation_invalid_index_expression', 'Invalid CREATE INDEX expression.') } }),
    );
    err = await rejects(srv.pb.collections.update('badidx', { indexes: ['CREATE INDEX idx_x ON badidx (nope)'] }), 400);
    assert.equal(err.response.data.indexes[0].code, 'validation_invalid_index_expression');
    assert.match(err.response.data.indexes[0].message, /^Failed to create index idx_x/);
    err = await rejects(
      srv.pb.collections.update('badidx', { indexes: ['CREATE INDEX idx_y ON badidx (a)', 'CREATE INDEX idx_y ON badidx (b)'] }),
      400,
    );
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { indexes: { 1: fieldErr('validation_duplicated_index_name', 'The index name already exists.') } }),
    );
    assert.deepEqual((await srv.pb.collections.getOne('badidx')).indexes, []);
  });

  test('indexes can be replaced and removed', async () => {
    await srv.pb.collections.create({
      name: 'idxlife',
      fields: [{ name: 'a', type: 'text' }],
      indexes: ['CREATE UNIQUE INDEX idx_idxlife_a ON idxlife (a)'],
    });
    const I = srv.pb.collection('idxlife');
    await I.create({ a: 'same' });
    await rejects(I.create({ a: 'same' }), 400);
    const c = await srv.pb.collections.update('idxlife', { indexes: [] });
    assert.deepEqual(c.indexes, []);
    await I.create({ a: 'same' });
    assert.equal((await I.getList()).totalItems, 2);
  });
});

describe('long names', () => {
  // Two names that differ only after their 63rd byte.
  const long = (c, tail) => `${c}${'n'.repeat(62)}${tail}`;
  const TOO_LONG = fieldErr('validation_length_out_of_range', 'The length must be between 1 and 63.', { max: 63, min: 1 });

  test('up to 255 bytes, names differing after byte 63 stay apart (SQLite, PocketBase)', { skip: ON_POSTGRES && 'PostgreSQL refuses them' }, async () => {
    for (const tail of ['a', 'b']) {
      await srv.pb.collections.create({
        name: long('c', tail),
        fields: [{ name: long('f', 'x'), type: 'text' }, { name: long('f', 'y'), type: 'text' }],
        indexes: [`CREATE INDEX ${long('i', tail)} ON ${long('c', tail)} (${long('f', 'x')})`],
      });
    }
    const a = await srv.pb.collection(long('c', 'a')).create({ [long('f', 'x')]: 'x', [long('f', 'y')]: 'y' });
    assert.equal(a[long('f', 'y')], 'y');
    assert.equal((await srv.pb.collection(long('c', 'b')).getList()).totalItems, 0);
  });

  test('PostgreSQL cuts names to 63 bytes, so longer ones are refused: collection, field, index', { skip: !ON_POSTGRES && 'PostgreSQL only' }, async () => {
    const name63 = `c${'n'.repeat(62)}`;
    const create = (body) => rejects(srv.pb.collections.create({ name: 'longnames', ...body }), 400);
    let err = await create({ name: long('c', 'a') });
    assert.deepEqual(err.response, errBody(400, 'Failed to create collection.', { name: TOO_LONG }));
    err = await create({ fields: [{ name: 'ok', type: 'text' }, { name: long('f', 'x'), type: 'text' }] });
    assert.deepEqual(err.response, errBody(400, 'Failed to create collection.', { fields: { 2: { name: TOO_LONG } } })); // 0 is the id field
    err = await create({ fields: [{ name: 'ok', type: 'text' }], indexes: [`CREATE INDEX ${long('i', 'a')} ON longnames (ok)`] });
    assert.deepEqual(err.response, errBody(400, 'Failed to create collection.', { indexes: { 0: TOO_LONG } }));
    // 63 bytes are kept whole, and a rename is checked too.
    const c = await srv.pb.collections.create({ name: name63, fields: [{ name: `f${'n'.repeat(62)}`, type: 'text' }] });
    assert.equal((await srv.pb.collection(name63).create({ [`f${'n'.repeat(62)}`]: 'v' }))[`f${'n'.repeat(62)}`], 'v');
    err = await rejects(srv.pb.collections.update(c.id, { name: long('c', 'b') }), 400);
    assert.deepEqual(err.response, errBody(400, UPDATE_FAILED, { name: TOO_LONG }));
    assert.equal((await srv.pb.collections.getOne(c.id)).name, name63);
  });
});

describe('delete and truncate', () => {
  test('delete removes the collection and its records endpoint', async () => {
    const c = await srv.pb.collections.create({ name: 'doomed', listRule: '', fields: [{ name: 'a', type: 'text' }] });
    await srv.pb.collection('doomed').create({ a: 'x' });
    const r = await srv.su('DELETE', '/api/collections/doomed');
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    await rejects(srv.pb.collections.getOne(c.id), 404, NOT_FOUND);
    await rejects(srv.client().collection('doomed').getList(), 404, errBody(404, 'Missing collection context.'));
    // the name is free again, and the new collection starts empty
    await srv.pb.collections.create({ name: 'doomed', listRule: '', fields: [{ name: 'a', type: 'text' }] });
    assert.equal((await srv.client().collection('doomed').getList()).totalItems, 0);
  });

  test('SDK delete by id resolves true', async () => {
    const c = await srv.pb.collections.create({ name: 'doomed_by_id' });
    assert.equal(await srv.pb.collections.delete(c.id), true);
    await rejects(srv.pb.collections.getOne('doomed_by_id'), 404);
  });

  test('system collections cannot be deleted', async () => {
    await rejects(srv.pb.collections.delete('_superusers'), 400, errBody(400, 'Failed to delete collection.'));
    assert.ok(await srv.pb.collections.getOne('_superusers'));
  });

  test('a collection referenced by a relation cannot be deleted', async () => {
    const parent = await srv.pb.collections.create({ name: 'parent', fields: [{ name: 'n', type: 'text' }] });
    await srv.pb.collections.create({ name: 'child', fields: [{ name: 'p', type: 'relation', collectionId: parent.id }] });
    await rejects(
      srv.pb.collections.delete('parent'),
      400,
      errBody(400, 'Failed to delete collection probably due to existing reference in child.'),
    );
    assert.ok(await srv.pb.collections.getOne('parent'));
  });

  test('truncate deletes all records, keeps the collection', async () => {
    const c = await srv.pb.collections.create({ name: 'trunc', listRule: '', fields: [{ name: 'a', type: 'text' }] });
    for (let i = 0; i < 5; i++) await srv.pb.collection('trunc').create({ a: `v${i}` });
    const r = await srv.su('DELETE', '/api/collections/trunc/truncate');
    assert.equal(r.status, 204);
    assert.equal((await srv.pb.collection('trunc').getList()).totalItems, 0);
    assert.deepEqual(await srv.pb.collections.getOne('trunc'), c);
    assert.equal(await srv.pb.collections.truncate(c.id), true);
    await srv.pb.collection('trunc').create({ a: 'again' });
    assert.equal((await srv.pb.collection('trunc').getList()).totalItems, 1);
  });
});

describe('import', () => {
  test('creates new and updates existing collections', async () => {
    assert.equal(
      await srv.pb.collections.import(
        [
          { name: 'imp1', type: 'base', fields: [{ name: 'a', type: 'text' }] },
          { name: 'imp2', type: 'auth', fields: [{ name: 'b', type: 'number' }] },
        ],
        false,
      ),
      true,
    );
    assert.deepEqual((await srv.pb.collections.getOne('imp1')).fields.map((f) => f.name), ['id', 'a']);
    assert.deepEqual(
      (await srv.pb.collections.getOne('imp2')).fields.map((f) => f.name),
      ['id', 'b', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified'],
    );
    const imp1 = await srv.pb.collections.getOne('imp1');
    await srv.pb.collection('imp1').create({ a: 'kept' });
    await srv.pb.collections.import([{ ...imp1, fields: [...imp1.fields, { name: 'c', type: 'bool' }] }], false);
    assert.deepEqual((await srv.pb.collections.getOne('imp1')).fields.map((f) => f.name), ['id', 'a', 'c']);
    assert.deepEqual((await srv.pb.collection('imp1').getFullList()).map((r) => [r.a, r.c]), [['kept', false]]);
  });

  test('raw PUT answers 204 with no body', async () => {
    const r = await srv.su('PUT', '/api/collections/import', { body: { collections: [{ name: 'imp_raw', type: 'base' }] } });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  test('collections referencing each other import together', async () => {
    await srv.pb.collections.import(
      [
        { id: 'pbc_aaaaaaaa01', name: 'cyc_a', type: 'base', fields: [{ name: 'rb', type: 'relation', collectionId: 'pbc_aaaaaaaa02' }] },
        { id: 'pbc_aaaaaaaa02', name: 'cyc_b', type: 'base', fields: [{ name: 'ra', type: 'relation', collectionId: 'pbc_aaaaaaaa01' }] },
      ],
      false,
    );
    const b = await srv.pb.collection('cyc_b').create({});
    const a = await srv.pb.collection('cyc_a').create({ rb: b.id });
    assert.equal((await srv.pb.collection('cyc_b').update(b.id, { ra: a.id })).ra, a.id);
  });

  test('one invalid collection fails the whole import; nothing is created', async () => {
    const err = await rejects(
      srv.pb.collections.import([{ name: 'imp3', type: 'base' }, { name: 'bad name', type: 'base' }], false),
      400,
    );
    assert.equal(err.response.message, 'Failed to import collections.');
    assert.equal(err.response.data.collections.code, 'validation_collections_import_failure');
    await rejects(srv.pb.collections.getOne('imp3'), 404);
  });

  test('empty or malformed import payloads', async () => {
    await rejects(
      srv.pb.collections.import([], false),
      400,
      errBody(400, 'An error occurred while validating the submitted data.', {
        collections: fieldErr('validation_required', 'Cannot be blank.'),
      }),
    );
    const r = await srv.su('PUT', '/api/collections/import', { body: { collections: 'x' } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'An error occurred while loading the submitted data.'));
  });

  test('deleteMissing removes missing non-system collections only', async () => {
    // own server state is shared by this file: only compare what this test controls
    await srv.pb.collections.import([{ name: 'keep_me', type: 'base' }, { name: 'drop_me', type: 'base' }], false);
    const all = await srv.pb.collections.getFullList();
    const wanted = all.filter((c) => c.name !== 'drop_me');
    await srv.pb.collections.import(wanted, true);
    await rejects(srv.pb.collections.getOne('drop_me'), 404);
    assert.ok(await srv.pb.collections.getOne('keep_me'));
    // system collections survive even when missing from the list
    await srv.pb.collections.import(wanted.filter((c) => !c.system), true);
    for (const n of ['_superusers', '_mfas', '_otps', '_externalAuths', '_authOrigins']) {
      assert.ok(await srv.pb.collections.getOne(n), n);
    }
    await srv.relogin();
  });
});

describe('concurrent creation', () => {
  async function createPairAndUse(round, width) {
    const clients = Array.from({ length: width }, () => newClient(srv.url, srv.pb.authStore.token, srv.pb.authStore.record));
    const names = clients.map((_, i) => `conc_${round}_${i}`);
    await Promise.all(
      clients.map((c, i) =>
        c.collections.create({ name: names[i], createRule: '', listRule: '', fields: [{ name: 'v', type: 'text' }] }),
      ),
    );
    // every collection is usable immediately, by every client
    const created = await Promise.all(clients.map((c, i) => c.collection(names[i]).create({ v: names[i] })));
    created.forEach((r, i) => assert.equal(r.v, names[i]));
    const lists = await Promise.all(names.map((n) => srv.client().collection(n).getList()));
    lists.forEach((l) => assert.equal(l.totalItems, 1));
  }

  // PocketBase's collection cache reload is racy (COMPAT.md, "Known reference quirk
  // not to copy"): even this simple case sometimes answers 404 "Missing or invalid
  // collection context." there, so both tests are Cairn-only.
  test('two collections created at the same moment are both immediately usable', { skip: cairnOnly }, async () => {
    await createPairAndUse('a', 2);
  });

  test('stress: 10 rounds of 4 concurrent creations, each usable at once', { skip: cairnOnly }, async () => {
    for (let round = 0; round < 10; round++) await createPairAndUse(`s${round}`, 4);
  });
});

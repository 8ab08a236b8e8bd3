// Records: create, view, update, delete and list with every field type, through the SDK.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, ID_RE, DATE_RE } from './harness.mjs';
import { createKitchen, createUsers } from './fixtures.mjs';

let kitchen;
let users;
const srv = useServer(async (s) => {
  kitchen = await createKitchen(s.pb);
  users = await createUsers(s.pb, 4);
});
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");

const K = () => srv.pb.collection('kitchen');

function fullInput() {
  return {
    title: 'Hello World',
    body: '<p>hi</p>',
    count: 5,
    flag: true,
    mail: 'a@example.com',
    site: 'https://good.com/x',
    when: '2024-05-06T07:08:09Z',
    color: 'red',
    tags: ['a', 'b'],
    meta: { x: [1, 2], y: { z: null } },
    owner: users[0],
    readers: [users[1], users[2]],
    secret: 'abcdefg',
    loc: { lon: 10.5, lat: -20.25 },
    note: 'hidden note',
  };
}

function expectedFull(id, created, updated) {
  return {
    collectionId: kitchen.id,
    collectionName: 'kitchen',
    id,
    title: 'Hello World',
    body: '<p>hi</p>',
    count: 5,
    flag: true,
    mail: 'a@example.com',
    site: 'https://good.com/x',
    when: '2024-05-06 07:08:09.000Z',
    created,
    updated,
    color: 'red',
    tags: ['a', 'b'],
    meta: { x: [1, 2], y: { z: null } },
    owner: users[0],
    readers: [users[1], users[2]],
    doc: [],
    secret: '', // password values are never returned
    loc: { lon: 10.5, lat: -20.25 },
    note: 'hidden note', // hidden fields are visible to superusers
  };
}

describe('create', () => {
  test('every field type round-trips with the exact record shape', async () => {
    const r = await K().create(fullInput());
    assert.match(r.id, ID_RE);
    assert.match(r.created, DATE_RE);
    assert.equal(r.updated, r.created);
    assert.deepEqual(r, expectedFull(r.id, r.created, r.updated));
  });

  test('zero values for every unset field', async () => {
    const r = await K().create({ title: 'Ab' });
    assert.deepEqual(r, {
      collectionId: kitchen.id,
      collectionName: 'kitchen',
      id: r.id,
      title: 'Ab',
      body: '',
      count: 0,
      flag: false,
      mail: '',
      site: '',
      when: '',
      created: r.created,
      updated: r.updated,
      color: '',
      tags: [],
      meta: null,
      owner: '',
      readers: [],
      doc: [],
      secret: '',
      loc: { lon: 0, lat: 0 },
      note: '',
    });
  });

  test('raw create answers 200 application/json', async () => {
    const r = await srv.su('POST', '/api/collections/kitchen/records', { body: { title: 'Raw' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.title, 'Raw');
  });

  test('the collection can be addressed by id as well as by name', async () => {
    const r = await srv.pb.collection(kitchen.id).create({ title: 'By Id' });
    assert.equal(r.collectionName, 'kitchen');
    assert.equal(r.collectionId, kitchen.id);
    assert.deepEqual(await K().getOne(r.id), r);
    assert.deepEqual(await srv.pb.collection(kitchen.id).getOne(r.id), r);
  });

  test('unknown relation ids -> validation_missing_rel_records', async () => {
    const err = await rejects(K().create({ title: 'Ab', owner: 'nonexistent12345', readers: [users[0], 'nonexistent12345'] }), 400);
    const missing = fieldErr('validation_missing_rel_records', 'Failed to find all relation records with the provided ids.');
    assert.deepEqual(err.response, errBody(400, 'Failed to create record.', { owner: missing, readers: missing }));
  });

  test('plain strings in a file field are not new files -> validation_invalid_file', async () => {
    const err = await rejects(K().create({ title: 'Ab', doc: ['abc.txt'] }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'Failed to create record.', {
        doc: fieldErr('validation_invalid_file', 'Invalid new files: [abc.txt].', { invalidFiles: ['abc.txt'] }),
      }),
    );
    // empty and null file values are fine
    assert.deepEqual((await K().create({ title: 'Ab', doc: [] })).doc, []);
    assert.deepEqual((await K().create({ title: 'Ab', doc: null })).doc, []);
  });
});

describe('view', () => {
  test('view returns what create returned', async () => {
    const r = await K().create(fullInput());
    assert.deepEqual(await K().getOne(r.id), r);
  });

  test('unknown id -> 404 (any id shape)', async () => {
    for (const id of ['nonexistent12345', 'x', 'ABC-def']) {
      await rejects(K().getOne(id), 404, NOT_FOUND);
    }
  });

  test('guests do not see hidden fields; superusers do', async () => {
    const r = await K().create(fullInput());
    const asGuest = await srv.client().collection('kitchen').getOne(r.id);
    const expected = expectedFull(r.id, r.created, r.updated);
    delete expected.note;
    assert.deepEqual(asGuest, expected);
    assert.equal((await K().getOne(r.id)).note, 'hidden note');
  });

  test('guests cannot write hidden fields (silently ignored)', async () => {
    const guest = srv.client().collection('kitchen');
    const created = await guest.create({ title: 'Ab', note: 'from guest' });
    assert.equal('note' in created, false);
    assert.equal((await K().getOne(created.id)).note, '');
    const r = await K().create({ title: 'Ab', note: 'orig' });
    await guest.update(r.id, { note: 'changed' });
    assert.equal((await K().getOne(r.id)).note, 'orig');
  });
});

describe('update', () => {
  test('every field type can be changed; created stays, updated moves', async () => {
    const r = await K().create(fullInput());
    await new Promise((res) => setTimeout(res, 5));
    const u = await K().update(r.id, {
      title: 'Changed',
      body: '',
      count: -5,
      flag: false,
      mail: 'b@example.com',
      site: 'http://other.org',
      when: '2099-12-31 23:59:59.999Z',
      color: 'blue',
      tags: ['d'],
      meta: [1, 'two'],
      owner: '',
      readers: [users[3]],
      secret: 'newsecret',
      loc: { lon: -180, lat: 90 },
      note: '',
    });
    assert.equal(u.created, r.created);
    assert.ok(u.updated > r.updated, `${u.updated} > ${r.updated}`);
    assert.deepEqual(u, {
      ...expectedFull(r.id, r.created, u.updated),
      title: 'Changed',
      body: '',
      count: -5,
      flag: false,
      mail: 'b@example.com',
      site: 'http://other.org',
      when: '2099-12-31 23:59:59.999Z',
      color: 'blue',
      tags: ['d'],
      meta: [1, 'two'],
      owner: '',
      readers: [users[3]],
      loc: { lon: -180, lat: 90 },
      note: '',
    });
    assert.deepEqual(await K().getOne(r.id), u);
  });

  test('a partial update leaves the other fields intact', async () => {
    const r = await K().create(fullInput());
    const u = await K().update(r.id, { count: 7 });
    assert.deepEqual(u, { ...r, count: 7, updated: u.updated });
  });

  test('failed validation on update changes nothing', async () => {
    const r = await K().create(fullInput());
    const err = await rejects(K().update(r.id, { title: 'Valid Title', count: 1000 }), 400);
    assert.equal(err.response.message, 'Failed to update record.');
    assert.deepEqual(await K().getOne(r.id), r);
  });

  test('update of an unknown id -> 404', async () => {
    await rejects(K().update('nonexistent12345', { title: 'Ab' }), 404, NOT_FOUND);
  });
});

describe('delete', () => {
  test('delete -> 204 empty body; then view/update/delete -> 404', async () => {
    const r = await K().create({ title: 'Bye' });
    const res = await srv.su('DELETE', `/api/collections/kitchen/records/${r.id}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await rejects(K().getOne(r.id), 404, NOT_FOUND);
    await rejects(K().update(r.id, { title: 'Ab' }), 404, NOT_FOUND);
    await rejects(K().delete(r.id), 404, NOT_FOUND);
  });

  test('SDK delete resolves true and the record leaves the list', async () => {
    const r = await K().create({ title: 'Gone' });
    const before = (await K().getList(1, 1)).totalItems;
    assert.equal(await K().delete(r.id), true);
    assert.equal((await K().getList(1, 1)).totalItems, before - 1);
  });
});

describe('list', () => {
  test('getList items equal getOne for each record', async () => {
    await srv.pb.collections.create({ name: 'listeq', listRule: '', viewRule: '', fields: [{ name: 'n', type: 'number' }, { name: 'j', type: 'json' }] });
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await srv.pb.collection('listeq').create({ n: i, j: { i } }));
    const list = await srv.client().collection('listeq').getList(1, 10, { sort: 'n' });
    assert.deepEqual(Object.keys(list).sort(), ['items', 'page', 'perPage', 'totalItems', 'totalPages']);
    assert.deepEqual(list.items, made);
    assert.deepEqual([list.page, list.perPage, list.totalItems, list.totalPages], [1, 10, 3, 1]);
  });

  test('an empty collection lists as [] with totalPages 0', async () => {
    await srv.pb.collections.create({ name: 'emptylist', listRule: '' });
    const list = await srv.client().collection('emptylist').getList();
    assert.deepEqual(list, { items: [], page: 1, perPage: 30, totalItems: 0, totalPages: 0 });
  });
});

// Records: modifiers, multipart bodies, empty PATCH, unknown keys, autodate, body size.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, DATE_RE } from './harness.mjs';
import { PUBLIC_RULES, createUsers } from './fixtures.mjs';

let users;
const srv = useServer(async (s) => {
  users = await createUsers(s.pb, 5);
  await s.pb.collections.create({
    name: 'mods',
    ...PUBLIC_RULES,
    fields: [
      { name: 't', type: 'text' },
      { name: 'n', type: 'number', max: 100 },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 3 },
      { name: 'color', type: 'select', values: ['red', 'green'], maxSelect: 1 },
      { name: 'rels', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 3 },
      { name: 'j', type: 'json' },
      { name: 'b', type: 'bool' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
});
const M = () => srv.pb.collection('mods');
const UPDATE_FAILED = 'Failed to update record.';

describe('modifiers', () => {
  test('number: field+ adds, field- subtracts (numeric strings ok)', async () => {
    const r = await M().create({ n: 10 });
    assert.equal((await M().update(r.id, { 'n+': 5 })).n, 15);
    assert.equal((await M().update(r.id, { 'n-': '3' })).n, 12);
    assert.equal((await M().update(r.id, { 'n+': -2.5 })).n, 9.5);
    assert.equal((await M().getOne(r.id)).n, 9.5);
  });

  test('number: +field (prepend) is ignored for numbers', async () => {
    const r = await M().create({ n: 10 });
    assert.equal((await M().update(r.id, { '+n': 2 })).n, 10);
  });

  test('number: a plain value and a modifier together: set, then modify', async () => {
    const r = await M().create({ n: 10 });
    assert.equal((await M().update(r.id, { n: 1, 'n+': 2 })).n, 3);
  });

  test('number: a modifier that breaks max fails and changes nothing', async () => {
    const r = await M().create({ n: 99 });
    const err = await rejects(M().update(r.id, { 'n+': 2 }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { n: fieldErr('validation_max_number_constraint', 'Must be less or equal than 100.', { max: 100 }) }),
    );
    assert.equal((await M().getOne(r.id)).n, 99);
  });

  test('modifiers work on create too', async () => {
    const r = await M().create({ 'n+': 4, 'tags+': ['b'], '+tags': 'a' });
    assert.equal(r.n, 4);
    assert.deepEqual(r.tags, ['a', 'b']);
  });

  test('multi select: field+ appends, +field prepends, field- removes, duplicates collapse', async () => {
    const r = await M().create({ tags: ['a'] });
    assert.deepEqual((await M().update(r.id, { 'tags+': 'b' })).tags, ['a', 'b']);
    assert.deepEqual((await M().update(r.id, { '+tags': ['c'] })).tags, ['c', 'a', 'b']);
    assert.deepEqual((await M().update(r.id, { 'tags-': ['a', 'zz'] })).tags, ['c', 'b']);
    assert.deepEqual((await M().update(r.id, { 'tags+': ['b'] })).tags, ['c', 'b']);
    assert.deepEqual((await M().update(r.id, { 'tags-': 'c' })).tags, ['b']);
    assert.deepEqual((await M().getOne(r.id)).tags, ['b']);
  });

  test('multi select: maxSelect is enforced after modifiers', async () => {
    const r = await M().create({ tags: ['a', 'b'] });
    const err = await rejects(M().update(r.id, { 'tags+': ['c', 'd'] }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { tags: fieldErr('validation_too_many_values', 'Select no more than 3.', { maxSelect: 3 }) }),
    );
    assert.deepEqual((await M().getOne(r.id)).tags, ['a', 'b']);
  });

  test('multi select: appending an unknown value -> validation_invalid_value', async () => {
    const r = await M().create({ tags: ['a'] });
    const err = await rejects(M().update(r.id, { 'tags+': 'zz' }), 400);
    assert.deepEqual(err.response.data.tags, fieldErr('validation_invalid_value', 'Invalid value zz.', { value: 'zz' }));
  });

  test('single select: field+ sets the value', async () => {
    const r = await M().create({});
    assert.equal((await M().update(r.id, { 'color+': 'red' })).color, 'red');
  });

  test('relation multi: field+, +field, field- and maxSelect', async () => {
    const r = await M().create({ rels: [users[0]] });
    assert.deepEqual((await M().update(r.id, { 'rels+': users[1] })).rels, [users[0], users[1]]);
    assert.deepEqual((await M().update(r.id, { '+rels': [users[2]] })).rels, [users[2], users[0], users[1]]);
    assert.deepEqual((await M().update(r.id, { 'rels-': users[0] })).rels, [users[2], users[1]]);
    const err = await rejects(M().update(r.id, { 'rels+': [users[3], users[4]] }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { rels: fieldErr('validation_too_many_values', 'Select no more than 3.', { maxSelect: 3 }) }),
    );
    const missing = await rejects(M().update(r.id, { 'rels+': ['nonexistent12345'] }), 400);
    assert.deepEqual(
      missing.response.data.rels,
      fieldErr('validation_missing_rel_records', 'Failed to find all relation records with the provided ids.'),
    );
    assert.deepEqual((await M().getOne(r.id)).rels, [users[2], users[1]]);
  });

  test('text ignores modifiers', async () => {
    const r = await M().create({ t: 'Ab' });
    const u = await M().update(r.id, { 't+': 'xyz', '+t': 'q', 't-': 'A' });
    assert.equal(u.t, 'Ab');
  });
});

describe('multipart / FormData', () => {
  test('create with FormData: values are coerced like JSON', async () => {
    const fd = new FormData();
    fd.append('t', 'hello');
    fd.append('n', '42');
    fd.append('b', 'true');
    fd.append('tags', 'a');
    fd.append('tags', 'b');
    fd.append('j', '{"k":[1]}');
    const r = await M().create(fd);
    assert.equal(r.t, 'hello');
    assert.equal(r.n, 42);
    assert.equal(r.b, true);
    assert.deepEqual(r.tags, ['a', 'b']);
    assert.deepEqual(r.j, { k: [1] });
  });

  test('@jsonPayload is merged with the plain form fields', async () => {
    const fd = new FormData();
    fd.append('@jsonPayload', JSON.stringify({ n: 7, tags: ['c'], j: { z: 1 } }));
    fd.append('t', 'plain');
    const r = await M().create(fd);
    assert.deepEqual([r.t, r.n, r.tags, r.j], ['plain', 7, ['c'], { z: 1 }]);
  });

  test('invalid @jsonPayload -> 400, nothing stored', async () => {
    const before = (await M().getList(1, 1)).totalItems;
    const fd = new FormData();
    fd.append('@jsonPayload', '{bad');
    await rejects(M().create(fd), 400, errBody(400, 'Something went wrong while processing your request.'));
    assert.equal((await M().getList(1, 1)).totalItems, before);
  });

  test('modifiers in FormData on update', async () => {
    const r = await M().create({ n: 1, tags: ['a'] });
    const fd = new FormData();
    fd.append('tags+', 'c');
    fd.append('n+', '2');
    const u = await M().update(r.id, fd);
    assert.equal(u.n, 3);
    assert.deepEqual(u.tags, ['a', 'c']);
  });

  test('a repeated text field in a form is blank (PocketBase quirk)', async () => {
    const fd = new FormData();
    fd.append('t', 'a');
    fd.append('t', 'b');
    assert.equal((await M().create(fd)).t, '');
  });

  test('application/x-www-form-urlencoded is accepted', async () => {
    const r = await srv.su('POST', '/api/collections/mods/records', { body: 't=urlenc&n=3', contentType: 'application/x-www-form-urlencoded' });
    assert.equal(r.status, 200);
    assert.equal(r.json.t, 'urlenc');
    assert.equal(r.json.n, 3);
  });
});

describe('body edge cases', () => {
  test('empty PATCH -> 200, bumps updated, keeps everything else', async () => {
    const r = await M().create({ t: 'same', n: 3 });
    await new Promise((res) => setTimeout(res, 5));
    const u = await M().update(r.id, {});
    assert.ok(u.updated > r.updated);
    assert.deepEqual({ ...u, updated: r.updated }, r);
    // a raw PATCH with no body at all behaves the same
    const raw = await srv.su('PATCH', `/api/collections/mods/records/${r.id}`);
    assert.equal(raw.status, 200);
    assert.equal(raw.json.t, 'same');
  });

  test('empty, null and missing JSON bodies create a record of zero values', async () => {
    for (const body of ['', 'null', '{}']) {
      const r = await srv.su('POST', '/api/collections/mods/records', { body, contentType: 'application/json' });
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(r.json.t, '');
      assert.equal(r.json.n, 0);
    }
  });

  test('unknown keys are ignored (also system-ish keys)', async () => {
    const r = await M().create({ t: 'x', nope: 1, 'nope+': 2, collectionId: 'x', collectionName: 'y', expand: { a: 1 } });
    assert.equal(r.collectionName, 'mods');
    assert.equal('nope' in r, false);
    assert.equal('expand' in r, false);
    const u = await M().update(r.id, { nope: 'still no', t: 'y' });
    assert.equal(u.t, 'y');
    assert.equal('nope' in u, false);
  });

  test('a JSON array or string body -> 400', async () => {
    for (const body of ['[1,2]', '"text"', '42']) {
      const r = await srv.su('POST', '/api/collections/mods/records', { body, contentType: 'application/json' });
      assert.equal(r.status, 400, body);
      assert.deepEqual(r.json, errBody(400, 'Something went wrong while processing your request.'));
    }
  });
});

describe('autodate', () => {
  test('submitted created/updated are ignored on create and update', async () => {
    const r = await M().create({ created: '2001-01-01 00:00:00.000Z', updated: '2001-01-01 00:00:00.000Z' });
    assert.match(r.created, DATE_RE);
    assert.notEqual(r.created, '2001-01-01 00:00:00.000Z');
    assert.equal(r.updated, r.created);
    const now = Date.now();
    assert.ok(Math.abs(Date.parse(r.created.replace(' ', 'T')) - now) < 60_000, 'created is about now');
    const u = await M().update(r.id, { created: '2001-01-01 00:00:00.000Z', updated: '2001-01-01 00:00:00.000Z' });
    assert.equal(u.created, r.created);
    assert.notEqual(u.updated, '2001-01-01 00:00:00.000Z');
  });

  test('onCreate-only, onUpdate-only and both', async () => {
    await srv.pb.collections.create({
      name: 'autod',
      fields: [
        { name: 't', type: 'text' },
        { name: 'c', type: 'autodate', onCreate: true },
        { name: 'u', type: 'autodate', onUpdate: true },
        { name: 'cu', type: 'autodate', onCreate: true, onUpdate: true },
      ],
    });
    const A = srv.pb.collection('autod');
    const r = await A.create({ t: 'x', c: '2001-01-01 00:00:00.000Z', u: '2001-01-01 00:00:00.000Z' });
    assert.match(r.c, DATE_RE);
    assert.equal(r.u, '', 'onUpdate-only is empty after create');
    assert.equal(r.cu, r.c);
    await new Promise((res) => setTimeout(res, 5));
    const u = await A.update(r.id, { t: 'y' });
    assert.equal(u.c, r.c);
    assert.match(u.u, DATE_RE);
    assert.ok(u.cu > r.cu);
    assert.equal(u.u, u.cu);
  });

  test('a collection without autodate fields has no created/updated keys', async () => {
    await srv.pb.collections.create({ name: 'noauto', fields: [{ name: 't', type: 'text' }] });
    const r = await srv.pb.collection('noauto').create({ t: 'x', created: '2001-01-01 00:00:00.000Z' });
    assert.deepEqual(Object.keys(r).sort(), ['collectionId', 'collectionName', 'id', 't']);
  });
});

describe('request body size', () => {
  test('a body over the 32 MiB limit -> 413, nothing stored', async () => {
    const before = (await M().getList(1, 1)).totalItems;
    const body = JSON.stringify({ t: 'x'.repeat(33 * 1024 * 1024) });
    const r = await srv.su('POST', '/api/collections/mods/records', { body, contentType: 'application/json' });
    assert.equal(r.status, 413);
    assert.deepEqual(r.json, errBody(413, 'Request entity too large.'));
    assert.equal((await M().getList(1, 1)).totalItems, before);
  });

  test('an oversized update is rejected and the record is unchanged', async () => {
    const rec = await M().create({ t: 'small' });
    const body = JSON.stringify({ j: { big: 'y'.repeat(33 * 1024 * 1024) } });
    const r = await srv.su('PATCH', `/api/collections/mods/records/${rec.id}`, { body, contentType: 'application/json' });
    assert.equal(r.status, 413);
    assert.deepEqual(await M().getOne(rec.id), rec);
  });

  test('a large body under the limit reaches validation (16 MiB text -> max 5000 chars)', async () => {
    const body = JSON.stringify({ t: 'x'.repeat(16 * 1024 * 1024) });
    const r = await srv.su('POST', '/api/collections/mods/records', { body, contentType: 'application/json' });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      errBody(400, 'Failed to create record.', {
        t: fieldErr('validation_max_text_constraint', 'Must be no more than 5000 character(s).', { max: 5000 }),
      }),
    );
  });
});

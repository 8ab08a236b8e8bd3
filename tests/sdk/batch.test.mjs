// Batch requests: POST /api/batch and the SDK's pb.createBatch().
// Every expectation here was checked against the reference PocketBase 0.40 first;
// comments mark where PocketBase does something one might not guess.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, ID_RE } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';

const NOT_ALLOWED = errBody(403, 'Batch requests are not allowed.');
const NOT_FOUND = "The requested resource wasn't found.";
const GENERIC = 'Something went wrong while processing your request.';
const BATCH_DEFAULTS = { enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 };

/** The 400 body of a rolled back batch: request `i` failed with `response`. */
function batchFailed(i, status, message, data = {}) {
  return errBody(400, 'Batch transaction failed.', {
    requests: {
      [String(i)]: {
        code: 'batch_request_failed',
        message: 'Batch request failed.', // always this text; the cause is in `response`
        response: { data, message, status },
      },
    },
  });
}

/** The 400 body of a batch rejected before running anything. */
const invalidBatch = (data) => errBody(400, 'Invalid batch request data.', data);
const UNREADABLE = errBody(400, 'Failed to read the submitted batch data.');
const REQUESTS_REQUIRED = invalidBatch({ requests: { code: 'validation_required', message: 'Cannot be blank.' } });

let itemsCol; // public: title (required, text), n (number)
let authorsCol; // public: name
let notesCol; // rules: create needs auth, update/delete only by the owner
let u1; // logged-in users client, owner of note `note1...`
let u2; // logged-in users client, owner of note `note2...`
const ANN = 'annannannannann';
const NOTE1 = 'note1note1note1';
const NOTE2 = 'note2note2note2';

const srv = useServer(async (s) => {
  const pb = s.pb;
  authorsCol = await pb.collections.create({ name: 'authors', ...RULES, fields: [{ name: 'name', type: 'text' }] });
  itemsCol = await pb.collections.create({
    name: 'items',
    ...RULES,
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'n', type: 'number' },
      { name: 'author', type: 'relation', collectionId: authorsCol.id, maxSelect: 1 },
    ],
  });
  await pb.collections.create({ name: 'locked', fields: [{ name: 'title', type: 'text' }] });
  notesCol = await pb.collections.create({
    name: 'notes',
    listRule: '',
    viewRule: '',
    createRule: '@request.auth.id != ""',
    updateRule: 'owner = @request.auth.id',
    deleteRule: 'owner = @request.auth.id',
    fields: [
      { name: 'text', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
  await pb.collections.create({
    name: 'ctx',
    listRule: '',
    createRule: '@request.context = "batch"',
    fields: [{ name: 'text', type: 'text' }],
  });
  await pb.collections.create({ name: 'items_view', type: 'view', listRule: '', viewRule: '', viewQuery: 'SELECT id, title FROM items' });
  await pb.collection('authors').create({ id: ANN, name: 'Ann' });
  u1 = await s.userClient();
  u2 = await s.userClient();
  await pb.collection('notes').create({ id: NOTE1, text: 'one', owner: u1.authStore.record.id });
  await pb.collection('notes').create({ id: NOTE2, text: 'two', owner: u2.authStore.record.id });
});

/** POST /api/batch with {requests}; token undefined = superuser, '' = guest. */
function batch(requests, token) {
  return srv.api('POST', '/api/batch', { body: { requests }, token: token === undefined ? srv.pb.authStore.token : token });
}

const enable = () => srv.su('PATCH', '/api/settings', { body: { batch: { enabled: true } } });

/** Every record of a collection (superuser view), sorted by id. */
async function snapshot(name) {
  const r = await srv.su('GET', `/api/collections/${name}/records?perPage=500&sort=id`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

const item = (fields) => ({ collectionId: itemsCol.id, collectionName: 'items', author: '', n: 0, ...fields });
const POST_ITEM = (body, query = '') => ({ method: 'POST', url: `/api/collections/items/records${query}`, body });

describe('batch enabled/disabled', () => {
  test('disabled by default: 403 for superusers, users and guests; nothing written', async () => {
    const s = await srv.pb.settings.getAll();
    assert.deepEqual(s.batch, BATCH_DEFAULTS);
    const before = await snapshot('items');
    const reqs = [POST_ITEM({ title: 'nope' })];
    for (const token of [undefined, u1.authStore.token, '']) {
      const r = await batch(reqs, token);
      assert.equal(r.status, 403, r.text);
      assert.deepEqual(r.json, NOT_ALLOWED);
    }
    // the disabled check comes before any body parsing
    const bad = await srv.su('POST', '/api/batch', { body: '{oops', contentType: 'application/json' });
    assert.deepEqual([bad.status, bad.json], [403, NOT_ALLOWED]);
    const b = srv.pb.createBatch();
    b.collection('items').create({ title: 'nope' });
    await rejects(b.send(), 403, NOT_ALLOWED);
    assert.deepEqual(await snapshot('items'), before);
  });

  test('PATCH /api/settings {batch:{enabled:true}} enables it; disabling again answers 403 again', async () => {
    const r = await enable();
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.batch, { ...BATCH_DEFAULTS, enabled: true });
    const ok = await batch([POST_ITEM({ id: 'enabled0000000a', title: 'on' })]);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, [{ status: 200, body: item({ id: 'enabled0000000a', title: 'on' }) }]);

    await srv.pb.settings.update({ batch: { enabled: false } });
    const off = await batch([POST_ITEM({ title: 'off' })]);
    assert.deepEqual([off.status, off.json], [403, NOT_ALLOWED]);
    await enable();
    assert.equal((await srv.pb.settings.getAll()).batch.enabled, true);
  });

  test('batch settings validation: maxRequests and timeout are required, maxRequests >= 0', async () => {
    const SAVE_FAILED = 'An error occurred while saving the new settings.';
    const zero = await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: 0 } } });
    assert.deepEqual(
      [zero.status, zero.json],
      [400, errBody(400, SAVE_FAILED, { batch: { maxRequests: { code: 'validation_required', message: 'Cannot be blank.' } } })],
    );
    const neg = await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: -1, timeout: 0 } } });
    assert.deepEqual(
      [neg.status, neg.json],
      [
        400,
        errBody(400, SAVE_FAILED, {
          batch: {
            maxRequests: { code: 'validation_min_greater_equal_than_required', message: 'Must be no less than 0.', params: { threshold: 0 } },
            timeout: { code: 'validation_required', message: 'Cannot be blank.' },
          },
        }),
      ],
    );
    assert.deepEqual((await srv.pb.settings.getAll()).batch, { ...BATCH_DEFAULTS, enabled: true });
  });
});

describe('successful batches', () => {
  test('create, update, upsert (new and existing) and delete in one request: [{status, body}] in order', async () => {
    await enable();
    const r = await batch([
      POST_ITEM({ id: 'aaaaaaaaaaaaaaa', title: 'a', n: 1 }),
      { method: 'PATCH', url: '/api/collections/items/records/aaaaaaaaaaaaaaa', body: { title: 'b' } },
      { method: 'PUT', url: '/api/collections/items/records', body: { id: 'bbbbbbbbbbbbbbb', title: 'c', n: 2 } },
      { method: 'PUT', url: '/api/collections/items/records', body: { id: 'bbbbbbbbbbbbbbb', title: 'd' } },
      { method: 'DELETE', url: '/api/collections/items/records/aaaaaaaaaaaaaaa' },
    ]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [
      // a create answers 200 (not 201), like the plain endpoint
      { status: 200, body: item({ id: 'aaaaaaaaaaaaaaa', title: 'a', n: 1 }) },
      // later requests see the writes of earlier ones (same transaction)
      { status: 200, body: item({ id: 'aaaaaaaaaaaaaaa', title: 'b', n: 1 }) },
      { status: 200, body: item({ id: 'bbbbbbbbbbbbbbb', title: 'c', n: 2 }) },
      // upsert of an existing id is a PATCH: fields not sent keep their value
      { status: 200, body: item({ id: 'bbbbbbbbbbbbbbb', title: 'd', n: 2 }) },
      { status: 204, body: null },
    ]);
    await rejects(srv.pb.collection('items').getOne('aaaaaaaaaaaaaaa'), 404);
    assert.deepEqual(await srv.pb.collection('items').getOne('bbbbbbbbbbbbbbb'), item({ id: 'bbbbbbbbbbbbbbb', title: 'd', n: 2 }));
  });

  test('upsert (PUT): creates when the id is new or absent, updates when it exists', async () => {
    await enable();
    const r = await batch([
      { method: 'PUT', url: '/api/collections/items/records', body: { id: 'upsertnew000001', title: 'new', n: 5 } },
      { method: 'PUT', url: '/api/collections/items/records', body: { title: 'noid' } },
      { method: 'PUT', url: '/api/collections/items/records', body: { id: 'upsertnew000001', n: 6 } },
    ]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 3);
    assert.deepEqual(r.json[0], { status: 200, body: item({ id: 'upsertnew000001', title: 'new', n: 5 }) });
    assert.equal(r.json[1].status, 200);
    assert.match(r.json[1].body.id, ID_RE);
    assert.deepEqual(r.json[1].body, item({ id: r.json[1].body.id, title: 'noid' }));
    assert.deepEqual(r.json[2], { status: 200, body: item({ id: 'upsertnew000001', title: 'new', n: 6 }) });
    assert.equal((await srv.pb.collection('items').getOne(r.json[1].body.id)).title, 'noid');
  });

  test('SDK: pb.createBatch() create/upsert/update/delete -> [{status, body}]', async () => {
    await enable();
    const b = srv.pb.createBatch();
    b.collection('items').create({ id: 'sdkbatch0000001', title: 'sdk' });
    b.collection('items').upsert({ id: 'sdkbatch0000002', title: 'up' });
    b.collection('items').update('sdkbatch0000001', { n: 9 });
    b.collection('items').upsert({ id: 'sdkbatch0000002', title: 'up2' });
    b.collection('items').delete('sdkbatch0000001');
    const res = await b.send();
    assert.deepEqual(res, [
      { status: 200, body: item({ id: 'sdkbatch0000001', title: 'sdk' }) },
      { status: 200, body: item({ id: 'sdkbatch0000002', title: 'up' }) },
      { status: 200, body: item({ id: 'sdkbatch0000001', title: 'sdk', n: 9 }) },
      { status: 200, body: item({ id: 'sdkbatch0000002', title: 'up2' }) },
      { status: 204, body: null },
    ]);
    await rejects(srv.pb.collection('items').getOne('sdkbatch0000001'), 404);
    assert.equal((await srv.pb.collection('items').getOne('sdkbatch0000002')).title, 'up2');
  });

  test('expand and fields query parameters inside a batch request url', async () => {
    await enable();
    const r = await batch([
      POST_ITEM({ id: 'expandbatch0001', title: 'ex', author: ANN }, '?expand=author'),
      { method: 'PATCH', url: '/api/collections/items/records/expandbatch0001?fields=id,title', body: { title: 'ex2' } },
      { method: 'PUT', url: '/api/collections/items/records?expand=author&fields=title,expand.author.name', body: { id: 'expandbatch0001', n: 3 } },
      { method: 'DELETE', url: '/api/collections/items/records/expandbatch0001?fields=id' },
    ]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [
      {
        status: 200,
        body: item({
          id: 'expandbatch0001',
          title: 'ex',
          author: ANN,
          expand: { author: { collectionId: authorsCol.id, collectionName: 'authors', id: ANN, name: 'Ann' } },
        }),
      },
      { status: 200, body: { id: 'expandbatch0001', title: 'ex2' } },
      { status: 200, body: { title: 'ex2', expand: { author: { name: 'Ann' } } } },
      { status: 204, body: null },
    ]);
  });

  test('exactly maxRequests requests are accepted', async () => {
    await enable();
    await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: 2 } } });
    try {
      const r = await batch([POST_ITEM({ title: 'm1' }), POST_ITEM({ title: 'm2' })]);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.json.map((x) => [x.status, x.body.title]),
        [
          [200, 'm1'],
          [200, 'm2'],
        ],
      );
    } finally {
      await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: 50 } } });
    }
  });
});

describe('failed batches roll back everything', () => {
  test('validation failure in the last request: 400, index and inner response; earlier writes undone', async () => {
    await enable();
    const before = await snapshot('items');
    await srv.pb.collection('items').create({ id: 'rollback0000001', title: 'keep', n: 1 });
    const kept = await snapshot('items');
    const r = await batch([
      POST_ITEM({ id: 'rollback0000002', title: 'x' }),
      { method: 'PATCH', url: '/api/collections/items/records/rollback0000001', body: { title: 'changed', n: 2 } },
      { method: 'DELETE', url: '/api/collections/items/records/rollback0000001' },
      { method: 'PUT', url: '/api/collections/items/records', body: { id: 'rollback0000003', title: 'y' } },
      POST_ITEM({ title: '' }),
    ]);
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(
      r.json,
      batchFailed(4, 400, 'Failed to create record.', { title: { code: 'validation_required', message: 'Cannot be blank.' } }),
    );
    assert.deepEqual(await snapshot('items'), kept);
    await srv.pb.collection('items').delete('rollback0000001');
    assert.deepEqual(await snapshot('items'), before);
  });

  test('validation failure in the first request: index 0', async () => {
    await enable();
    const before = await snapshot('items');
    const r = await batch([POST_ITEM({ title: '' }), POST_ITEM({ title: 'never' })]);
    assert.deepEqual(
      [r.status, r.json],
      [400, batchFailed(0, 400, 'Failed to create record.', { title: { code: 'validation_required', message: 'Cannot be blank.' } })],
    );
    assert.deepEqual(await snapshot('items'), before);
  });

  test('rule failure: a guest cannot create in a null-rule collection (inner 403)', async () => {
    await enable();
    const items = await snapshot('items');
    const locked = await snapshot('locked');
    const r = await batch([POST_ITEM({ title: 'guest' }), { method: 'POST', url: '/api/collections/locked/records', body: { title: 'g' } }], '');
    assert.deepEqual([r.status, r.json], [400, batchFailed(1, 403, 'Only superusers can perform this action.')]);
    assert.deepEqual(await snapshot('items'), items);
    assert.deepEqual(await snapshot('locked'), locked);
  });

  test('rule failure: a createRule a guest does not satisfy (inner 400 "Failed to create record.")', async () => {
    await enable();
    const items = await snapshot('items');
    const notes = await snapshot('notes');
    const r = await batch([POST_ITEM({ title: 'guest' }), { method: 'POST', url: '/api/collections/notes/records', body: { text: 'g' } }], '');
    assert.deepEqual([r.status, r.json], [400, batchFailed(1, 400, 'Failed to create record.')]);
    // upsert of a new id goes the same way
    const up = await batch([{ method: 'PUT', url: '/api/collections/notes/records', body: { id: 'guestnote000001', text: 'g' } }], '');
    assert.deepEqual([up.status, up.json], [400, batchFailed(0, 400, 'Failed to create record.')]);
    assert.deepEqual(await snapshot('items'), items);
    assert.deepEqual(await snapshot('notes'), notes);
  });

  test('missing record on update / delete: inner 404', async () => {
    await enable();
    const before = await snapshot('items');
    const upd = await batch([POST_ITEM({ title: 'x' }), { method: 'PATCH', url: '/api/collections/items/records/nonexistent1234', body: { title: 'y' } }]);
    assert.deepEqual([upd.status, upd.json], [400, batchFailed(1, 404, NOT_FOUND)]);
    const del = await batch([POST_ITEM({ title: 'x' }), { method: 'DELETE', url: '/api/collections/items/records/nonexistent1234' }]);
    assert.deepEqual([del.status, del.json], [400, batchFailed(1, 404, NOT_FOUND)]);
    assert.deepEqual(await snapshot('items'), before);
  });

  test('unknown collection: inner 404 "Missing collection context."', async () => {
    await enable();
    const before = await snapshot('items');
    const r = await batch([POST_ITEM({ title: 'x' }), { method: 'POST', url: '/api/collections/nope/records', body: { title: 'y' } }]);
    assert.deepEqual([r.status, r.json], [400, batchFailed(1, 404, 'Missing collection context.')]);
    const first = await batch([{ method: 'DELETE', url: '/api/collections/nope/records/nonexistent1234' }]);
    assert.deepEqual([first.status, first.json], [400, batchFailed(0, 404, 'Missing collection context.')]);
    assert.deepEqual(await snapshot('items'), before);
  });

  test('non-record urls and unsupported methods are refused; nothing written', async () => {
    await enable();
    const R = 'refusal00000001';
    await srv.pb.collection('items').create({ id: R, title: 'r' });
    const before = await snapshot('items');
    const appName = (await srv.pb.settings.getAll()).meta.appName;
    // As the first request: inner 400 with the generic message.
    for (const req of [
      { method: 'PATCH', url: '/api/settings', body: { meta: { appName: 'Hacked' } } },
      { method: 'GET', url: '/api/collections/items/records' }, // reads are not batchable
      { method: 'PUT', url: `/api/collections/items/records/${R}`, body: { title: 'z' } }, // upsert has no id in the path
      { method: 'POST', url: 'api/collections/items/records', body: { title: 'z' } }, // no leading slash
      { method: 'POST', url: `${srv.url}/api/collections/items/records`, body: { title: 'z' } }, // absolute url
      { method: 'POST', url: '/api/collections/items/records/', body: { title: 'z' } }, // trailing slash
      { method: 'DELETE', url: '/api/collections/items' }, // collection endpoint
    ]) {
      const r = await batch([req]);
      assert.deepEqual([r.status, r.json], [400, batchFailed(0, 400, GENERIC)], JSON.stringify(req));
    }
    // PocketBase quirk: after a successful request the same refusal surfaces as an
    // inner 500 (it travels back through the previous request's handler).
    for (const prev of [
      POST_ITEM({ title: 'x' }),
      { method: 'PATCH', url: `/api/collections/items/records/${R}`, body: { title: 'q' } },
      { method: 'DELETE', url: `/api/collections/items/records/${R}` },
    ]) {
      const r = await batch([prev, { method: 'PATCH', url: '/api/settings', body: { meta: { appName: 'Hacked' } } }]);
      assert.deepEqual([r.status, r.json], [400, batchFailed(1, 500, GENERIC)], JSON.stringify(prev));
    }
    assert.equal((await srv.pb.settings.getAll()).meta.appName, appName);
    assert.deepEqual(await snapshot('items'), before);
    await srv.pb.collection('items').delete(R);
  });

  test('records of a view collection cannot be written in a batch', async () => {
    await enable();
    const before = await snapshot('items');
    const r = await batch([POST_ITEM({ title: 'x' }), { method: 'POST', url: '/api/collections/items_view/records', body: { title: 'v' } }]);
    assert.deepEqual([r.status, r.json], [400, batchFailed(1, 400, 'Unsupported collection type.')]);
    assert.deepEqual(await snapshot('items'), before);
  });

  test('SDK: a failed batch rejects with the 400 body', async () => {
    await enable();
    const before = await snapshot('items');
    const b = srv.pb.createBatch();
    b.collection('items').create({ title: 'sdk-x' });
    b.collection('items').update('nonexistent1234', { title: 'y' });
    const err = await rejects(b.send(), 400, batchFailed(1, 404, NOT_FOUND));
    assert.equal(err.message, 'Batch transaction failed.');
    assert.deepEqual(await snapshot('items'), before);
  });
});

describe('invalid batch requests', () => {
  test('more than maxRequests -> 400 validation_length_too_long at data.requests', async () => {
    await enable();
    await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: 2 } } });
    try {
      const before = await snapshot('items');
      const r = await batch([POST_ITEM({ title: 'a' }), POST_ITEM({ title: 'b' }), POST_ITEM({ title: 'c' })]);
      assert.equal(r.status, 400, r.text);
      assert.deepEqual(
        r.json,
        invalidBatch({
          requests: { code: 'validation_length_too_long', message: 'The length must be no more than 2.', params: { max: 2, min: 0 } },
        }),
      );
      assert.deepEqual(await snapshot('items'), before);
    } finally {
      await srv.su('PATCH', '/api/settings', { body: { batch: { maxRequests: 50 } } });
    }
  });

  test('empty, missing or null requests -> 400 validation_required at data.requests', async () => {
    await enable();
    for (const body of [{ requests: [] }, {}, { requests: null }]) {
      const r = await srv.su('POST', '/api/batch', { body });
      assert.deepEqual([r.status, r.json], [400, REQUESTS_REQUIRED], JSON.stringify(body));
    }
    const none = await srv.su('POST', '/api/batch');
    assert.deepEqual([none.status, none.json], [400, REQUESTS_REQUIRED]);
    await rejects(srv.pb.createBatch().send(), 400, REQUESTS_REQUIRED);
  });

  test('malformed JSON or a wrongly typed requests value -> 400 "Failed to read the submitted batch data."', async () => {
    await enable();
    for (const raw of ['{bad', '{"requests": "x"}', '{"requests": [1]}', '[]']) {
      const r = await srv.su('POST', '/api/batch', { body: raw, contentType: 'application/json' });
      assert.deepEqual([r.status, r.json], [400, UNREADABLE], raw);
    }
  });

  test('each request needs a method (GET/POST/PUT/PATCH/DELETE, upper case) and a url', async () => {
    await enable();
    const before = await snapshot('items');
    const blank = await srv.su('POST', '/api/batch', { body: { requests: [POST_ITEM({ title: 'ok' }), {}] } });
    assert.deepEqual(
      [blank.status, blank.json],
      [
        400,
        invalidBatch({
          requests: {
            1: {
              method: { code: 'validation_required', message: 'Cannot be blank.' },
              url: { code: 'validation_required', message: 'Cannot be blank.' },
            },
          },
        }),
      ],
    );
    for (const method of ['post', 'HEAD', 'OPTIONS']) {
      const r = await batch([{ method, url: '/api/collections/items/records', body: { title: 'lc' } }]);
      assert.deepEqual(
        [r.status, r.json],
        [400, invalidBatch({ requests: { 0: { method: { code: 'validation_in_invalid', message: 'Must be a valid value.' } } } })],
        method,
      );
    }
    assert.deepEqual(await snapshot('items'), before);
  });
});

describe('rules apply with the caller auth', () => {
  test('guest vs user vs superuser on rule-guarded notes', async () => {
    await enable();
    const id1 = u1.authStore.record.id;
    const notes = await snapshot('notes');

    // guest: createRule `@request.auth.id != ""` fails
    const g = await batch([{ method: 'POST', url: '/api/collections/notes/records', body: { text: 'g' } }], '');
    assert.deepEqual([g.status, g.json], [400, batchFailed(0, 400, 'Failed to create record.')]);

    // user 1: may update own note, not user 2's (404, as the plain endpoint)
    const own = await batch([{ method: 'PATCH', url: '/api/collections/notes/records/' + NOTE1, body: { text: 'mine' } }], u1.authStore.token);
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(own.json, [
      { status: 200, body: { collectionId: notesCol.id, collectionName: 'notes', id: NOTE1, text: 'mine', owner: id1 } },
    ]);
    for (const req of [
      { method: 'PATCH', url: '/api/collections/notes/records/' + NOTE2, body: { text: 'hack' } },
      { method: 'DELETE', url: '/api/collections/notes/records/' + NOTE2 },
      { method: 'PUT', url: '/api/collections/notes/records', body: { id: NOTE2, text: 'hack' } }, // upsert -> update rule
    ]) {
      const r = await batch([{ method: 'POST', url: '/api/collections/notes/records', body: { text: 'u1', owner: id1 } }, req], u1.authStore.token);
      assert.deepEqual([r.status, r.json], [400, batchFailed(1, 404, NOT_FOUND)], JSON.stringify(req));
    }
    // a per-request Authorization header does not change who the caller is
    const hdr = await batch(
      [{ method: 'POST', url: '/api/collections/notes/records', body: { text: 'h' }, headers: { Authorization: u1.authStore.token } }],
      '',
    );
    assert.deepEqual([hdr.status, hdr.json], [400, batchFailed(0, 400, 'Failed to create record.')]);
    const after = await snapshot('notes');
    assert.deepEqual(
      after,
      notes.map((n) => (n.id === NOTE1 ? { ...n, text: 'mine' } : n)),
    );

    // superuser bypasses the rules
    const su = await batch([
      { method: 'PATCH', url: '/api/collections/notes/records/' + NOTE2, body: { text: 'by su' } },
      { method: 'PATCH', url: '/api/collections/notes/records/' + NOTE1, body: { text: 'one' } },
    ]);
    assert.equal(su.status, 200, su.text);
    assert.deepEqual(
      su.json.map((x) => [x.status, x.body.id, x.body.text]),
      [
        [200, NOTE2, 'by su'],
        [200, NOTE1, 'one'],
      ],
    );
  });

  test('a guest may write where the rules allow it; null rules still answer 403 inside', async () => {
    await enable();
    const r = await batch([POST_ITEM({ id: 'guestbatch00001', title: 'guest' })], '');
    assert.deepEqual([r.status, r.json], [200, [{ status: 200, body: item({ id: 'guestbatch00001', title: 'guest' }) }]]);
    const u = await batch([{ method: 'DELETE', url: '/api/collections/locked/records/nonexistent1234' }], u2.authStore.token);
    assert.deepEqual([u.status, u.json], [400, batchFailed(0, 403, 'Only superusers can perform this action.')]);
  });

  test('@request.context is "batch" inside a batch', async () => {
    await enable();
    const direct = await srv.api('POST', '/api/collections/ctx/records', { body: { text: 'direct' } });
    assert.deepEqual([direct.status, direct.json], [400, errBody(400, 'Failed to create record.')]);
    const r = await batch([{ method: 'POST', url: '/api/collections/ctx/records', body: { text: 'batched' } }], '');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 1);
    assert.equal(r.json[0].status, 200);
    assert.equal(r.json[0].body.text, 'batched');
    assert.match(r.json[0].body.id, ID_RE);
  });
});

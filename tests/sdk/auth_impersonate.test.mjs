// POST /api/collections/{collection}/impersonate/{id}: superuser-only, static
// (non-refreshable) auth tokens of a custom duration.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, jwtPayload, SUPERUSERS_ID, USERS_ID } from './harness.mjs';

const PW = 'imp-pass-1234';
let target;
const srv = useServer(async (s) => {
  target = await s.pb.collection('users').create({ email: 'target@example.com', password: PW, passwordConfirm: PW, name: 'Target' });
});
const now = () => Math.floor(Date.now() / 1000);
const imp = (id, body, token) => srv.api('POST', `/api/collections/users/impersonate/${id}`, { body, token });

describe('impersonate as superuser', () => {
  test('raw response {record, token}; token: refreshable false, exp = now + duration', async () => {
    const before = now();
    const r = await imp(target.id, { duration: 100 }, srv.pb.authStore.token);
    const after = now();
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['record', 'token']);
    assert.deepEqual(r.json.record, {
      avatar: '',
      collectionId: USERS_ID,
      collectionName: 'users',
      created: target.created,
      email: 'target@example.com',
      emailVisibility: false,
      id: target.id,
      name: 'Target',
      updated: target.updated,
      verified: false,
    });
    const p = jwtPayload(r.json.token);
    assert.deepEqual(Object.keys(p).sort(), ['collectionId', 'exp', 'id', 'refreshable', 'type']);
    assert.equal(p.id, target.id);
    assert.equal(p.collectionId, USERS_ID);
    assert.equal(p.type, 'auth');
    assert.equal(p.refreshable, false);
    assert.ok(p.exp >= before + 100 && p.exp <= after + 100, `exp ${p.exp} vs now ${before}..${after}`);
  });

  test('the SDK helper returns a client authenticated as the record; it works for authorized requests', async () => {
    const client = await srv.pb.collection('users').impersonate(target.id, 60);
    assert.notEqual(client, srv.pb);
    assert.equal(client.authStore.isValid, true);
    assert.equal(client.authStore.isSuperuser, false);
    assert.equal(client.authStore.record.id, target.id);
    const p = jwtPayload(client.authStore.token);
    assert.equal(p.refreshable, false);
    assert.ok(Math.abs(p.exp - (now() + 60)) <= 2);
    // users viewRule is "id = @request.auth.id"
    const me = await client.collection('users').getOne(target.id);
    assert.equal(me.email, 'target@example.com', 'the owner sees its email');
    const list = await client.collection('users').getFullList();
    assert.deepEqual(list.map((x) => x.id), [target.id]);
    // the superuser client itself is unchanged
    assert.equal(srv.pb.authStore.isSuperuser, true);
  });

  test('duration omitted or 0 -> the collection authToken.duration', async () => {
    const users = await srv.pb.collections.getOne('users');
    const d = users.authToken.duration;
    assert.ok(d > 0);
    for (const body of [undefined, {}, { duration: 0 }]) {
      const before = now();
      const r = await imp(target.id, body, srv.pb.authStore.token);
      assert.equal(r.status, 200);
      const p = jwtPayload(r.json.token);
      assert.equal(p.refreshable, false);
      assert.ok(p.exp >= before + d && p.exp <= now() + d, `exp ${p.exp} vs ${before} + ${d}`);
    }
  });

  test('auth-refresh with an impersonation token -> 200 with the same (non-refreshable) token', async () => {
    const client = await srv.pb.collection('users').impersonate(target.id, 120);
    const token = client.authStore.token;
    await new Promise((r) => setTimeout(r, 1100)); // a refreshable token would get a later exp
    const r = await srv.api('POST', '/api/collections/users/auth-refresh', { token });
    assert.equal(r.status, 200);
    assert.equal(r.json.token, token, 'the token is returned unchanged');
    assert.equal(r.json.record.id, target.id);
    const res = await client.collection('users').authRefresh();
    assert.equal(res.token, token);
  });

  test('a superuser can impersonate a _superusers record (itself here): also non-refreshable', async () => {
    const me = srv.pb.authStore.record;
    const r = await srv.su('POST', `/api/collections/_superusers/impersonate/${me.id}`, { body: { duration: 50 } });
    assert.equal(r.status, 200);
    assert.equal(r.json.record.collectionId, SUPERUSERS_ID);
    const p = jwtPayload(r.json.token);
    assert.equal(p.refreshable, false);
    assert.equal(p.collectionId, SUPERUSERS_ID);
    const list = await srv.api('GET', '/api/collections', { token: r.json.token });
    assert.equal(list.status, 200, 'the impersonation token is a working superuser token');
  });

  test("changing the record's password invalidates its impersonation tokens", async () => {
    const u = await srv.pb.collection('users').create({ email: 'victim@example.com', password: PW, passwordConfirm: PW });
    const client = await srv.pb.collection('users').impersonate(u.id, 300);
    await client.collection('users').getOne(u.id);
    await srv.pb.collection('users').update(u.id, { password: 'another-pass-1', passwordConfirm: 'another-pass-1' });
    await rejects(client.collection('users').authRefresh(), 401, errBody(401, 'The request requires valid record authorization token.'));
  });
});

describe('impersonate errors', () => {
  test('guest -> 401', async () => {
    const r = await imp(target.id, { duration: 10 });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, errBody(401, 'The request requires valid record authorization token.'));
  });

  test('a regular user (even for itself) -> 403', async () => {
    const { token } = await srv.client().collection('users').authWithPassword('target@example.com', PW);
    const r = await imp(target.id, { duration: 10 }, token);
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, errBody(403, 'The authorized record is not allowed to perform this action.'));
    // and through the SDK helper, which sends the caller's token
    const pb = srv.client(token);
    await rejects(pb.collection('users').impersonate(target.id, 10), 403);
  });

  test('an impersonated (non-superuser) token cannot impersonate -> 403', async () => {
    const client = await srv.pb.collection('users').impersonate(target.id, 60);
    await rejects(
      client.collection('users').impersonate(target.id, 10),
      403,
      errBody(403, 'The authorized record is not allowed to perform this action.'),
    );
  });

  test('unknown record id -> 404', async () => {
    await rejects(
      srv.pb.collection('users').impersonate('nope12345678901', 10),
      404,
      errBody(404, "The requested resource wasn't found."),
    );
  });

  test('unknown or non-auth collection -> 404', async () => {
    for (const coll of ['nope_nope', '_externalAuths']) {
      const r = await srv.su('POST', `/api/collections/${coll}/impersonate/${target.id}`, { body: { duration: 10 } });
      assert.equal(r.status, 404, coll);
      assert.deepEqual(r.json, errBody(404, 'Missing or invalid auth collection context.'));
    }
  });

  test('negative duration -> 400 validation_min_greater_equal_than_required', async () => {
    const r = await imp(target.id, { duration: -1 }, srv.pb.authStore.token);
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      errBody(400, 'An error occurred while validating the submitted data.', {
        duration: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 0.', { threshold: 0 }),
      }),
    );
  });

  test('non-numeric duration -> 400 (body not loadable)', async () => {
    const r = await imp(target.id, { duration: 'abc' }, srv.pb.authStore.token);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'An error occurred while loading the submitted data.'));
  });
});

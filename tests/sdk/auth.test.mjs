// Superuser auth-with-password, auth-refresh and the JWTs the SDK decodes.
import assert from 'node:assert/strict';
import {
  useServer,
  test,
  describe,
  rejects,
  errBody,
  fieldErr,
  jwtPayload,
  newClient,
  SUPERUSER_EMAIL,
  SUPERUSER_PASSWORD,
  SUPERUSERS_ID,
  ID_RE,
  DATE_RE,
} from './harness.mjs';

const srv = useServer();
const AUTH_FAILED = errBody(400, 'Failed to authenticate.');

describe('auth-with-password (_superusers)', () => {
  test('success: {record, token} with the superuser record shape', async () => {
    const pb = srv.client();
    const res = await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
    const rec = res.record;
    assert.deepEqual(Object.keys(rec).sort(), [
      'collectionId',
      'collectionName',
      'created',
      'email',
      'emailVisibility',
      'id',
      'updated',
      'verified',
    ]);
    assert.equal(rec.collectionId, SUPERUSERS_ID);
    assert.equal(rec.collectionName, '_superusers');
    assert.equal(rec.email, SUPERUSER_EMAIL);
    assert.equal(rec.verified, true, 'superusers are always verified');
    assert.equal(rec.emailVisibility, false);
    assert.match(rec.id, ID_RE);
    assert.match(rec.created, DATE_RE);
    assert.match(rec.updated, DATE_RE);
  });

  test('the SDK auth store: isValid, isSuperuser, record', async () => {
    const pb = srv.client();
    assert.equal(pb.authStore.isValid, false);
    await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    assert.equal(pb.authStore.isValid, true);
    assert.equal(pb.authStore.isSuperuser, true);
    assert.equal(pb.authStore.record.email, SUPERUSER_EMAIL);
    // the SDK falls back to the token's collectionId when it has no record
    const bare = newClient(srv.url, pb.authStore.token);
    assert.equal(bare.authStore.isSuperuser, true);
  });

  test('JWT: HS256, payload exactly {collectionId, exp, id, refreshable, type}', async () => {
    const pb = srv.client();
    const before = Math.floor(Date.now() / 1000);
    const { token, record } = await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    const parts = token.split('.');
    assert.equal(parts.length, 3);
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    assert.equal(header.alg, 'HS256');
    const p = jwtPayload(token);
    assert.deepEqual(Object.keys(p).sort(), ['collectionId', 'exp', 'id', 'refreshable', 'type']);
    assert.equal(p.id, record.id);
    assert.equal(p.collectionId, SUPERUSERS_ID);
    assert.equal(p.type, 'auth');
    assert.equal(p.refreshable, true);
    assert.equal(typeof p.exp, 'number');
    // _superusers authToken.duration defaults to 86400 s
    assert.ok(p.exp >= before + 86400 - 5 && p.exp <= before + 86400 + 60, `exp ${p.exp} vs now ${before}`);
  });

  test('the token authorizes superuser APIs, raw and through the SDK', async () => {
    const pb = srv.client();
    const { token } = await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    const r = await srv.api('GET', '/api/collections', { token });
    assert.equal(r.status, 200);
    const list = await pb.collection('_superusers').getList();
    assert.equal(list.totalItems, 1);
    assert.equal(list.items[0].email, SUPERUSER_EMAIL);
  });

  test('wrong password -> 400 "Failed to authenticate." with empty data', async () => {
    await rejects(srv.client().collection('_superusers').authWithPassword(SUPERUSER_EMAIL, 'wrong-password'), 400, AUTH_FAILED);
  });

  test('unknown identity -> the same 400', async () => {
    await rejects(
      srv.client().collection('_superusers').authWithPassword('nobody@example.com', SUPERUSER_PASSWORD),
      400,
      AUTH_FAILED,
    );
  });

  test('a failed login leaves the SDK auth store empty', async () => {
    const pb = srv.client();
    await rejects(pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, 'nope-nope'), 400);
    assert.equal(pb.authStore.isValid, false);
    assert.equal(pb.authStore.token, '');
  });

  test('blank identity/password -> 400 validation_required for both', async () => {
    const r = await srv.api('POST', '/api/collections/_superusers/auth-with-password', { body: {} });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      errBody(400, 'An error occurred while validating the submitted data.', {
        identity: fieldErr('validation_required', 'Cannot be blank.'),
        password: fieldErr('validation_required', 'Cannot be blank.'),
      }),
    );
  });

  test('a regular user cannot log in through _superusers', async () => {
    const email = 'plain-user@example.com';
    await srv.pb.collection('users').create({ email, password: 'user-pass-123', passwordConfirm: 'user-pass-123' });
    await rejects(srv.client().collection('_superusers').authWithPassword(email, 'user-pass-123'), 400, AUTH_FAILED);
    // while the same credentials work on users, and that token is not a superuser's
    const pb = srv.client();
    await pb.collection('users').authWithPassword(email, 'user-pass-123');
    assert.equal(pb.authStore.isSuperuser, false);
    assert.equal(jwtPayload(pb.authStore.token).collectionId, '_pb_users_auth_');
  });
});

describe('auth-refresh', () => {
  test('returns a fresh token and the record', async () => {
    const pb = srv.client();
    const first = await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    await new Promise((r) => setTimeout(r, 1100)); // exp has second resolution
    const res = await pb.collection('_superusers').authRefresh();
    assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
    assert.equal(res.record.id, first.record.id);
    assert.equal(res.record.email, SUPERUSER_EMAIL);
    const p = jwtPayload(res.token);
    assert.equal(p.id, first.record.id);
    assert.equal(p.collectionId, SUPERUSERS_ID);
    assert.equal(p.type, 'auth');
    assert.equal(p.refreshable, true);
    assert.ok(p.exp > jwtPayload(first.token).exp, 'refreshed token expires later');
    assert.equal(pb.authStore.token, res.token, 'the SDK stores the new token');
    assert.equal(pb.authStore.isSuperuser, true);
  });

  test('guest -> 401', async () => {
    await rejects(
      srv.client().collection('_superusers').authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );
  });

  test('garbage token -> 401', async () => {
    await rejects(
      srv.client('not.a.jwt').collection('_superusers').authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );
  });

  test("a users token on _superusers' refresh -> 403", async () => {
    const user = await srv.userClient();
    // PocketBase names the token's own collection in this message.
    await rejects(
      user.collection('_superusers').authRefresh(),
      403,
      errBody(403, 'The request requires auth record from users collection.'),
    );
  });
});

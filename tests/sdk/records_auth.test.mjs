// Records in auth collections: sign-up with password/passwordConfirm, hidden
// password/tokenKey, emailVisibility, verified.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, assertCodes, ID_RE } from './harness.mjs';

let membersId;
const srv = useServer(async (s) => {
  membersId = (
    await s.pb.collections.create({
      name: 'members',
      type: 'auth',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [
        { name: 'nick', type: 'text' },
        { name: 'age', type: 'number' },
      ],
    })
  ).id;
});
const G = () => srv.client().collection('members');
const CREATE_FAILED = 'Failed to create record.';
const PW = 'secret-pass-1';

describe('sign-up (create)', () => {
  test('guest sign-up: password never returned, email hidden without emailVisibility', async () => {
    const r = await G().create({ email: 'm1@example.com', password: PW, passwordConfirm: PW, nick: 'm1', age: '33' });
    assert.match(r.id, ID_RE);
    assert.deepEqual(r, {
      collectionId: membersId,
      collectionName: 'members',
      id: r.id,
      emailVisibility: false,
      verified: false,
      nick: 'm1',
      age: 33,
    });
  });

  test('emailVisibility: true shows the email to guests', async () => {
    const r = await G().create({ email: 'm2@example.com', password: PW, passwordConfirm: PW, emailVisibility: true });
    assert.equal(r.email, 'm2@example.com');
    assert.equal(r.emailVisibility, true);
    assert.equal((await G().getOne(r.id)).email, 'm2@example.com');
  });

  test('guests never see hidden emails in list/view; superusers see all', async () => {
    const hidden = await G().create({ email: 'm3@example.com', password: PW, passwordConfirm: PW });
    const view = await G().getOne(hidden.id);
    assert.equal('email' in view, false);
    const listed = (await G().getFullList()).find((x) => x.id === hidden.id);
    assert.equal('email' in listed, false);
    const su = await srv.pb.collection('members').getOne(hidden.id);
    assert.equal(su.email, 'm3@example.com');
  });

  test('password, passwordConfirm and tokenKey never appear in any response', async () => {
    const r = await G().create({ email: 'm4@example.com', password: PW, passwordConfirm: PW, tokenKey: 'x'.repeat(40) });
    for (const rec of [r, await G().getOne(r.id), await srv.pb.collection('members').getOne(r.id), ...(await srv.pb.collection('members').getFullList())]) {
      for (const k of ['password', 'passwordConfirm', 'tokenKey']) assert.equal(k in rec, false, k);
    }
    const raw = await srv.su('GET', `/api/collections/members/records/${r.id}`);
    assert.doesNotMatch(raw.text, /secret-pass-1|tokenKey|password/);
  });

  test('the new user can log in with the password', async () => {
    const r = await G().create({ email: 'm5@example.com', password: PW, passwordConfirm: PW });
    const c = srv.client();
    const res = await c.collection('members').authWithPassword('m5@example.com', PW);
    assert.equal(res.record.id, r.id);
    assert.equal(res.record.email, 'm5@example.com', 'the owner sees their own email');
    assert.equal(c.authStore.isSuperuser, false);
    assert.equal(c.authStore.isValid, true);
  });

  test('superuser create with verified: true', async () => {
    const r = await srv.pb.collection('members').create({ email: 'm6@example.com', password: PW, passwordConfirm: PW, verified: true });
    assert.equal(r.verified, true);
    assert.equal(r.email, 'm6@example.com');
  });
});

describe('sign-up validation', () => {
  test('passwordConfirm mismatch -> validation_values_mismatch', async () => {
    const err = await rejects(G().create({ email: 'x1@example.com', password: PW, passwordConfirm: PW + 'x' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, { passwordConfirm: fieldErr('validation_values_mismatch', "Values don't match.") }),
    );
  });

  test('short password -> validation_min_text_constraint (min 8)', async () => {
    const err = await rejects(G().create({ email: 'x2@example.com', password: 'short', passwordConfirm: 'short' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, { password: fieldErr('validation_min_text_constraint', 'Must be at least 8 character(s).') }),
    );
  });

  test('missing passwordConfirm -> validation_required', async () => {
    const err = await rejects(G().create({ email: 'x3@example.com', password: PW }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { passwordConfirm: fieldErr('validation_required', 'Cannot be blank.') }));
  });

  test('empty body -> password and passwordConfirm required', async () => {
    const err = await rejects(G().create({}), 400);
    assertCodes(err, { password: 'validation_required', passwordConfirm: 'validation_required' });
  });

  test('duplicate email -> validation_not_unique', async () => {
    await G().create({ email: 'dup@example.com', password: PW, passwordConfirm: PW });
    const err = await rejects(G().create({ email: 'dup@example.com', password: PW, passwordConfirm: PW }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { email: fieldErr('validation_not_unique', 'Value must be unique.') }));
  });

  test('invalid email -> validation_is_email', async () => {
    const err = await rejects(G().create({ email: 'nope', password: PW, passwordConfirm: PW }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { email: fieldErr('validation_is_email', 'Must be a valid email address.') }));
  });

  test('a guest cannot sign up as verified -> validation_values_mismatch', async () => {
    const err = await rejects(G().create({ email: 'x4@example.com', password: PW, passwordConfirm: PW, verified: true }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { verified: fieldErr('validation_values_mismatch', "Values don't match.") }));
  });

  test('superusers must also send a password', async () => {
    const err = await rejects(srv.pb.collection('members').create({ email: 'x5@example.com' }), 400);
    assertCodes(err, { password: 'validation_required', passwordConfirm: 'validation_required' });
  });
});

describe('the default users collection', () => {
  test('guest sign-up works (createRule "")', async () => {
    const c = srv.client();
    const r = await c.collection('users').create({ email: 'signup@example.com', password: PW, passwordConfirm: PW, name: 'Sign Up' });
    assert.deepEqual(Object.keys(r).sort(), [
      'avatar',
      'collectionId',
      'collectionName',
      'created',
      'emailVisibility',
      'id',
      'name',
      'updated',
      'verified',
    ]);
    assert.equal(r.collectionId, '_pb_users_auth_');
    assert.equal(r.name, 'Sign Up');
    assert.equal(r.avatar, '');
  });
});

// Auth-record rights: manageRule, owner password/email/verified changes,
// token invalidation on password change, authRule, passwordAuth options and
// identityFields.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr } from './harness.mjs';

const PW = 'staff-pass-123';
const NEW_PW = 'new-pass-12345';
const UPDATE_FAILED = 'Failed to update record.';
const NO_TOKEN = errBody(401, 'The request requires valid record authorization token.');
const AUTH_FAILED = errBody(400, 'Failed to authenticate.');
const AUTH_FORBIDDEN = errBody(403, "The request doesn't satisfy the collection requirements to authenticate.");

let staff;
const srv = useServer(async (s) => {
  staff = await s.pb.collections.create({
    name: 'staff',
    type: 'auth',
    listRule: '@request.auth.id != ""',
    viewRule: '@request.auth.id != ""',
    createRule: '',
    updateRule: 'id = @request.auth.id || @request.auth.role = "manager"',
    manageRule: '@request.auth.role = "manager"',
    fields: [
      { name: 'role', type: 'text' },
      { name: 'username', type: 'text' },
    ],
  });
});

const S = (pb = srv.client()) => pb.collection('staff');
let seq = 0;
/** A staff record and a logged-in client for it. */
async function member(role = '', extra = {}) {
  seq += 1;
  const email = `staff${seq}-${role || 'plain'}@example.com`;
  const rec = await srv.pb.collection('staff').create({ email, password: PW, passwordConfirm: PW, role, ...extra });
  const pb = srv.client();
  const auth = await S(pb).authWithPassword(email, PW);
  return { rec, email, pb, token: auth.token };
}

describe('manageRule', () => {
  test("a manager changes another record's email, verified and password without oldPassword", async () => {
    const mgr = await member('manager');
    const target = await member();
    const newEmail = `moved-${seq}@example.com`;
    const updated = await S(mgr.pb).update(target.rec.id, { email: newEmail, verified: true, password: NEW_PW, passwordConfirm: NEW_PW });
    assert.deepEqual(updated, {
      collectionId: staff.id,
      collectionName: 'staff',
      id: target.rec.id,
      email: newEmail, // managers see the email (emailVisibility is false)
      emailVisibility: false,
      verified: true,
      role: '',
      username: '',
    });
    // the target logs in with the new email + password; the old password and its old token are dead
    const res = await S().authWithPassword(newEmail, NEW_PW);
    assert.equal(res.record.id, target.rec.id);
    await rejects(S().authWithPassword(newEmail, PW), 400, AUTH_FAILED);
    await rejects(S(target.pb).authRefresh(), 401, NO_TOKEN);
  });

  test('a manager changes its own password without oldPassword', async () => {
    const mgr = await member('manager');
    await S(mgr.pb).update(mgr.rec.id, { password: NEW_PW, passwordConfirm: NEW_PW });
    await S().authWithPassword(mgr.email, NEW_PW);
  });

  test('superusers need no oldPassword either', async () => {
    const m = await member();
    await srv.pb.collection('staff').update(m.rec.id, { password: NEW_PW, passwordConfirm: NEW_PW });
    await S().authWithPassword(m.email, NEW_PW);
  });
});

describe('owner without manage rights', () => {
  test('password change without oldPassword -> validation_required', async () => {
    const m = await member();
    const err = await rejects(S(m.pb).update(m.rec.id, { password: NEW_PW, passwordConfirm: NEW_PW }), 400);
    assert.deepEqual(err.response, errBody(400, UPDATE_FAILED, { oldPassword: fieldErr('validation_required', 'Cannot be blank.') }));
  });

  test('wrong oldPassword -> validation_invalid_old_password', async () => {
    const m = await member();
    const err = await rejects(S(m.pb).update(m.rec.id, { oldPassword: 'wrong-pass-1', password: NEW_PW, passwordConfirm: NEW_PW }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, UPDATE_FAILED, { oldPassword: fieldErr('validation_invalid_old_password', 'Missing or invalid old password.') }),
    );
    await S().authWithPassword(m.email, PW); // unchanged
  });

  test('email and verified changes -> validation_values_mismatch; an unchanged verified passes', async () => {
    const m = await member();
    let err = await rejects(S(m.pb).update(m.rec.id, { email: `other-${seq}@example.com` }), 400);
    assert.deepEqual(err.response, errBody(400, UPDATE_FAILED, { email: fieldErr('validation_values_mismatch', "Values don't match.") }));
    err = await rejects(S(m.pb).update(m.rec.id, { verified: true }), 400);
    assert.deepEqual(err.response, errBody(400, UPDATE_FAILED, { verified: fieldErr('validation_values_mismatch', "Values don't match.") }));
    const same = await S(m.pb).update(m.rec.id, { verified: false, role: 'still-plain' });
    assert.equal(same.role, 'still-plain');
    assert.equal(same.verified, false);
  });

  test("another record is out of reach (updateRule) -> 404", async () => {
    const a = await member();
    const b = await member();
    await rejects(S(a.pb).update(b.rec.id, { role: 'x' }), 404, errBody(404, "The requested resource wasn't found."));
  });

  test('a password change with the right oldPassword invalidates the old token (401 on auth-refresh)', async () => {
    const m = await member();
    const oldToken = m.token;
    await S(m.pb).update(m.rec.id, { oldPassword: PW, password: NEW_PW, passwordConfirm: NEW_PW });
    await rejects(S(srv.client(oldToken)).authRefresh(), 401, NO_TOKEN);
    // the old token is now a guest token: viewRule needs an auth -> 404
    const view = await srv.api('GET', `/api/collections/staff/records/${m.rec.id}`, { token: oldToken });
    assert.equal(view.status, 404);
    await rejects(S().authWithPassword(m.email, PW), 400, AUTH_FAILED);
    const res = await S().authWithPassword(m.email, NEW_PW);
    assert.equal(res.record.id, m.rec.id);
  });
});

describe('authRule and passwordAuth', () => {
  test('authRule null -> 403 on login with the right password (wrong password still 400)', async () => {
    const m = await member();
    await srv.pb.collections.update('staff', { authRule: null });
    try {
      await rejects(S().authWithPassword(m.email, PW), 403, AUTH_FORBIDDEN);
      await rejects(S().authWithPassword(m.email, 'wrong-pass-12'), 400, AUTH_FAILED);
    } finally {
      await srv.pb.collections.update('staff', { authRule: '' });
    }
    await S().authWithPassword(m.email, PW);
  });

  test('authRule "verified = true": unverified -> 403, verified -> 200', async () => {
    const plain = await member();
    const verified = await member('', { verified: true });
    await srv.pb.collections.update('staff', { authRule: 'verified = true' });
    try {
      await rejects(S().authWithPassword(plain.email, PW), 403, AUTH_FORBIDDEN);
      const res = await S().authWithPassword(verified.email, PW);
      assert.equal(res.record.id, verified.rec.id);
    } finally {
      await srv.pb.collections.update('staff', { authRule: '' });
    }
  });

  test('passwordAuth disabled -> 403; auth-methods reports it', async () => {
    const m = await member();
    await srv.pb.collections.update('staff', { passwordAuth: { enabled: false } });
    try {
      await rejects(
        S().authWithPassword(m.email, PW),
        403,
        errBody(403, 'The collection is not configured to allow password authentication.'),
      );
      const r = await srv.api('GET', '/api/collections/staff/auth-methods');
      assert.deepEqual(r.json.password, { identityFields: [], enabled: false });
      assert.equal(r.json.emailPassword, false);
      assert.equal(r.json.usernamePassword, false);
    } finally {
      await srv.pb.collections.update('staff', { passwordAuth: { enabled: true, identityFields: ['email'] } });
    }
    await S().authWithPassword(m.email, PW);
  });
});

describe('identityFields', () => {
  const patchIdentity = (body) => srv.su('PATCH', '/api/collections/staff', { body });
  const failed = (err) => errBody(400, 'Failed to update collection.', { passwordAuth: { identityFields: err } });

  test('a field without a UNIQUE index, an unknown field, or none -> validation errors', async () => {
    let r = await patchIdentity({ passwordAuth: { enabled: true, identityFields: ['username', 'email'] } });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      failed(fieldErr('validation_missing_unique_constraint', "The field username doesn't have a UNIQUE constraint.", { fieldName: 'username' })),
    );
    r = await patchIdentity({ passwordAuth: { enabled: true, identityFields: ['nope'] } });
    assert.deepEqual(r.json, failed(fieldErr('validation_missing_field', 'Invalid or missing field nope.', { fieldName: 'nope' })));
    r = await patchIdentity({ passwordAuth: { enabled: true, identityFields: [] } });
    assert.deepEqual(r.json, failed(fieldErr('validation_required', 'Cannot be blank.')));
  });

  test("['username', 'email'] with a unique username index: login by either", async () => {
    const m = await member('', { username: 'bobby' });
    const current = await srv.pb.collections.getOne('staff');
    const r = await patchIdentity({
      indexes: [...current.indexes, "CREATE UNIQUE INDEX idx_staff_username ON staff (username) WHERE username != ''"],
      passwordAuth: { enabled: true, identityFields: ['username', 'email'] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.passwordAuth, { enabled: true, identityFields: ['username', 'email'] });

    const byName = await S().authWithPassword('bobby', PW);
    assert.equal(byName.record.id, m.rec.id);
    const byEmail = await S().authWithPassword(m.email, PW);
    assert.equal(byEmail.record.id, m.rec.id);
    await rejects(S().authWithPassword('bobby', 'wrong-pass-12'), 400, AUTH_FAILED);

    const methods = (await srv.api('GET', '/api/collections/staff/auth-methods')).json;
    assert.deepEqual(methods.password, { identityFields: ['username', 'email'], enabled: true });
    assert.equal(methods.usernamePassword, true);
    assert.equal(methods.emailPassword, true);
  });

  test("['username'] only: email login fails; identityField must be one of the identity fields", async () => {
    const m = await member('', { username: 'carla' });
    const r = await patchIdentity({ passwordAuth: { enabled: true, identityFields: ['username'] } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    try {
      await rejects(S().authWithPassword(m.email, PW), 400, AUTH_FAILED);
      assert.equal((await S().authWithPassword('carla', PW)).record.id, m.rec.id);

      const bad = await srv.api('POST', '/api/collections/staff/auth-with-password', {
        body: { identity: m.email, identityField: 'email', password: PW },
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(
        bad.json,
        errBody(400, 'An error occurred while validating the submitted data.', {
          identityField: fieldErr('validation_in_invalid', 'Must be a valid value.'),
        }),
      );
      const ok = await srv.api('POST', '/api/collections/staff/auth-with-password', {
        body: { identity: 'carla', identityField: 'username', password: PW },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.record.id, m.rec.id);

      const methods = (await srv.api('GET', '/api/collections/staff/auth-methods')).json;
      assert.equal(methods.usernamePassword, true);
      assert.equal(methods.emailPassword, false);
    } finally {
      await patchIdentity({ passwordAuth: { enabled: true, identityFields: ['email'] } });
    }
  });
});

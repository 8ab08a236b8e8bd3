// Cairn's authenticator-app extension (docs/auth.md): TOTP enrolment and the
// second factor through PocketBase's own MFA shape (401 {mfaId}), driven with
// the official SDK. Codes are computed here (RFC 6238, SHA-1, 6 digits, 30 s).
// Cairn-only: PocketBase has no such endpoints.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useServer, test, describe, rejects, cairnOnly } from './harness.mjs';

const PW = 'totp-pass-1234';
const srv = useServer(async (s) => {
  await s.pb.collection('users').create({ email: 'app@example.com', password: PW, passwordConfirm: PW });
});

function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of s.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

const signIn = () => srv.client().collection('users').authWithPassword('app@example.com', PW);

describe('authenticator app (TOTP) as a second factor', { skip: cairnOnly }, () => {
  let secret;
  let recovery;
  let owner;
  let usedCode; // the code that signed in, kept: a new 30 s step may start between tests

  test('enrol: setup gives a secret and an otpauth URL; confirm needs a valid code', async () => {
    owner = srv.client();
    await owner.collection('users').authWithPassword('app@example.com', PW);
    await rejects(srv.client().send('/api/collections/users/totp-setup', { method: 'POST' }), 401);
    const setup = await owner.send('/api/collections/users/totp-setup', { method: 'POST' });
    secret = setup.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const url = new URL(setup.url);
    assert.equal(url.protocol, 'otpauth:');
    assert.equal(url.searchParams.get('secret'), secret);
    // digits/period may be left out: 6 and 30 are the Key URI defaults.
    assert.ok(['6', null].includes(url.searchParams.get('digits')));
    assert.ok(['30', null].includes(url.searchParams.get('period')));
    assert.ok(['SHA1', null].includes(url.searchParams.get('algorithm')));
    assert.match(decodeURIComponent(url.pathname), /app@example\.com/);

    const wrong = String((Number(totp(secret)) + 1) % 1_000_000).padStart(6, '0');
    const err = await rejects(owner.send('/api/collections/users/totp-confirm', { method: 'POST', body: { code: wrong } }), 400);
    assert.equal(err.response.data.code.code, 'validation_invalid_code');
    // Not confirmed yet: the password alone still signs in.
    assert.ok((await signIn()).token);

    const done = await owner.send('/api/collections/users/totp-confirm', { method: 'POST', body: { code: totp(secret) } });
    recovery = done.recoveryCodes;
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    await rejects(owner.send('/api/collections/users/totp-setup', { method: 'POST' }), 400);
  });

  test('sign-in stops at 401 {mfaId}; auth-with-totp completes it and the SDK auth store holds the user', async () => {
    const err = await rejects(signIn(), 401);
    assert.deepEqual(Object.keys(err.response), ['mfaId']);
    const pb = srv.client();
    const res = await pb.send('/api/collections/users/auth-with-totp', {
      method: 'POST',
      body: { mfaId: err.response.mfaId, code: (usedCode = totp(secret)) },
    });
    pb.authStore.save(res.token, res.record);
    assert.equal(pb.authStore.isValid, true);
    assert.equal(pb.authStore.record.email, 'app@example.com');
    // The token works like any other.
    const me = await pb.collection('users').getOne(res.record.id);
    assert.equal(me.id, res.record.id);
  });

  test('bad paths: wrong code, unknown mfaId, replayed code, reused recovery code', async () => {
    const first = await rejects(signIn(), 401);
    const send = (body) => srv.client().send('/api/collections/users/auth-with-totp', { method: 'POST', body });
    await rejects(send({ mfaId: first.response.mfaId, code: '12' }), 400);
    await rejects(send({ mfaId: 'nope-nope-nope1', code: totp(secret) }), 400);
    await rejects(send({}), 400);
    // The time step used by the previous test cannot be used again.
    await rejects(send({ mfaId: first.response.mfaId, code: usedCode }), 400);
    const ok = await send({ mfaId: first.response.mfaId, code: recovery[0] });
    assert.ok(ok.token);
    const second = await rejects(signIn(), 401);
    await rejects(send({ mfaId: second.response.mfaId, code: recovery[0] }), 400);
    assert.ok((await send({ mfaId: second.response.mfaId, code: recovery[1] })).token);
  });

  test('disable: a wrong code is refused; a recovery code disables; password alone works again', async () => {
    await rejects(owner.send('/api/collections/users/totp-disable', { method: 'POST', body: { code: '000' } }), 400);
    await owner.send('/api/collections/users/totp-disable', { method: 'POST', body: { code: recovery[2] } });
    assert.ok((await signIn()).token);
  });
});

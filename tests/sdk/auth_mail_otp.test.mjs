// OTP (email one-time password) and MFA flows against a real SMTP server
// (tests/sdk/smtp_sink.py). OTP mails are sent in the background (the 200 may come first).
import assert from 'node:assert/strict';
import {
  useServer,
  useSmtpSink,
  useSmtpSettings,
  test,
  describe,
  rejects,
  errBody,
  fieldErr,
  jwtPayload,
  assertMail,
  resolveTemplate,
  uniqueName,
  MAIL_META,
  ID_RE,
} from './harness.mjs';
import { PW, VALIDATION, SUBJECT, uniqueEmail, newUser, loginClient, mailTo, assertToken, otpCode, requestOtp, DEFAULT_TEMPLATES } from './mail_fixtures.mjs';

const sink = useSmtpSink();
let otpCollId;
const srv = useServer(async (s) => {
  await useSmtpSettings(s.pb, sink);
  otpCollId = (await s.pb.collections.create({ name: 'otpusers', type: 'auth', fields: [{ name: 'nick', type: 'text' }], otp: { enabled: true } })).id;
  await s.pb.collections.create({ name: 'otpothers', type: 'auth', fields: [], otp: { enabled: true } });
  await s.pb.collections.create({ name: 'otpstrict', type: 'auth', fields: [], authRule: 'verified = true', otp: { enabled: true } });
  await s.pb.collections.create({ name: 'mfausers', type: 'auth', fields: [], mfa: { enabled: true }, otp: { enabled: true } });
});

const OTP_DISABLED = errBody(403, 'The collection is not configured to allow OTP authentication.');
const INVALID_OTP = errBody(400, 'Invalid or expired OTP.');
const DEFAULT_OTP_BODY = DEFAULT_TEMPLATES.otp.body;

describe('OTP', () => {
  test('disabled by default -> 403 for request-otp and auth-with-otp; enabling it via a collection update', async () => {
    const name = uniqueName('otpoff');
    const created = await srv.pb.collections.create({ name, type: 'auth', fields: [] });
    assert.deepEqual(created.otp, {
      enabled: false,
      duration: 180,
      length: 8,
      emailTemplate: { subject: 'OTP for {APP_NAME}', body: DEFAULT_OTP_BODY },
    });
    const user = await newUser(srv, name);
    await rejects(srv.client().collection(name).requestOTP(user.email), 403, OTP_DISABLED);
    await rejects(srv.client().collection(name).authWithOTP('abcdefghijklmno', '12345678'), 403, OTP_DISABLED);
    await sink.expectNone(mailTo(user.email), 500);

    const updated = await srv.pb.collections.update(name, { otp: { enabled: true } });
    assert.deepEqual(updated.otp, { ...created.otp, enabled: true });
    const { otpId, code } = await requestOtp(srv, sink, user);
    assert.match(otpId, ID_RE);
    const res = await srv.client().collection(name).authWithOTP(otpId, code);
    assert.equal(res.record.id, user.id);
  });

  test('requestOTP -> mail with the code -> authWithOTP -> token + record; the user becomes verified', async () => {
    const user = await newUser(srv, 'otpusers', { nick: 'Oz' });
    const raw = await srv.api('POST', '/api/collections/otpusers/request-otp', { body: { email: user.email } });
    assert.equal(raw.status, 200);
    assert.deepEqual(Object.keys(raw.json), ['otpId']);
    const { otpId } = raw.json;
    assert.match(otpId, ID_RE);

    const mail = await sink.waitFor(mailTo(user.email));
    await new Promise((r) => setTimeout(r, 300)); // see requestOtp in mail_fixtures.mjs
    assertMail(mail, { to: user.email, subject: SUBJECT.otp });
    const code = otpCode(mail);
    assert.match(code, /^\d{8}$/, 'default length 8, digits only');
    const body = resolveTemplate(DEFAULT_OTP_BODY, { '{APP_NAME}': MAIL_META.appName, '{OTP}': code });
    assert.ok(mail.html.includes(body), `resolved default OTP template in:\n${mail.html}`);
    assert.ok(mail.text.includes(code), 'the text part carries the code');

    const c = srv.client();
    const res = await c.collection('otpusers').authWithOTP(otpId, code);
    assert.deepEqual(Object.keys(res).sort(), ['record', 'token']);
    assert.deepEqual(res.record, {
      collectionId: otpCollId,
      collectionName: 'otpusers',
      id: user.id,
      email: user.email,
      emailVisibility: false,
      verified: true,
      nick: 'Oz',
    });
    const claims = assertToken(res.token, {
      type: 'auth',
      keys: ['collectionId', 'exp', 'id', 'refreshable', 'type'],
      record: user,
      collectionId: otpCollId,
      durationSec: (await srv.pb.collections.getOne('otpusers')).authToken.duration,
    });
    assert.equal(claims.refreshable, true);
    assert.equal(c.authStore.isValid, true);
    assert.equal((await c.collection('otpusers').authRefresh()).record.id, user.id);
    assert.equal((await srv.pb.collection('otpusers').getOne(user.id)).verified, true, 'OTP login verifies the email');

    await rejects(srv.client().collection('otpusers').authWithOTP(otpId, code), 400, INVALID_OTP);
  });

  test('a wrong code -> 400 and the OTP stays usable; a code only works with its own otpId; older OTPs stay valid', async () => {
    const user = await newUser(srv, 'otpusers', { verified: true });
    const first = await requestOtp(srv, sink, user);
    const second = await requestOtp(srv, sink, user);
    assert.notEqual(first.otpId, second.otpId);
    const C = () => srv.client().collection('otpusers');
    const wrong = first.code === '00000000' ? '11111111' : '00000000';
    await rejects(C().authWithOTP(first.otpId, wrong), 400, INVALID_OTP);
    if (first.code !== second.code) await rejects(C().authWithOTP(second.otpId, first.code), 400, INVALID_OTP);
    assert.equal((await C().authWithOTP(first.otpId, first.code)).record.id, user.id);
    assert.equal((await C().authWithOTP(second.otpId, second.code)).record.id, user.id);
  });

  test('unknown email -> 200 with a random otpId and no mail; that otpId is useless', async () => {
    const email = uniqueEmail('ghost');
    const res = await srv.client().collection('otpusers').requestOTP(email);
    assert.deepEqual(Object.keys(res), ['otpId']);
    assert.match(res.otpId, ID_RE);
    await rejects(srv.client().collection('otpusers').authWithOTP(res.otpId, '12345678'), 400, INVALID_OTP);
    await sink.expectNone(mailTo(email));
  });

  test('validation: bad/blank email, blank otpId/password, unknown otpId, an OTP of another collection', async () => {
    const C = () => srv.client().collection('otpusers');
    let err = await rejects(C().requestOTP('nope'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { email: fieldErr('validation_is_email', 'Must be a valid email address.') }));
    err = await rejects(C().requestOTP(''), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { email: fieldErr('validation_required', 'Cannot be blank.') }));
    err = await rejects(C().authWithOTP('', ''), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, {
        otpId: fieldErr('validation_required', 'Cannot be blank.'),
        password: fieldErr('validation_required', 'Cannot be blank.'),
      }),
    );
    await rejects(C().authWithOTP('abcdefghijklmno', '12345678'), 400, INVALID_OTP);

    const other = await newUser(srv, 'otpothers', { verified: true });
    const { otpId, code } = await requestOtp(srv, sink, other);
    await rejects(C().authWithOTP(otpId, code), 400, INVALID_OTP);
    assert.equal((await srv.client().collection('otpothers').authWithOTP(otpId, code)).record.id, other.id);
  });

  test('5 attempts per record within 3 minutes, then 429 (even with the right code)', async () => {
    const user = await newUser(srv, 'otpusers', { verified: true });
    const { otpId, code } = await requestOtp(srv, sink, user);
    const wrong = code === '00000000' ? '11111111' : '00000000';
    for (let i = 0; i < 5; i++) {
      await rejects(srv.client().collection('otpusers').authWithOTP(otpId, wrong), 400, INVALID_OTP);
    }
    await rejects(
      srv.client().collection('otpusers').authWithOTP(otpId, code),
      429,
      errBody(429, 'Too many attempts, please try again later with a new OTP.'),
    );
  });

  test('an expired OTP (otp.duration, min 10 s) -> 400', async () => {
    const name = uniqueName('otpshort');
    await srv.pb.collections.create({ name, type: 'auth', fields: [], otp: { enabled: true, duration: 10 } });
    const err = await rejects(srv.pb.collections.update(name, { otp: { duration: 9 } }), 400);
    assert.deepEqual(err.response.data, {
      otp: { duration: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 10.', { threshold: 10 }) },
    });
    const user = await newUser(srv, name, { verified: true });
    const { otpId, code } = await requestOtp(srv, sink, user);
    await new Promise((r) => setTimeout(r, 10_500));
    await rejects(srv.client().collection(name).authWithOTP(otpId, code), 400, INVALID_OTP);
  });

  test('an unverified user: the OTP login replaces the password and revokes older tokens', async () => {
    const user = await newUser(srv, 'otpusers');
    const before = await loginClient(srv, user);
    const { otpId, code } = await requestOtp(srv, sink, user);
    const res = await srv.client().collection('otpusers').authWithOTP(otpId, code);
    assert.equal(res.record.verified, true);
    await rejects(srv.client().collection('otpusers').authWithPassword(user.email, PW), 400, errBody(400, 'Failed to authenticate.'));
    await rejects(
      srv.client(before.authStore.token).collection('otpusers').authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );
    assert.equal((await srv.client(res.token).collection('otpusers').authRefresh()).record.id, user.id);
  });

  test('a verified user: the OTP login keeps the password and older tokens', async () => {
    const user = await newUser(srv, 'otpusers', { verified: true });
    const before = await loginClient(srv, user);
    const { otpId, code } = await requestOtp(srv, sink, user);
    await srv.client().collection('otpusers').authWithOTP(otpId, code);
    await loginClient(srv, user);
    assert.equal((await srv.client(before.authStore.token).collection('otpusers').authRefresh()).record.id, user.id);
  });

  test('authRule "verified = true": an unverified user can log in with OTP (the OTP verifies first)', async () => {
    const user = await newUser(srv, 'otpstrict');
    await rejects(
      srv.client().collection('otpstrict').authWithPassword(user.email, PW),
      403,
      errBody(403, "The request doesn't satisfy the collection requirements to authenticate."),
    );
    const { otpId, code } = await requestOtp(srv, sink, user);
    const res = await srv.client().collection('otpstrict').authWithOTP(otpId, code);
    assert.equal(res.record.verified, true);
  });

  test('custom otp.length and otp.emailTemplate: {OTP}, {OTP_ID}, {APP_NAME}, {APP_URL}, {RECORD:*}; {TOKEN} is not a placeholder here', async () => {
    const name = uniqueName('otptpl');
    await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      otp: {
        enabled: true,
        length: 6,
        emailTemplate: {
          subject: 'Code {OTP} for {APP_NAME} ({RECORD:nick})',
          body: '<p>Code: <strong>{OTP}</strong> id={OTP_ID} app={APP_URL} to={RECORD:email} nick={RECORD:nick} {TOKEN}</p>',
        },
      },
    });
    const user = await newUser(srv, name, { nick: '<Al & Bo>', verified: true });
    const { otpId, code, mail } = await requestOtp(srv, sink, user);
    assert.match(code, /^\d{6}$/);
    assertMail(mail, { to: user.email, subject: `Code ${code} for ${MAIL_META.appName} (&lt;Al &amp; Bo&gt;)` });
    const expected = `<p>Code: <strong>${code}</strong> id=${otpId} app=${MAIL_META.appURL} to=${user.email} nick=&lt;Al &amp; Bo&gt; {TOKEN}</p>`;
    assert.ok(mail.html.includes(expected), `expected\n${expected}\nin\n${mail.html}`);
    assert.equal((await srv.client().collection(name).authWithOTP(otpId, code)).record.id, user.id);
  });

  test('system collection _otps: one record per request with sentTo; deleted once used', async () => {
    const user = await newUser(srv, 'otpusers', { verified: true });
    const { otpId, code } = await requestOtp(srv, sink, user);
    const rec = await srv.pb.collection('_otps').getOne(otpId);
    assert.equal(rec.collectionRef, otpCollId);
    assert.equal(rec.recordRef, user.id);
    assert.equal(rec.sentTo, user.email);
    assert.equal(rec.password, '', 'the hashed password is hidden');
    await srv.client().collection('otpusers').authWithOTP(otpId, code);
    await rejects(srv.pb.collection('_otps').getOne(otpId), 404);
  });
});

describe('MFA', () => {
  const MFA_INVALID = errBody(400, 'Invalid or expired MFA session.');

  test('MFA needs two auth methods', async () => {
    const err = await rejects(srv.pb.collections.create({ name: uniqueName('mfa1'), type: 'auth', fields: [], mfa: { enabled: true } }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'Failed to create collection.', {
        mfa: { enabled: fieldErr('validation_mfa_not_enough_auths', 'MFA requires at least 2 auth methods to be enabled.') },
      }),
    );
  });

  test('password -> 401 {mfaId} (nothing else); OTP with ?mfaId -> token; the MFA session is then consumed', async () => {
    const user = await newUser(srv, 'mfausers', { verified: true });
    const raw = await srv.api('POST', '/api/collections/mfausers/auth-with-password', { body: { identity: user.email, password: PW } });
    assert.equal(raw.status, 401);
    assert.deepEqual(Object.keys(raw.json), ['mfaId'], `the whole body is {mfaId}: ${raw.text}`);
    const { mfaId } = raw.json;
    assert.match(mfaId, ID_RE);

    const err = await rejects(srv.client().collection('mfausers').authWithPassword(user.email, PW), 401);
    assert.deepEqual(Object.keys(err.response), ['mfaId']);
    assert.notEqual(err.response.mfaId, mfaId, 'every first step opens a new MFA session');

    const { otpId, code } = await requestOtp(srv, sink, user);
    const c = srv.client();
    const res = await c.collection('mfausers').authWithOTP(otpId, code, { mfaId });
    assert.equal(res.record.id, user.id);
    assert.equal(jwtPayload(res.token).type, 'auth');
    assert.equal(c.authStore.isValid, true);

    await rejects(srv.client().collection('mfausers').authWithPassword(user.email, PW, { mfaId }), 400, MFA_INVALID);
  });

  test('OTP first -> 401 {mfaId}; then the password with mfaId in the body -> token', async () => {
    const user = await newUser(srv, 'mfausers', { verified: true });
    const { otpId, code } = await requestOtp(srv, sink, user);
    const first = await srv.api('POST', '/api/collections/mfausers/auth-with-otp', { body: { otpId, password: code } });
    assert.equal(first.status, 401);
    assert.deepEqual(Object.keys(first.json), ['mfaId']);
    const second = await srv.api('POST', '/api/collections/mfausers/auth-with-password', {
      body: { identity: user.email, password: PW, mfaId: first.json.mfaId },
    });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.record.id, user.id);
    assert.equal(typeof second.json.token, 'string');
  });

  test('the same method twice -> 400 (the MFA session survives); unknown and foreign MFA sessions', async () => {
    const user = await newUser(srv, 'mfausers', { verified: true });
    const other = await newUser(srv, 'mfausers', { verified: true });
    const C = () => srv.client().collection('mfausers');
    const mfaId = (await rejects(C().authWithPassword(user.email, PW), 401)).response.mfaId;
    await rejects(C().authWithPassword(user.email, PW, { mfaId }), 400, errBody(400, 'A different authentication method is required.'));
    await rejects(C().authWithPassword(user.email, 'wrong-password', { mfaId }), 400, errBody(400, 'Failed to authenticate.'));

    // OTP first, then the password as the second factor with a bad session
    const { otpId, code } = await requestOtp(srv, sink, user);
    const otpMfa = (await rejects(C().authWithOTP(otpId, code), 401)).response.mfaId;
    const otherMfa = (await rejects(C().authWithPassword(other.email, PW), 401)).response.mfaId;
    await rejects(C().authWithPassword(user.email, PW, { mfaId: 'abcdefghijklmno' }), 400, MFA_INVALID);
    await rejects(C().authWithPassword(user.email, PW, { mfaId: otherMfa }), 400, errBody(400, 'Invalid MFA session.'));

    // both sessions of `user` are still usable
    assert.equal((await C().authWithPassword(user.email, PW, { mfaId: otpMfa })).record.id, user.id);
    const second = await requestOtp(srv, sink, user);
    assert.equal((await C().authWithOTP(second.otpId, second.code, { mfaId })).record.id, user.id);
  });

  test('a wrong OTP keeps the MFA session; a failed MFA check on auth-with-otp still uses up the OTP', async () => {
    const user = await newUser(srv, 'mfausers', { verified: true });
    const C = () => srv.client().collection('mfausers');
    const mfaId = (await rejects(C().authWithPassword(user.email, PW), 401)).response.mfaId;
    const { otpId, code } = await requestOtp(srv, sink, user);
    const wrong = code === '00000000' ? '11111111' : '00000000';
    await rejects(C().authWithOTP(otpId, wrong, { mfaId }), 400, INVALID_OTP);
    await rejects(C().authWithOTP(otpId, code, { mfaId: 'abcdefghijklmno' }), 400, MFA_INVALID);
    await rejects(C().authWithOTP(otpId, code, { mfaId }), 400, INVALID_OTP);
    const fresh = await requestOtp(srv, sink, user);
    assert.equal((await C().authWithOTP(fresh.otpId, fresh.code, { mfaId })).record.id, user.id);
  });

  test('mfa.rule limits MFA to the matching records', async () => {
    const name = uniqueName('mfarule');
    const coll = await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [],
      otp: { enabled: true },
      mfa: { enabled: true, rule: 'email ~ "needs-mfa"' },
    });
    assert.deepEqual(coll.mfa, { enabled: true, duration: 600, rule: 'email ~ "needs-mfa"' });
    const plain = await newUser(srv, name);
    assert.equal((await srv.client().collection(name).authWithPassword(plain.email, PW)).record.id, plain.id);
    const email = `needs-mfa.${process.pid}@example.com`;
    await srv.pb.collection(name).create({ email, password: PW, passwordConfirm: PW });
    const err = await rejects(srv.client().collection(name).authWithPassword(email, PW), 401);
    assert.match(err.response.mfaId, ID_RE);
  });
});

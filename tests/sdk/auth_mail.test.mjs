// Mail flows of auth collections against a real SMTP server (tests/sdk/smtp_sink.py):
// verification, the `verified = true` auth rule and custom mail templates.
// Password reset and email change: auth_mail_account.test.mjs; OTP and MFA:
// auth_mail_otp.test.mjs; login alerts: auth_mail_alerts.test.mjs.
//
// Verification mails are sent in the background (the 204 may come first), so tests
// wait for them; "no mail" is asserted after a pause (sink.expectNone / sink.quiet).
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
  mailToken,
  assertMail,
  resolveTemplate,
  uniqueName,
  MAIL_META,
  USERS_ID,
} from './harness.mjs';
import { PW, VALIDATION, LINK, SUBJECT, uniqueEmail, newUser, loginClient, mailTo, assertToken, DEFAULT_TEMPLATES } from './mail_fixtures.mjs';

const sink = useSmtpSink();
let strictId;
let otherId;
const srv = useServer(async (s) => {
  await useSmtpSettings(s.pb, sink);
  strictId = (await s.pb.collections.create({ name: 'strict', type: 'auth', fields: [], authRule: 'verified = true' })).id;
  otherId = (await s.pb.collections.create({ name: 'others', type: 'auth', fields: [] })).id;
});

async function collectionTemplate(collection, key) {
  return (await srv.pb.collections.getOne(collection))[key];
}

describe('mail settings and default templates', () => {
  test('the SMTP settings point at the sink (PocketBase settings shape)', async () => {
    const s = await srv.pb.settings.getAll();
    assert.deepEqual(s.smtp, { enabled: true, port: sink.port, host: '127.0.0.1', username: '', authMethod: '', tls: false, localName: '' });
    assert.deepEqual(s.meta, { ...MAIL_META, accentColor: '#1055c9', hideControls: false });
  });

  test('users and new auth collections carry the default mail templates and token durations', async () => {
    for (const name of ['users', 'others']) {
      const c = await srv.pb.collections.getOne(name);
      for (const key of ['verificationTemplate', 'resetPasswordTemplate', 'confirmEmailChangeTemplate']) {
        assert.deepEqual(c[key], DEFAULT_TEMPLATES[key], `${name}.${key}`);
      }
      assert.deepEqual(c.otp.emailTemplate, DEFAULT_TEMPLATES.otp, `${name}.otp.emailTemplate`);
      assert.deepEqual(c.authAlert.emailTemplate, DEFAULT_TEMPLATES.authAlert, `${name}.authAlert.emailTemplate`);
      assert.deepEqual(c.verificationToken, { duration: 86400 }, name);
      assert.deepEqual(c.passwordResetToken, { duration: 1800 }, name);
      assert.deepEqual(c.emailChangeToken, { duration: 1800 }, name);
    }
  });
});

describe('verification', () => {
  test('requestVerification -> one mail with the verification link; confirm -> verified', async () => {
    const user = await newUser(srv);
    assert.equal(user.verified, false);
    assert.equal(await srv.client().collection('users').requestVerification(user.email), true);

    const mail = await sink.waitFor(mailTo(user.email));
    assertMail(mail, { to: user.email, subject: SUBJECT.verification });
    const token = mailToken(mail, '/confirm-verification/');
    const tpl = await collectionTemplate('users', 'verificationTemplate');
    assert.equal(tpl.subject, 'Verify your {APP_NAME} email');
    const body = resolveTemplate(tpl.body, { '{APP_NAME}': MAIL_META.appName, '{APP_URL}': MAIL_META.appURL, '{TOKEN}': token });
    assert.ok(mail.html.includes(body), `the html part contains the resolved default template:\n${body}\n--- got ---\n${mail.html}`);
    assert.ok(mail.html.includes(`href="${LINK.verification}${token}"`));
    assert.ok(mail.text.includes(`${LINK.verification}${token}`), 'the text part carries the link too');

    assertToken(token, {
      type: 'verification',
      keys: ['collectionId', 'email', 'exp', 'id', 'type'],
      record: user,
      collectionId: USERS_ID,
      durationSec: 86400,
    });
    assert.equal(jwtPayload(token).email, user.email);

    assert.equal(await srv.client().collection('users').confirmVerification(token), true);
    const after = await srv.pb.collection('users').getOne(user.id);
    assert.equal(after.verified, true);
    assert.equal(sink.messages().filter(mailTo(user.email)).length, 1, 'exactly one mail');
  });

  test('confirming again with the same token -> 204 again (idempotent), still verified', async () => {
    const user = await newUser(srv);
    await srv.client().collection('users').requestVerification(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email)), '/confirm-verification/');
    const r1 = await srv.api('POST', '/api/collections/users/confirm-verification', { body: { token } });
    assert.equal(r1.status, 204);
    assert.equal(r1.text, '');
    const r2 = await srv.api('POST', '/api/collections/users/confirm-verification', { body: { token } });
    assert.equal(r2.status, 204);
    assert.equal((await srv.pb.collection('users').getOne(user.id)).verified, true);
  });

  test('a tampered token -> 400 validation_invalid_token; the user stays unverified', async () => {
    const user = await newUser(srv);
    await srv.client().collection('users').requestVerification(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email)), '/confirm-verification/');
    const [h, p, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...jwtPayload(token), exp: jwtPayload(token).exp + 1000 })).toString('base64url');
    for (const bad of [`${h}.${p}.${sig.slice(0, -4)}AAAA`, `${h}.${forged}.${sig}`]) {
      const err = await rejects(srv.client().collection('users').confirmVerification(bad), 400);
      assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token', 'Invalid or expired token.') }));
    }
    assert.equal((await srv.pb.collection('users').getOne(user.id)).verified, false);
  });

  test('confirm-verification validation: blank, claim-less and wrong-type tokens', async () => {
    const user = await newUser(srv);
    const C = () => srv.client().collection('users');
    let err = await rejects(C().confirmVerification(''), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_required', 'Cannot be blank.') }));

    err = await rejects(C().confirmVerification('not-a-jwt'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token_claims', 'Missing email token claim.') }));

    // an auth token has no email claim
    const c = await loginClient(srv, user);
    err = await rejects(C().confirmVerification(c.authStore.token), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token_claims', 'Missing email token claim.') }));

    // a password reset token has an email claim but the wrong type
    await C().requestPasswordReset(user.email);
    const resetToken = mailToken(await sink.waitFor(mailTo(user.email, SUBJECT.reset)), '/confirm-password-reset/');
    err = await rejects(C().confirmVerification(resetToken), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token', 'Invalid or expired token.') }));
    assert.equal((await srv.pb.collection('users').getOne(user.id)).verified, false);
  });

  test("a token of another auth collection -> validation_token_collection_mismatch", async () => {
    const other = await newUser(srv, 'others');
    await srv.client().collection('others').requestVerification(other.email);
    const token = mailToken(await sink.waitFor(mailTo(other.email)), '/confirm-verification/');
    assert.equal(jwtPayload(token).collectionId, otherId);
    const err = await rejects(srv.client().collection('users').confirmVerification(token), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, { token: fieldErr('validation_token_collection_mismatch', 'The provided token is for different auth collection.') }),
    );
    assert.equal((await srv.pb.collection('others').getOne(other.id)).verified, false);
  });

  test('unknown email -> 204 and no mail', async () => {
    const email = uniqueEmail('ghost');
    const r = await srv.api('POST', '/api/collections/users/request-verification', { body: { email } });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    await sink.expectNone(mailTo(email));
  });

  test('already verified user -> 204 and no mail', async () => {
    const user = await newUser(srv, 'users', { verified: true });
    assert.equal(await srv.client().collection('users').requestVerification(user.email), true);
    await sink.expectNone(mailTo(user.email));
  });

  test('a second request shortly after the first -> 204 but no second mail', async () => {
    const user = await newUser(srv);
    await srv.client().collection('users').requestVerification(user.email);
    await sink.waitFor(mailTo(user.email));
    assert.equal(await srv.client().collection('users').requestVerification(user.email), true);
    await sink.quiet();
    assert.equal(sink.messages().filter(mailTo(user.email)).length, 1);
  });

  test('request validation: invalid / missing email', async () => {
    let err = await rejects(srv.client().collection('users').requestVerification('not-an-email'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { email: fieldErr('validation_is_email', 'Must be a valid email address.') }));
    err = await rejects(srv.client().collection('users').requestVerification(''), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { email: fieldErr('validation_required', 'Cannot be blank.') }));
  });

  test('_superusers -> 400; a non-auth or unknown collection -> 404', async () => {
    await rejects(
      srv.client().collection('_superusers').requestVerification('admin@example.com'),
      400,
      errBody(400, 'All superusers are verified by default.'),
    );
    await rejects(srv.client().collection('_superusers').confirmVerification('x'), 400, errBody(400, 'All superusers are verified by default.'));
    await rejects(
      srv.client().collection('_otps').requestVerification('a@example.com'),
      404,
      errBody(404, 'Missing or invalid auth collection context.'),
    );
    await rejects(srv.client().collection('nope').requestVerification('a@example.com'), 404, errBody(404, 'Missing or invalid collection context.'));
  });
});

describe('authRule verified = true', () => {
  test('unverified -> 403 (after the password check); verified via the mail flow -> 200', async () => {
    const user = await newUser(srv, 'strict');
    const C = () => srv.client().collection('strict');
    await rejects(C().authWithPassword(user.email, 'wrong-password'), 400, errBody(400, 'Failed to authenticate.'));
    await rejects(
      C().authWithPassword(user.email, PW),
      403,
      errBody(403, "The request doesn't satisfy the collection requirements to authenticate."),
    );

    await C().requestVerification(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email)), '/confirm-verification/');
    assert.equal(jwtPayload(token).collectionId, strictId);
    await C().confirmVerification(token);

    const c = srv.client();
    const res = await c.collection('strict').authWithPassword(user.email, PW);
    assert.equal(res.record.id, user.id);
    assert.equal(res.record.verified, true);
    assert.equal(c.authStore.isValid, true);
  });
});

describe('templates', () => {
  test('custom verification template: placeholders resolved, record values HTML-escaped and not interpreted', async () => {
    const name = uniqueName('tpl');
    await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [
        { name: 'nick', type: 'text' },
        { name: 'age', type: 'number' },
        { name: 'secret', type: 'text', hidden: true },
      ],
      verificationTemplate: {
        subject: '[{APP_NAME}] verify {RECORD:email} / {RECORD:nick}',
        body:
          '<p>Hi {RECORD:nick} ({RECORD:id}, {RECORD:age}, {RECORD:verified}, {RECORD:emailVisibility})</p>' +
          '<p>hidden: {RECORD:secret} {RECORD:password} {RECORD:tokenKey}</p>' +
          '<a href="{APP_URL}/verify?t={TOKEN}">go</a><p>{OTP} {UNKNOWN} {{ .HTMLContent }}</p>',
      },
    });
    // (no PocketBase placeholder inside the value: PocketBase replaces placeholders
    // one after another in random map order, so whether one inside a value gets
    // expanded is not deterministic there)
    const nick = `<b>Bo</b> & "Q" {{ .HTMLContent }} {{ printf "%d" 1 }}`;
    const user = await newUser(srv, name, { nick, age: 7, secret: 'hush-hush' });
    await srv.client().collection(name).requestVerification(user.email);
    const mail = await sink.waitFor(mailTo(user.email));

    const escNick = '&lt;b&gt;Bo&lt;/b&gt; &amp; &#34;Q&#34; {{ .HTMLContent }} {{ printf &#34;%d&#34; 1 }}';
    assertMail(mail, { to: user.email, subject: `[${MAIL_META.appName}] verify ${user.email} / ${escNick}` });
    const link = /href="http:\/\/app\.example\.test\/verify\?t=([^"]+)"/.exec(mail.html);
    assert.ok(link, mail.html);
    const token = link[1];
    assert.equal(jwtPayload(token).type, 'verification');
    const expected =
      `<p>Hi ${escNick} (${user.id}, 7, false, false)</p>` +
      '<p>hidden: {RECORD:secret} {RECORD:password} {RECORD:tokenKey}</p>' +
      `<a href="${MAIL_META.appURL}/verify?t=${token}">go</a><p>{OTP} {UNKNOWN} {{ .HTMLContent }}</p>`;
    assert.ok(mail.html.includes(expected), `expected\n${expected}\nin\n${mail.html}`);
    assert.doesNotMatch(mail.html + mail.text, /hush-hush/, 'hidden field values never reach the mail');
    assert.doesNotMatch(mail.html, /<b>Bo<\/b>/, 'record values are HTML-escaped');

    await srv.client().collection(name).confirmVerification(token);
    assert.equal((await srv.pb.collection(name).getOne(user.id)).verified, true);
  });

  test('custom reset and email change templates: {TOKEN}, {APP_URL}, {RECORD:*} (the current email)', async () => {
    const name = uniqueName('tpl');
    await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      resetPasswordTemplate: { subject: 'R {RECORD:email} {APP_NAME}', body: '<p>R {TOKEN} {APP_URL} {RECORD:nick}</p>' },
      confirmEmailChangeTemplate: { subject: 'E {RECORD:email}', body: '<p>E {TOKEN} {RECORD:email}</p>' },
    });
    const user = await newUser(srv, name, { nick: 'N&N' });
    await srv.client().collection(name).requestPasswordReset(user.email);
    const reset = await sink.waitFor(mailTo(user.email));
    assertMail(reset, { to: user.email, subject: `R ${user.email} ${MAIL_META.appName}` });
    const rToken = /<p>R (\S+) /.exec(reset.html)[1];
    assert.ok(reset.html.includes(`<p>R ${rToken} ${MAIL_META.appURL} N&amp;N</p>`), reset.html);
    assert.equal(jwtPayload(rToken).type, 'passwordReset');

    const c = srv.client();
    await c.collection(name).authWithPassword(user.email, PW);
    const newEmail = uniqueEmail('tpl');
    await c.collection(name).requestEmailChange(newEmail);
    const change = await sink.waitFor(mailTo(newEmail));
    assertMail(change, { to: newEmail, subject: `E ${user.email}` });
    const eToken = /<p>E (\S+) /.exec(change.html)[1];
    assert.ok(change.html.includes(`<p>E ${eToken} ${user.email}</p>`), change.html);
    assert.equal(jwtPayload(eToken).newEmail, newEmail);
    await srv.client().collection(name).confirmEmailChange(eToken, PW);
    assert.equal((await srv.pb.collection(name).getOne(user.id)).email, newEmail);
  });

  test('settings.meta changes apply to the next mail (From name/address, {APP_NAME}, {APP_URL})', async () => {
    const meta = { appName: 'Other App', appURL: 'https://other.example.test', senderName: 'Other Sender', senderAddress: 'other@mail.example.test' };
    await useSmtpSettings(srv.pb, sink, meta);
    try {
      const user = await newUser(srv);
      await srv.client().collection('users').requestVerification(user.email);
      const mail = await sink.waitFor(mailTo(user.email));
      assertMail(mail, { to: user.email, subject: 'Verify your Other App email', meta: { ...MAIL_META, ...meta } });
      const token = mailToken(mail, '/confirm-verification/');
      assert.ok(mail.html.includes(`href="https://other.example.test/_/#/auth/confirm-verification/${token}"`));
      assert.ok(mail.html.includes('<p>Thank you for joining us at Other App.</p>'));
    } finally {
      await useSmtpSettings(srv.pb, sink);
    }
  });
});

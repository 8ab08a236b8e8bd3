// Login alerts ("Login from a new location") against a real SMTP server
// (tests/sdk/smtp_sink.py). PocketBase fingerprints a login by md5(IP + User-Agent)
// in the _authOrigins system collection; all requests here come from 127.0.0.1,
// so the User-Agent header decides the "location".
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  useServer,
  useSmtpSink,
  useSmtpSettings,
  test,
  describe,
  rejects,
  mailToken,
  assertMail,
  resolveTemplate,
  uniqueName,
  MAIL_META,
  SUPERUSER_EMAIL,
  SUPERUSER_PASSWORD,
} from './harness.mjs';
import { PW, NEW_PW, SUBJECT, uniqueEmail, newUser, loginClient, mailTo, requestOtp, DEFAULT_TEMPLATES } from './mail_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer(async (s) => {
  await useSmtpSettings(s.pb, sink);
  await s.pb.collections.create({ name: 'otpalerts', type: 'auth', fields: [], otp: { enabled: true } });
  await s.pb.collections.create({ name: 'mfaalerts', type: 'auth', fields: [], otp: { enabled: true }, mfa: { enabled: true } });
});

const DEFAULT_ALERT_BODY = DEFAULT_TEMPLATES.authAlert.body;
const DATE = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';

const isAlert = (email) => mailTo(email, SUBJECT.alert);
const alerts = (email) => sink.messages().filter(isAlert(email));

/** Log in with the password from a given User-Agent. */
const login = (user, userAgent, password = PW) => loginClient(srv, user, { userAgent, password });

/** Log in from `userAgent` and assert that exactly `expected` alerts (in total) reached the user afterwards. */
async function loginExpect(user, userAgent, expected, password = PW) {
  await login(user, userAgent, password);
  if (expected > alerts(user.email).length) await sink.waitFor(() => alerts(user.email).length >= expected);
  else await sink.quiet(1000);
  assert.equal(alerts(user.email).length, expected, `alerts after a login from ${JSON.stringify(userAgent)}`);
}

describe('login alerts', () => {
  test('auth collections have alerts enabled by default, with the default template', async () => {
    for (const name of ['users', '_superusers', 'otpalerts']) {
      const c = await srv.pb.collections.getOne(name);
      assert.deepEqual(c.authAlert, { enabled: true, emailTemplate: { subject: 'Login from a new location', body: DEFAULT_ALERT_BODY } }, name);
    }
  });

  test('no alert on the first login or from a known device; an alert from a new User-Agent', async () => {
    const user = await newUser(srv);
    await loginExpect(user, 'UA-A', 0); // first login ever
    await loginExpect(user, 'UA-A', 0); // same device
    await loginExpect(user, 'UA-B', 1); // new device
    const mail = alerts(user.email)[0];
    assertMail(mail, { to: user.email, subject: SUBJECT.alert });
    const info = /<em>(.*)<\/em>/.exec(mail.html)?.[1];
    assert.match(info, new RegExp(`^${DATE} - 127\\.0\\.0\\.1 UA-B$`), 'ALERT_INFO = "DATE - IP USER_AGENT"');
    const when = Date.parse(info.slice(0, 23).replace(' ', 'T'));
    assert.ok(Math.abs(Date.now() - when) < 60_000, `the alert date is the login time: ${info}`);
    const body = resolveTemplate(DEFAULT_ALERT_BODY, { '{APP_NAME}': MAIL_META.appName, '{ALERT_INFO}': info });
    assert.ok(mail.html.includes(body), `resolved default alert template in:\n${mail.html}`);
    assert.ok(mail.text.includes('127.0.0.1 UA-B'), 'the text part carries the alert info');

    await loginExpect(user, 'UA-B', 1); // known now
    await loginExpect(user, 'UA-A', 1); // still known
  });

  test('X-Forwarded-For is ignored without trusted proxy settings; auth-refresh never alerts', async () => {
    const user = await newUser(srv);
    await loginExpect(user, 'UA-A', 0);
    const c = srv.client();
    await c.collection('users').authWithPassword(user.email, PW, { headers: { 'User-Agent': 'UA-A', 'X-Forwarded-For': '203.0.113.9' } });
    await c.collection('users').authRefresh({ headers: { 'User-Agent': 'UA-REFRESH' } });
    await sink.quiet(1000);
    assert.equal(alerts(user.email).length, 0);
    await loginExpect(user, 'UA-REFRESH', 1); // the refresh did not record its device
  });

  test('alerts disabled: no mail and the device is not remembered', async () => {
    const name = uniqueName('noalert');
    await srv.pb.collections.create({ name, type: 'auth', fields: [], authAlert: { enabled: false } });
    const user = await newUser(srv, name);
    await loginExpect(user, 'UA-A', 0);
    await loginExpect(user, 'UA-B', 0);
    await srv.pb.collections.update(name, { authAlert: { enabled: true } });
    await loginExpect(user, 'UA-B', 0); // the first remembered login
    await loginExpect(user, 'UA-A', 1); // UA-A was never recorded while disabled
  });

  test('up to 5 devices are remembered; a 6th evicts the oldest-created one, even if used recently', async () => {
    const user = await newUser(srv);
    await loginExpect(user, 'UA-1', 0);
    for (let i = 2; i <= 5; i++) await login(user, `UA-${i}`);
    await sink.waitFor(() => alerts(user.email).length === 4);
    await loginExpect(user, 'UA-1', 4); // known, and now the most recently used
    await loginExpect(user, 'UA-6', 5);
    await loginExpect(user, 'UA-2', 5); // still remembered
    await loginExpect(user, 'UA-1', 6); // evicted by UA-6
  });

  test('a password change forgets all devices (no alert on the next login); an email change does not', async () => {
    const user = await newUser(srv, 'users', { verified: true });
    await loginExpect(user, 'UA-A', 0);
    await srv.client().collection('users').requestPasswordReset(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email, SUBJECT.reset)), '/confirm-password-reset/');
    await srv.client().collection('users').confirmPasswordReset(token, NEW_PW, NEW_PW);
    await loginExpect(user, 'UA-B', 0, NEW_PW); // the first login after the reset

    const c = await login(user, 'UA-B', NEW_PW);
    const newEmail = uniqueEmail('moved');
    await c.collection('users').requestEmailChange(newEmail);
    const eToken = mailToken(await sink.waitFor(mailTo(newEmail, SUBJECT.emailChange)), '/confirm-email-change/');
    await srv.client().collection('users').confirmEmailChange(eToken, NEW_PW);
    const moved = { ...user, email: newEmail };
    await loginExpect(moved, 'UA-B', 0, NEW_PW);
    await loginExpect(moved, 'UA-C', 1, NEW_PW);
  });

  test('OTP logins alert too (verified user); an unverified user\'s first OTP login resets the password and the devices', async () => {
    const verified = await newUser(srv, 'otpalerts', { verified: true });
    await loginExpect(verified, 'UA-A', 0);
    let otp = await requestOtp(srv, sink, verified);
    await srv.client().collection('otpalerts').authWithOTP(otp.otpId, otp.code, { headers: { 'User-Agent': 'UA-OTP' } });
    await sink.waitFor(() => alerts(verified.email).length === 1);
    assert.match(alerts(verified.email)[0].html, /127\.0\.0\.1 UA-OTP<\/em>/);

    const unverified = await newUser(srv, 'otpalerts');
    await loginExpect(unverified, 'UA-A', 0);
    otp = await requestOtp(srv, sink, unverified);
    await srv.client().collection('otpalerts').authWithOTP(otp.otpId, otp.code, { headers: { 'User-Agent': 'UA-OTP' } });
    await sink.quiet(1000);
    assert.equal(alerts(unverified.email).length, 0);
  });

  test('MFA: the first step neither alerts nor records the device; the completed login does', async () => {
    const user = await newUser(srv, 'mfaalerts', { verified: true });
    const C = () => srv.client().collection('mfaalerts');
    const full = async (ua) => {
      const mfaId = (await rejects(C().authWithPassword(user.email, PW, { headers: { 'User-Agent': ua } }), 401)).response.mfaId;
      const { otpId, code } = await requestOtp(srv, sink, user);
      await C().authWithOTP(otpId, code, { mfaId, headers: { 'User-Agent': ua } });
    };
    await full('UA-A'); // first login
    await rejects(C().authWithPassword(user.email, PW, { headers: { 'User-Agent': 'UA-B' } }), 401);
    await sink.quiet(1000);
    assert.equal(alerts(user.email).length, 0);
    await full('UA-B');
    await sink.waitFor(() => alerts(user.email).length === 1);
    await full('UA-B');
    await sink.quiet(1000);
    assert.equal(alerts(user.email).length, 1);
  });

  test('superusers get alerts as well', async () => {
    const c = srv.client();
    await c.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD, { headers: { 'User-Agent': `SU-${process.pid}` } });
    const mail = await sink.waitFor(isAlert(SUPERUSER_EMAIL));
    assertMail(mail, { to: SUPERUSER_EMAIL, subject: SUBJECT.alert });
    assert.match(mail.html, new RegExp(`<em>${DATE} - 127\\.0\\.0\\.1 SU-${process.pid}</em>`));
  });

  test('the User-Agent in ALERT_INFO is HTML-escaped and cut to 200 characters + "..."', async () => {
    const user = await newUser(srv);
    await loginExpect(user, 'UA-A', 0);
    await loginExpect(user, 'Mozilla <i>x</i> & "q"', 1);
    assert.match(alerts(user.email)[0].html, /<em>[^<]* - 127\.0\.0\.1 Mozilla &lt;i&gt;x&lt;\/i&gt; &amp; &#34;q&#34;<\/em>/);
    await loginExpect(user, 'L'.repeat(400), 2);
    const info = /<em>(.*)<\/em>/.exec(alerts(user.email)[1].html)[1];
    assert.match(info, new RegExp(`^${DATE} - 127\\.0\\.0\\.1 L{200}\\.\\.\\.$`), info);
  });

  test('custom authAlert template: {ALERT_INFO}, {APP_NAME}, {APP_URL}, {RECORD:*}; {TOKEN} is not a placeholder here', async () => {
    const name = uniqueName('alerttpl');
    await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      authAlert: {
        enabled: true,
        emailTemplate: { subject: 'New login for {RECORD:email} at {APP_NAME}', body: '<p>[{ALERT_INFO}] {APP_URL} {RECORD:nick} {TOKEN}</p>' },
      },
    });
    const user = await newUser(srv, name, { nick: 'Zed' });
    await login(user, 'UA-A');
    await login(user, 'UA-B');
    const subject = `New login for ${user.email} at ${MAIL_META.appName}`;
    const mail = await sink.waitFor(mailTo(user.email, subject));
    assertMail(mail, { to: user.email, subject });
    const esc = (x) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(mail.html, new RegExp(`<p>\\[${DATE} - 127\\.0\\.0\\.1 UA-B\\] ${esc(MAIL_META.appURL)} Zed \\{TOKEN\\}</p>`));
    await sink.quiet(500);
    assert.equal(sink.messages().filter(mailTo(user.email)).length, 1, 'only the second login alerted');
  });

  test('system collection _authOrigins: one record per remembered device, fingerprint = md5(IP + User-Agent)', async () => {
    const user = await newUser(srv);
    await login(user, 'UA-FP');
    const list = await srv.pb.collection('_authOrigins').getFullList({ filter: `recordRef = "${user.id}"` });
    assert.equal(list.length, 1);
    assert.equal(list[0].collectionRef, '_pb_users_auth_');
    assert.equal(list[0].fingerprint, crypto.createHash('md5').update('127.0.0.1UA-FP').digest('hex'));
  });
});

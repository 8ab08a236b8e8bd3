// The pages PocketBase's mail templates and OAuth2 redirect link to
// (/_/#/auth/...), which must work for app users without a dashboard session
// (DASHBOARD.md item 27), and the superuser sign-in's OTP step when
// _superusers requires MFA (item 7). Mails go through the real SMTP sink.
import assert from 'node:assert/strict';
import { useServer, useSmtpSink, useSmtpSettings, mailToken, cairnOnly, IS_POCKETBASE, SUPERUSER_EMAIL } from './harness.mjs';
import { useBrowser, newPage, signIn, signedInPage, test } from './dashboard_fixtures.mjs';
import { otpCode } from './mail_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer(async (s) => {
  await useSmtpSettings(s.pb, sink);
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
const PW = 'user-pass-123';

async function newUser(email) {
  return srv.pb.collection('users').create({ email, password: PW, passwordConfirm: PW });
}

async function linkToken(to, marker) {
  const mail = await sink.waitFor((m) => m.rcptTos.includes(to) && (m.html ?? '').includes(marker));
  return mailToken(mail, marker);
}

test('password reset link: the form works without a session (REST sign-in with the new password)', b, async () => {
  if (skip) return;
  const email = 'reset@example.com';
  await newUser(email);
  await srv.client().collection('users').requestPasswordReset(email);
  const token = await linkToken(email, '/confirm-password-reset/');
  const page = await newPage(b, srv);
  await page.goto(`/_/#/auth/confirm-password-reset/${token}`);
  await page.waitForURL('**/_/auth/confirm-password-reset/**');
  await page.getByLabel('New password', { exact: true }).fill('new-pass-4567');
  await page.getByLabel('New password again').fill('new-pass-4567');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('status').filter({ hasText: 'password has been changed' }).waitFor();
  const auth = await srv.client().collection('users').authWithPassword(email, 'new-pass-4567');
  assert.equal(auth.record.email, email);
  // The link is single-use: the token no longer works.
  await page.goto(`/_/auth/confirm-password-reset/${token}`);
  await page.getByLabel('New password', { exact: true }).fill('other-pass-999');
  await page.getByLabel('New password again').fill('other-pass-999');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('alert').waitFor();
});

test('verification and email-change links; OAuth2 success page', b, async () => {
  if (skip) return;
  const email = 'verify@example.com';
  const user = await newUser(email);
  await srv.client().collection('users').requestVerification(email);
  const token = await linkToken(email, '/confirm-verification/');
  const page = await newPage(b, srv);
  await page.goto(`/_/#/auth/confirm-verification/${token}`);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await page.getByRole('status').filter({ hasText: 'confirmed' }).waitFor();
  assert.equal((await srv.pb.collection('users').getOne(user.id)).verified, true);
  // Email change.
  const client = srv.client();
  await client.collection('users').authWithPassword(email, PW);
  await client.collection('users').requestEmailChange('changed@example.com');
  const t2 = await linkToken('changed@example.com', '/confirm-email-change/');
  await page.goto(`/_/#/auth/confirm-email-change/${t2}`);
  await page.getByLabel('Your password').fill(PW);
  await page.getByRole('button', { name: 'Confirm new email' }).click();
  await page.getByRole('status').filter({ hasText: 'changed' }).waitFor();
  assert.equal((await srv.pb.collection('users').getOne(user.id)).email, 'changed@example.com');
  // OAuth2 popup end page.
  await page.goto('/_/#/auth/oauth2-redirect-success');
  await page.getByText('You can close this window').waitFor();
});

test('superuser sign-in with MFA: password, then the emailed OTP', b, async () => {
  if (skip) return;
  await srv.pb.collections.update('_superusers', { mfa: { enabled: true }, otp: { enabled: true } });
  try {
    const page = await newPage(b, srv);
    const isOtp = (m) => m.rcptTos.includes(SUPERUSER_EMAIL) && /<strong>\d+<\/strong>/.test(m.html ?? '');
    const before = sink.messages().filter(isOtp).length;
    await page.goto('/_/login');
    await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
    await page.getByLabel('Password').fill('Sup3r-secret-pw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/_/login/mfa');
    await sink.waitFor(() => sink.messages().filter(isOtp).length > before);
    const mail = sink.messages().filter(isOtp)[before];
    await page.getByLabel('One-time password').fill('00000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('One-time password').fill(otpCode(mail));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/_/login'));
    await page.goto('/_/settings');
    assert.equal(new URL(page.url()).pathname, '/_/settings', 'signed in');
  } finally {
    await srv.pb.collections.update('_superusers', { mfa: { enabled: false }, otp: { enabled: false } });
  }
  // Without MFA the password alone signs in again.
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/settings' });
  assert.equal(new URL(page.url()).pathname, '/_/settings');
});

test('auth record actions: impersonate gives a token REST accepts; send verification email', b, async () => {
  if (skip) return;
  const user = await newUser('acted@example.com');
  const page = await signedInPage(b, srv);
  await page.goto(`/_/collections/users/records/${user.id}`);
  await page.getByLabel(/Token lifetime/).fill('600');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Impersonate' }).click()]);
  const token = (await page.getByLabel('Token').inputValue()).trim();
  const r = await srv.api('GET', `/api/collections/users/records/${user.id}`, { token });
  assert.equal(r.status, 200, 'REST accepts the token as that user');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(claims.id, user.id);
  assert.equal(claims.refreshable, false);
  assert.ok(Math.abs(claims.exp - Date.now() / 1000 - 600) < 60);
  await page.goto(`/_/collections/users/records/${user.id}`);
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Send verification email' }).click()]);
  await page.getByRole('status').filter({ hasText: 'Verification email sent to acted@example.com' }).waitFor();
  await linkToken('acted@example.com', '/confirm-verification/');
});

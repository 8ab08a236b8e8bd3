// Mailer hooks (onMailerSend, onMailerRecord*Send) in pb_hooks, the same on
// PocketBase 0.40.6 and Cairn: the REST auth flows and $mails fire them with
// PocketBase's event (e.message, e.record, e.meta), changes to the message
// reach the SMTP server (smtp_sink.py), and a handler that does not call
// e.next() stops the send. Hook files: tests/plugins/mailer_hooks and
// mails_hooks.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, useSmtpSink, useSmtpSettings, test, REPO_ROOT, MAIL_META } from './harness.mjs';
import { newUser, uniqueEmail, mailTo, loginClient } from './mail_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer(async (s) => {
  // The mailer hooks, and the routes of hooks_mails.test.mjs that call $mails.
  for (const dir of ['mailer_hooks', 'mails_hooks']) {
    await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', dir), path.join(s.root, 'pb_hooks'), { recursive: true });
  }
  await s.restart();
  await useSmtpSettings(s.pb, sink);
});

const FROM = ` from:${MAIL_META.senderAddress}`;
const bySubject = (subject) => (m) => m.subject === subject;

test('a password reset request fires onMailerRecordPasswordResetSend, then onMailerSend', async () => {
  const user = await newUser(srv);
  await srv.client().collection('users').requestPasswordReset(user.email);
  const mail = await sink.waitFor(bySubject(`reset:users:token${FROM}`));
  assert.deepEqual([...mail.rcptTos].sort(), ['audit@example.com', user.email].sort());
  assert.match(mail.html, /confirm-password-reset\/[\w.-]+/);
});

test('a record hook that does not call e.next() stops the mail', async () => {
  const user = await newUser(srv, 'users', { email: uniqueEmail('quiet') });
  await srv.client().collection('users').requestPasswordReset(user.email);
  const viaHook = await srv.su('POST', '/mails/reset', { body: { id: user.id } });
  assert.equal(viaHook.status, 200, viaHook.text);
  await sink.expectNone(mailTo(user.email), 1000);
});

test('a throwing mailer hook fails $mails but not the REST request', async () => {
  const user = await newUser(srv, 'users', { email: uniqueEmail('boom') });
  await srv.client().collection('users').requestPasswordReset(user.email);
  const viaHook = await srv.su('POST', '/mails/reset', { body: { id: user.id } });
  assert.equal(viaHook.status, 400, viaHook.text);
  await sink.expectNone(mailTo(user.email), 500);
});

test('verification: the hook sees the recipient and its html change is sent', async () => {
  const user = await newUser(srv);
  await srv.client().collection('users').requestVerification(user.email);
  const mail = await sink.waitFor(bySubject(`verify:${user.email}:token${FROM}`));
  assert.match(mail.html, /<p>added by the hook<\/p>/);
});

test('email change: e.meta.newEmail', async () => {
  const user = await newUser(srv);
  const client = await loginClient(srv, user);
  const newEmail = uniqueEmail('next');
  await client.collection('users').requestEmailChange(newEmail);
  const mail = await sink.waitFor(bySubject(`change:${newEmail}${FROM}`));
  assert.ok(mail.rcptTos.includes(newEmail));
});

test('OTP: e.meta.otpId and e.meta.password', async () => {
  await srv.pb.collections.update('users', { otp: { enabled: true } });
  const user = await newUser(srv);
  const { otpId } = await srv.client().collection('users').requestOTP(user.email);
  const mail = await sink.waitFor((m) => m.rcptTos.includes(user.email) && m.subject.startsWith(`otp:${otpId}:`));
  assert.match(mail.subject, new RegExp(`^otp:${otpId}:\\d+${FROM}$`));
});

test('$mails.sendRecordAuthAlert sends the alert template through onMailerRecordAuthAlertSend', async () => {
  const user = await newUser(srv);
  const r = await srv.su('POST', '/mails/alert', { body: { id: user.id, info: 'from the moon' } });
  assert.equal(r.status, 200, r.text);
  const mail = await sink.waitFor((m) => m.rcptTos.includes(user.email) && m.subject.startsWith('alert:'));
  assert.equal(mail.subject, `alert:info${FROM}`);
  assert.match(mail.html, /from the moon/);
});

test('$app.newMailClient().send(new MailerMessage(...)) goes through onMailerSend', async () => {
  const to = uniqueEmail('plain');
  const r = await srv.su('POST', '/mailer/send', { body: { to, subject: 'plain mail', from: MAIL_META.senderAddress } });
  assert.equal(r.status, 200, r.text);
  const mail = await sink.waitFor(mailTo(to));
  assert.equal(mail.subject, `plain mail${FROM}`);
  assert.match(mail.from, /Custom/);
  assert.deepEqual([...mail.rcptTos].sort(), ['audit@example.com', to].sort());
});

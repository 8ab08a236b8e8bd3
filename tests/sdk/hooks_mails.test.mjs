// $mails in pb_hooks, the same on PocketBase 0.40.6 and Cairn: the auth
// mails of a record sent from a hook, with the collection's templates, to a
// real SMTP server (smtp_sink.py); their tokens work with the REST confirm
// endpoints.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, useSmtpSink, useSmtpSettings, test, REPO_ROOT } from './harness.mjs';
import { PW, NEW_PW, LINK, SUBJECT, newUser, uniqueEmail, mailTo, assertToken, loginClient } from './mail_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'mails_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await useSmtpSettings(s.pb, sink);
});

const send = (kind, body) => srv.su('POST', `/mails/${kind}`, { body });

/** The one mail to `email` with `subject`, and the token at the end of `link`. */
async function mailWithToken(email, subject, link) {
  const mail = await sink.waitFor(mailTo(email, subject));
  const m = new RegExp(`${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}([\\w.-]+)`).exec(mail.html);
  assert.ok(m, `no link in:\n${mail.html}`);
  return { mail, token: m[1] };
}

test('sendRecordPasswordReset mails a reset link whose token resets the password', async () => {
  const user = await newUser(srv);
  const r = await send('reset', { id: user.id });
  assert.equal(r.status, 200, r.text);
  const { token } = await mailWithToken(user.email, SUBJECT.reset, LINK.reset);
  assertToken(token, { type: 'passwordReset', keys: ['collectionId', 'email', 'exp', 'id', 'type'], record: user, collectionId: user.collectionId, durationSec: 1800 });
  await srv.client().collection('users').confirmPasswordReset(token, NEW_PW, NEW_PW);
  await loginClient(srv, user, { password: NEW_PW });
});

test('sendRecordVerification mails a link whose token verifies the record', async () => {
  const user = await newUser(srv);
  assert.equal((await send('verify', { id: user.id })).status, 200);
  const { token } = await mailWithToken(user.email, SUBJECT.verification, LINK.verification);
  assertToken(token, { type: 'verification', keys: ['collectionId', 'email', 'exp', 'id', 'type'], record: user, collectionId: user.collectionId, durationSec: 86400 });
  await srv.client().collection('users').confirmVerification(token);
  assert.equal((await srv.pb.collection('users').getOne(user.id)).verified, true);
});

test('sendRecordChangeEmail mails the new address a link whose token changes the email', async () => {
  const user = await newUser(srv);
  const newEmail = uniqueEmail('new');
  assert.equal((await send('change', { id: user.id, newEmail })).status, 200);
  const { token } = await mailWithToken(newEmail, SUBJECT.emailChange, LINK.emailChange);
  assertToken(token, { type: 'emailChange', keys: ['collectionId', 'email', 'exp', 'id', 'newEmail', 'type'], record: user, collectionId: user.collectionId, durationSec: 1800 });
  await srv.client().collection('users').confirmEmailChange(token, PW);
  assert.equal((await srv.pb.collection('users').getOne(user.id)).email, newEmail);
  await sink.expectNone(mailTo(user.email, SUBJECT.emailChange), 300);
});

test('sendRecordOTP mails the given code with the OTP template', async () => {
  const user = await newUser(srv);
  assert.equal((await send('otp', { id: user.id, otpId: 'hookotp12345678', pass: '424242' })).status, 200);
  const mail = await sink.waitFor(mailTo(user.email, SUBJECT.otp));
  assert.match(mail.html, /<strong>424242<\/strong>/);
});

test('$mails needs an existing record', async () => {
  const r = await send('reset', { id: 'missing12345678' });
  assert.equal(r.status, 404);
});

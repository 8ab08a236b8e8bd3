// Helpers shared by the auth_mail*.test.mjs files (mail flows against the SMTP sink).
import assert from 'node:assert/strict';
import { jwtPayload, MAIL_META } from './harness.mjs';

export const PW = 'user-pass-123';
export const NEW_PW = 'brand-new-pass-456';
export const VALIDATION = 'An error occurred while validating the submitted data.';

/** The links of PocketBase's default templates ({APP_URL}/_/#/auth/...). */
export const LINK = {
  verification: `${MAIL_META.appURL}/_/#/auth/confirm-verification/`,
  reset: `${MAIL_META.appURL}/_/#/auth/confirm-password-reset/`,
  emailChange: `${MAIL_META.appURL}/_/#/auth/confirm-email-change/`,
};

/** The subjects of PocketBase's default templates with MAIL_META.appName. */
export const SUBJECT = {
  verification: `Verify your ${MAIL_META.appName} email`,
  reset: `Reset your ${MAIL_META.appName} password`,
  emailChange: `Confirm your ${MAIL_META.appName} new email address`,
  otp: `OTP for ${MAIL_META.appName}`,
  alert: 'Login from a new location',
};

/** PocketBase 0.40's default mail templates of a new auth collection. */
export const DEFAULT_TEMPLATES = {
  verificationTemplate: {
    subject: 'Verify your {APP_NAME} email',
    body:
      '<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n<p>Click on the button below to verify your email address.</p>\n<p>\n' +
      '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" rel="noopener">Verify</a>\n</p>\n' +
      "<p><i>If you didn't recently register, please ignore this email.</i></p>\n<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>",
  },
  resetPasswordTemplate: {
    subject: 'Reset your {APP_NAME} password',
    body:
      '<p>Hello,</p>\n<p>Click on the button below to reset your password.</p>\n<p>\n' +
      '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" rel="noopener">Reset password</a>\n</p>\n' +
      "<p><i>If you didn't ask to reset your password, please ignore this email.</i></p>\n<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>",
  },
  confirmEmailChangeTemplate: {
    subject: 'Confirm your {APP_NAME} new email address',
    body:
      '<p>Hello,</p>\n<p>Click on the button below to confirm your new email address.</p>\n<p>\n' +
      '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" rel="noopener">Confirm new email</a>\n</p>\n' +
      "<p><i>If you didn't ask to change your email address, please ignore this email.</i></p>\n<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>",
  },
  otp: {
    subject: 'OTP for {APP_NAME}',
    body:
      '<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n' +
      "<p><i>If you didn't ask for the one-time password, you can ignore this email.</i></p>\n" +
      '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
  },
  authAlert: {
    subject: 'Login from a new location',
    body:
      '<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location:</p>\n' +
      '<p><em>{ALERT_INFO}</em></p>\n' +
      "<p><strong>If this wasn't you, you should immediately change your {APP_NAME} account password to revoke access from all other locations.</strong></p>\n" +
      '<p>If this was you, you may disregard this email.</p>\n' +
      '<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>',
  },
};

let seq = 0;
/** A unique lowercase email address. */
export function uniqueEmail(tag = 'u') {
  seq += 1;
  return `${tag}${seq}.${process.pid}@example.com`;
}

/** Create an auth record (as superuser; unverified unless `extra` says so); returns it with email and collection. */
export async function newUser(srv, collection = 'users', extra = {}) {
  const email = uniqueEmail(collection.replace(/[^a-z]/g, '').slice(0, 4) || 'u');
  const rec = await srv.pb.collection(collection).create({ email, password: PW, passwordConfirm: PW, ...extra });
  return { ...rec, email, collection };
}

/** A guest client logged in as `user` with its password (optionally from a given User-Agent). */
export async function loginClient(srv, user, { password = PW, userAgent } = {}) {
  const c = srv.client();
  const opts = userAgent === undefined ? {} : { headers: { 'User-Agent': userAgent } };
  await c.collection(user.collection).authWithPassword(user.email, password, opts);
  return c;
}

/** Predicate: a mail whose envelope recipients include `email` (and with `subject`, if given). */
export const mailTo = (email, subject) => (m) => m.rcptTos.includes(email) && (subject === undefined || m.subject === subject);

/** Assert a JWT's header and exact claim names, type, id, collectionId and exp; returns the payload. */
export function assertToken(token, { type, keys, record, collectionId, durationSec }) {
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
  const p = jwtPayload(token);
  assert.deepEqual(Object.keys(p).sort(), [...keys].sort(), `claims of the ${type} token: ${JSON.stringify(p)}`);
  assert.equal(p.type, type);
  assert.equal(p.id, record.id);
  assert.equal(p.collectionId, collectionId);
  const expected = Math.floor(Date.now() / 1000) + durationSec;
  assert.ok(Math.abs(p.exp - expected) < 60, `exp ${p.exp} ~ now + ${durationSec}s`);
  return p;
}

/** The code of a mail rendered from the default OTP template (`<strong>CODE</strong>`). */
export function otpCode(mail) {
  const m = /<strong>(\d+)<\/strong>/.exec(mail.html ?? '');
  assert.ok(m, `no OTP code in mail:\n${mail.html}`);
  return m[1];
}

/**
 * requestOTP for `user` and wait for its mail; returns {otpId, code, mail}.
 * PocketBase records the OTP's `sentTo` (which makes a successful OTP login
 * verify the email) only after the SMTP transaction finished, so wait a moment
 * after the mail arrived, as a real user would.
 */
export async function requestOtp(srv, sink, user) {
  const isOtp = (m) => mailTo(user.email)(m) && /<strong>\d+<\/strong>/.test(m.html ?? '');
  const before = sink.messages().filter(isOtp).length;
  const { otpId } = await srv.client().collection(user.collection).requestOTP(user.email);
  await sink.waitFor(() => sink.messages().filter(isOtp).length > before);
  const mail = sink.messages().filter(isOtp)[before];
  await new Promise((r) => setTimeout(r, 300));
  return { otpId, code: otpCode(mail), mail };
}

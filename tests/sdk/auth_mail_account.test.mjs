// Password reset and email change mail flows against a real SMTP server
// (tests/sdk/smtp_sink.py). See auth_mail.test.mjs for verification and templates.
//
// Password reset mails are sent in the background (the 204 may come first), so tests
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
  MAIL_META,
  USERS_ID,
} from './harness.mjs';
import { PW, NEW_PW, VALIDATION, LINK, SUBJECT, uniqueEmail, newUser, loginClient, mailTo, assertToken } from './mail_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer(async (s) => {
  await useSmtpSettings(s.pb, sink);
  await s.pb.collections.create({ name: 'others', type: 'auth', fields: [] });
  await s.pb.collections.create({ name: 'nopass', type: 'auth', fields: [], passwordAuth: { enabled: false } });
});

async function collectionTemplate(collection, key) {
  return (await srv.pb.collections.getOne(collection))[key];
}

describe('password reset', () => {
  test('request -> mail -> confirm: new password works, old fails, old tokens revoked, token single-use', async () => {
    const user = await newUser(srv);
    const before = await loginClient(srv, user);
    const oldToken = before.authStore.token;

    assert.equal(await srv.client().collection('users').requestPasswordReset(user.email), true);
    const mail = await sink.waitFor(mailTo(user.email));
    assertMail(mail, { to: user.email, subject: SUBJECT.reset });
    const token = mailToken(mail, '/confirm-password-reset/');
    const tpl = await collectionTemplate('users', 'resetPasswordTemplate');
    assert.equal(tpl.subject, 'Reset your {APP_NAME} password');
    const body = resolveTemplate(tpl.body, { '{APP_NAME}': MAIL_META.appName, '{APP_URL}': MAIL_META.appURL, '{TOKEN}': token });
    assert.ok(mail.html.includes(body), `resolved default template in:\n${mail.html}`);
    assert.ok(mail.text.includes(`${LINK.reset}${token}`));
    const claims = assertToken(token, {
      type: 'passwordReset',
      keys: ['collectionId', 'email', 'exp', 'id', 'type'],
      record: user,
      collectionId: USERS_ID,
      durationSec: 1800,
    });
    assert.equal(claims.email, user.email);

    assert.equal(await srv.client().collection('users').confirmPasswordReset(token, NEW_PW, NEW_PW), true);

    await rejects(
      srv.client().collection('users').authWithPassword(user.email, PW),
      400,
      errBody(400, 'Failed to authenticate.'),
    );
    const res = await srv.client().collection('users').authWithPassword(user.email, NEW_PW);
    assert.equal(res.record.id, user.id);
    assert.equal(res.record.verified, true, 'a confirmed reset also verifies the (unchanged) email');

    await rejects(
      srv.client(oldToken).collection('users').authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );

    const err = await rejects(srv.client().collection('users').confirmPasswordReset(token, 'another-pass-789', 'another-pass-789'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token', 'Invalid or expired token.') }));
    await srv.client().collection('users').authWithPassword(user.email, NEW_PW);
  });

  test('confirm validation: mismatch, too short, blank (the token stays usable)', async () => {
    const user = await newUser(srv);
    await srv.client().collection('users').requestPasswordReset(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email)), '/confirm-password-reset/');
    const C = () => srv.client().collection('users');

    let err = await rejects(C().confirmPasswordReset(token, NEW_PW, NEW_PW + 'x'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { passwordConfirm: fieldErr('validation_values_mismatch', "Values don't match.") }));

    err = await rejects(C().confirmPasswordReset(token, 'short', 'short'), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, {
        password: fieldErr('validation_length_out_of_range', 'The length must be between 8 and 255.', { max: 255, min: 8 }),
      }),
    );

    err = await rejects(C().confirmPasswordReset('', '', ''), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, {
        password: fieldErr('validation_required', 'Cannot be blank.'),
        passwordConfirm: fieldErr('validation_required', 'Cannot be blank.'),
        token: fieldErr('validation_required', 'Cannot be blank.'),
      }),
    );

    // a verification token is not a password reset token
    await C().requestVerification(user.email);
    const vToken = mailToken(await sink.waitFor(mailTo(user.email, SUBJECT.verification)), '/confirm-verification/');
    err = await rejects(C().confirmPasswordReset(vToken, NEW_PW, NEW_PW), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { token: fieldErr('validation_invalid_token', 'Invalid or expired token.') }));

    // nothing changed so far; the original token still works
    await C().authWithPassword(user.email, PW);
    assert.equal(await C().confirmPasswordReset(token, NEW_PW, NEW_PW), true);
    await C().authWithPassword(user.email, NEW_PW);
  });

  test('unknown email -> 204, no mail; a repeated request -> 204, no second mail until confirmed', async () => {
    const ghost = uniqueEmail('ghost');
    const r = await srv.api('POST', '/api/collections/users/request-password-reset', { body: { email: ghost } });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');

    const user = await newUser(srv);
    await srv.client().collection('users').requestPasswordReset(user.email);
    const token = mailToken(await sink.waitFor(mailTo(user.email)), '/confirm-password-reset/');
    assert.equal(await srv.client().collection('users').requestPasswordReset(user.email), true);
    await sink.expectNone(mailTo(ghost));
    assert.equal(sink.messages().filter(mailTo(user.email)).length, 1, 'no second mail while the first is fresh');

    // confirming lifts the resend limit
    await srv.client().collection('users').confirmPasswordReset(token, NEW_PW, NEW_PW);
    await srv.client().collection('users').requestPasswordReset(user.email);
    await sink.waitFor(() => sink.messages().filter(mailTo(user.email)).length === 2);
  });

  test('request validation; password auth disabled -> 400', async () => {
    const err = await rejects(srv.client().collection('users').requestPasswordReset('nope'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { email: fieldErr('validation_is_email', 'Must be a valid email address.') }));
    await rejects(
      srv.client().collection('nopass').requestPasswordReset('a@example.com'),
      400,
      errBody(400, 'The collection is not configured to allow password authentication.'),
    );
  });

  test('superusers can request a password reset (same default template)', async () => {
    await srv.client().collection('_superusers').requestPasswordReset('admin@example.com');
    const mail = await sink.waitFor(mailTo('admin@example.com', SUBJECT.reset));
    assertMail(mail, { to: 'admin@example.com', subject: SUBJECT.reset });
    const token = mailToken(mail, '/confirm-password-reset/');
    assert.equal(jwtPayload(token).type, 'passwordReset');
    assert.equal(jwtPayload(token).email, 'admin@example.com');
  });
});

describe('email change', () => {
  test('request -> mail to the NEW address -> confirm with password -> email changed and verified', async () => {
    const user = await newUser(srv);
    const newEmail = uniqueEmail('new');
    const c = await loginClient(srv, user);
    const oldToken = c.authStore.token;

    assert.equal(await c.collection('users').requestEmailChange(newEmail), true);
    const mail = await sink.waitFor(mailTo(newEmail));
    assertMail(mail, { to: newEmail, subject: SUBJECT.emailChange });
    const token = mailToken(mail, '/confirm-email-change/');
    const tpl = await collectionTemplate('users', 'confirmEmailChangeTemplate');
    assert.equal(tpl.subject, 'Confirm your {APP_NAME} new email address');
    const body = resolveTemplate(tpl.body, { '{APP_NAME}': MAIL_META.appName, '{APP_URL}': MAIL_META.appURL, '{TOKEN}': token });
    assert.ok(mail.html.includes(body), `resolved default template in:\n${mail.html}`);
    assert.ok(mail.text.includes(`${LINK.emailChange}${token}`));
    const claims = assertToken(token, {
      type: 'emailChange',
      keys: ['collectionId', 'email', 'exp', 'id', 'newEmail', 'type'],
      record: user,
      collectionId: USERS_ID,
      durationSec: 1800,
    });
    assert.equal(claims.email, user.email);
    assert.equal(claims.newEmail, newEmail);
    assert.equal(sink.messages().filter(mailTo(user.email)).length, 0, 'nothing is sent to the old address');

    // nothing changes before the confirmation
    assert.equal((await srv.pb.collection('users').getOne(user.id)).email, user.email);

    assert.equal(await srv.client().collection('users').confirmEmailChange(token, PW), true);
    const after = await srv.pb.collection('users').getOne(user.id);
    assert.equal(after.email, newEmail);
    assert.equal(after.verified, true);

    const res = await srv.client().collection('users').authWithPassword(newEmail, PW);
    assert.equal(res.record.id, user.id);
    await rejects(srv.client().collection('users').authWithPassword(user.email, PW), 400, errBody(400, 'Failed to authenticate.'));
    await rejects(
      srv.client(oldToken).collection('users').authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );

    // the token is single-use (the record's token key changed)
    const err = await rejects(srv.client().collection('users').confirmEmailChange(token, PW), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, {
        password: fieldErr('validation_invalid_password', 'Missing or invalid auth record password.'),
        token: fieldErr('validation_invalid_token', 'Invalid or expired token.'),
      }),
    );
  });

  test('confirm with a wrong or missing password -> 400; the token stays usable', async () => {
    const user = await newUser(srv);
    const newEmail = uniqueEmail('new');
    const c = await loginClient(srv, user);
    await c.collection('users').requestEmailChange(newEmail);
    const token = mailToken(await sink.waitFor(mailTo(newEmail)), '/confirm-email-change/');

    let err = await rejects(srv.client().collection('users').confirmEmailChange(token, 'wrong-password'), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, { password: fieldErr('validation_invalid_password', 'Missing or invalid auth record password.') }),
    );
    err = await rejects(srv.client().collection('users').confirmEmailChange(token, ''), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { password: fieldErr('validation_required', 'Cannot be blank.') }));
    assert.equal((await srv.pb.collection('users').getOne(user.id)).email, user.email);

    assert.equal(await srv.client().collection('users').confirmEmailChange(token, PW), true);
    assert.equal((await srv.pb.collection('users').getOne(user.id)).email, newEmail);
  });

  test('confirm with a non-email-change token -> invalid payload (and the password cannot be checked)', async () => {
    const user = await newUser(srv);
    const c = await loginClient(srv, user);
    for (const token of ['garbage', c.authStore.token]) {
      const err = await rejects(srv.client().collection('users').confirmEmailChange(token, PW), 400);
      assert.deepEqual(
        err.response,
        errBody(400, VALIDATION, {
          password: fieldErr('validation_invalid_password', 'Missing or invalid auth record password.'),
          token: fieldErr('validation_invalid_token_payload', 'Invalid token payload - newEmail must be set.'),
        }),
      );
    }
  });

  test('new email already taken: rejected at request time; taken after the request -> rejected at confirm', async () => {
    const user = await newUser(srv);
    const taken = await newUser(srv);
    const c = await loginClient(srv, user);
    let err = await rejects(c.collection('users').requestEmailChange(taken.email), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { newEmail: fieldErr('validation_invalid_new_email', 'Invalid new email address.') }));
    await sink.expectNone(mailTo(taken.email, SUBJECT.emailChange), 500);

    const later = uniqueEmail('late');
    await c.collection('users').requestEmailChange(later);
    const token = mailToken(await sink.waitFor(mailTo(later)), '/confirm-email-change/');
    await srv.pb.collection('users').create({ email: later, password: PW, passwordConfirm: PW });
    err = await rejects(srv.client().collection('users').confirmEmailChange(token, PW), 400);
    assert.deepEqual(
      err.response,
      errBody(400, VALIDATION, {
        password: fieldErr('validation_invalid_password', 'Missing or invalid auth record password.'),
        token: fieldErr('validation_invalid_token_email', 'The new email address is invalid.'),
      }),
    );
    assert.equal((await srv.pb.collection('users').getOne(user.id)).email, user.email);
  });

  test('request validation: guest, same email, invalid, blank, superusers, another collection', async () => {
    const user = await newUser(srv);
    const c = await loginClient(srv, user);
    await rejects(
      srv.client().collection('users').requestEmailChange(uniqueEmail()),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );
    let err = await rejects(c.collection('users').requestEmailChange(user.email), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { newEmail: fieldErr('validation_not_in_invalid', 'Must not be in list.') }));
    err = await rejects(c.collection('users').requestEmailChange('nope'), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { newEmail: fieldErr('validation_is_email', 'Must be a valid email address.') }));
    err = await rejects(c.collection('users').requestEmailChange(''), 400);
    assert.deepEqual(err.response, errBody(400, VALIDATION, { newEmail: fieldErr('validation_required', 'Cannot be blank.') }));
    await rejects(
      srv.pb.collection('_superusers').requestEmailChange('new-admin@example.com'),
      400,
      errBody(400, 'All superusers can change their emails directly.'),
    );
    await rejects(
      c.collection('others').requestEmailChange(uniqueEmail()),
      403,
      errBody(403, 'The request requires auth record from users collection.'),
    );
  });
});

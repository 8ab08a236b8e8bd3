// "Your account" (/_/account): a superuser changes their own password in the
// dashboard, scoped superusers included (they cannot open _superusers).
// The current password is required; errors show next to their inputs and
// change nothing; a change ends the superuser's API tokens and other
// dashboard sessions but keeps this one. A superuser turns an authenticator
// app (TOTP) on and off there, and the sign-in then asks for its code (or a
// recovery code). Every outcome is checked through REST; the page is
// axe-clean in both themes and fits 375 px.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, newPage, signIn, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const CLERK = { email: 'clerk@example.com', password: 'clerk-pass-123' };
const NEW_PASSWORD = 'clerk-new-pass-456';
const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await s.pb.collections.create({ name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collection('posts').create({ title: 'hello' });
  const clerk = await s.pb.collection('_superusers').create({ ...CLERK, passwordConfirm: CLERK.password });
  await s.pb.collection('_superuserScopes').create({ superuser: clerk.id, collections: ['posts'] });
});
const b = useBrowser();

/** RFC 6238 (SHA-1, 6 digits, 30 s) for a base32 secret. */
function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = crypto.createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Signs in with a password and stops at the second step. */
async function passwordStep(page, email, password) {
  await page.goto('/_/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await submit(page, 'Sign in');
}

/** A REST client signed in as the clerk with `password`. */
async function clerkClient(password) {
  const pb = srv.client();
  await pb.collection('_superusers').authWithPassword(CLERK.email, password);
  return pb;
}

test('a scoped superuser changes their own password from the dashboard; REST agrees', b, async () => {
  if (skip) return;
  const oldToken = await clerkClient(CLERK.password);
  const other = await newPage(b, srv);
  await signIn(other, { ...CLERK, next: '/_/collections/posts' });

  const page = await newPage(b, srv);
  await signIn(page, { ...CLERK, next: '/_/collections/posts' });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await page.getByText('limited to the records of posts').waitFor();

  // A wrong current password: the error is next to it, focus is on it, nothing changes.
  await page.getByLabel('Current password').fill('not-my-password');
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('New password again').fill(NEW_PASSWORD);
  await submit(page, 'Change password');
  const current = page.getByLabel('Current password');
  assert.equal(await current.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#currentPassword-err').innerText(), 'The current password is not correct.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'currentPassword');
  await clerkClient(CLERK.password);

  // The confirmation must match (the records service's own check).
  await current.fill(CLERK.password);
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('New password again').fill('something-else-789');
  await submit(page, 'Change password');
  assert.equal(await page.getByLabel('New password again').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#passwordConfirm-err').innerText(), /match/i);
  await clerkClient(CLERK.password);

  // Too short: the password field's own rule.
  await current.fill(CLERK.password);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await submit(page, 'Change password');
  assert.equal(await page.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'), 'true');
  await clerkClient(CLERK.password);

  // The change.
  await current.fill(CLERK.password);
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('New password again').fill(NEW_PASSWORD);
  await submit(page, 'Change password');
  await page.getByRole('status').filter({ hasText: 'Password changed.' }).waitFor();

  // REST: the new password signs in, the old one does not, the old token is refused.
  const pb = await clerkClient(NEW_PASSWORD);
  assert.equal((await pb.collection('posts').getFullList()).length, 1);
  await assert.rejects(clerkClient(CLERK.password), (e) => e.status === 400);
  await assert.rejects(oldToken.collection('_superusers').authRefresh(), (e) => e.status === 401);
  await assert.rejects(oldToken.collection('posts').getFullList(), (e) => e.status === 403, 'the old token is a guest now');

  // This session goes on; the other one ends on its next request.
  await page.goto('/_/collections/posts');
  await page.getByRole('cell', { name: 'hello' }).waitFor();
  await other.goto('/_/collections/posts');
  assert.match(new URL(other.url()).pathname, /^\/_\/login/);
  await signIn(other, { email: CLERK.email, password: NEW_PASSWORD, next: '/_/collections/posts' });
  await other.getByRole('cell', { name: 'hello' }).waitFor();
});

test('the account page needs a session and the CSRF token', b, async () => {
  if (skip) return;
  const guest = await newPage(b, srv);
  await guest.goto('/_/account');
  assert.match(new URL(guest.url()).pathname, /^\/_\/login/);
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/account' });
  const res = await page.request.post('/_/account', {
    form: { currentPassword: 'Sup3r-secret-pw', password: 'whatever-123456', passwordConfirm: 'whatever-123456' },
  });
  assert.equal(res.status(), 403);
  await srv.client().collection('_superusers').authWithPassword('admin@example.com', 'Sup3r-secret-pw');
});

test('the account page, with and without errors, is axe-clean in both themes and fits 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, '/_/account');
  await checkLayout(b, srv, '/_/account', async (page) => {
    await page.getByLabel('Current password').fill('wrong-password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await submit(page, 'Change password');
    await page.locator('#currentPassword-err').waitFor();
  });
  await checkLayout(b, srv, '/_/account', async (page) => {
    await submit(page, 'Set up an authenticator app');
    await page.getByTestId('totp-secret').waitFor();
  });
});

test('authenticator app: turned on in the account page, then sign-in asks for its code or a recovery code (REST agrees)', b, async () => {
  if (skip) return;
  const who = { email: 'otp-admin@example.com', password: 'otp-admin-pass-1' };
  await srv.pb.collection('_superusers').create({ ...who, passwordConfirm: who.password });
  const page = await newPage(b, srv);
  await signIn(page, { ...who, next: '/_/account' });
  await submit(page, 'Set up an authenticator app');
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  assert.match(secret, /^[A-Z2-7]+=*$/);
  assert.match(await page.getByRole('link', { name: 'Open in an authenticator app' }).getAttribute('href'), /^otpauth:\/\/totp\//);
  // A wrong code: the error is next to the input, the secret is still shown, nothing is on.
  await page.getByLabel('Code from the app').fill('000000');
  await submit(page, 'Turn on the authenticator app');
  assert.equal(await page.getByLabel('Code from the app').getAttribute('aria-invalid'), 'true');
  assert.equal((await page.getByTestId('totp-secret').innerText()).trim(), secret);
  await srv.client().collection('_superusers').authWithPassword(who.email, who.password);
  // The right code: on, with ten recovery codes shown once.
  await page.getByLabel('Code from the app').fill(totp(secret));
  await submit(page, 'Turn on the authenticator app');
  const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allInnerTexts();
  assert.equal(codes.length, 10);
  await assert.rejects(srv.client().collection('_superusers').authWithPassword(who.email, who.password), (e) => e.status === 401 && typeof e.response.mfaId === 'string');

  // Sign-in: password, then the app's code (a wrong one is refused).
  const second = await newPage(b, srv);
  await passwordStep(second, who.email, who.password);
  assert.equal(new URL(second.url()).pathname, '/_/login/mfa');
  await second.getByLabel('Authenticator code').fill('000000');
  await submit(second, 'Verify');
  await second.getByRole('alert').filter({ hasText: 'Invalid or expired code.' }).waitFor();
  await second.getByLabel('Authenticator code').fill(totp(secret));
  await submit(second, 'Verify');
  assert.ok(!new URL(second.url()).pathname.startsWith('/_/login'), second.url());
  await second.getByRole('navigation', { name: 'Main' }).waitFor();
  // Or a recovery code, once.
  const third = await newPage(b, srv);
  await passwordStep(third, who.email, who.password);
  await third.getByLabel('Authenticator code').fill(codes[0]);
  await submit(third, 'Verify');
  await third.getByRole('navigation', { name: 'Main' }).waitFor();

  // Turned off with a recovery code: the API signs in with the password alone again.
  await page.goto('/_/account');
  await page.getByLabel('Code from the app, or a recovery code').fill(codes[0]);
  await submit(page, 'Turn off the authenticator app');
  assert.equal(await page.getByLabel('Code from the app, or a recovery code').getAttribute('aria-invalid'), 'true', 'a used recovery code is refused');
  await page.getByLabel('Code from the app, or a recovery code').fill(codes[1]);
  await submit(page, 'Turn off the authenticator app');
  await page.getByText('The authenticator app is turned off.').first().waitFor();
  await srv.client().collection('_superusers').authWithPassword(who.email, who.password);
});

test('current-password guesses are limited to 20 a minute per superuser (then 429, nothing changed)', b, async () => {
  if (skip) return;
  const who = { email: 'guessed@example.com', password: 'guessed-pass-1' };
  await srv.pb.collection('_superusers').create({ ...who, passwordConfirm: who.password });
  const page = await newPage(b, srv);
  await signIn(page, { ...who, next: '/_/account' });
  const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
  const guess = (currentPassword) => page.request.post('/_/account', {
    form: { _csrf: csrf, action: 'password', currentPassword, password: 'new-pass-12345', passwordConfirm: 'new-pass-12345' },
    maxRedirects: 0,
  });
  for (let i = 0; i < 20; i++) assert.equal((await guess(`wrong-${i}`)).status(), 400, `guess ${i}`);
  const limited = await guess(who.password);
  assert.equal(limited.status(), 429);
  assert.match(await limited.text(), /Too many attempts/);
  await srv.client().collection('_superusers').authWithPassword(who.email, who.password);
});

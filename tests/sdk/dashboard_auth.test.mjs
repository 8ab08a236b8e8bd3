// Dashboard sign-in and session security (DASHBOARD.md items 1-3, 6, 7):
// the auth gate, the cookie (HttpOnly, SameSite, Path=/_/, rotated at sign-in,
// no token in JS), CSRF (token + Origin/Sec-Fetch-Site), the cookie never
// authenticating /api/*, sign-out and revocation by password change or
// deletion, and the CSP. Each UI outcome is cross-checked through the REST API.
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, cairnOnly, IS_POCKETBASE, SUPERUSER_EMAIL } from './harness.mjs';
import { useBrowser, newPage, signIn, test } from './dashboard_fixtures.mjs';

const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'zz_secret_coll', type: 'base', fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collection('zz_secret_coll').create({ title: 'zz_secret_value' });
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

async function appName() {
  return (await srv.pb.settings.getAll()).meta.appName;
}

test('signed-out pages redirect to sign-in and show no data', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await page.goto('/_/');
  assert.equal(new URL(page.url()).pathname, '/_/login');
  assert.ok(!(await page.content()).includes('zz_secret_coll'));
  const r = await page.request.get('/_/collections/zz_secret_coll?filter=x', { maxRedirects: 0 });
  assert.equal(r.status(), 303);
  assert.equal(r.headers().location, '/_/login?next=/_/collections/zz_secret_coll%3Ffilter%3Dx');
  assert.ok(!(await r.text()).includes('zz_secret'));
  await page.goto('/_/collections/zz_secret_coll/records/new');
  assert.equal(new URL(page.url()).pathname, '/_/login');
  // Only the requested address comes back (as `next`), never data.
  const html = (await page.content()).replace(/name="next" value="[^"]*"/, '');
  assert.ok(!html.includes('zz_secret'), html);
});

test('sign-in: cookie is HttpOnly, SameSite=Lax, Path=/_/, rotated; no token in storage', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await page.goto('/_/login?next=%2F_%2Fcollections%2Fzz_secret_coll');
  const before = (await page.context().cookies()).find((c) => c.name === 'cairn_admin');
  assert.ok(before, 'the sign-in form has a pre-session for its CSRF token');
  await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
  await page.getByLabel('Password').fill('Sup3r-secret-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/_/collections/zz_secret_coll');
  await page.getByRole('cell', { name: 'zz_secret_value' }).waitFor();
  const cookie = (await page.context().cookies()).find((c) => c.name === 'cairn_admin');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/_/');
  assert.notEqual(cookie.value, before.value, 'session id changes at sign-in');
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!storage.includes(cookie.value), 'no session id visible to scripts');
  assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(storage), 'no JWT in storage');
  // The pre-sign-in session id is dead.
  const ctx2 = await b.browser.newContext({ baseURL: srv.url });
  await ctx2.addCookies([{ ...before }]);
  const p2 = await ctx2.newPage();
  b.pages.add(p2);
  await p2.goto('/_/collections');
  assert.equal(new URL(p2.url()).pathname, '/_/login');
});

test('wrong password: inline error, same answer for unknown emails', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await page.goto('/_/login');
  await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const known = await alert.textContent();
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(await page.getByRole('alert').textContent(), known);
  assert.match(known, /Invalid email or password/);
  assert.equal(new URL(page.url()).pathname, '/_/login');
});

test('CSRF: no token, foreign Origin or cross-site fetch metadata are refused and change nothing', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/settings' });
  const name = await appName();
  const token = await page.locator('input[name="_csrf"]').first().inputValue();
  const form = { 'meta.appName': 'Hacked', 'meta.appURL': 'http://localhost:8090', 'meta.senderAddress': 'a@b.cd' };
  let r = await page.request.post('/_/settings', { form, maxRedirects: 0 });
  assert.equal(r.status(), 403, 'no token');
  r = await page.request.post('/_/settings', { form: { ...form, _csrf: 'x'.repeat(token.length) }, maxRedirects: 0 });
  assert.equal(r.status(), 403, 'wrong token');
  r = await page.request.post('/_/settings', { form: { ...form, _csrf: token }, headers: { 'sec-fetch-site': 'cross-site' }, maxRedirects: 0 });
  assert.equal(r.status(), 403, 'cross-site');
  r = await page.request.post('/_/settings', { form: { ...form, _csrf: token }, headers: { origin: 'http://evil.example' }, maxRedirects: 0 });
  assert.equal(r.status(), 403, 'foreign origin');
  assert.equal(await appName(), name, 'nothing changed (REST)');
  // The cookie does not authenticate the API.
  const status = await page.evaluate(async () => (await fetch('/api/collections')).status);
  assert.equal(status, 401);
  // A form auto-submitted from another origin (127.0.0.2) is refused.
  const port = new URL(srv.url).port;
  const evil = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form id=f method=post action="http://127.0.0.1:${port}/_/settings"><input name="meta.appName" value="Hacked"><input name="_csrf" value="${token}"></form><script>f.submit()</script>`);
  });
  await new Promise((r2) => evil.listen(0, '127.0.0.2', r2));
  try {
    const done = page.waitForURL((u) => u.host === `127.0.0.1:${port}`);
    await page.goto(`http://127.0.0.2:${evil.address().port}/`);
    await done;
    await page.waitForLoadState();
  } finally {
    evil.close();
  }
  assert.equal(await appName(), name, 'cross-origin form changed nothing (REST)');
  // And with the token, the same page can save.
  await page.goto('/_/settings');
  await page.getByLabel('Application name').fill('Dashboard Test App');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').first().waitFor();
  assert.equal(await appName(), 'Dashboard Test App');
  assert.match(await page.title(), /Dashboard Test App/);
});

test('sign-out ends the session on the server (replayed cookie is refused)', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections' });
  const cookies = await page.context().cookies();
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.waitForURL('**/_/login');
  await page.context().addCookies(cookies);
  await page.goto('/_/collections');
  assert.equal(new URL(page.url()).pathname, '/_/login');
});

test('password change and deletion of the superuser end their sessions', b, async () => {
  if (skip) return;
  const email = 'second@example.com';
  const su = await srv.pb.collection('_superusers').create({ email, password: 'second-pass-1', passwordConfirm: 'second-pass-1' });
  const a = await newPage(b, srv);
  await signIn(a, { email, password: 'second-pass-1', next: '/_/collections' });
  await srv.pb.collection('_superusers').update(su.id, { password: 'second-pass-2', passwordConfirm: 'second-pass-2' });
  await a.goto('/_/collections');
  assert.equal(new URL(a.url()).pathname, '/_/login', 'password change ended the session');
  await signIn(a, { email, password: 'second-pass-2', next: '/_/collections' });
  assert.equal(new URL(a.url()).pathname, '/_/collections');
  await srv.pb.collection('_superusers').delete(su.id);
  await a.reload();
  assert.equal(new URL(a.url()).pathname, '/_/login', 'deletion ended the session');
});

test("Reset issued tokens: the record's tokens are refused (REST), a superuser's other session ends", b, async () => {
  if (skip) return;
  const email = 'tokens@example.com';
  const user = await srv.pb.collection('users').create({ email, password: 'tokens-pass-1', passwordConfirm: 'tokens-pass-1' });
  const { token } = await srv.client().collection('users').authWithPassword(email, 'tokens-pass-1');
  const refresh = async () => (await srv.api('POST', '/api/collections/users/auth-refresh', { token })).status;
  assert.equal(await refresh(), 200);
  const a = await newPage(b, srv);
  await signIn(a, { next: `/_/collections/users/records/${user.id}` });
  const dialog = a.getByRole('dialog');
  await a.getByRole('button', { name: 'Reset issued tokens' }).click();
  await dialog.getByRole('button', { name: /Cancel/ }).click();
  assert.equal(await refresh(), 200, 'Cancel resets nothing');
  await a.getByRole('button', { name: 'Reset issued tokens' }).click();
  await Promise.all([a.waitForEvent('load'), dialog.getByRole('button', { name: /Confirm/ }).click()]);
  await a.getByRole('status').filter({ hasText: 'Issued tokens reset' }).waitFor();
  assert.equal(await refresh(), 401, 'the old token is refused');
  assert.ok((await srv.client().collection('users').authWithPassword(email, 'tokens-pass-1')).token, 'signing in again works');
  // A superuser's: their dashboard session in another browser ends.
  const other = 'third@example.com';
  const su = await srv.pb.collection('_superusers').create({ email: other, password: 'third-pass-1', passwordConfirm: 'third-pass-1' });
  const tabB = await newPage(b, srv);
  await signIn(tabB, { email: other, password: 'third-pass-1', next: '/_/collections' });
  await a.goto(`/_/collections/_superusers/records/${su.id}`);
  await a.getByRole('button', { name: 'Reset issued tokens' }).click();
  assert.match(await dialog.innerText(), /dashboard sessions end/);
  await Promise.all([a.waitForEvent('load'), dialog.getByRole('button', { name: /Confirm/ }).click()]);
  await a.getByRole('status').filter({ hasText: 'Issued tokens reset' }).waitFor();
  await tabB.goto('/_/collections');
  assert.equal(new URL(tabB.url()).pathname, '/_/login', 'the reset ended the other session');
  assert.equal(new URL(a.url()).pathname, `/_/collections/_superusers/records/${su.id}`, 'the acting session goes on');
  const post = await a.request.post(`/_/collections/users/records/${user.id}/reset-tokens`, { maxRedirects: 0 });
  assert.equal(post.status(), 403, 'refused without the CSRF token');
});

test('every dashboard page carries a strict CSP', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections' });
  for (const p of ['/_/login', '/_/collections', '/_/collections/zz_secret_coll', '/_/settings', '/_/collections/new']) {
    const r = await page.request.get(p);
    const csp = r.headers()['content-security-policy'];
    assert.ok(csp, `CSP on ${p}`);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
  }
});

// Last in this file: it blocks sign-in from 127.0.0.1 for a minute.
test('password guessing is throttled (429 message) whatever the rate-limit settings', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await page.goto('/_/login');
  const token = await page.locator('input[name="_csrf"]').inputValue();
  const statuses = [];
  for (let i = 0; i < 22; i++) {
    const r = await page.request.post('/_/login', { form: { _csrf: token, email: SUPERUSER_EMAIL, password: `guess-${i}` }, maxRedirects: 0 });
    statuses.push(r.status());
  }
  // 20 attempts per IP per minute (this file's earlier sign-ins count too).
  const first = statuses.indexOf(429);
  assert.ok(first > 0, statuses.join(','));
  assert.ok(statuses.slice(0, first).every((s) => s === 400), statuses.join(','));
  assert.ok(statuses.slice(first).every((s) => s === 429), statuses.join(','));
  await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
  await page.getByLabel('Password').fill('Sup3r-secret-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Too many attempts' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/_/login', 'even the right password waits');
});

// Dashboard auth config (issue 16 scope 2): OAuth2 providers (the client
// secret is write-only and kept when left blank) and the five mail templates
// with a preview; the server's PocketBase-shaped errors appear next to their
// inputs. Every save is cross-checked through REST.
import assert from 'node:assert/strict';
import { useServer, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const srv = useServer(async (s) => {
  await s.pb.settings.update({ meta: { appName: 'Acme', appURL: 'https://acme.test' } });
});
const b = useBrowser();
const PATH = '/_/collections/users/auth-config';

test('OAuth2 provider: added, secret never shown back, kept when left blank, removed (REST)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/users/edit');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'OAuth2 providers and mail templates' }).click()]);
  assert.equal(new URL(page.url()).pathname, PATH);
  await page.getByLabel('OAuth2 sign-in enabled').check();
  // The picker offers PocketBase's 32 providers, by display name and name.
  const options = await page.getByLabel('Provider', { exact: true }).locator('option').allTextContents();
  assert.equal(options.length, 33, options.join(', '));
  assert.equal(options[0], '(none)');
  for (const o of ['Discord (discord)', 'X/Twitter (twitter)', 'Microsoft (microsoft)', 'OIDC (oidc3)']) assert.ok(options.includes(o), o);
  await page.getByLabel('Provider', { exact: true }).selectOption('github');
  await page.getByLabel('Client ID', { exact: true }).fill('gh-client');
  await page.getByLabel('Client secret', { exact: true }).fill('gh-very-secret');
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  let users = await srv.pb.collections.getOne('users');
  assert.equal(users.oauth2.enabled, true);
  assert.equal(users.oauth2.providers.length, 1);
  assert.equal(users.oauth2.providers[0].name, 'github');
  assert.equal(users.oauth2.providers[0].clientId, 'gh-client');
  assert.equal(users.oauth2.providers[0].clientSecret, undefined, 'REST never returns the secret');
  const methods = await srv.pb.collection('users').listAuthMethods();
  assert.deepEqual(methods.oauth2.providers.map((p) => p.name), ['github']);
  // The page never shows the secret, only that one is stored.
  assert.equal((await page.content()).includes('gh-very-secret'), false);
  const secret = page.getByLabel('Client secret (github), stored: leave blank to keep');
  assert.equal(await secret.inputValue(), '');
  // Saving again with the secret blank keeps it (a missing secret is refused).
  await page.getByLabel('Client ID (github)').fill('gh-client-2');
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  users = await srv.pb.collections.getOne('users');
  assert.equal(users.oauth2.providers[0].clientId, 'gh-client-2');
  // A provider without a client id: the error is next to its input, nothing saved.
  await page.getByLabel('Provider', { exact: true }).selectOption('google');
  await submit(page, 'Save auth config');
  const id = page.getByLabel('Client ID (google)');
  assert.equal(await id.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator(`#${await id.getAttribute('aria-describedby')}`).textContent(), /Cannot be blank/);
  assert.equal((await page.getByLabel('Client secret (google)').getAttribute('aria-invalid')), 'true');
  assert.equal((await srv.pb.collections.getOne('users')).oauth2.providers.length, 1);
  // Remove it.
  await page.goto(PATH);
  await page.getByLabel('Remove provider github').check();
  await submit(page, 'Save auth config');
  assert.deepEqual((await srv.pb.collections.getOne('users')).oauth2.providers, []);
});

test('mail templates: preview with sample values (not saved), save, blank refused next to the field', b, async () => {
  if (skip) return;
  const before = await srv.pb.collections.getOne('users');
  const page = await signedInPage(b, srv);
  await page.goto(PATH);
  await page.getByLabel('Verification subject').fill('Verify {APP_NAME} for {RECORD:email}');
  await page.getByLabel('Verification body (HTML)').fill('<p>Go to {APP_URL}/v/{TOKEN}</p><script>window.top.__x=1</script><img src=x onerror="window.top.__x=2">');
  await submit(page, 'Preview Verification');
  assert.equal(await page.locator('[data-preview-subject]').textContent(), 'Verify Acme for user@example.com');
  const frame = page.frameLocator('iframe[title="Preview of the Verification mail"]');
  await frame.getByText('Go to https://acme.test/v/SAMPLE_TOKEN').waitFor();
  assert.equal(await page.evaluate(() => window.__x), undefined, 'preview scripts do not run');
  assert.equal((await srv.pb.collections.getOne('users')).verificationTemplate.subject, before.verificationTemplate.subject, 'preview saves nothing');
  // The form keeps the typed text; save it.
  assert.equal(await page.getByLabel('Verification subject').inputValue(), 'Verify {APP_NAME} for {RECORD:email}');
  await submit(page, 'Save auth config');
  const users = await srv.pb.collections.getOne('users');
  assert.equal(users.verificationTemplate.subject, 'Verify {APP_NAME} for {RECORD:email}');
  assert.match(users.verificationTemplate.body, /^<p>Go to \{APP_URL\}\/v\/\{TOKEN\}<\/p>/);
  // OTP and login alert templates live under otp/authAlert.
  await page.getByLabel('One-time password (OTP) subject').fill('Your code for {APP_NAME}');
  await page.getByLabel('Login alert body (HTML)').fill('');
  await submit(page, 'Save auth config');
  const body = page.getByLabel('Login alert body (HTML)');
  assert.equal(await body.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#t-alert-body-err').textContent(), /Cannot be blank/);
  const after = await srv.pb.collections.getOne('users');
  assert.equal(after.otp.emailTemplate.subject, before.otp.emailTemplate.subject, 'nothing saved on error');
  await body.fill('<p>New sign-in: {ALERT_INFO}</p>');
  await submit(page, 'Save auth config');
  const saved = await srv.pb.collections.getOne('users');
  assert.equal(saved.otp.emailTemplate.subject, 'Your code for {APP_NAME}');
  assert.equal(saved.authAlert.emailTemplate.body, '<p>New sign-in: {ALERT_INFO}</p>');
});

test('auth config: base collections have none; CSRF enforced', b, async () => {
  if (skip) return;
  await srv.pb.collections.create({ name: 'plain', type: 'base', fields: [{ name: 't', type: 'text' }] });
  const page = await signedInPage(b, srv);
  const r = await page.goto('/_/collections/plain/auth-config');
  assert.equal(r.status(), 404);
  const post = await page.request.post(PATH, { form: { 'oauth2.enabled': 'true', providers: '0' } });
  assert.equal(post.status(), 403);
});

test('auth config: axe clean with a preview open in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, PATH, async (page) => {
    await submit(page, 'Preview Password reset');
    await page.locator('[data-preview]').waitFor();
  });
});

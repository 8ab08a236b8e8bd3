// Dashboard: OAuth2 `mappedFields` on the auth config page (issue 16 scope
// 2). Only fields the sign-in can fill are offered; the mapping saved in the
// page is what `GET /api/collections/NAME` returns, and a real OAuth2
// sign-up (the OpenID Connect provider process of auth_oauth2, oidc.mjs)
// fills those fields (a `file` field gets the downloaded picture,
// auth_oauth2_avatar). A stored mapping Cairn does not fill stays selected
// and is kept on save.
import assert from 'node:assert/strict';
import { IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { submit } from './dashboard_data.mjs';
import { useOAuthServer } from './oauth2_setup.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const { srv, idp, providerConfig, newIdpUser, oauthLogin } = useOAuthServer();
const b = useBrowser();

/** The option values of the select labelled `label`. */
async function options(page, label) {
  return page.getByLabel(label, { exact: true }).locator('option').evaluateAll((os) => os.map((o) => o.value));
}

test('OAuth2 mapped fields: fitting fields offered, saved (REST), filled by a sign-up', b, async () => {
  if (skip) return;
  await srv.pb.collections.create({
    name: 'dmembers',
    type: 'auth',
    createRule: '',
    listRule: 'id = @request.auth.id',
    viewRule: 'id = @request.auth.id',
    fields: [
      { name: 'nick', type: 'text' },
      { name: 'handle', type: 'text' },
      { name: 'pic', type: 'url' },
      { name: 'extId', type: 'text' },
      { name: 'count', type: 'number' },
      { name: 'photo', type: 'file', maxSelect: 1 },
    ],
    oauth2: { enabled: true, providers: [providerConfig('oidc')] },
  });
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/dmembers/auth-config');
  for (const label of ['User id from the provider', 'Name from the provider', 'Username from the provider']) {
    assert.deepEqual(await options(page, label), ['', 'nick', 'handle', 'extId'], label);
  }
  assert.deepEqual(await options(page, 'Avatar URL from the provider'), ['', 'nick', 'handle', 'pic', 'extId', 'photo']);
  await page.getByLabel('User id from the provider', { exact: true }).selectOption('extId');
  await page.getByLabel('Name from the provider', { exact: true }).selectOption('nick');
  await page.getByLabel('Username from the provider', { exact: true }).selectOption('handle');
  await page.getByLabel('Avatar URL from the provider', { exact: true }).selectOption('pic');
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  const mapped = { id: 'extId', name: 'nick', username: 'handle', avatarURL: 'pic' };
  assert.deepEqual((await srv.pb.collections.getOne('dmembers')).oauth2.mappedFields, mapped);
  assert.equal(await page.getByLabel('Name from the provider', { exact: true }).inputValue(), 'nick');

  // A sign-up through the provider fills the mapped fields (the page kept the client secret too).
  const user = await newIdpUser('dash', { preferred_username: 'dash_handle', picture: 'https://img.example.test/dash.png' });
  const { res } = await oauthLogin(user.sub, { collection: 'dmembers' });
  assert.equal(res.meta.isNew, true);
  const rec = await srv.pb.collection('dmembers').getOne(res.record.id);
  assert.equal(rec.nick, user.name);
  assert.equal(rec.handle, 'dash_handle');
  assert.equal(rec.pic, 'https://img.example.test/dash.png');
  assert.equal(rec.extId, user.sub);

  // Unmapping: "(not mapped)" stores "".
  await page.getByLabel('Avatar URL from the provider', { exact: true }).selectOption('');
  await submit(page, 'Save auth config');
  assert.deepEqual((await srv.pb.collections.getOne('dmembers')).oauth2.mappedFields, { ...mapped, avatarURL: '' });
});

test('OAuth2 mapped fields: the users avatar file field is offered as a download; a mapping Cairn cannot fill stays selected', b, async () => {
  if (skip) return;
  assert.equal((await srv.pb.collections.getOne('users')).oauth2.mappedFields.avatarURL, 'avatar');
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/users/auth-config');
  const avatar = page.getByLabel('Avatar URL from the provider', { exact: true });
  assert.equal(await avatar.inputValue(), 'avatar');
  assert.equal(await avatar.locator('option:checked').textContent(), 'avatar (file: the picture is downloaded)');
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  const users = await srv.pb.collections.getOne('users');
  assert.equal(users.oauth2.mappedFields.avatarURL, 'avatar');
  assert.equal(users.oauth2.mappedFields.name, 'name');

  // A mapping to a field the sign-in cannot fill (a number) stays selected, said so, and is kept.
  const dm = await srv.pb.collections.getOne('dmembers');
  await srv.pb.collections.update('dmembers', { oauth2: { ...dm.oauth2, mappedFields: { ...dm.oauth2.mappedFields, id: 'count' } } });
  await page.goto('/_/collections/dmembers/auth-config');
  const id = page.getByLabel('User id from the provider', { exact: true });
  assert.equal(await id.locator('option:checked').textContent(), 'count (number field: not filled by Cairn)');
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  assert.equal((await srv.pb.collections.getOne('dmembers')).oauth2.mappedFields.id, 'count');
});

test('OAuth2 provider extra: JWKS URL and allowed issuers saved (REST) and used by an id_token sign-up', b, async () => {
  if (skip) return;
  await srv.pb.collections.create({
    name: 'xmembers',
    type: 'auth',
    createRule: '',
    fields: [{ name: 'nick', type: 'text' }],
    oauth2: { enabled: true, providers: [providerConfig('oidc', { extra: { keep: 'me' } })], mappedFields: { name: 'nick' } },
  });
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/xmembers/auth-config');
  await page.getByLabel("User info URL (blank: the provider's) (oidc)").fill('');
  await page.getByLabel('JWKS URL (OIDC, checks the id_token signature) (oidc)').fill(`${idp.url}/jwks`);
  await page.getByLabel('Allowed issuers (OIDC, comma-separated) (oidc)').fill(`https://other.example.test, ${idp.url}`);
  await submit(page, 'Save auth config');
  await page.getByText('Auth config saved.').first().waitFor();
  const [p] = (await srv.pb.collections.getOne('xmembers')).oauth2.providers;
  assert.equal(p.userInfoURL, '');
  assert.deepEqual(p.extra, { keep: 'me', jwksURL: `${idp.url}/jwks`, issuers: ['https://other.example.test', idp.url] });
  assert.equal(await page.getByLabel('Allowed issuers (OIDC, comma-separated) (oidc)').inputValue(), `https://other.example.test, ${idp.url}`);

  // The user now comes from the checked id_token.
  const user = await newIdpUser('xid');
  const { res } = await oauthLogin(user.sub, { collection: 'xmembers' });
  assert.equal(res.meta.isNew, true);
  assert.equal((await srv.pb.collection('xmembers').getOne(res.record.id)).nick, user.name);

  // An issuer list without the provider's issuer refuses the next sign-up; blanks remove the keys.
  await page.getByLabel('Allowed issuers (OIDC, comma-separated) (oidc)').fill('https://other.example.test');
  await submit(page, 'Save auth config');
  const other = await newIdpUser('xid');
  await assert.rejects(oauthLogin(other.sub, { collection: 'xmembers' }), (e) => e.status === 400 && e.response.message === 'Failed to fetch OAuth2 user.');
  await page.getByLabel('JWKS URL (OIDC, checks the id_token signature) (oidc)').fill('');
  await page.getByLabel('Allowed issuers (OIDC, comma-separated) (oidc)').fill('');
  await submit(page, 'Save auth config');
  assert.deepEqual((await srv.pb.collections.getOne('xmembers')).oauth2.providers[0].extra, { keep: 'me' });
});

// Scoped superusers (DASHBOARD.md item 34): a full superuser limits another
// one to the records of chosen collections in the dashboard (a
// `_superuserScopes` record made with the record editor); that superuser
// then sees only those collections, no Settings/Logs/SQL, gets the 403 page
// on every other page the full superuser's navigation reaches (the crawl of
// dashboard_crawl.mjs, not a hand-written list), and REST with their token
// confirms the scope. (tests/api/access/scopes.rs walks both route tables.)
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, SUPERUSERS_ID } from './harness.mjs';
import { useBrowser, signedInPage, newPage, signIn, assertAxeClean, test } from './dashboard_fixtures.mjs';
import { submit } from './dashboard_data.mjs';
import { crawl } from './dashboard_crawl.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const CLERK = { email: 'clerk@example.com', password: 'clerk-pass-123' };
let clerk;
const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  for (const name of ['posts', 'tags', 'secrets']) {
    await s.pb.collections.create({ name, type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await s.pb.collection(name).create({ title: `${name} one` });
  }
  clerk = await s.pb.collection('_superusers').create({ ...CLERK, passwordConfirm: CLERK.password });
});
const b = useBrowser();

test('a superuser scoped in the dashboard sees only their records; every other page is 403; REST agrees', b, async () => {
  if (skip) return;
  // The full superuser's pages, found by crawling from the navigation.
  const admin = await signedInPage(b, srv);
  const urls = [];
  await crawl(admin, async (href) => {
    await admin.goto(href);
    urls.push(href);
  });
  assert.ok(urls.length > 20, urls.join(' '));

  // The scope, made with the record editor.
  await admin.goto('/_/collections/_superuserScopes/records/new');
  await admin.getByRole('button', { name: 'Choose superuser…' }).click();
  const dlg = admin.getByRole('dialog', { name: 'Choose superuser from _superusers' });
  await dlg.getByRole('radio', { name: new RegExp(clerk.id) }).check();
  await dlg.getByRole('button', { name: 'Done' }).click();
  await admin.getByLabel(/^collections/).fill('["posts", "tags"]');
  await submit(admin, 'Create');
  await admin.waitForURL(/\/_\/collections\/_superuserScopes(\?|$)/);
  const [scope] = (await srv.su('GET', '/api/collections/_superuserScopes/records')).json.items;
  assert.equal(scope.superuser, clerk.id);
  assert.deepEqual(scope.collections, ['posts', 'tags']);

  // The scoped superuser's dashboard.
  const page = await newPage(b, srv, { bypassCSP: true });
  await signIn(page, { ...CLERK });
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Collections', 'Account']);
  const side = page.getByRole('complementary', { name: 'Collections' });
  assert.deepEqual(await side.getByRole('listitem').allTextContents(), ['posts', 'tags']);
  await page.goto('/_/collections/posts');
  await page.getByRole('cell', { name: 'posts one' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Edit collection' }).count(), 0);
  await assertAxeClean(page, 'scoped records list');

  // Creating a record in the scope works, and REST sees it.
  await page.getByRole('link', { name: 'New record' }).click();
  await page.getByLabel(/^title/).fill('by the clerk');
  await submit(page, 'Create');
  await page.getByRole('cell', { name: 'by the clerk' }).waitFor();
  assert.equal((await srv.pb.collection('posts').getFullList({ filter: 'title = "by the clerk"' })).length, 1);

  // Every page the full superuser reaches: in the scope it loads, outside it is the 403 page.
  let refused = 0;
  for (const url of urls) {
    const res = await page.goto(url);
    const { pathname } = new URL(url);
    const [, , section, name] = pathname.split('/');
    const inside = ['/_/collections', '/_/account'].includes(pathname) || (section === 'collections' && ['posts', 'tags'].includes(name) && !/\/(edit|auth-config)$/.test(pathname));
    if (inside) {
      assert.notEqual(res.status(), 403, url);
    } else {
      assert.equal(res.status(), 403, url);
      await page.getByRole('heading', { name: 'Outside your scope' }).waitFor();
      refused += 1;
    }
  }
  assert.ok(refused > 15, `${refused}`);
  await page.goto('/_/settings');
  await assertAxeClean(page, 'the 403 page');

  // REST with the scoped superuser's token.
  const pb = srv.client();
  await pb.collection('_superusers').authWithPassword(CLERK.email, CLERK.password);
  assert.equal((await pb.collection('posts').getFullList()).length, 2);
  for (const call of [() => pb.collection('secrets').getFullList(), () => pb.settings.getAll(), () => pb.collections.getFullList(), () => pb.logs.getList(), () => pb.collection('_superuserScopes').getFullList()]) {
    await assert.rejects(call(), (e) => e.status === 403 && e.response.message === 'Your superuser scope does not include this request.');
  }
  assert.equal(SUPERUSERS_ID, clerk.collectionId);
});

test('scoped: related records outside the scope show as ids, preview only as users in the scope; REST agrees', b, async () => {
  if (skip) return;
  // notes (in the scope) relate to vault (outside) and labels (inside).
  const mk = (name, fields, type = 'base') => srv.pb.collections.create({ name, type, fields });
  await mk('vault', [{ name: 'title', type: 'text', presentable: true }]);
  await mk('labels', [{ name: 'title', type: 'text', presentable: true }]);
  const rel = (name, to) => ({ name, type: 'relation', collectionId: to, maxSelect: 1 });
  const vaultId = (await srv.pb.collections.getOne('vault')).id;
  const labelsId = (await srv.pb.collections.getOne('labels')).id;
  await mk('notes', [{ name: 'title', type: 'text' }, rel('vault', vaultId), rel('label', labelsId)]);
  await mk('staff', [], 'auth');
  const secret = await srv.pb.collection('vault').create({ title: 'top secret title' });
  const label = await srv.pb.collection('labels').create({ title: 'visible label' });
  const note = await srv.pb.collection('notes').create({ title: 'a note', vault: secret.id, label: label.id });
  await srv.pb.collection('staff').create({ email: 'staff1@example.com', password: 'staff-pass-123', passwordConfirm: 'staff-pass-123' });
  await srv.pb.collection('users').create({ email: 'outsider@example.com', password: 'outsider-123', passwordConfirm: 'outsider-123' });
  const creds = { email: 'clerk2@example.com', password: 'clerk2-pass-123' };
  const clerk2 = await srv.pb.collection('_superusers').create({ ...creds, passwordConfirm: creds.password });
  await srv.pb.collection('_superuserScopes').create({ superuser: clerk2.id, collections: ['notes', 'labels', 'staff'] });

  // The full superuser sees both labels (so the scoped view below could show them).
  const admin = await signedInPage(b, srv);
  await admin.goto('/_/collections/notes');
  await admin.getByRole('cell', { name: /top secret title/ }).waitFor();

  const page = await newPage(b, srv, {});
  await signIn(page, creds);
  for (const url of ['/_/collections/notes', `/_/collections/notes/records/${note.id}`]) {
    await page.goto(url);
    await page.getByText(/visible label/).first().waitFor();
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /top secret/, url);
    assert.match(text, new RegExp(secret.id), `${url}: the related id is shown`);
  }

  // Preview as user: only auth collections in the scope are offered or accepted.
  await page.goto('/_/collections/notes');
  const offered = await page.getByLabel('Preview as', { exact: true }).locator('option').allTextContents();
  assert.ok(offered.includes('A record of staff'), offered.join(', '));
  assert.ok(!offered.includes('A record of users'), offered.join(', '));
  for (const who of ['outsider%40example.com', 'nobody%40example.com']) {
    await page.goto(`/_/collections/notes?as_coll=users&as_user=${who}`);
    await page.getByRole('alert').filter({ hasText: 'users is not an auth collection that can be previewed.' }).waitFor();
  }
  const count = await page.evaluate(async () => (await fetch('/_/collections/notes/count?as_coll=users&as_user=outsider%40example.com', { headers: { 'x-requested-with': 'fetch' } })).status);
  assert.equal(count, 400);
  await page.goto('/_/collections/notes?as_coll=staff&as_user=staff1%40example.com');
  // A user of a scoped auth collection can be previewed (notes' rules are superusers-only: the API's refusal shows).
  await page.getByText(/Preview: these are the records the API lists for staff1@example\.com/).waitFor();
  await page.getByRole('alert').filter({ hasText: 'Only superusers can perform this action.' }).waitFor();

  // REST with the same superuser's token: the relation is an id, expanding it is refused.
  const pb = srv.client();
  await pb.collection('_superusers').authWithPassword(creds.email, creds.password);
  const got = await pb.collection('notes').getOne(note.id, { expand: 'label' });
  assert.equal(got.vault, secret.id);
  assert.equal(got.expand.label.title, 'visible label');
  const denied = (e) => e.status === 403 && e.response.message === 'Your superuser scope does not include this request.';
  await assert.rejects(pb.collection('notes').getOne(note.id, { expand: 'vault' }), denied);
  await assert.rejects(pb.collection('users').getFirstListItem('email = "outsider@example.com"'), denied);
});

// Preview as user (DASHBOARD.md item 31): the records list read as a chosen
// auth record or a guest shows exactly what REST lists with that user's
// token (rules applied), under a preview banner, read-only, and without any
// token reaching the browser.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

const PASSWORD = 'user-pass-123';
const users = {};
const srv = useServer(async (s) => {
  for (const name of ['ada', 'bob']) {
    const email = `${name}@example.com`;
    users[name] = await s.pb.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD, name });
  }
  const owned = 'owner = @request.auth.id';
  await s.pb.collections.create({
    name: 'notes',
    type: 'base',
    listRule: owned,
    viewRule: owned,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
  for (const [title, owner] of [['a1', 'ada'], ['a2', 'ada'], ['a3', 'ada'], ['b1', 'bob'], ['b2', 'bob'], ['none', null]]) {
    await s.pb.collection('notes').create({ title, owner: owner ? users[owner].id : '' });
  }
  await s.pb.collections.create({ name: 'closed', type: 'base', listRule: null, fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collection('closed').create({ title: 'secret' });
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
/** With DOCS_SHOTS=1, saves the page for docs/dashboard.md. */
const shot = (page, name) => (process.env.DOCS_SHOTS ? page.screenshot({ path: `docs/dashboard/${name}.png` }) : null);

async function rowIds(page) {
  return (await page.locator('table.records tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.id))).sort();
}

async function restIds(collection, client) {
  return (await client.collection(collection).getFullList()).map((r) => r.id).sort();
}

async function previewAs(page, coll, user = '') {
  const details = page.locator('details', { has: page.getByText('Preview as user', { exact: true }) });
  if (!(await details.evaluate((d) => d.open))) await page.getByText('Preview as user', { exact: true }).click();
  await page.getByLabel('Preview as', { exact: true }).selectOption({ label: coll });
  await page.getByLabel('Record id or email').fill(user);
  await submit(page, 'Show preview');
}

test('preview as a user: rows equal REST with their token; banner; read-only; no token in the page', b, async () => {
  if (skip) return;
  const ada = srv.client();
  await ada.collection('users').authWithPassword('ada@example.com', PASSWORD);
  const bob = srv.client();
  await bob.collection('users').authWithPassword('bob@example.com', PASSWORD);
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/notes');
  assert.equal((await rowIds(page)).length, 6, 'the superuser sees every note');
  // By email.
  await previewAs(page, 'A record of users', 'ada@example.com');
  const banner = page.getByRole('status').filter({ hasText: 'Preview:' });
  await banner.filter({ hasText: 'ada@example.com' }).waitFor();
  assert.deepEqual(await rowIds(page), await restIds('notes', ada));
  assert.equal((await rowIds(page)).length, 3);
  await page.locator('#total', { hasText: '3 record(s)' }).waitFor();
  await shot(page, 'preview');
  assert.equal(await page.getByRole('link', { name: 'New record' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Delete/ }).count(), 0);
  assert.equal(await page.locator('[data-row-check]').count(), 0);
  assert.equal(await page.getByRole('link', { name: /Export/ }).count(), 0);
  assert.equal(await page.locator('table.records tbody a').count(), 0, 'no editor links');
  // The preview stays in the URL with the filter.
  await page.getByLabel('Filter or search').fill('title ~ "a"');
  await submit(page, 'Apply');
  assert.equal(new URL(page.url()).searchParams.get('as_user'), 'ada@example.com');
  assert.deepEqual(await rowIds(page), (await ada.collection('notes').getFullList({ filter: 'title ~ "a"' })).map((r) => r.id).sort());
  // By id.
  await page.getByLabel('Filter or search').fill('');
  await previewAs(page, 'A record of users', users.bob.id);
  await banner.filter({ hasText: 'bob@example.com' }).waitFor();
  assert.deepEqual(await rowIds(page), await restIds('notes', bob));
  // A guest.
  await previewAs(page, 'A guest (no auth token)');
  await banner.filter({ hasText: 'a guest' }).waitFor();
  assert.deepEqual(await rowIds(page), await restIds('notes', srv.client()));
  // The note without an owner: for a guest `@request.auth.id` is "" and so
  // is its `owner`, which is what the API answers too.
  assert.equal((await rowIds(page)).length, 1);
  assert.equal(await page.locator('table.records tbody tr[data-id] td').nth(1).innerText(), 'none');
  // No token of the previewed users reached the page or its storage.
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!/eyJ/.test(storage + (await page.content())), 'no JWT in the page');
  // Stop preview: the superuser's list again.
  await page.getByRole('link', { name: 'Stop preview' }).click();
  await page.waitForURL((u) => !u.searchParams.has('as_coll'));
  assert.equal((await rowIds(page)).length, 6);
});

test('preview: a superusers-only list shows the API refusal; unknown users are an error, not a list', b, async () => {
  if (skip) return;
  const ada = srv.client();
  await ada.collection('users').authWithPassword('ada@example.com', PASSWORD);
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/closed');
  assert.equal((await rowIds(page)).length, 1);
  await previewAs(page, 'A record of users', 'ada@example.com');
  const refused = await ada.collection('closed').getList(1, 10).then(() => null, (e) => e);
  assert.equal(refused.status, 403);
  await page.getByRole('alert').filter({ hasText: refused.response.message }).waitFor();
  assert.equal((await rowIds(page)).length, 0);
  await page.goto('/_/collections/closed?as_coll=users&as_user=nobody%40example.com');
  await page.getByRole('alert').filter({ hasText: 'No users record has the id or email nobody@example.com' }).waitFor();
  assert.equal((await rowIds(page)).length, 0, 'nothing is listed when the user is unknown');
  await page.goto('/_/collections/closed?as_coll=_superusers&as_user=admin%40example.com');
  await page.getByRole('alert').filter({ hasText: 'not an auth collection that can be previewed' }).waitFor();
  assert.equal((await rowIds(page)).length, 0);
  const count = await page.evaluate(async () => (await fetch('/_/collections/closed/count?as_coll=_superusers', { headers: { 'x-requested-with': 'fetch' } })).status);
  assert.equal(count, 400);
});

test('preview: axe in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, '/_/collections/notes?as_coll=users&as_user=ada%40example.com', async (page) => {
    await page.locator('#total', { hasText: 'record(s)' }).waitFor();
  });
});

// Dashboard records (DASHBOARD.md items 4, 10-12, 16, 30 and export): the paged
// table, filter/search (in the URL), keyboard sort, the record editor with
// validation errors next to fields, bulk delete in one transaction, live
// updates and JSON export. Every UI action is cross-checked through REST.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';

const XSS = '<img src=x onerror="window.__x=1">';
const SVG = '"><svg onload="window.__x=2">';
let userId;

const srv = useServer(async (s) => {
  const user = await s.pb.collection('users').create({ email: 'reader@example.com', password: 'reader-pass-1', passwordConfirm: 'reader-pass-1', name: 'Reader' });
  userId = user.id;
  const users = await s.pb.collections.getOne('users');
  await s.pb.collections.update('users', { fields: users.fields.map((f) => (f.name === 'name' ? { ...f, presentable: true } : f)) });
  await s.pb.collections.create({
    name: 'posts',
    type: 'base',
    listRule: '',
    fields: [
      { name: 'title', type: 'text', required: true, max: 200, presentable: true },
      { name: 'n', type: 'number' },
      { name: 'done', type: 'bool' },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
      { name: 'meta', type: 'json' },
      { name: 'body', type: 'editor' },
      { name: 'link', type: 'url' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'created', type: 'autodate', onCreate: true },
    ],
  });
  for (let i = 1; i <= 6; i++) {
    await s.pb.collection('posts').create({ title: `post ${i} ${i % 2 ? 'odd' : 'even'}`, n: i, tags: ['a'], meta: { i } });
  }
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** Record ids shown in the table, in order. */
async function shownIds(page) {
  return page.locator('tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.dataset.id));
}

/** Clicks and waits for the page it leads to (the URL may not change). */
async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

async function restIds(query) {
  const r = await srv.su('GET', `/api/collections/posts/records?perPage=200&${query}`);
  return r.json.items.map((x) => x.id);
}

test('stored values render as text everywhere (no XSS, no template injection)', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('posts').create({
    title: `${XSS} {{ 7*7 }}`,
    body: `<p>${SVG}</p><script>window.__x=3</script>`,
    meta: { html: XSS },
    link: 'https://example.com/?q=%22%3E%3Csvg%3E',
    n: 100,
  });
  const page = await signedInPage(b, srv);
  for (const path of ['/_/collections/posts', `/_/collections/posts/records/${rec.id}`, '/_/collections/posts/edit', '/_/collections']) {
    await page.goto(path);
    await page.waitForLoadState('load');
    assert.equal(await page.evaluate(() => window.__x), undefined, `script ran on ${path}`);
  }
  await page.goto('/_/collections/posts?filter=' + encodeURIComponent('n = 100'));
  await page.getByRole('cell', { name: `${XSS} {{ 7*7 }}` }).waitFor();
  // Not evaluated as a template (matching the title's cell only: a created
  // or updated time shown on the page may well contain "49").
  assert.equal(await page.getByRole('cell', { name: `${XSS} 49` }).count(), 0);
  await page.goto(`/_/collections/posts/records/${rec.id}`);
  assert.equal(await page.getByLabel(/^title/).inputValue(), `${XSS} {{ 7*7 }}`);
  assert.equal(page.__dialogs || 0, 0);
  await srv.pb.collection('posts').delete(rec.id);
});

test('filter and search: same rows as REST ?filter=, errors shown, state in the URL', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/posts');
  const expr = 'n > 2 && title ~ "odd"';
  await page.getByLabel('Filter or search').fill(expr);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/filter=/);
  const expected = await restIds(`filter=${encodeURIComponent(expr)}&sort=-created`);
  assert.ok(expected.length > 0);
  assert.deepEqual((await shownIds(page)).sort(), expected.slice().sort());
  await page.reload();
  assert.deepEqual((await shownIds(page)).sort(), expected.slice().sort(), 'reload keeps the filter');
  // An invalid expression shows the API's message and keeps the rows.
  await page.getByLabel('Filter or search').fill('n >>> 2');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }));
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /Something went wrong|invalid|filter/i);
  assert.equal(await page.getByLabel('Filter or search').getAttribute('aria-invalid'), 'true');
  assert.deepEqual((await shownIds(page)).sort(), expected.slice().sort(), 'previous rows kept');
  await page.goBack();
  assert.deepEqual((await shownIds(page)).sort(), expected.slice().sort(), 'Back restores');
  // A plain term searches text fields; quotes cannot widen it.
  await page.goto('/_/collections/posts');
  await page.getByLabel('Filter or search').fill('post 3');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }));
  assert.equal((await shownIds(page)).length, 1);
  await page.getByLabel('Filter or search').fill('" || id != "');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }));
  assert.equal(new URL(page.url()).searchParams.get('filter'), '" || id != "');
  assert.equal((await shownIds(page)).length, 0);
});

test('sort by keyboard: a button in each header, aria-sort, order equals REST', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/posts');
  const header = page.getByRole('columnheader', { name: /^n/ });
  await header.getByRole('button').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/sort=n/);
  assert.equal(await page.getByRole('columnheader', { name: /^n/ }).getAttribute('aria-sort'), 'ascending');
  assert.deepEqual(await shownIds(page), await restIds('sort=n'));
  await page.getByRole('columnheader', { name: /^n/ }).getByRole('button').focus();
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  assert.equal(await page.getByRole('columnheader', { name: /^n/ }).getAttribute('aria-sort'), 'descending');
  assert.deepEqual(await shownIds(page), await restIds('sort=-n'));
});

test('record editor: create, validation next to the field, edit, delete (REST checks)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/posts');
  await page.getByRole('link', { name: 'New record' }).click();
  // Required title missing: error next to it, aria-invalid, focus moved there.
  await page.getByLabel(/^n\b/).fill('7');
  await page.getByRole('button', { name: 'Create' }).click();
  const title = page.getByLabel(/^title/);
  await title.waitFor();
  assert.equal(await title.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#err-title').textContent(), /blank|required/i);
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'title');
  assert.equal(await page.getByLabel(/^n\b/).inputValue(), '7', 'typed values survive');
  await title.fill('made in the UI');
  await page.getByLabel('done').check();
  await page.getByRole('listbox', { name: 'tags' }).selectOption(['b', 'c']);
  await page.getByLabel(/^meta/).fill('{"from": "ui"}');
  await page.getByRole('button', { name: 'Choose owner…' }).click();
  await page.getByRole('dialog').getByRole('radio', { name: `Reader (${userId})` }).check();
  await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/saved=/);
  const id = new URL(page.url()).searchParams.get('saved');
  const rec = await srv.pb.collection('posts').getOne(id);
  assert.equal(rec.title, 'made in the UI');
  assert.equal(rec.n, 7);
  assert.equal(rec.done, true);
  assert.deepEqual(rec.tags, ['b', 'c']);
  assert.deepEqual(rec.meta, { from: 'ui' });
  assert.equal(rec.owner, userId);
  await page.getByRole('status').filter({ hasText: 'saved' }).waitFor();
  // The relation cell shows the related record's presentable field, not just its id.
  const row = page.locator(`tr[data-id="${id}"]`);
  assert.match(await row.textContent(), new RegExp(`Reader \\(${userId}\\)`));
  // Edit.
  await page.getByRole('link', { name: id }).click();
  await page.getByLabel(/^n\b/).fill('8');
  await page.getByLabel(/^meta/).fill('{not json');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  assert.equal(await page.getByLabel(/^meta/).getAttribute('aria-invalid'), 'true');
  assert.equal((await srv.pb.collection('posts').getOne(id)).n, 7, 'nothing saved');
  await page.getByLabel(/^meta/).fill('{"from": "edit"}');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/saved=/);
  const edited = await srv.pb.collection('posts').getOne(id);
  assert.equal(edited.n, 8);
  assert.deepEqual(edited.meta, { from: 'edit' });
  // Delete with confirmation (Cancel first keeps it).
  await page.goto(`/_/collections/posts/records/${id}`);
  await page.getByRole('button', { name: 'Delete record' }).click();
  const dialog = page.getByRole('dialog', { name: 'Please confirm' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Delete record', 'focus returns to the trigger');
  assert.ok(await srv.pb.collection('posts').getOne(id));
  await page.getByRole('button', { name: 'Delete record' }).click();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL(/deleted=1/);
  const r = await srv.su('GET', `/api/collections/posts/records/${id}`);
  assert.equal(r.status, 404);
});

test('bulk delete with shift-click range, all or nothing', b, async () => {
  if (skip) return;
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await srv.pb.collection('posts').create({ title: `bulk ${i}`, n: 500 + i })).id);
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/posts?filter=' + encodeURIComponent('n >= 500') + '&sort=n');
  await page.getByRole('checkbox', { name: `Select record ${ids[0]}` }).click();
  await page.getByRole('checkbox', { name: `Select record ${ids[2]}` }).click({ modifiers: ['Shift'] });
  await page.getByRole('button', { name: 'Delete 3 selected' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL(/deleted=3/);
  for (const id of ids) assert.equal((await srv.su('GET', `/api/collections/posts/records/${id}`)).status, 404);
  // A record a required relation points at cannot go: then none goes.
  const parents = await srv.pb.collections.create({ name: 'parents', type: 'base', fields: [{ name: 'name', type: 'text' }] });
  await srv.pb.collections.create({
    name: 'children',
    type: 'base',
    fields: [{ name: 'parent', type: 'relation', collectionId: parents.id, required: true, maxSelect: 1, cascadeDelete: false }],
  });
  const p1 = await srv.pb.collection('parents').create({ name: 'free' });
  const p2 = await srv.pb.collection('parents').create({ name: 'referenced' });
  await srv.pb.collection('children').create({ parent: p2.id });
  await page.goto('/_/collections/parents');
  await page.getByRole('checkbox', { name: 'Select all records on this page' }).check();
  await page.getByRole('button', { name: 'Delete 2 selected' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL(/deleted_error=/);
  await page.getByText(/Nothing was deleted/).waitFor();
  assert.ok(await srv.pb.collection('parents').getOne(p1.id), 'the free parent is still there');
  assert.ok(await srv.pb.collection('parents').getOne(p2.id));
});

test('live: records created, updated and deleted through REST appear without reload', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/posts?sort=-created');
  await page.waitForLoadState('networkidle').catch(() => {});
  const rec = await srv.pb.collection('posts').create({ title: 'arrived live', n: 900 });
  await page.getByRole('cell', { name: 'arrived live' }).waitFor({ timeout: 3000 });
  await srv.pb.collection('posts').update(rec.id, { title: 'changed live' });
  await page.getByRole('cell', { name: 'changed live' }).waitFor({ timeout: 3000 });
  await srv.pb.collection('posts').delete(rec.id);
  await page.getByRole('cell', { name: 'changed live' }).waitFor({ state: 'detached', timeout: 3000 });
});

test('export JSON of the current filter equals REST', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  const filter = 'n <= 3';
  await page.goto('/_/collections/posts?sort=n&filter=' + encodeURIComponent(filter));
  const dl = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export JSON' }).click();
  const file = await (await dl).path();
  const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
  const rest = await srv.su('GET', `/api/collections/posts/records?perPage=200&sort=n&filter=${encodeURIComponent(filter)}`);
  assert.deepEqual(exported, rest.json.items);
});

test('keyboard path and unsaved-changes guard: sidebar search, Ctrl+S, Esc/sidebar/close ask first', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/collections');
  await page.getByLabel('Search collections').fill('pos');
  await Promise.all([page.waitForEvent('load'), page.getByLabel('Search collections').press('Enter')]);
  assert.equal(new URL(page.url()).pathname, '/_/collections/posts');
  await page.getByRole('link', { name: 'New record' }).focus();
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  await page.getByLabel(/^title/).fill('typed with the keyboard');
  // Leaving through the sidebar asks; Cancel keeps the edits.
  await page.getByRole('complementary', { name: 'Collections' }).getByRole('link', { name: 'users', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Please confirm' });
  await dialog.getByText('Discard your unsaved changes?').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(new URL(page.url()).pathname, '/_/collections/posts/records/new');
  assert.equal(await page.getByLabel(/^title/).inputValue(), 'typed with the keyboard');
  // Esc asks too.
  await page.getByLabel(/^title/).focus();
  await page.keyboard.press('Escape');
  await dialog.getByText('Discard your unsaved changes?').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // Closing the tab triggers beforeunload.
  let beforeUnload = false;
  page.on('dialog', (d) => {
    if (d.type() === 'beforeunload') beforeUnload = true;
  });
  await page.close({ runBeforeUnload: true });
  for (let i = 0; i < 50 && !beforeUnload; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(beforeUnload, 'beforeunload asked');
  // Ctrl+S saves.
  const p2 = await signedInPage(b, srv, {});
  await p2.goto('/_/collections/posts/records/new');
  await p2.getByLabel(/^title/).fill('saved with ctrl+s');
  await Promise.all([p2.waitForURL(/saved=/), p2.keyboard.press('Control+s')]);
  await p2.getByRole('status').filter({ hasText: 'saved' }).waitFor();
  const id = new URL(p2.url()).searchParams.get('saved');
  assert.equal((await srv.pb.collection('posts').getOne(id)).title, 'saved with ctrl+s');
  // Focus is on the saved record's row, so the keyboard goes on from there.
  assert.equal(await p2.evaluate(() => document.activeElement.closest('tr')?.dataset.id), id);
});

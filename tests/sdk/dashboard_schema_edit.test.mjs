// The parts of the collection editor and the access pages that the other
// suites do not reach (DASHBOARD.md items 14 and 20, issue 16 scope 2):
// field order, Cairn's field read/write rules, the indexes editor, the
// multiple-to-single confirmation, truncate-by-typing-the-name, roles,
// role assignments and policies made with the record editor and used in a
// rule, and an auth record's verified flag. Every outcome is checked
// through REST.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { submit, submitVia } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const PW = 'reader-pass-123';
let ada;
let bob;
const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await s.pb.collections.create({
    name: 'items',
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'secret', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
    ],
  });
  for (let i = 1; i <= 3; i++) await s.pb.collection('items').create({ title: `item ${i}`, secret: `s${i}`, n: i, tags: ['a', 'b'] });
  const user = (email) => s.pb.collection('users').create({ email, password: PW, passwordConfirm: PW });
  ada = await user('ada@example.com');
  bob = await user('bob@example.com');
});
const b = useBrowser();

/** A REST client signed in as a user. */
async function as(email) {
  const pb = srv.client();
  await pb.collection('users').authWithPassword(email, PW);
  return pb;
}

const fieldset = (page, name) => page.getByRole('group', { name: new RegExp(`^${name} `) });

test('field order, field read/write rules and indexes saved in the editor are what REST returns', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  // The overview lists the application's collections first, by name, as the sidebar does.
  await page.goto('/_/collections');
  const listed = await page.locator('main tbody tr').evaluateAll((trs) => trs.map((tr) => tr.cells[0].querySelector('a')?.textContent));
  assert.deepEqual(listed.slice(0, 2), ['items', 'users'], listed.join(' '));
  assert.ok(listed.slice(2).every((n) => n.startsWith('_')), listed.join(' '));
  await page.goto('/_/collections/items/edit');
  await submit(page, 'Move n up');
  const secret = fieldset(page, 'secret');
  await secret.getByText('Help text and field rules').click();
  await secret.getByLabel(/^Read rule/).fill('@request.auth.id != ""');
  await secret.getByLabel(/^Write rule/).fill('@request.auth.id = "nobody"');
  await page.getByLabel(/CREATE INDEX/).fill('CREATE UNIQUE INDEX idx_items_title ON items (title)');
  await submit(page, 'Save changes');
  await page.getByRole('status').filter({ hasText: 'Collection saved.' }).waitFor();

  const c = await srv.pb.collections.getOne('items');
  const names = c.fields.map((f) => f.name).filter((n) => ['title', 'secret', 'n', 'tags'].includes(n));
  assert.deepEqual(names, ['title', 'n', 'secret', 'tags']);
  const f = Object.fromEntries(c.fields.map((x) => [x.name, x]));
  assert.equal(f.secret.readRule, '@request.auth.id != ""');
  assert.equal(f.secret.writeRule, '@request.auth.id = "nobody"');
  assert.deepEqual(c.indexes, ['CREATE UNIQUE INDEX idx_items_title ON items (title)']);
  // The rules act: a guest does not read the field, a user does; no user writes it.
  const guest = await srv.api('GET', '/api/collections/items/records?sort=n');
  assert.equal(guest.json.items.length, 3);
  assert.ok(!('secret' in guest.json.items[0]), JSON.stringify(guest.json.items[0]));
  const user = await as('ada@example.com');
  const first = (await user.collection('items').getFullList({ sort: 'n' }))[0];
  assert.equal(first.secret, 's1');
  // The index acts: a duplicate title is refused.
  await assert.rejects(srv.pb.collection('items').create({ title: 'item 1' }), (e) => e.status === 400);
  // The editor shows what is stored.
  await page.goto('/_/collections/items/edit');
  assert.equal(await fieldset(page, 'secret').getByLabel(/^Read rule/).inputValue(), '@request.auth.id != ""');

  // A bad index: the error is next to it, nothing is saved.
  await page.getByLabel(/CREATE INDEX/).fill('CREATE INDEX broken ON items (no_such_column)');
  await submit(page, 'Save changes');
  assert.equal(await page.getByLabel(/CREATE INDEX/).getAttribute('aria-invalid'), 'true');
  assert.ok((await page.locator('#c-indexes-err').innerText()).length > 0);
  assert.deepEqual((await srv.pb.collections.getOne('items')).indexes, ['CREATE UNIQUE INDEX idx_items_title ON items (title)']);
});

test('multiple to single is listed before saving; truncate needs the typed name (REST)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/items/edit');
  await fieldset(page, 'tags').getByLabel('Max select').fill('1');
  await submit(page, 'Save changes');
  const confirm = page.getByRole('region', { name: 'Confirm these changes' });
  const text = await confirm.textContent();
  assert.match(text, /Change tags from multiple values to a single value \(only the last is kept\)/);
  assert.equal(Object.fromEntries((await srv.pb.collections.getOne('items')).fields.map((x) => [x.name, x])).tags.maxSelect, 3, 'not saved yet');
  await submit(page, 'Confirm and save');
  const c = await srv.pb.collections.getOne('items');
  assert.equal(c.fields.find((x) => x.name === 'tags').maxSelect, 1);
  const rows = await srv.pb.collection('items').getFullList({ sort: 'n' });
  assert.deepEqual(rows.map((r) => r.tags), ['b', 'b', 'b'], 'the last value is kept, as the confirmation says');

  // Truncate: a wrong name deletes nothing; the right one deletes every record.
  await page.goto('/_/collections/items/edit');
  await page.getByLabel(/to delete all its records/).fill('itemz');
  await page.getByRole('button', { name: 'Truncate collection' }).click();
  await submitVia(page, page.getByRole('dialog').getByRole('button', { name: 'Confirm' }));
  assert.equal((await srv.pb.collection('items').getList(1, 1)).totalItems, 3, 'wrong name: nothing deleted');
  await page.goto('/_/collections/items/edit');
  await page.getByLabel(/to delete all its records/).fill('items');
  await page.getByRole('button', { name: 'Truncate collection' }).click();
  await submitVia(page, page.getByRole('dialog').getByRole('button', { name: 'Confirm' }));
  assert.equal((await srv.pb.collection('items').getList(1, 1)).totalItems, 0);
  assert.equal((await srv.su('GET', '/api/collections/items')).status, 200, 'the collection stays');
});

test('roles, assignments and policies made in the record editor work in a rule; verified toggles (REST)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await srv.pb.collection('items').create({ title: 'for editors' });
  // A role, assigned to ada.
  await page.goto('/_/collections/_roles/records/new');
  await page.getByLabel(/^name/).fill('editor');
  await submit(page, 'Create');
  await page.goto('/_/collections/_roleAssignments/records/new');
  await page.getByRole('button', { name: 'Choose role…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Choose role from _roles' });
  // _roles has no presentable field: the role shows by its name.
  await dlg.getByRole('radio', { name: /^editor \(\w{15}\)$/ }).check();
  await dlg.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('checkbox', { name: /^editor \(/ }).waitFor();
  await page.getByLabel(/^collectionRef/).fill('users');
  await page.getByLabel(/^recordRef/).fill(ada.id);
  await submit(page, 'Create');
  const [assignment] = (await srv.su('GET', '/api/collections/_roleAssignments/records')).json.items;
  assert.equal(assignment.recordRef, ada.id);
  await page.getByRole('cell', { name: /^editor \(/ }).waitFor();
  // A policy naming the role, used as the list rule.
  await page.goto('/_/collections/_policies/records/new');
  await page.getByLabel(/^name/).fill('is_editor');
  await page.getByLabel(/^rule/).fill("@request.auth.roles ?= 'editor'");
  await submit(page, 'Create');
  await page.goto('/_/collections/items/edit');
  const list = page.getByRole('group', { name: /List\/Search rule/ });
  await list.getByLabel('Expression', { exact: true }).check();
  await page.getByRole('combobox', { name: 'listRule expression' }).fill('@policy.is_editor');
  await submit(page, 'Save changes');
  assert.equal((await srv.pb.collections.getOne('items')).listRule, '@policy.is_editor');
  const all = (await srv.pb.collection('items').getList(1, 1)).totalItems;
  assert.ok(all >= 1);
  assert.equal((await (await as('ada@example.com')).collection('items').getFullList()).length, all);
  assert.equal((await (await as('bob@example.com')).collection('items').getFullList()).length, 0);
  // A policy the API refuses: its message next to the field, nothing stored.
  await page.goto('/_/collections/_policies/records/new');
  await page.getByLabel(/^name/).fill('broken');
  await page.getByLabel(/^rule/).fill('@policy.no_such_policy');
  await submit(page, 'Create');
  assert.equal(await page.getByLabel(/^rule/).getAttribute('aria-invalid'), 'true');
  assert.equal((await srv.su('GET', '/api/collections/_policies/records?filter=' + encodeURIComponent('name="broken"'))).json.items.length, 0);

  // An auth record's verified flag.
  assert.equal((await srv.pb.collection('users').getOne(bob.id)).verified, false);
  await page.goto(`/_/collections/users/records/${bob.id}`);
  await page.getByLabel('verified', { exact: true }).check();
  await submit(page, 'Save changes');
  assert.equal((await srv.pb.collection('users').getOne(bob.id)).verified, true);
});

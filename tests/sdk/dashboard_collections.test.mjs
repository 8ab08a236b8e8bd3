// Dashboard collections (DASHBOARD.md items 9, 13, 14, 19): creating a
// collection with every common field type in the UI, the API rules editor
// with inline errors, the schema-change confirmation (rename keeps data,
// delete drops), view collections with a live SQL preview, duplicate and
// delete-by-typing-the-name. Every outcome is checked through REST.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';

const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'notes',
    type: 'base',
    listRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'body', type: 'text' },
    ],
  });
  for (let i = 1; i <= 3; i++) await s.pb.collection('notes').create({ title: `note ${i}`, n: i, body: `b${i}` });
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

/** Adds a field of `type` and names it; returns its fieldset. */
async function addField(page, type, name) {
  await page.getByLabel('New field type').selectOption(type);
  await clickAndLoad(page, page.getByRole('button', { name: 'Add field' }));
  const row = page.getByRole('group', { name: new RegExp(`^New field ${type}`) });
  await row.getByLabel('Field name').fill(name);
  return row;
}

test('create a collection with fields of many types in the UI (REST has them)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections');
  await page.getByRole('link', { name: 'New base collection' }).click();
  await page.getByLabel('Name', { exact: true }).fill('ui_things');
  let row = await addField(page, 'text', 'title');
  await row.getByLabel('Required').check();
  await row.getByLabel('Max length').fill('20');
  await addField(page, 'number', 'amount');
  await addField(page, 'bool', 'flag');
  await addField(page, 'email', 'contact');
  await addField(page, 'url', 'site');
  await addField(page, 'date', 'due');
  row = await addField(page, 'select', 'kinds');
  await row.getByLabel('Choices').fill('x, y, z');
  await row.getByLabel('Max select').fill('2');
  await addField(page, 'json', 'data');
  row = await addField(page, 'relation', 'who');
  await row.getByLabel('Related collection').selectOption({ label: 'users' });
  row = await addField(page, 'file', 'docs');
  await row.getByLabel('MIME types').fill('image/png, application/pdf');
  await row.getByLabel('Max files').fill('2');
  await row.getByLabel('Max size (bytes)').fill('1000000');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  assert.match(page.url(), /\/_\/collections\/ui_things\/edit/);
  const c = await srv.pb.collections.getOne('ui_things');
  const f = Object.fromEntries(c.fields.map((x) => [x.name, x]));
  assert.equal(f.title.type, 'text');
  assert.equal(f.title.required, true);
  assert.equal(f.title.max, 20);
  assert.equal(f.amount.type, 'number');
  assert.equal(f.flag.type, 'bool');
  assert.equal(f.contact.type, 'email');
  assert.equal(f.site.type, 'url');
  assert.equal(f.due.type, 'date');
  assert.deepEqual(f.kinds.values, ['x', 'y', 'z']);
  assert.equal(f.kinds.maxSelect, 2);
  assert.equal(f.data.type, 'json');
  assert.equal(f.who.collectionId, '_pb_users_auth_');
  assert.deepEqual(f.docs.mimeTypes, ['image/png', 'application/pdf']);
  assert.equal(f.docs.maxSelect, 2);
  assert.equal(f.created.type, 'autodate');
  assert.equal(f.updated.onUpdate, true);
  // The API accepts records of it.
  const rec = await srv.pb.collection('ui_things').create({ title: 'hello', amount: 2, kinds: ['x', 'y'], data: { a: 1 } });
  assert.equal(rec.title, 'hello');
  // Field validation errors come back next to the field.
  await page.goto('/_/collections/new');
  await page.getByLabel('Name', { exact: true }).fill('ui_bad');
  await addField(page, 'select', 'nochoices');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  await page.getByRole('alert').waitFor();
  assert.ok(await page.locator('fieldset.invalid').count() >= 1);
  assert.equal((await srv.su('GET', '/api/collections/ui_bad')).status, 404);
});

test('API rules editor: expression, superusers only, public, inline error (REST checks)', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/notes/edit');
  const list = page.getByRole('group', { name: /List\/Search rule/ });
  // Typing opens the combobox's suggestions; arrow keys and Enter pick one.
  const box = page.getByRole('combobox', { name: 'listRule expression' });
  await box.click();
  await box.pressSequentially('@request.auth.');
  const options = page.getByRole('listbox', { name: 'Suggestions for listRule' });
  await options.waitFor();
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  assert.equal(await options.getByRole('option').first().textContent(), '@request.auth.id');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await box.inputValue(), '@request.auth.id');
  assert.equal(await box.getAttribute('aria-expanded'), 'false');
  await box.pressSequentially(' != ""');
  assert.equal(await list.getByLabel('Expression', { exact: true }).isChecked(), true);
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  assert.equal((await srv.pb.collections.getOne('notes')).listRule, '@request.auth.id != ""');
  const guest = await srv.api('GET', '/api/collections/notes/records');
  assert.equal(guest.status, 200);
  assert.equal(guest.json.items.length, 0);
  const user = await srv.userClient();
  assert.equal((await user.collection('notes').getList()).items.length, 3);
  // Superusers only.
  await page.getByRole('group', { name: /List\/Search rule/ }).getByLabel('Superusers only').check();
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  assert.equal((await srv.pb.collections.getOne('notes')).listRule, null);
  assert.equal((await srv.api('GET', '/api/collections/notes/records')).status, 403);
  // An invalid rule: error on that rule, nothing changed.
  const view = page.getByRole('group', { name: /View rule/ });
  await view.getByLabel('Expression', { exact: true }).check();
  await view.getByLabel('viewRule expression').fill('nosuchfield = 1');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  const input = page.getByLabel('viewRule expression');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.ok((await page.locator('#rule-viewRule-err').textContent()).length > 0);
  assert.equal((await srv.pb.collections.getOne('notes')).viewRule, null, 'REST unchanged');
  // Public.
  await page.goto('/_/collections/notes/edit');
  await page.getByRole('group', { name: /List\/Search rule/ }).getByLabel('Everyone').check();
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  assert.equal((await srv.pb.collections.getOne('notes')).listRule, '');
  assert.equal((await srv.api('GET', '/api/collections/notes/records')).json.items.length, 3);
});

test('schema change: confirmation lists rename and delete; rename keeps data', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/notes/edit');
  await page.getByRole('group', { name: /^n number/ }).getByLabel('Field name').fill('num');
  await clickAndLoad(page, page.getByRole('button', { name: 'Remove body' }));
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  const confirm = page.getByRole('region', { name: 'Confirm these changes' });
  await confirm.waitFor();
  const text = await confirm.textContent();
  assert.match(text, /Rename the field n to num/);
  assert.match(text, /Delete the field body/);
  let c = await srv.pb.collections.getOne('notes');
  assert.ok(c.fields.some((f) => f.name === 'n'), 'nothing changed before confirming');
  await clickAndLoad(page, confirm.getByRole('button', { name: 'Confirm and save' }));
  c = await srv.pb.collections.getOne('notes');
  assert.ok(c.fields.some((f) => f.name === 'num'));
  assert.ok(!c.fields.some((f) => f.name === 'body' || f.name === 'n'));
  const rows = (await srv.pb.collection('notes').getFullList({ sort: 'num' })).map((r) => r.num);
  assert.deepEqual(rows, [1, 2, 3], 'renamed field kept its data');
});

test('view collection: live SQL preview, no "New record", REST equals preview', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/new?type=view');
  await page.getByLabel('Name', { exact: true }).fill('note_titles');
  await page.getByLabel('SELECT query').fill('SELECT id, title FROM notes WHERE title LIKE \'note%\'');
  await clickAndLoad(page, page.getByRole('button', { name: 'Preview' }));
  const preview = page.getByRole('region', { name: 'Query preview' });
  const shown = await preview.locator('tbody tr').count();
  assert.equal(shown, 3);
  await page.getByLabel('SELECT query').fill('SELECT nope FROM');
  await clickAndLoad(page, page.getByRole('button', { name: 'Preview' }));
  assert.ok((await preview.locator('.error').count()) === 1, 'SQL error shown');
  await page.getByLabel('SELECT query').fill('SELECT id, title FROM notes');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  const list = await srv.pb.collection('note_titles').getFullList();
  assert.equal(list.length, 3);
  await page.goto('/_/collections/note_titles');
  assert.equal(await page.getByRole('link', { name: 'New record' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Delete/ }).count(), 0);
});

test('duplicate, then delete only after typing the name', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/notes');
  await page.getByRole('link', { name: 'Duplicate' }).click();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'notes_duplicate');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  const dup = await srv.pb.collections.getOne('notes_duplicate');
  const orig = await srv.pb.collections.getOne('notes');
  assert.deepEqual(dup.fields.map((f) => [f.name, f.type]), orig.fields.map((f) => [f.name, f.type]));
  await page.goto('/_/collections/notes_duplicate/edit');
  await page.getByLabel(/to delete the collection/).fill('wrong');
  await page.getByRole('button', { name: 'Delete collection' }).click();
  await clickAndLoad(page, page.getByRole('dialog').getByRole('button', { name: 'Confirm' }));
  assert.equal((await srv.su('GET', '/api/collections/notes_duplicate')).status, 200, 'wrong name: kept');
  await page.getByLabel(/to delete the collection/).fill('notes_duplicate');
  await page.getByRole('button', { name: 'Delete collection' }).click();
  await clickAndLoad(page, page.getByRole('dialog').getByRole('button', { name: 'Confirm' }));
  assert.equal((await srv.su('GET', '/api/collections/notes_duplicate')).status, 404);
});

test('auth collection: auth options saved as the API shows them', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/new?type=auth');
  await page.getByLabel('Name', { exact: true }).fill('members');
  await page.getByLabel('One-time passwords by email (OTP)').check();
  await page.getByLabel('OTP length').fill('6');
  await page.getByLabel('Auth token lifetime (seconds)').fill('3600');
  await page.getByLabel('Email an alert on sign-in from a new location').uncheck();
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  const c = await srv.pb.collections.getOne('members');
  assert.equal(c.type, 'auth');
  assert.equal(c.otp.enabled, true);
  assert.equal(c.otp.length, 6);
  assert.equal(c.authToken.duration, 3600);
  assert.equal(c.authAlert.enabled, false);
  assert.equal(c.passwordAuth.enabled, true);
  assert.deepEqual(c.passwordAuth.identityFields, ['email']);
  // Records of it: a member created in the dashboard can sign in through the API.
  await page.goto('/_/collections/members/records/new');
  await page.getByLabel(/^email/).fill('member@example.com');
  await page.getByLabel(/^password \(|^password$/).fill('member-pass-1');
  await page.getByLabel('password again').fill('member-pass-1');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create' }));
  const auth = await srv.client().collection('members').authWithPassword('member@example.com', 'member-pass-1');
  assert.equal(auth.record.email, 'member@example.com');
});

test('API keys: a key created in the dashboard is shown once and works as its record (REST)', b, async () => {
  if (skip) return;
  const user = await srv.pb.collection('users').create({ email: 'keyed@example.com', password: 'keyed-pass-1', passwordConfirm: 'keyed-pass-1' });
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/_apiKeys/records/new');
  await page.getByLabel(/^name/).fill('nightly report');
  await page.getByLabel(/^collectionRef/).fill('users');
  await page.getByLabel(/^recordRef/).fill(user.id);
  await clickAndLoad(page, page.getByRole('button', { name: 'Create' }));
  const key = (await page.getByLabel('API key').inputValue()).trim();
  assert.match(key, /^cairn_/);
  const r = await srv.api('GET', `/api/collections/users/records/${user.id}`, { token: key });
  assert.equal(r.status, 200);
  assert.equal(r.json.email, 'keyed@example.com');
  const stored = await srv.pb.collection('_apiKeys').getFullList();
  assert.equal(stored.length, 1);
  assert.equal(stored[0].key, undefined, 'only shown at creation');
});

test('superusers: one created in the dashboard signs in through REST', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/_superusers/records/new');
  await page.getByLabel(/^email/).fill('second-admin@example.com');
  await page.getByLabel(/^password \(|^password$/).fill('second-admin-1');
  await page.getByLabel('password again').fill('second-admin-1');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create' }));
  assert.match(page.url(), /saved=/);
  const auth = await srv.client().collection('_superusers').authWithPassword('second-admin@example.com', 'second-admin-1');
  assert.equal(auth.record.email, 'second-admin@example.com');
});

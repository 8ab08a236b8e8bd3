// "Tried as a new user" (issue 16, done means): with only the README
// (`cairn serve`, a superuser, the dashboard at /_/), one walk through the
// dashboard: a collection with a field of every type, its API rules,
// records with a file, a filter, an edit, and a backup. Only links and
// buttons a person would click (no typed URLs after /_/); every step is
// checked through REST.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, ON_POSTGRES } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { png } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const srv = useServer();
const b = useBrowser();

async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

// Every type the field editor offers, with what the walk types into it.
const FIELDS = ['text', 'editor', 'number', 'bool', 'email', 'url', 'date', 'autodate', 'select', 'file', 'relation', 'json', 'geoPoint'];

test('a new user: collection with every field type, rules, records with a file, filter, edit, backup', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);

  // 1. A collection with a field of every type the editor offers.
  await clickAndLoad(page, page.getByRole('link', { name: 'Collections', exact: true }));
  await clickAndLoad(page, page.getByRole('link', { name: 'New base collection' }));
  await page.getByLabel('Name', { exact: true }).fill('things');
  const offered = await page.getByLabel('New field type').locator('option').evaluateAll((os) => os.map((o) => o.value));
  for (const t of FIELDS) assert.ok(offered.includes(t), `${t} offered (${offered})`);
  for (const t of offered.filter((t) => t !== 'password')) {
    await page.getByLabel('New field type').selectOption(t);
    await clickAndLoad(page, page.getByRole('button', { name: 'Add field' }));
    const row = page.getByRole('group', { name: new RegExp(`^New field ${t}`) });
    await row.getByLabel('Field name').fill(`f_${t.toLowerCase()}`);
    if (t === 'select') await row.getByLabel('Choices').fill('red, green');
    if (t === 'relation') await row.getByLabel('Related collection').selectOption({ label: 'users' });
  }
  await clickAndLoad(page, page.getByRole('button', { name: 'Create collection' }));
  assert.equal(await page.getByRole('alert').count(), 0, await page.locator('main').innerText());
  const c = await srv.pb.collections.getOne('things');
  const types = new Set(c.fields.map((f) => f.type));
  for (const t of FIELDS) assert.ok(types.has(t), `REST has a ${t} field`);

  // 2. API rules: anyone lists and views; signed-in users create.
  await page.getByRole('group', { name: /List\/Search rule/ }).getByLabel('Everyone').check();
  await page.getByRole('group', { name: /View rule/ }).getByLabel('Everyone').check();
  const create = page.getByRole('group', { name: /Create rule/ });
  await create.getByLabel('Expression', { exact: true }).check();
  await page.getByLabel('createRule expression').fill('@request.auth.id != ""');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  const rules = await srv.pb.collections.getOne('things');
  assert.deepEqual([rules.listRule, rules.viewRule, rules.createRule], ['', '', '@request.auth.id != ""']);

  // 3. A user to relate to (users in the sidebar), then records, one with
  // a file and the relation, from the collection's page in the sidebar.
  const sidebar = page.getByRole('complementary', { name: 'Collections' });
  await clickAndLoad(page, sidebar.getByRole('link', { name: 'users', exact: true }));
  await clickAndLoad(page, page.getByRole('link', { name: 'New record' }));
  await page.getByLabel(/^email/).fill('ada@example.com');
  await page.getByLabel(/^name/).fill('Ada');
  await page.getByLabel(/^password \(|^password$/).fill('ada-pass-123');
  await page.getByLabel('password again').fill('ada-pass-123');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create' }));
  const ada = await srv.client().collection('users').authWithPassword('ada@example.com', 'ada-pass-123');
  await clickAndLoad(page, sidebar.getByRole('link', { name: 'things', exact: true }));
  for (const title of ['first thing', 'second thing']) {
    await clickAndLoad(page, page.getByRole('link', { name: 'New record' }));
    await page.getByLabel(/^f_text/).fill(title);
    await page.getByLabel(/^f_number/).fill('7');
    await page.getByLabel(/^f_email/).fill('ada@example.com');
    await page.getByLabel(/^f_url/).fill('https://example.com');
    await page.getByLabel(/^f_json/).fill('{"a": 1}');
    await page.getByLabel(/^f_date/).fill('2026-12-24T10:00');
    await page.getByLabel(/^f_editor/).fill('<p>Hello <b>there</b></p>');
    await page.getByLabel(/^f_select/).selectOption('green');
    await page.getByLabel('Longitude').fill('13.4');
    await page.getByLabel('Latitude').fill('52.5');
    if (title === 'first thing') {
      await page.getByLabel('Upload a file to f_file').setInputFiles({ name: 'pic.png', mimeType: 'image/png', buffer: png() });
      await page.getByRole('checkbox', { name: 'f_bool' }).check();
      await page.getByRole('button', { name: 'Choose f_relation…' }).click();
      const dlg = page.getByRole('dialog', { name: 'Choose f_relation from users' });
      await dlg.getByRole('radio', { name: new RegExp(ada.record.id) }).check();
      await dlg.getByRole('button', { name: 'Done' }).click();
    }
    await clickAndLoad(page, page.getByRole('button', { name: 'Create' }));
    assert.equal(await page.getByRole('alert').count(), 0, await page.locator('main').innerText());
  }
  const all = await srv.client().collection('things').getFullList({ sort: 'f_text' });
  assert.deepEqual(all.map((r) => r.f_text), ['first thing', 'second thing']);
  assert.match(all[0].f_file, /^pic_\w+\.png$/);
  assert.deepEqual(all[0].f_geopoint, { lon: 13.4, lat: 52.5 });
  assert.deepEqual(all[0].f_json, { a: 1 });
  assert.equal(all[0].f_date, '2026-12-24 10:00:00.000Z');
  assert.equal(all[0].f_editor, '<p>Hello <b>there</b></p>');
  assert.equal(all[0].f_select, 'green');
  assert.equal(all[0].f_bool, true);
  assert.equal(all[0].f_relation, ada.record.id);
  assert.equal(all[1].f_bool, false);
  assert.match(all[0].f_autodate, /^2\d{3}-/);

  // The record shows its picture and its related user.
  await clickAndLoad(page, page.getByRole('link', { name: all[0].id }));
  await page.getByRole('link', { name: all[0].f_file }).waitFor();
  assert.equal(await page.locator(`input[name="f_relation"][value="${ada.record.id}"]`).isChecked(), true);
  await clickAndLoad(page, page.getByRole('link', { name: 'Back to things' }));

  // 4. Filter, then edit the record found.
  await page.getByLabel('Filter or search').fill('f_text ~ "second"');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }));
  assert.equal(await page.locator('table.records tbody tr[data-id]').count(), 1);
  await clickAndLoad(page, page.getByRole('link', { name: all[1].id }));
  await page.getByLabel(/^f_text/).fill('second thing, edited');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save changes' }));
  assert.equal((await srv.pb.collection('things').getOne(all[1].id)).f_text, 'second thing, edited');

  // 5. A backup, from the menu (SQLite only: PostgreSQL is backed up with pg_dump).
  if (ON_POSTGRES) return;
  await clickAndLoad(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Backups' }));
  await clickAndLoad(page, page.getByRole('button', { name: 'Create backup' }));
  const backups = await srv.pb.backups.getFullList();
  assert.equal(backups.length, 1);
  await page.getByRole('cell', { name: backups[0].key, exact: true }).waitFor();
});

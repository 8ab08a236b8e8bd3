// Dashboard relation picker (DASHBOARD.md item 15): a searchable dialog over
// the related collection's presentable fields, single and multiple choice
// within maxSelect, keyboard use, chosen records shown by label, and the
// list cell showing labels. Every save is cross-checked through REST.
import assert from 'node:assert/strict';
import { useServer, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit as save } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const XSS = '<img src=x onerror="window.__x=1">';
const authors = {};
const srv = useServer(async (s) => {
  const a = await s.pb.collections.create({
    name: 'authors',
    type: 'base',
    fields: [
      { name: 'name', type: 'text', presentable: true },
      { name: 'bio', type: 'text' },
    ],
  });
  for (let i = 1; i <= 30; i++) {
    const n = `Author ${String(i).padStart(2, '0')}`;
    authors[n] = (await s.pb.collection('authors').create({ name: n, bio: 'secret bio' })).id;
  }
  authors.xss = (await s.pb.collection('authors').create({ name: XSS })).id;
  await s.pb.collections.create({
    name: 'books',
    type: 'base',
    fields: [
      { name: 'title', type: 'text', presentable: true },
      { name: 'author', type: 'relation', collectionId: a.id, maxSelect: 1 },
      { name: 'coauthors', type: 'relation', collectionId: a.id, maxSelect: 2 },
    ],
  });
});
const b = useBrowser();


test('single choice by search; the chosen record shows by its presentable field', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/books/records/new');
  await page.getByLabel(/^title/).fill('picked');
  await page.getByRole('button', { name: 'Choose author…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Choose author from authors' });
  await dlg.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.type), 'search', 'focus in the search box');
  await dlg.getByLabel('Search authors').fill('Author 07');
  await dlg.getByText('1 shown.').waitFor();
  // The presentable field is searched, other fields are not.
  await dlg.getByRole('radio', { name: `Author 07 (${authors['Author 07']})` }).check();
  await dlg.getByRole('button', { name: 'Done' }).click();
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await page.getByRole('checkbox', { name: `Author 07 (${authors['Author 07']})` }).isChecked(), true);
  await save(page, 'Create');
  const [rec] = await srv.pb.collection('books').getFullList({ filter: 'title = "picked"' });
  assert.equal(rec.author, authors['Author 07']);
  // The list cell shows the label, not the bare id.
  await page.goto('/_/collections/books');
  await page.getByRole('cell', { name: `Author 07 (${authors['Author 07']})` }).waitFor();
  // Choosing another single value replaces it.
  await page.goto(`/_/collections/books/records/${rec.id}`);
  await page.getByRole('button', { name: 'Choose author…' }).click();
  const again = page.getByRole('dialog', { name: 'Choose author from authors' });
  await again.getByLabel('Search authors').fill('Author 08');
  await again.getByText('1 shown.').waitFor();
  await again.getByRole('radio', { name: /^Author 08/ }).check();
  await again.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByRole('checkbox', { name: /^Author 07/ }).count(), 0, 'a single choice replaces');
  await save(page, 'Save changes');
  assert.equal((await srv.pb.collection('books').getOne(rec.id)).author, authors['Author 08']);
});

test('multiple choice by keyboard within maxSelect; untick removes (REST)', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('books').create({ title: 'multi' });
  const page = await signedInPage(b, srv);
  await page.goto(`/_/collections/books/records/${rec.id}`);
  await page.getByRole('button', { name: 'Choose coauthors…' }).focus();
  await page.keyboard.press('Enter');
  const dlg = page.getByRole('dialog', { name: 'Choose coauthors from authors' });
  await dlg.waitFor();
  await page.keyboard.type('Author 1');
  await dlg.getByText('10 shown.').waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  // maxSelect 2 reached: the other boxes are disabled.
  await dlg.getByText('The maximum of 2 is chosen.').waitFor();
  assert.equal(await dlg.getByRole('checkbox', { name: /^Author 12/ }).isDisabled(), true);
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Choose coauthors…', 'focus returned');
  assert.match(page.url(), new RegExp(`/records/${rec.id}$`), 'Esc closed only the picker');
  await save(page, 'Save changes');
  let now = await srv.pb.collection('books').getOne(rec.id);
  assert.deepEqual(now.coauthors, [authors['Author 10'], authors['Author 11']]);
  await page.goto(`/_/collections/books/records/${rec.id}`);
  await page.getByRole('checkbox', { name: /^Author 10/ }).uncheck();
  await save(page, 'Save changes');
  now = await srv.pb.collection('books').getOne(rec.id);
  assert.deepEqual(now.coauthors, [authors['Author 11']]);
});

test('paging, injection-safe search, labels rendered as text', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/books/records/new');
  await page.getByRole('button', { name: 'Choose coauthors…' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByText('20 shown.').waitFor();
  await dlg.getByRole('button', { name: 'More results' }).click();
  await dlg.getByText('31 shown.').waitFor();
  assert.equal(await dlg.getByRole('button', { name: 'More results' }).isVisible(), false);
  await dlg.getByText(XSS).first().waitFor();
  assert.equal(await page.evaluate(() => window.__x), undefined);
  await dlg.getByLabel('Search authors').fill('" || id != "');
  await dlg.getByText('No matching records.').waitFor();
  await dlg.getByLabel('Search authors').fill('secret bio');
  await dlg.getByText('No matching records.').waitFor();
  // Same answer as REST for the presentable-field search.
  const r = await page.request.get('/_/collections/authors/pick?q=Author%202');
  const body = await r.json();
  const rest = await srv.pb.collection('authors').getFullList({ filter: 'id ~ "Author 2" || name ~ "Author 2"', sort: '' });
  assert.deepEqual(body.items.map((x) => x.id).sort(), rest.map((x) => x.id).sort());
});

test('picker: axe clean with the dialog open in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, '/_/collections/books/records/new', async (page) => {
    await page.getByRole('button', { name: 'Choose coauthors…' }).click();
    await page.getByRole('dialog').getByText('20 shown.').waitFor();
  });
});

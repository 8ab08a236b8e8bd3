// Screenshots of the dashboard's main pages for docs/dashboard.md.
//
// Not part of the suite (the name does not end in .test.mjs): run it when a
// page changes, with a built binary, and commit the PNGs it writes:
//
//   CAIRN_BIN=$PWD/target/debug/cairn node --test --test-force-exit \
//     tests/sdk/dashboard_screenshots.mjs
//
// It starts Cairn on 127.0.0.1:0, seeds a small demo (a `posts` collection
// with a field of each common type, records with a file, a rule, a backup,
// a webhook endpoint, an OAuth2 provider, a few log entries; `authors` and
// `books` for the file fields and the relation picker), and saves each
// page at 1100x700
// into docs/dashboard/ (the API rules and OAuth2 sections as element
// shots; the CSV import and collections import whole), then the states:
// signed out, dark, 375 px, a relation picker open, a CSV import with
// failing rows, a collections import's diff, a preview as a user. Every
// PNG is checked to stay under 150 KB. `storage.png` (after a passing S3
// test) comes from `DOCS_SHOTS=1` in dashboard_storage.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useServer, REPO_ROOT } from './harness.mjs';
import { useBrowser, newPage, signedInPage, test } from './dashboard_fixtures.mjs';
import { submit } from './dashboard_data.mjs';

const OUT = path.join(REPO_ROOT, 'docs', 'dashboard');
const MAX_BYTES = 150 * 1024;
const VIEWPORT = { width: 1100, height: 700 };
/** The records list with the columns a reader looks at (the Columns chooser's `cols`). */
const POSTS = '/_/collections/posts?' + ['title', 'category', 'published', 'views', 'author', 'created'].map((c) => `cols=${c}`).join('&');

let postId = '';
let hookId = '';
let bookId = '';
const srv = useServer(async (s) => {
  const users = await s.pb.collections.getOne('users');
  await s.pb.collections.create({
    name: 'posts',
    type: 'base',
    listRule: 'published = true || author = @request.auth.id',
    viewRule: 'published = true || author = @request.auth.id',
    createRule: '@request.auth.id != ""',
    updateRule: 'author = @request.auth.id',
    deleteRule: null,
    fields: [
      { name: 'title', type: 'text', required: true, presentable: true },
      { name: 'body', type: 'editor' },
      { name: 'published', type: 'bool' },
      { name: 'views', type: 'number' },
      { name: 'category', type: 'select', values: ['news', 'howto', 'release'], maxSelect: 1 },
      { name: 'author', type: 'relation', collectionId: users.id, maxSelect: 1 },
      { name: 'cover', type: 'file', maxSelect: 1, mimeTypes: ['image/png'], thumbs: ['100x100'] },
      { name: 'site', type: 'url' },
      { name: 'meta', type: 'json' },
      { name: 'publishOn', type: 'date' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  const ada = await s.pb.collection('users').create({ email: 'ada@example.com', password: 'ada-pass-123', passwordConfirm: 'ada-pass-123', name: 'Ada' });
  const png = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'dashboard', 'login.png'));
  const rows = [
    ['Cairn 1.0 is out', 'release', true, 1204],
    ['Backups to S3 in five minutes', 'howto', true, 311],
    ['Scoped superusers', 'news', false, 12],
    ['Rules that read like English', 'howto', true, 87],
    ['Webhooks with retries', 'news', true, 450],
  ];
  for (const [title, category, published, views] of rows) {
    const form = new FormData();
    form.append('title', title);
    form.append('category', category);
    form.append('published', String(published));
    form.append('views', String(views));
    form.append('author', ada.id);
    form.append('body', `<p>${title}: what changed and why.</p>`);
    form.append('meta', JSON.stringify({ tags: [category] }));
    form.append('site', 'https://example.com/blog');
    form.append('publishOn', '2026-12-01 09:00:00.000Z');
    form.append('cover', new Blob([png], { type: 'image/png' }), 'cover.png');
    const rec = await s.pb.collection('posts').create(form);
    postId ||= rec.id;
  }
  const oauth2 = (await s.pb.collections.getOne('users')).oauth2;
  // An OpenID Connect provider checked by its id_token's signature (no user info URL).
  const provider = { name: 'oidc', displayName: 'Example ID', clientId: 'demo-client', clientSecret: 'demo-secret' };
  for (const k of ['auth', 'token']) provider[`${k}URL`] = `https://id.example.com/${k.toLowerCase()}`;
  provider.extra = { jwksURL: 'https://id.example.com/jwks', issuers: ['https://id.example.com'] };
  await s.pb.collections.update('users', { oauth2: { ...oauth2, enabled: true, providers: [provider] } });
  await s.pb.backups.create('before_launch.zip');
  hookId = (await s.su('POST', '/api/webhooks', { body: { name: 'search index', url: 'http://127.0.0.1:9/hook', collection: 'posts' } })).json.id;
  await s.pb.collection('posts').update(postId, { views: 1205 }); // one delivery in the log
  for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/collections/nope/records`).catch(() => {});
  // Books by authors: multiple files, a protected one, a multiple relation.
  const authors = await s.pb.collections.create({
    name: 'authors',
    type: 'base',
    fields: [{ name: 'name', type: 'text', required: true, presentable: true }, { name: 'born', type: 'number' }, { name: 'email', type: 'email' }],
    indexes: ['CREATE UNIQUE INDEX idx_authors_email ON authors (email)'],
  });
  const people = {};
  for (const [name, born] of [['Ada Lovelace', 1815], ['Alan Turing', 1912], ['Alonzo Church', 1903], ['Grace Hopper', 1906]]) {
    const email = `${name.split(' ')[0].toLowerCase()}@example.com`;
    people[name] = (await s.pb.collection('authors').create({ name, born, email })).id;
  }
  await s.pb.collections.create({
    name: 'books',
    type: 'base',
    fields: [
      { name: 'title', type: 'text', presentable: true },
      { name: 'authors', type: 'relation', collectionId: authors.id, maxSelect: 3 },
      { name: 'cover', type: 'file', maxSelect: 3, maxSize: 100000, mimeTypes: ['image/png'] },
      { name: 'manuscript', type: 'file', maxSelect: 1, protected: true, maxSize: 5242880 },
    ],
  });
  const book = new FormData();
  book.append('title', 'Notes on the Analytical Engine');
  book.append('authors', people['Ada Lovelace']);
  book.append('cover', new Blob([png], { type: 'image/png' }), 'front.png');
  book.append('cover', new Blob([png], { type: 'image/png' }), 'back.png');
  book.append('manuscript', new Blob(['Note G'], { type: 'text/plain' }), 'manuscript.txt');
  bookId = (await s.pb.collection('books').create(book)).id;
  await s.pb.collections.create({ name: 'drafts', type: 'base', fields: [{ name: 'text', type: 'text' }] });
});
const b = useBrowser();

/** Saves a page or an element (anything with playwright's `screenshot`). */
async function save(target, name, opts = {}) {
  const file = path.join(OUT, `${name}.png`);
  await target.screenshot({ path: file, ...opts });
  const size = fs.statSync(file).size;
  assert.ok(size < MAX_BYTES, `${name}.png is ${size} bytes`);
  return size;
}

test('screenshots of the main pages into docs/dashboard/', b, async () => {
  const page = await signedInPage(b, srv, { viewport: VIEWPORT });
  const shots = [
    ['collections', '/_/collections'],
    ['records', POSTS],
    ['record', `/_/collections/posts/records/${postId}`],
    ['collection', '/_/collections/posts/edit'],
    ['settings', '/_/settings'],
    ['logs', '/_/logs'],
    ['crons', '/_/crons'],
    ['backups', '/_/backups'],
    ['webhooks', '/_/webhooks'],
    ['webhook', `/_/webhooks/${hookId}`],
  ];
  const sizes = {};
  for (const [name, url] of shots) {
    await page.goto(url);
    await page.waitForLoadState('networkidle');
    sizes[name] = await save(page, name);
  }
  // The API rules section of the collection editor.
  await page.goto('/_/collections/posts/edit#sec-rules');
  // The sticky Save bar would lie over the section's last rule.
  await page.evaluate(() => document.querySelectorAll('.sticky').forEach((e) => (e.style.position = 'static')));
  sizes.rules = await save(page.locator('#sec-rules'), 'rules');
  // The OAuth2 part of an auth collection's options.
  await page.goto('/_/collections/users/auth-config');
  sizes['auth-config'] = await save(page.locator('section', { has: page.locator('#h-oauth2') }), 'auth-config');
  // Your account.
  await page.goto('/_/account');
  sizes.account = await save(page, 'account');
  console.log(JSON.stringify(sizes));
});

test('screenshots of particular states into docs/dashboard/', b, async () => {
  const sizes = {};
  const guest = await newPage(b, srv, { viewport: VIEWPORT });
  await guest.goto('/_/login');
  sizes.login = await save(guest, 'login');
  const dark = await signedInPage(b, srv, { viewport: VIEWPORT, colorScheme: 'dark' });
  await dark.goto(POSTS);
  await dark.waitForLoadState('networkidle');
  sizes['records-dark'] = await save(dark, 'records-dark');
  const phone = await signedInPage(b, srv, { viewport: { width: 375, height: 812 } });
  await phone.goto(`/_/collections/posts/records/${postId}`);
  sizes['record-375'] = await save(phone, 'record-375');

  let page = await signedInPage(b, srv, { viewport: VIEWPORT });
  await page.goto(`/_/collections/books/records/${bookId}`);
  await page.waitForLoadState('networkidle');
  sizes['record-files'] = await save(page.locator('main'), 'record-files');
  await page.getByRole('button', { name: 'Choose authors…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Choose authors from authors' });
  await dlg.getByLabel('Search authors').fill('Al');
  await dlg.getByText('Alonzo Church').waitFor();
  await dlg.getByRole('checkbox', { name: /Alan Turing/ }).check();
  sizes['relation-picker'] = await save(page, 'relation-picker');

  // A fresh page: the picked relation left the editor with unsaved changes.
  page = await signedInPage(b, srv, { viewport: VIEWPORT });
  await page.goto('/_/collections/authors/import-csv');
  const csv = 'Full name,born,email\nEdsger Dijkstra,1930,ewd@example.com\n,1912,alan2@example.com\nDonald Knuth,1938,knuth@example.com\nTony Hoare,1934,knuth@example.com';
  await page.getByLabel('CSV, with a header row').fill(csv);
  await submit(page, 'Preview');
  await page.getByLabel('Column for name').selectOption({ label: 'Full name' });
  await submit(page, 'Update preview');
  sizes['csv-import'] = await save(page, 'csv-import', { fullPage: true });

  const exported = (await srv.su('GET', '/api/collections?perPage=200')).json.items;
  const edited = exported.filter((c) => c.name !== 'drafts').map((c) => {
    if (c.name !== 'books') return c;
    const fields = c.fields.filter((f) => f.name !== 'manuscript');
    return { ...c, fields: [...fields, { name: 'isbn', type: 'text' }] };
  });
  edited.push({ name: 'reviews', type: 'base', fields: [{ name: 'stars', type: 'number' }, { name: 'text', type: 'text' }] });
  await page.goto('/_/import-collections');
  await page.getByLabel(/^Collections JSON/).fill(JSON.stringify(edited, null, 2));
  await page.getByLabel(/Delete the collections/).check();
  await submit(page, 'Review changes');
  sizes['import-collections'] = await save(page, 'import-collections', { fullPage: true });

  await page.goto(`${POSTS}&as_coll=users&as_user=ada%40example.com`);
  await page.locator('#total', { hasText: 'record(s)' }).waitFor();
  sizes.preview = await save(page, 'preview');
  console.log(JSON.stringify(sizes));
});

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
// a webhook endpoint, an OAuth2 provider, a few log entries), and saves each
// page at 1100x700
// into docs/dashboard/ (the API rules and OAuth2 sections as element
// shots). Every PNG is checked to stay under 150 KB.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useServer, REPO_ROOT } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';

const OUT = path.join(REPO_ROOT, 'docs', 'dashboard');
const MAX_BYTES = 150 * 1024;
const VIEWPORT = { width: 1100, height: 700 };

let postId = '';
let hookId = '';
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
  const provider = { name: 'oidc', displayName: 'Example ID', clientId: 'demo-client', clientSecret: 'demo-secret' };
  for (const k of ['auth', 'token', 'userInfo']) provider[`${k}URL`] = `https://id.example.com/${k.toLowerCase()}`;
  await s.pb.collections.update('users', { oauth2: { ...oauth2, enabled: true, providers: [provider] } });
  await s.pb.backups.create('before_launch.zip');
  hookId = (await s.su('POST', '/api/webhooks', { body: { name: 'search index', url: 'http://127.0.0.1:9/hook', collection: 'posts' } })).json.id;
  await s.pb.collection('posts').update(postId, { views: 1205 }); // one delivery in the log
  for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/collections/nope/records`).catch(() => {});
});
const b = useBrowser();

/** Saves a page or an element (anything with playwright's `screenshot`). */
async function save(target, name) {
  const file = path.join(OUT, `${name}.png`);
  await target.screenshot({ path: file });
  const size = fs.statSync(file).size;
  assert.ok(size < MAX_BYTES, `${name}.png is ${size} bytes`);
  return size;
}

test('screenshots of the main pages into docs/dashboard/', b, async () => {
  const page = await signedInPage(b, srv, { viewport: VIEWPORT });
  const shots = [
    ['collections', '/_/collections'],
    ['records', '/_/collections/posts'],
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
  sizes.rules = await save(page.locator('#sec-rules'), 'rules');
  // The OAuth2 part of an auth collection's options.
  await page.goto('/_/collections/users/auth-config');
  sizes['auth-config'] = await save(page.locator('section', { has: page.locator('#h-oauth2') }), 'auth-config');
  console.log(JSON.stringify(sizes));
});

// Dashboard file fields (issue 16, DASHBOARD.md item 10): upload single and
// multiple files in the record editor, maxSize/mimeTypes refused by the
// server's own validation with the error next to the field, thumbnails of
// images, protected files through a file token, removal of one file and
// reordering. Every step is cross-checked through REST.
import assert from 'node:assert/strict';
import { useServer, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { png, checkLayout, submit } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
let coll;
const srv = useServer(async (s) => {
  coll = await s.pb.collections.create({
    name: 'docs',
    type: 'base',
    fields: [
      { name: 'title', type: 'text', presentable: true },
      { name: 'pics', type: 'file', maxSelect: 3, maxSize: 2000, mimeTypes: ['image/png'] },
      { name: 'secret', type: 'file', maxSelect: 1, protected: true },
    ],
  });
});
const b = useBrowser();


test('upload several files and a protected one; REST serves the same bytes', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/docs/records/new');
  await page.getByLabel(/^title/).fill('with files');
  await page.getByLabel('Add files to pics').setInputFiles([
    { name: 'one.png', mimeType: 'image/png', buffer: png(1) },
    { name: 'two.png', mimeType: 'image/png', buffer: png(2) },
  ]);
  // The chosen files are previewed before saving.
  await page.getByText('one.png (', { exact: false }).waitFor();
  await page.getByLabel('Upload a file to secret').setInputFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('top secret') });
  await submit(page, 'Create');
  const [rec] = await srv.pb.collection('docs').getFullList({ filter: 'title = "with files"' });
  assert.equal(rec.pics.length, 2);
  assert.match(rec.pics[0], /^one_[a-z0-9]{10}\.png$/);
  assert.match(rec.pics[1], /^two_[a-z0-9]{10}\.png$/);
  assert.match(rec.secret, /^note_[a-z0-9]{10}\.txt$/);
  const bytes = Buffer.from(await (await fetch(srv.pb.files.getURL(rec, rec.pics[1]))).arrayBuffer());
  assert.deepEqual(bytes, png(2));
  // Protected: 404 without a token, the editor's link carries one.
  assert.equal((await fetch(srv.pb.files.getURL(rec, rec.secret))).status, 404);
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  const link = page.getByRole('link', { name: rec.secret });
  const href = await link.getAttribute('href');
  assert.match(href, /\?token=/);
  const res = await page.request.get(href);
  assert.equal(res.status(), 200);
  assert.equal(await res.text(), 'top secret');
  // Image files show a 100x100 thumbnail that loads.
  const thumb = page.locator('[data-file] img').first();
  assert.match(await thumb.getAttribute('src'), /thumb=100x100/);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-file] img')].every((i) => i.complete && i.naturalWidth === 100));
});

test('remove one file, reorder, append: REST keeps exactly that order', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('docs').create({
    title: 'order',
    pics: [new File([png(3)], 'a.png'), new File([png(4)], 'b.png'), new File([png(5)], 'c.png')],
  });
  const page = await signedInPage(b, srv);
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  await page.getByRole('checkbox', { name: `Remove ${rec.pics[0]}` }).check();
  await page.getByRole('button', { name: `Move ${rec.pics[2]} up` }).click();
  await submit(page, 'Save changes');
  let now = await srv.pb.collection('docs').getOne(rec.id);
  assert.deepEqual(now.pics, [rec.pics[2], rec.pics[1]]);
  // The removed file is gone from storage.
  assert.equal((await fetch(srv.pb.files.getURL(rec, rec.pics[0]))).status, 404);
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  await page.getByLabel('Add files to pics').setInputFiles({ name: 'd.png', mimeType: 'image/png', buffer: png(6) });
  await submit(page, 'Save changes');
  now = await srv.pb.collection('docs').getOne(rec.id);
  assert.equal(now.pics.length, 3);
  assert.deepEqual(now.pics.slice(0, 2), [rec.pics[2], rec.pics[1]]);
  assert.match(now.pics[2], /^d[a-z0-9]{10}_[a-z0-9]{10}\.png$/, 'short names get 10 random characters');
  // Replacing the single file keeps one name, the new one.
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  await page.getByLabel('Upload a file to secret').setInputFiles({ name: 'first.txt', mimeType: 'text/plain', buffer: Buffer.from('1') });
  await submit(page, 'Save changes');
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  await page.getByLabel('Replace the file of secret').setInputFiles({ name: 'second.txt', mimeType: 'text/plain', buffer: Buffer.from('2') });
  await submit(page, 'Save changes');
  now = await srv.pb.collection('docs').getOne(rec.id);
  assert.match(now.secret, /^second_/);
});

test('maxSize and mimeTypes: the server refuses, the error is next to the field, nothing stored', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('docs').create({ title: 'limits' });
  const page = await signedInPage(b, srv);
  for (const [file, pattern] of [
    [{ name: 'big.png', mimeType: 'image/png', buffer: png(3000) }, /maximum allowed file size is 2000 bytes/],
    [{ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') }, /mime type must be one of: image\/png/],
  ]) {
    await page.goto(`/_/collections/docs/records/${rec.id}`);
    await page.getByLabel('Add files to pics').setInputFiles(file);
    await submit(page, 'Save changes');
    const input = page.getByLabel('Add files to pics');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    const err = await page.locator('#err-pics').textContent();
    assert.match(err, pattern);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'in-pics', 'focus on the invalid input');
    assert.deepEqual((await srv.pb.collection('docs').getOne(rec.id)).pics, []);
  }
});

test('multipart posts need the CSRF token too', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('docs').create({ title: 'csrf' });
  const page = await signedInPage(b, srv);
  await page.goto(`/_/collections/docs/records/${rec.id}`);
  const res = await page.request.post(`/_/collections/docs/records/${rec.id}`, {
    multipart: { title: 'changed', pics: { name: 'x.png', mimeType: 'image/png', buffer: png() } },
  });
  assert.equal(res.status(), 403);
  const now = await srv.pb.collection('docs').getOne(rec.id);
  assert.equal(now.title, 'csrf');
  assert.deepEqual(now.pics, []);
});

test('file editor: axe clean in both themes, usable at 375 px', b, async () => {
  if (skip) return;
  const rec = await srv.pb.collection('docs').create({ title: 'a11y', pics: [new File([png(7)], 'a_very_long_file_name_that_could_overflow_the_narrow_screen.png')] });
  await checkLayout(b, srv, `/_/collections/docs/records/${rec.id}`);
  assert.ok(coll.id);
});

// Backups page, the file half (DASHBOARD.md): download, upload and restore
// (after a confirmation), each cross-checked through /api/backups and
// /api/settings, and refused without a session or without the CSRF token.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, ON_POSTGRES } from './harness.mjs';
import { useBrowser, newPage, signedInPage, assertAxeClean, test } from './dashboard_fixtures.mjs';

const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
// Backups are SQLite files; on PostgreSQL the API refuses them (pg_dump).
const NO_PG = 'backups are not supported on PostgreSQL (use pg_dump)';

/** The backup's bytes through the REST download (superuser file token). */
async function restBytes(key) {
  const token = await srv.pb.files.getToken();
  const r = await fetch(`${srv.url}/api/backups/${encodeURIComponent(key)}?token=${token}`);
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

test('backups page: download and upload match /api/backups', b, async (t) => {
  if (skip) return;
  if (ON_POSTGRES) return t.skip(NO_PG);
  await srv.pb.backups.create('dl_me.zip');
  const page = await signedInPage(b, srv, { bypassCSP: true });
  await page.goto('/_/backups');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download: dl_me.zip' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'dl_me.zip');
  const got = await import('node:fs').then((fs) => download.path().then((p) => fs.readFileSync(p)));
  assert.ok(got.equals(await restBytes('dl_me.zip')), 'the page and REST serve different bytes');
  // A missing backup: back to the list with the API's message.
  await page.goto('/_/backups/nope.zip/download');
  await page.getByRole('alert').waitFor();
  // Upload the same bytes under another name.
  await page.locator('#bfile').setInputFiles({ name: 'up_again.zip', mimeType: 'application/zip', buffer: got });
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Upload', exact: true }).click()]);
  await page.getByRole('status').filter({ hasText: 'Backup uploaded.' }).waitFor();
  const up = (await srv.pb.backups.getFullList()).find((x) => x.key === 'up_again.zip');
  assert.equal(up?.size, got.length);
  // Not a zip: refused with the API's message, nothing stored.
  const before = (await srv.pb.backups.getFullList()).length;
  await page.locator('#bfile').setInputFiles({ name: 'bad.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip') });
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Upload', exact: true }).click()]);
  await page.getByRole('alert').waitFor();
  assert.equal((await srv.pb.backups.getFullList()).length, before);
  await assertAxeClean(page, '/_/backups with download, upload and restore');
});

test('backups page: restore needs the typed name, then brings the data back', b, async (t) => {
  if (skip) return;
  if (ON_POSTGRES) return t.skip(NO_PG);
  // axe is injected as an inline script: this context bypasses the CSP.
  const page = await signedInPage(b, srv, { bypassCSP: true });
  await srv.pb.settings.update({ meta: { appName: 'BeforeRestore' } });
  await srv.pb.backups.create('restore_me.zip');
  await srv.pb.settings.update({ meta: { appName: 'AfterBackup' } });
  await page.goto('/_/backups');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Restore: restore_me.zip' }).click()]);
  await page.getByRole('heading', { name: 'Restore restore_me.zip' }).waitFor();
  assert.match(await page.locator('main').innerText(), /replaces all current data and settings/);
  // The backup's name must be typed: a wrong one restores nothing.
  await page.getByLabel('Type restore_me.zip to restore it').fill('restore_me');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Restore backup' }).click()]);
  await page.getByRole('alert').filter({ hasText: 'nothing was restored' }).waitFor();
  assert.equal((await srv.pb.settings.getAll()).meta.appName, 'AfterBackup');
  await assertAxeClean(page, 'restore confirmation with an error');
  await page.getByLabel('Type restore_me.zip to restore it').fill('restore_me.zip');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Restore backup' }).click()]);
  await page.getByRole('status').filter({ hasText: 'Backup restore_me.zip restored.' }).waitFor();
  assert.equal((await srv.pb.settings.getAll()).meta.appName, 'BeforeRestore');
});

test('backups download, upload and restore are refused without a session or CSRF token', b, async (t) => {
  if (skip) return;
  if (ON_POSTGRES) return t.skip(NO_PG);
  await srv.pb.backups.create('guarded.zip');
  const anon = await newPage(b, srv, {});
  const r = await anon.request.get('/_/backups/guarded.zip/download', { maxRedirects: 0 });
  assert.equal(r.status(), 303, await r.text());
  assert.match(r.headers().location, /^\/_\/login/);
  const ar = await anon.request.post('/_/backups/guarded.zip/restore', { form: { x: '1' }, maxRedirects: 0 });
  assert.ok([303, 403].includes(ar.status()), String(ar.status()));
  // Signed in, but without the form's CSRF token: refused, nothing changes.
  await srv.pb.settings.update({ meta: { appName: 'NoCsrf' } });
  const su = await signedInPage(b, srv, {});
  const rr = await su.request.post('/_/backups/guarded.zip/restore', { form: { x: '1' }, maxRedirects: 0 });
  assert.equal(rr.status(), 403, await rr.text());
  assert.equal((await srv.pb.settings.getAll()).meta.appName, 'NoCsrf');
  const before = (await srv.pb.backups.getFullList()).length;
  const ur = await su.request.post('/_/backups/upload', {
    multipart: { file: { name: 'sneak.zip', mimeType: 'application/zip', buffer: await restBytes('guarded.zip') } },
    maxRedirects: 0,
  });
  assert.equal(ur.status(), 403, await ur.text());
  assert.equal((await srv.pb.backups.getFullList()).length, before);
});

test('on PostgreSQL "Create backup" shows the API\'s refusal (pg_dump) and creates nothing', b, async (t) => {
  if (!ON_POSTGRES) return t.skip('PostgreSQL only (SDK_STORE=postgres)');
  const rest = await srv.pb.backups.create('x.zip').then(() => null, (e) => e);
  assert.equal(rest.status, 400);
  assert.match(rest.response.message, /pg_dump/);
  const page = await signedInPage(b, srv, { bypassCSP: true });
  await page.goto('/_/backups');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create backup' }).click()]);
  await page.getByText(rest.response.message).first().waitFor();
  assert.deepEqual(await srv.pb.backups.getFullList(), []);
  await assertAxeClean(page, '/_/backups on PostgreSQL');
});

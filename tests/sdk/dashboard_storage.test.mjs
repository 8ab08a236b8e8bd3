// File storage and backup settings pages (DASHBOARD.md item 21, issue 16
// "file storage with an S3 test"): S3 settings saved in the UI are what
// GET /api/settings returns (the secret write-only), inline errors save
// nothing, and "Test connection" runs POST /api/settings/test/s3's check
// against a real S3 server (moto, as files_s3.test.mjs) and against an
// unreachable endpoint, showing the error text.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import net from 'node:net';
import { useServer, cairnOnly, IS_POCKETBASE, ON_POSTGRES } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';
import { startMoto, stopMoto, s3Settings } from './files_fixtures.mjs';

after(stopMoto);
const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
/** With DOCS_SHOTS=1, saves the page for docs/dashboard.md. */
const shot = (page, name) => (process.env.DOCS_SHOTS ? page.screenshot({ path: `docs/dashboard/${name}.png` }) : null);

/** A loopback port with nothing listening (bound, then closed). */
function closedPort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Fills the S3 inputs of the page (labels are the same on both pages). */
async function fillS3(page, cfg) {
  await page.getByLabel('Use S3 storage').setChecked(cfg.enabled);
  await page.getByLabel('Bucket').fill(cfg.bucket);
  await page.getByLabel('Region').fill(cfg.region);
  await page.getByLabel('Endpoint').fill(cfg.endpoint);
  await page.getByLabel('Access key').fill(cfg.accessKey);
  await page.getByLabel(/^Secret/).fill(cfg.secret);
  await page.getByLabel('Force path-style addressing').setChecked(cfg.forcePathStyle);
}

test('file storage: S3 saved in the UI equals REST, secret write-only, Test connection against moto', b, async () => {
  if (skip) return;
  const { url } = await startMoto();
  const page = await signedInPage(b, srv);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'File storage' }).click();
  await page.getByRole('heading', { name: 'File storage', level: 1 }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Test connection' }).count(), 0, 'no test before S3 is saved');
  // Enabled without the connection fields: inline errors, nothing saved.
  await page.getByLabel('Use S3 storage').check();
  await submit(page, 'Save storage settings');
  for (const label of ['Bucket', 'Region', 'Endpoint', 'Access key']) {
    assert.equal(await page.getByLabel(label).getAttribute('aria-invalid'), 'true', label);
  }
  assert.equal(await page.getByLabel(/^Secret/).getAttribute('aria-invalid'), 'true');
  assert.equal((await srv.pb.settings.getAll()).s3.enabled, false);
  // The whole connection: REST returns it without the secret.
  await fillS3(page, { ...s3Settings(url), secret: 'moto-secret-4d2' });
  await submit(page, 'Save storage settings');
  await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
  const s3 = (await srv.pb.settings.getAll()).s3;
  const { secret: _s, ...shown } = s3Settings(url);
  assert.deepEqual({ ...s3 }, shown);
  assert.ok(!(await page.content()).includes('moto-secret-4d2'), 'the secret is not in the page');
  await page.getByLabel(/a secret is stored/).waitFor();
  // Test connection: the saved settings reach the bucket.
  await submit(page, 'Test connection');
  await page.getByRole('status').filter({ hasText: 'S3 connection works' }).waitFor();
  await shot(page, 'storage');
  // A bucket that does not exist (set through REST): the API's error text.
  await srv.pb.settings.update({ s3: { bucket: 'no-such-bucket' } });
  await page.reload();
  await submit(page, 'Test connection');
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: 'Failed to test the S3 filesystem.' }).waitFor();
  // Fixed in the UI with the secret box left blank: the stored secret is kept.
  await page.getByLabel('Bucket').fill('cairn-files');
  await submit(page, 'Save storage settings');
  assert.equal((await srv.pb.settings.getAll()).s3.bucket, 'cairn-files');
  await submit(page, 'Test connection');
  await page.getByRole('status').filter({ hasText: 'S3 connection works' }).waitFor();
  // Off again: local storage.
  await page.getByLabel('Use S3 storage').uncheck();
  await submit(page, 'Save storage settings');
  assert.equal((await srv.pb.settings.getAll()).s3.enabled, false);
  assert.equal(await page.getByRole('button', { name: 'Test connection' }).count(), 0);
});

test('file storage: an unreachable endpoint shows the error text of the S3 test', b, async () => {
  if (skip) return;
  const port = await closedPort();
  const page = await signedInPage(b, srv);
  await page.goto('/_/settings/storage');
  await fillS3(page, { ...s3Settings(`http://127.0.0.1:${port}`), bucket: 'gone' });
  await submit(page, 'Save storage settings');
  assert.equal((await srv.pb.settings.getAll()).s3.endpoint, `http://127.0.0.1:${port}`);
  await submit(page, 'Test connection');
  // The REST check says the same (up to the random test key and timings).
  const head = (t) => t.replace(/\s+/g, ' ').split('[key:')[0];
  const text = head(await page.getByRole('alert').innerText());
  assert.equal(text, 'Failed to test the S3 filesystem. Raw error: failed to upload a test file: ');
  const r = await srv.su('POST', '/api/settings/test/s3', { body: { filesystem: 'storage' } });
  assert.equal(r.status, 400);
  assert.equal(head(r.json.message), text);
  await srv.pb.settings.update({ s3: { enabled: false } });
});

test('backup settings: schedule and S3 saved in the UI equal REST; a bad cron saves nothing; S3 test', b, async () => {
  if (skip) return;
  const { url } = await startMoto();
  const filesS3 = (await srv.pb.settings.getAll()).s3;
  const page = await signedInPage(b, srv);
  await page.goto('/_/backups');
  await page.getByRole('link', { name: 'Backup settings' }).click();
  await page.getByRole('heading', { name: 'Backup settings', level: 1 }).waitFor();
  await page.getByLabel(/^Schedule \(/).fill('every day');
  await submit(page, 'Save backup settings');
  assert.equal(await page.getByLabel(/^Schedule \(/).getAttribute('aria-invalid'), 'true');
  const badCron = ON_POSTGRES ? /not available on PostgreSQL/ : /Invalid cron expression/;
  assert.match(await page.locator('#bcron-err').innerText(), badCron);
  assert.equal((await srv.pb.settings.getAll()).backups.cron, '');
  await page.getByLabel(/^Schedule \(/).fill('0 3 * * *');
  await page.getByLabel('Scheduled backups to keep').fill('4');
  if (ON_POSTGRES) {
    // No backups on PostgreSQL (docs/scaling.md): the schedule is a field error.
    await submit(page, 'Save backup settings');
    assert.match(await page.locator('#bcron-err').innerText(), /not available on PostgreSQL/);
    assert.equal((await srv.pb.settings.getAll()).backups.cron, '');
    await page.getByLabel(/^Schedule \(/).fill('');
  }
  await fillS3(page, s3Settings(url));
  await submit(page, 'Save backup settings');
  await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
  const backups = (await srv.pb.settings.getAll()).backups;
  assert.equal(backups.cron, ON_POSTGRES ? '' : '0 3 * * *');
  assert.equal(backups.cronMaxKeep, 4);
  const { secret: _s, ...shown } = s3Settings(url);
  assert.deepEqual({ ...backups.s3 }, shown);
  // The scheduled job is registered, as after PATCH /api/settings.
  const crons = await srv.su('GET', '/api/crons');
  const job = crons.json.some((c) => c.id === '__pbAutoBackup__' && c.expression === '0 3 * * *');
  assert.equal(job, !ON_POSTGRES, JSON.stringify(crons.json));
  await submit(page, 'Test connection');
  await page.getByRole('status').filter({ hasText: 'S3 connection works' }).waitFor();
  // Files storage was not touched.
  assert.deepEqual((await srv.pb.settings.getAll()).s3, filesS3);
  await srv.pb.settings.update({ backups: { cron: '', s3: { enabled: false } } });
});

test('file storage and backup settings: axe in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, '/_/settings/storage');
  await checkLayout(b, srv, '/_/backups/settings', async (page) => {
    await page.getByLabel(/^Schedule \(/).fill('nope');
    await submit(page, 'Save backup settings');
  });
});

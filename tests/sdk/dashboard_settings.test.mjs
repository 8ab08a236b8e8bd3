// Settings round trip (DASHBOARD.md item 21): application, mail with a test
// email that reaches the real SMTP sink, rate limits, batch and trusted
// proxies, each checked through GET /api/settings; errors shown inline.
import assert from 'node:assert/strict';
import { useServer, useSmtpSink, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';

const sink = useSmtpSink();
const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

async function save(page, name = 'Save settings') {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name }).click()]);
}

test('settings saved in the UI are what REST returns; test email arrives', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/settings');
  await page.getByLabel('Application name').fill('Settings UI App');
  await page.getByLabel('Sender address').fill('robot@example.com');
  await page.getByLabel('Use an SMTP server').check();
  await page.getByLabel('SMTP host').fill(sink.host);
  await page.getByLabel('Port').fill(String(sink.port));
  await page.getByLabel('Enable rate limits').check();
  await page.getByLabel(/^Rules, one per line/).fill('/api/ - 10 300\n*:auth - 3 2');
  await page.getByLabel(/Enable .*api\/batch/).check();
  await page.getByLabel('Max requests per batch').fill('7');
  await page.getByLabel(/Client IP headers/).fill('X-Forwarded-For');
  await save(page);
  await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
  const s = await srv.pb.settings.getAll();
  assert.equal(s.meta.appName, 'Settings UI App');
  assert.equal(s.meta.senderAddress, 'robot@example.com');
  assert.equal(s.smtp.enabled, true);
  assert.equal(s.smtp.port, sink.port);
  assert.equal(s.rateLimits.enabled, true);
  assert.deepEqual(s.rateLimits.rules.map((r) => [r.label, r.duration, r.maxRequests]), [['/api/', 10, 300], ['*:auth', 3, 2]]);
  assert.equal(s.batch.enabled, true);
  assert.equal(s.batch.maxRequests, 7);
  assert.deepEqual(s.trustedProxy.headers, ['X-Forwarded-For']);
  assert.match(await page.title(), /Settings UI App/);
  // Test email.
  await page.getByLabel('Send a test email to').fill('check@example.com');
  await save(page, 'Send test email');
  await page.getByRole('status').filter({ hasText: 'Test email sent to check@example.com' }).waitFor();
  const mail = await sink.waitFor((m) => m.rcptTos.includes('check@example.com'));
  assert.match(mail.subject, /Settings UI App: test email/);
  // An invalid value: inline error, nothing saved.
  await page.getByLabel('Application URL').fill('not a url');
  await page.getByLabel('Application name').fill('Should Not Save');
  await save(page);
  assert.equal(await page.getByLabel('Application URL').getAttribute('aria-invalid'), 'true');
  assert.equal((await srv.pb.settings.getAll()).meta.appName, 'Settings UI App');
});

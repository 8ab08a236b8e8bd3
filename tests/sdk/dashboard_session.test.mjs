// Session expiry (DASHBOARD.md item 5) with short limits for this server only
// (CAIRN_ADMIN_IDLE_SECS=3, CAIRN_ADMIN_MAX_SECS=8): an idle session ends; a
// script's request then gets 401 + HX-Redirect, never a sign-in form; a
// navigation goes to sign-in with `next` and back to the same filtered list;
// activity keeps a session alive only up to the absolute limit.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, newPage, signIn, test } from './dashboard_fixtures.mjs';

process.env.CAIRN_ADMIN_IDLE_SECS = '3';
process.env.CAIRN_ADMIN_MAX_SECS = '8';
const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'things', type: 'base', fields: [{ name: 'n', type: 'number' }] });
  for (let i = 1; i <= 4; i++) await s.pb.collection('things').create({ n: i });
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('idle expiry: 401 + HX-Redirect for scripts, sign-in with next for navigations, back to the same filter', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  const target = '/_/collections/things?filter=' + encodeURIComponent('n > 2');
  await signIn(page, { next: target });
  assert.equal(await page.locator('tbody tr[data-id]').count(), 2);
  await sleep(4500);
  const partial = await page.evaluate(async () => {
    const r = await fetch(location.href, { headers: { 'x-requested-with': 'fetch' } });
    return { status: r.status, to: r.headers.get('hx-redirect'), body: await r.text() };
  });
  assert.equal(partial.status, 401);
  assert.ok(partial.to.startsWith('/_/login?next='), partial.to);
  assert.ok(!partial.body.includes('<form'), 'no sign-in form in a fragment');
  await page.reload();
  assert.equal(new URL(page.url()).pathname, '/_/login');
  await page.getByLabel('Email').fill('admin@example.com');
  await page.getByLabel('Password').fill('Sup3r-secret-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/_/collections/things?filter=*');
  assert.equal(new URL(page.url()).searchParams.get('filter'), 'n > 2');
  assert.equal(await page.locator('tbody tr[data-id]').count(), 2);
});

test('activity keeps the session alive until the absolute limit', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections/things' });
  const started = Date.now();
  while (Date.now() - started < 5000) {
    await sleep(1000);
    await page.reload();
    assert.equal(new URL(page.url()).pathname, '/_/collections/things', 'active session stays');
  }
  while (Date.now() - started < 9000) {
    await sleep(1000);
    await page.reload();
  }
  assert.equal(new URL(page.url()).pathname, '/_/login', 'absolute limit reached');
});

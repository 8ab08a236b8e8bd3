// Webhooks page (DASHBOARD.md item 33, docs/dashboard.md): create an
// endpoint through the form (inline field errors first), the signing secret
// shown once, a real delivery to a receiver on 127.0.0.1:0 verified with
// npm `standardwebhooks` and shown in the log with its attempt, resend and
// test event reaching the receiver, pause / enable, rotate (a new secret,
// once) and delete after a confirmation; every state change needs the
// session and the CSRF token.
import assert from 'node:assert/strict';
import { cairnOnly, IS_POCKETBASE, useServer } from './harness.mjs';
import { useBrowser, newPage, signedInPage, assertAxeClean, test } from './dashboard_fixtures.mjs';
import { submitVia as submit } from './dashboard_data.mjs';
import { webhookEnv, startReceiver, verify, waitFor, newCollection } from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** Reloads the endpoint page until its delivery log shows `text`. */
async function logShows(page, url, text) {
  await waitFor(async () => {
    await page.goto(url);
    return (await page.locator('#deliveries tbody').innerText()).includes(text);
  }, 10_000, `"${text}" in the delivery log`);
}

test('webhooks page: create, secret once, delivery in the log, resend, test event', b, async () => {
  if (skip) return;
  const receiver = await startReceiver(() => ({ body: 'thanks from the receiver' }));
  try {
    const col = await newCollection(srv, 'dwh');
    const page = await signedInPage(b, srv, { bypassCSP: true });
    await page.goto('/_/webhooks');
    assert.equal(await page.locator('nav a[href="/_/webhooks"][aria-current]').count(), 1);
    await submit(page, page.getByRole('link', { name: 'New webhook' }));
    await assertAxeClean(page, '/_/webhooks/new');
    // Bad input: inline errors by the fields, nothing created.
    await page.getByLabel('Name', { exact: true }).fill('ui hook');
    await page.getByLabel('URL', { exact: true }).fill(receiver.url('/hook'));
    await page.getByLabel('Collection', { exact: true }).selectOption(col);
    await page.getByLabel(/^Filter/).fill('nofield = 1');
    await page.getByLabel(/^Static headers/).fill('X-Team: blue\nnot a header');
    await submit(page, page.getByRole('button', { name: 'Create' }));
    assert.equal(await page.getByLabel(/^Filter/).getAttribute('aria-invalid'), 'true');
    assert.ok((await page.locator('#w-filter-err').innerText()).length > 0);
    assert.match(await page.locator('#w-headers-err').innerText(), /Name: value/);
    assert.equal(await page.getByLabel('URL', { exact: true }).inputValue(), receiver.url('/hook'));
    assert.equal((await srv.su('GET', '/api/webhooks')).json.totalItems, 0);
    // Fixed: created, and the secret is on the page once.
    await page.getByLabel(/^Filter/).fill('title != "skip"');
    await page.getByLabel(/^Static headers/).fill('X-Team: blue');
    await page.getByRole('checkbox', { name: 'delete' }).setChecked(false);
    await submit(page, page.getByRole('button', { name: 'Create' }));
    const secret = await page.getByLabel('Secret', { exact: true }).inputValue();
    assert.match(secret, /^whsec_/);
    const [ep] = (await srv.su('GET', '/api/webhooks')).json.items;
    assert.equal(ep.name, 'ui hook');
    assert.deepEqual(ep.actions, ['create', 'update']);
    assert.deepEqual(ep.headers, { 'X-Team': 'blue' });
    assert.equal(ep.filter, 'title != "skip"');
    assert.equal(new URL(page.url()).pathname, '/_/webhooks/new', 'the secret page is the POST answer, not a URL');
    const epUrl = `/_/webhooks/${ep.id}`;
    await page.goto(epUrl);
    assert.equal(await page.getByLabel('Secret', { exact: true }).count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is shown again');
    await page.goto('/_/webhooks');
    assert.ok(!(await page.content()).includes(secret));
    assert.match(await page.locator('tbody').innerText(), /ui hook[\s\S]*create, update[\s\S]*enabled/);

    // A record change reaches the receiver, signed with that secret, and shows in the log.
    await srv.su('POST', `/api/collections/${col}/records`, { body: { title: 'hello' } });
    await waitFor(() => receiver.on('/hook').length >= 1, 10_000, 'the delivery');
    const first = receiver.on('/hook')[0];
    assert.equal(verify(secret, first).type, `${col}.create`);
    assert.equal(first.headers['x-team'], 'blue');
    await logShows(page, epUrl, 'succeeded');
    const row = page.locator('#deliveries tbody tr').first();
    assert.match(await row.innerText(), new RegExp(`${col}\\.create`));
    await row.getByText(/1 attempt/).click();
    assert.match(await row.innerText(), /HTTP 200/);
    assert.match(await row.innerText(), /thanks from the receiver/);
    await assertAxeClean(page, '/_/webhooks/{id} with a delivery');

    // Resend: the same event again, with the same webhook-id.
    const deliveryId = await row.getAttribute('data-delivery');
    await submit(page, page.getByRole('button', { name: `Resend: ${deliveryId}` }));
    await page.getByRole('status').filter({ hasText: `Delivery ${deliveryId} queued again.` }).waitFor();
    await waitFor(() => receiver.on('/hook').length >= 2, 10_000, 'the resend');
    assert.equal(receiver.on('/hook')[1].headers['webhook-id'], first.headers['webhook-id']);
    await logShows(page, epUrl, '2 attempt(s)');

    // Test event.
    await submit(page, page.getByRole('button', { name: 'Send test event' }));
    await waitFor(() => receiver.requests.some((r) => JSON.parse(r.body).type === 'webhook.test'), 10_000, 'the test event');
    // The state filter.
    await page.goto(epUrl);
    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await submit(page, page.getByRole('button', { name: 'Show' }));
    assert.match(await page.locator('#deliveries tbody').innerText(), /No deliveries/);
  } finally {
    await receiver.close();
  }
});

test('webhooks page: pause, enable, edit, rotate (secret once) and delete after a confirmation', b, async () => {
  if (skip) return;
  const col = await newCollection(srv, 'dwh');
  const made = (await srv.su('POST', '/api/webhooks', { body: { name: 'ops hook', url: 'http://127.0.0.1:9/x', collection: col } })).json;
  const epUrl = `/_/webhooks/${made.id}`;
  const status = async () => (await srv.su('GET', `/api/webhooks/${made.id}`)).json.status;
  const page = await signedInPage(b, srv, {});
  await page.goto(epUrl);
  await submit(page, page.getByRole('button', { name: 'Pause' }));
  assert.equal(await status(), 'paused');
  assert.match(await page.locator('#w-state').innerText(), /paused/);
  await submit(page, page.getByRole('button', { name: 'Enable' }));
  assert.equal(await status(), 'enabled');
  // Edit: timeout out of range is an inline error; a good one is saved.
  await submit(page, page.getByRole('link', { name: 'Edit' }));
  await page.getByLabel('Timeout (ms)').fill('999999');
  await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(await page.getByLabel('Timeout (ms)').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Timeout (ms)').fill('2500');
  await submit(page, page.getByRole('button', { name: 'Save' }));
  await page.getByRole('status').filter({ hasText: 'Webhook saved.' }).waitFor();
  assert.equal((await srv.su('GET', `/api/webhooks/${made.id}`)).json.timeoutMs, 2500);
  // Rotate: asks, then shows a new secret once.
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const dialog = page.getByRole('dialog');
  await submit(page, dialog.getByRole('button', { name: /Confirm/ }));
  const rotated = await page.getByLabel('Secret', { exact: true }).inputValue();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, made.secret);
  await page.goto(epUrl);
  assert.equal(await page.getByLabel('Secret', { exact: true }).count(), 0);
  // Delete: Cancel keeps it; Confirm removes it.
  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: /Cancel/ }).click();
  assert.equal(await status(), 'enabled');
  await page.getByRole('button', { name: 'Delete' }).click();
  await submit(page, dialog.getByRole('button', { name: /Confirm/ }));
  await page.getByRole('status').filter({ hasText: 'Webhook deleted.' }).waitFor();
  assert.equal((await srv.su('GET', `/api/webhooks/${made.id}`)).status, 404);
});

test('webhook state changes are refused without a session or the CSRF token', b, async () => {
  if (skip) return;
  const col = await newCollection(srv, 'dwh');
  const made = (await srv.su('POST', '/api/webhooks', { body: { url: 'http://127.0.0.1:9/x', collection: col } })).json;
  const anon = await newPage(b, srv, {});
  await anon.goto('/_/webhooks');
  assert.match(new URL(anon.url()).pathname, /^\/_\/login/);
  const su = await signedInPage(b, srv, {});
  for (const action of ['delete', 'rotate', 'test', 'state']) {
    const r = await su.request.post(`/_/webhooks/${made.id}/${action}`, { form: { status: 'paused' }, maxRedirects: 0 });
    assert.equal(r.status(), 403, `${action}: ${r.status()}`);
  }
  const r = await su.request.post('/_/webhooks/new', { form: { url: 'http://127.0.0.1:9/y', collection: col }, maxRedirects: 0 });
  assert.equal(r.status(), 403);
  const list = (await srv.su('GET', '/api/webhooks')).json.items;
  assert.ok(list.some((e) => e.id === made.id && e.status === 'enabled'));
  assert.ok(!list.some((e) => e.url === 'http://127.0.0.1:9/y'));
});

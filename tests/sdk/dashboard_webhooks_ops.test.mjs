// Webhooks pages, continued (DASHBOARD.md item 33, docs/dashboard.md):
// Recover and Replay from an endpoint's page against a real receiver on
// 127.0.0.1:0 (requests verified with npm `standardwebhooks`, the same
// event ids as the first attempts), the `fields` input (inline error for an
// unknown field, the projection reaching the receiver), and every webhooks
// page axe-clean in both themes and without sideways scroll at 375 px.
import assert from 'node:assert/strict';
import { cairnOnly, IS_POCKETBASE, useServer } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { checkLayout, submitVia as submit } from './dashboard_data.mjs';
import { webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, createRecord, deliveries } from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** The status message of the page (the toast after a POST). */
async function toast(page, text) {
  await page.getByRole('status').filter({ hasText: text }).waitFor();
}


test('webhooks page: Recover resends the failed deliveries since a UTC time, with their event ids', b, async () => {
  if (skip) return;
  let down = true;
  const rx = await startReceiver(() => ({ status: down ? 500 : 200, body: down ? 'down' : 'back' }));
  try {
    const col = await newCollection(srv, 'dwr');
    const ep = await createEndpoint(srv, { name: 'recover me', url: rx.url(), collection: col });
    // The page's input is minutes in UTC; one minute back covers every delivery below.
    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 16);
    for (const title of ['a', 'b']) await createRecord(srv, col, { title });
    await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'failed' })).length === 2, 10_000, 'two dead letters');
    const failedIds = (await deliveries(srv, { webhook: ep.id, state: 'failed' })).map((d) => d.eventId).sort();
    down = false;
    const before = rx.requests.length;
    const page = await signedInPage(b, srv);
    await page.goto(`/_/webhooks/${ep.id}`);
    await page.getByLabel('Resend failed deliveries since (UTC)').fill(since);
    await submit(page, page.getByRole('button', { name: 'Recover', exact: true }));
    await toast(page, '2 delivery(s) queued.');
    await waitFor(() => rx.requests.length >= before + 2, 10_000, 'the recovered deliveries');
    const resent = rx.requests.slice(before);
    assert.deepEqual(resent.map((r) => r.headers['webhook-id']).sort(), failedIds, 'the same event ids');
    for (const r of resent) assert.equal(verify(ep.secret, r).type, `${col}.create`);
    await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'succeeded' })).length === 2, 10_000, 'succeeded in REST');
    // The log shows the recover attempt after the scheduled ones.
    await page.goto(`/_/webhooks/${ep.id}`);
    const row = page.locator('#deliveries tbody tr').first();
    assert.match(await row.innerText(), /succeeded \(200\)/);
    await row.getByText(/4 attempt\(s\)/).click();
    assert.match(await row.innerText(), /recover: HTTP 200/);
    assert.match(await row.innerText(), /scheduled: HTTP 500/);
    // Nothing failed since then: a second recover queues none.
    await page.getByLabel('Resend failed deliveries since (UTC)').fill(since);
    await submit(page, page.getByRole('button', { name: 'Recover', exact: true }));
    await toast(page, '0 delivery(s) queued.');
  } finally {
    await rx.close();
  }
});

test('webhooks page: Replay from a sequence shown in the log backfills a new endpoint with the same ids', b, async () => {
  if (skip) return;
  const rx = await startReceiver();
  try {
    const col = await newCollection(srv, 'dwp');
    const first = await createEndpoint(srv, { name: 'first', url: rx.url('/first'), collection: col });
    for (const title of ['r1', 'r2', 'r3']) await createRecord(srv, col, { title });
    await waitFor(() => rx.on('/first').length >= 3, 10_000, 'three deliveries');
    const page = await signedInPage(b, srv);
    // The oldest delivery's sequence, read from the first endpoint's log.
    await page.goto(`/_/webhooks/${first.id}`);
    const oldest = await page.locator('#deliveries tbody tr').last().innerText();
    const fromSeq = Number(/\(seq (\d+)\)/.exec(oldest)[1]);
    const seqs = rx.on('/first').map((r) => verify(first.secret, r).data.seq);
    assert.equal(fromSeq, Math.min(...seqs));

    const second = await createEndpoint(srv, { name: 'second', url: rx.url('/second'), collection: col, maxInFlight: 1 });
    await page.goto(`/_/webhooks/${second.id}`);
    // A bad sequence: the API's message, nothing queued.
    await page.getByLabel('Replay changes from sequence').fill('soon');
    await submit(page, page.getByRole('button', { name: 'Replay', exact: true }));
    assert.ok((await page.getByRole('alert').innerText()).length > 0);
    assert.equal((await deliveries(srv, { webhook: second.id })).length, 0);
    await page.getByLabel('Replay changes from sequence').fill(String(fromSeq));
    await submit(page, page.getByRole('button', { name: 'Replay', exact: true }));
    await toast(page, '3 delivery(s) queued.');
    await waitFor(() => rx.on('/second').length >= 3, 10_000, 'the replayed deliveries');
    const firstIds = new Map(rx.on('/first').map((r) => [verify(first.secret, r).data.seq, r.headers['webhook-id']]));
    const got = rx.on('/second').map((r) => ({ id: r.headers['webhook-id'], seq: verify(second.secret, r).data.seq }));
    assert.deepEqual(got.map((g) => g.seq), [...seqs].sort((x, y) => x - y), 'in seq order');
    for (const g of got) assert.equal(g.id, firstIds.get(g.seq), `seq ${g.seq} keeps its event id`);
    await waitFor(async () => (await deliveries(srv, { webhook: second.id, state: 'succeeded' })).length === 3, 10_000, 'succeeded');
    await page.goto(`/_/webhooks/${second.id}`);
    const row = page.locator('#deliveries tbody tr').first();
    await row.getByText(/1 attempt\(s\)/).click();
    assert.match(await row.innerText(), /replay: HTTP 200/);
  } finally {
    await rx.close();
  }
});

test('webhooks page: the fields input (unknown field inline, projection reaches the receiver)', b, async () => {
  if (skip) return;
  const rx = await startReceiver();
  try {
    const col = await newCollection(srv, 'dwf');
    const ep = await createEndpoint(srv, { name: 'fields', url: rx.url('/f'), collection: col });
    const page = await signedInPage(b, srv);
    await page.goto(`/_/webhooks/${ep.id}/edit`);
    const fields = page.getByLabel(/^Record fields to send/);
    assert.equal(await fields.inputValue(), '');
    await fields.fill('title, nope');
    await submit(page, page.getByRole('button', { name: 'Save' }));
    assert.equal(await fields.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#w-fields-err').innerText(), /Unknown field/);
    assert.equal(await fields.inputValue(), 'title, nope', 'what was typed is kept');
    assert.deepEqual((await srv.su('GET', `/api/webhooks/${ep.id}`)).json.fields, []);
    await fields.fill('title');
    await submit(page, page.getByRole('button', { name: 'Save' }));
    await toast(page, 'Webhook saved.');
    assert.deepEqual((await srv.su('GET', `/api/webhooks/${ep.id}`)).json.fields, ['title']);
    assert.match(await page.locator('dl.details').innerText(), /Fields\s+title/);
    await page.goto(`/_/webhooks/${ep.id}/edit`);
    assert.equal(await page.getByLabel(/^Record fields to send/).inputValue(), 'title');
    await createRecord(srv, col, { title: 'only me', status: 'not sent' });
    await waitFor(() => rx.on('/f').length >= 1, 10_000, 'the delivery');
    const { record } = verify(ep.secret, rx.on('/f')[0]).data;
    assert.equal(record.title, 'only me');
    assert.equal(record.status, undefined, 'fields outside the list are not sent');
    // Blank again: every field.
    await page.getByLabel(/^Record fields to send/).fill('');
    await submit(page, page.getByRole('button', { name: 'Save' }));
    assert.deepEqual((await srv.su('GET', `/api/webhooks/${ep.id}`)).json.fields, []);
  } finally {
    await rx.close();
  }
});

test('webhooks pages: axe clean in light and dark, no sideways scroll at 375 px', b, async () => {
  if (skip) return;
  const rx = await startReceiver(() => ({ body: 'a long response body '.repeat(20) }));
  try {
    const col = await newCollection(srv, 'dwl');
    const ep = await createEndpoint(srv, {
      name: 'layout hook with a rather long name',
      url: rx.url('/a/very/long/path/that/might/push/the/page/sideways/on/a/narrow/phone/screen'),
      collection: col,
      headers: { 'X-Long-Header-Name': 'a-long-header-value-'.repeat(4) },
    });
    await createRecord(srv, col, { title: 'x'.repeat(200) });
    await waitFor(() => rx.requests.length >= 1, 10_000, 'a delivery');
    await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'succeeded' })).length === 1, 10_000, 'recorded');
    const openAttempts = async (page) => page.locator('#deliveries summary').first().click();
    await checkLayout(b, srv, '/_/webhooks');
    await checkLayout(b, srv, '/_/webhooks/new');
    await checkLayout(b, srv, `/_/webhooks/${ep.id}`, openAttempts);
    await checkLayout(b, srv, `/_/webhooks/${ep.id}/edit`, async (page) => {
      await page.getByLabel(/^Record fields to send/).fill('nope');
      await submit(page, page.getByRole('button', { name: 'Save' }));
    });
  } finally {
    await rx.close();
  }
});

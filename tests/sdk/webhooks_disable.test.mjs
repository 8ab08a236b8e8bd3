// Webhooks: endpoints disabled by 410 Gone and by sustained failure, and the
// backfill after re-enabling (WEBHOOKS.md behaviours 11 and 12). Requests are
// verified with npm `standardwebhooks`.

import assert from 'node:assert/strict';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, sleep, newCollection, createEndpoint, createRecord,
} from './webhook_fixtures.mjs';

webhookEnv({ CAIRN_WEBHOOKS_DISABLE_AFTER: '5' });
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('11: 410 disables; re-enable + replay from the disabled seq backfills with the original ids', opts, async () => {
  const rx = await startReceiver((req, n) => (req.path === '/gone' && n === 1 ? { status: 410 } : {}));
  const col = await newCollection(srv);
  const gone = await createEndpoint(srv, { url: rx.url('/gone'), collection: col });
  const other = await createEndpoint(srv, { url: rx.url('/other'), collection: col });
  await createRecord(srv, col, { title: 'a' });
  const disabled = await waitFor(async () => {
    const r = await srv.su('GET', `/api/webhooks/${gone.id}`);
    return r.json.status === 'disabled' && r.json;
  }, 5_000, 'disabled');
  assert.equal(disabled.disabledReason, 'gone');
  assert.equal(typeof disabled.disabledAtSeq, 'number');
  await createRecord(srv, col, { title: 'b' });
  await createRecord(srv, col, { title: 'c' });
  await waitFor(() => rx.on('/other').length >= 3);
  await sleep(1000);
  assert.equal(rx.on('/gone').length, 1, 'no requests while disabled');

  const en = await srv.su('PATCH', `/api/webhooks/${gone.id}`, { body: { status: 'enabled' } });
  assert.equal(en.json.status, 'enabled');
  assert.equal(en.json.disabledReason, '');
  const rep = await srv.su('POST', `/api/webhooks/${gone.id}/replay`, { body: { fromSeq: disabled.disabledAtSeq } });
  assert.equal(rep.status, 200);
  assert.equal(rep.json.queued, 3);
  await waitFor(() => rx.on('/gone').length >= 4, 5_000, 'backfill');
  const otherIds = rx.on('/other').map((r) => {
    verify(other.secret, r);
    return r.headers['webhook-id'];
  });
  const backfilled = rx.on('/gone').slice(1).map((r) => {
    verify(gone.secret, r);
    return r.headers['webhook-id'];
  });
  assert.deepEqual([...backfilled].sort(), [...otherIds].sort());
  assert.equal(rx.on('/gone')[0].headers['webhook-id'], otherIds[0], 'the 410ed event keeps its id');
});

test('12: sustained failure disables the endpoint (reason failing)', opts, async () => {
  const rx = await startReceiver(() => ({ status: 500 }));
  const col = await newCollection(srv);
  const ep = await createEndpoint(srv, { url: rx.url(), collection: col });
  const started = Date.now();
  let state;
  while (Date.now() - started < 15_000) {
    await createRecord(srv, col, { title: 'x' });
    state = (await srv.su('GET', `/api/webhooks/${ep.id}`)).json;
    if (state.status === 'disabled') break;
    await sleep(700);
  }
  assert.equal(state.status, 'disabled');
  assert.equal(state.disabledReason, 'failing');
  const firstFailure = rx.requests[0].at;
  assert.ok(Date.now() - firstFailure <= 5_000 + 3_000 + 1_500, `${Date.now() - firstFailure} ms`);
  await sleep(300);
  const n = rx.requests.length;
  await createRecord(srv, col, { title: 'after' });
  await sleep(3_500);
  assert.equal(rx.requests.length, n, 'no requests after disabling');
  for (const r of rx.requests) verify(ep.secret, r);
});

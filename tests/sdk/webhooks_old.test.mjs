// `@old.*` in webhook filters (docs/webhooks.md): a filter can compare the
// record with the record before the change. On an update `@old` is the
// stored row before it, on a delete the deleted record, on a create every
// `@old` field is null; a replay takes it from the record's previous
// change-log snapshot. API rules and list filters refuse `@old`. Every
// request is verified with npm `standardwebhooks`.

import assert from 'node:assert/strict';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, waitFor, sleep, newCollection, createEndpoint,
  createRecord, deliveries, bySeq, patcher,
} from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };


test('@old: status != @old.status sends only the updates that changed the status', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const moved = await createEndpoint(srv, { url: rx.url('/moved'), collection: col, filter: 'status != @old.status' });
  // NocoDB's "on entering the filter": paid now, not paid before.
  const paid = await createEndpoint(srv, {
    url: rx.url('/paid'), collection: col, actions: ['update'], filter: "status = 'paid' && @old.status != 'paid'",
  });
  // Hidden fields are the admin's to compare.
  const secret = await createEndpoint(srv, { url: rx.url('/secret'), collection: col, actions: ['update'], filter: 'secretNote != @old.secretNote' });
  const { id } = await createRecord(srv, col, { title: 'a', status: 'draft' });
  const patch = patcher(srv, col, id);
  await patch({ title: 'b' });
  await patch({ status: 'paid' });
  await patch({ title: 'c', status: 'paid' });
  await patch({ secretNote: 'hush' });
  await patch({ status: 'refunded' });
  await patch({ status: 'paid' });
  assert.equal((await srv.su('DELETE', `/api/collections/${col}/records/${id}`)).status, 204);

  // Deliveries are written in the change's own transaction: the log is complete now.
  const logged = await deliveries(srv, { webhook: moved.id });
  assert.equal(logged.length, 4, JSON.stringify(logged.map((d) => d.type)));
  await waitFor(() => rx.on('/moved').length >= 4 && rx.on('/paid').length >= 2 && rx.on('/secret').length >= 1, 10_000, 'deliveries');
  await sleep(300);
  const got = bySeq(moved.secret, rx.on('/moved'));
  // The create (no record before: @old.status is null), then the three
  // status changes; the delete compares the record with itself.
  assert.deepEqual(got.map((b) => b.data.action), ['create', 'update', 'update', 'update']);
  assert.deepEqual(got.slice(1).map((b) => [b.data.oldRecord.status, b.data.record.status]),
    [['draft', 'paid'], ['paid', 'refunded'], ['refunded', 'paid']]);
  const p = bySeq(paid.secret, rx.on('/paid'));
  assert.deepEqual(p.map((b) => b.data.oldRecord.status), ['draft', 'refunded']);
  const s = bySeq(secret.secret, rx.on('/secret'));
  assert.equal(s.length, 1);
  assert.equal(s[0].data.record.title, 'c');
  assert.ok(!('secretNote' in s[0].data.record), 'hidden fields stay out of the payload');
});

test('@old: deletes see the deleted record, creates see nulls', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const gone = await createEndpoint(srv, { url: rx.url('/gone'), collection: col, actions: ['delete'], filter: "@old.status = 'paid'" });
  const fresh = await createEndpoint(srv, { url: rx.url('/fresh'), collection: col, actions: ['create'], filter: "@old.id = '' && @old.status = ''" });
  const a = await createRecord(srv, col, { title: 'a', status: 'paid' });
  const b = await createRecord(srv, col, { title: 'b', status: 'draft' });
  for (const { id } of [a, b]) assert.equal((await srv.su('DELETE', `/api/collections/${col}/records/${id}`)).status, 204);
  await waitFor(() => rx.on('/gone').length >= 1 && rx.on('/fresh').length >= 2, 10_000, 'deliveries');
  await sleep(300);
  const g = bySeq(gone.secret, rx.on('/gone'));
  assert.equal(g.length, 1);
  assert.equal(g[0].data.record.id, a.id);
  assert.equal(bySeq(fresh.secret, rx.on('/fresh')).length, 2);
});

test('@old: a replay compares with the previous change-log snapshot, as live', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const live = await createEndpoint(srv, { url: rx.url('/live'), collection: col, actions: ['update'], filter: 'status != @old.status' });
  const { id } = await createRecord(srv, col, { title: 'a', status: 'draft' });
  const patch = patcher(srv, col, id);
  await patch({ title: 'b' });
  await patch({ status: 'paid' });
  await patch({ title: 'c' });
  await waitFor(() => rx.on('/live').length >= 1, 10_000, 'live delivery');
  const fromSeq = Math.max(0, Math.min(...(await deliveries(srv, { webhook: live.id })).map((d) => d.seq)) - 3);
  // A thin endpoint needs no oldRecord in its payload: the filter alone
  // must make the replay look the previous snapshots up.
  const late = await createEndpoint(srv, {
    url: rx.url('/late'), collection: col, actions: ['update'], filter: 'status != @old.status', payloadMode: 'thin',
  });
  const r = await srv.su('POST', `/api/webhooks/${late.id}/replay`, { body: { fromSeq } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.queued, 1);
  await waitFor(() => rx.on('/late').length >= 1, 10_000, 'replayed delivery');
  await sleep(300);
  const [sent] = bySeq(live.secret, rx.on('/live'));
  const [replayed] = bySeq(late.secret, rx.on('/late'));
  assert.equal(rx.on('/live').length, 1);
  assert.equal(rx.on('/late').length, 1);
  assert.equal(replayed.data.seq, sent.data.seq);
  assert.equal(sent.data.oldRecord.status, 'draft');
});

test('@old: unknown or secret fields answer 400; rules and list filters refuse @old', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const bad = async (collection, filter) => {
    const r = await srv.su('POST', '/api/webhooks', { body: { url: rx.url(), collection, filter } });
    assert.equal(r.status, 400, filter);
    assert.equal(r.json.data.filter.code, 'validation_invalid_value', r.text);
  };
  await bad(col, '@old.nope = 1');
  await bad(col, 'status != @old');
  await bad(col, '@old.status.x = 1');
  await bad('users', "@old.password != ''");
  await bad('users', "@old.tokenKey != ''");
  const ok = await createEndpoint(srv, { url: rx.url(), collection: 'users', filter: 'verified != @old.verified && @old.email:lower != email' });
  assert.equal(ok.filter, 'verified != @old.verified && @old.email:lower != email');

  const rule = await srv.su('PATCH', `/api/collections/${col}`, { body: { updateRule: 'status != @old.status' } });
  assert.equal(rule.status, 400, rule.text);
  assert.ok(rule.json.data.updateRule, rule.text);
  const list = await srv.su('GET', `/api/collections/${col}/records?filter=${encodeURIComponent("@old.status = 'x'")}`);
  assert.equal(list.status, 400, list.text);
});

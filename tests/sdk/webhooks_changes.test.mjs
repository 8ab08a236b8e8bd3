// Webhooks and what changed (docs/webhooks.md): `changedFields` sends an
// update only when a listed field differs between the old and the new
// record; a replay gives updates the `oldRecord` the change log still holds
// (the record's previous snapshot) and no `oldRecord` key once that
// snapshot has been trimmed. Every request is verified with npm
// `standardwebhooks`.

import assert from 'node:assert/strict';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, sleep, newCollection, createEndpoint,
  createRecord, deliveries, bySeq, patcher,
} from './webhook_fixtures.mjs';

// A short change log (the newest 3 changes survive a trim) so a test can
// make a record's previous snapshot go away.
process.env.CAIRN_CHANGES_RETENTION_ROWS = '3';
webhookEnv();
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };


test('changedFields: an update is sent only when a listed field changed', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const watch = await createEndpoint(srv, { url: rx.url('/watch'), collection: col, changedFields: ['status', 'secretNote', 'status'] });
  assert.deepEqual(watch.changedFields, ['secretNote', 'status']);
  const every = await createEndpoint(srv, { url: rx.url('/every'), collection: col, actions: ['update'] });
  const { id } = await createRecord(srv, col, { title: 'a', status: 'draft' });
  const patch = patcher(srv, col, id);
  await patch({ title: 'b' });
  await patch({ title: 'c', status: 'draft' });
  // Deliveries are written in the update's own transaction: the log is complete now.
  assert.deepEqual((await deliveries(srv, { webhook: watch.id })).map((d) => d.type), [`${col}.create`]);
  await patch({ status: 'paid' });
  await patch({ secretNote: 'hush' });
  await waitFor(() => rx.on('/watch').length >= 3 && rx.on('/every').length >= 4, 10_000, 'deliveries');
  await sleep(300);
  const got = bySeq(watch.secret, rx.on('/watch'));
  assert.equal(got.length, 3);
  assert.deepEqual(got.map((b) => b.data.action), ['create', 'update', 'update']);
  assert.equal(got[1].data.oldRecord.status, 'draft');
  assert.equal(got[1].data.record.status, 'paid');
  assert.equal(got[2].data.record.title, 'c');
  assert.equal(bySeq(every.secret, rx.on('/every')).length, 4);
  // Deletes are not affected.
  assert.equal((await srv.su('DELETE', `/api/collections/${col}/records/${id}`)).status, 204);
  assert.equal((await deliveries(srv, { webhook: watch.id })).length, 4);
});

test('changedFields: unknown, secret or malformed names answer 400; PATCH clears the list', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const bad = async (collection, changedFields) => {
    const r = await srv.su('POST', '/api/webhooks', { body: { url: rx.url(), collection, changedFields } });
    assert.equal(r.status, 400, JSON.stringify(changedFields));
    assert.equal(r.json.status, 400);
    assert.equal(r.json.data.changedFields.code, 'validation_invalid_value');
    assert.equal(typeof r.json.message, 'string');
  };
  await bad(col, ['nope']);
  await bad(col, ['id']);
  await bad(col, 'status');
  await bad(col, [1]);
  await bad('users', ['password']);
  await bad('users', ['tokenKey']);
  const ep = await createEndpoint(srv, { url: rx.url(), collection: 'users', changedFields: ['email', 'verified'] });
  assert.deepEqual(ep.changedFields, ['email', 'verified']);
  const r = await srv.su('PATCH', `/api/webhooks/${ep.id}`, { body: { changedFields: [] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.changedFields, []);
  assert.deepEqual((await srv.su('GET', `/api/webhooks/${ep.id}`)).json.changedFields, []);
  await srv.su('DELETE', `/api/webhooks/${ep.id}`);
});

test('replay: updates carry oldRecord from the previous snapshot, exactly as sent live', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const live = await createEndpoint(srv, { url: rx.url('/live'), collection: col });
  const { id } = await createRecord(srv, col, { title: 'a', status: 'draft', secretNote: 'hush' });
  const patch = patcher(srv, col, id);
  await patch({ title: 'b' });
  await patch({ status: 'paid' });
  await waitFor(() => rx.on('/live').length >= 3, 10_000, 'live deliveries');
  const sent = bySeq(live.secret, rx.on('/live'));
  const fromSeq = sent[0].data.seq;

  const late = await createEndpoint(srv, { url: rx.url('/late'), collection: col });
  const watch = await createEndpoint(srv, { url: rx.url('/watch'), collection: col, actions: ['update'], changedFields: ['status'] });
  for (const ep of [late, watch]) {
    const r = await srv.su('POST', `/api/webhooks/${ep.id}/replay`, { body: { fromSeq } });
    assert.equal(r.status, 200, r.text);
  }
  await waitFor(() => rx.on('/late').length >= 3 && rx.on('/watch').length >= 1, 10_000, 'replayed deliveries');
  await sleep(300);
  assert.deepEqual(bySeq(late.secret, rx.on('/late')), sent);
  assert.equal(sent[1].data.oldRecord.title, 'a');
  assert.equal(sent[2].data.oldRecord.title, 'b');
  assert.ok(!('oldRecord' in sent[0].data));
  const w = bySeq(watch.secret, rx.on('/watch'));
  assert.equal(w.length, 1, 'only the update that changed status');
  assert.deepEqual(w[0], sent[2]);
  const ids = new Map(rx.on('/live').map((x) => [verify(live.secret, x).data.seq, x.headers['webhook-id']]));
  for (const x of rx.on('/late')) assert.equal(x.headers['webhook-id'], ids.get(verify(late.secret, x).data.seq));
});

test('replay: an update keeps its oldRecord after the previous change was trimmed', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const live = await createEndpoint(srv, { url: rx.url('/live'), collection: col });
  const { id } = await createRecord(srv, col, { title: 'x1' });
  await patcher(srv, col, id)({ title: 'x2' });
  await createRecord(srv, col, { title: 'y' });
  await createRecord(srv, col, { title: 'z' });
  const log = await deliveries(srv, { webhook: live.id });
  const createSeq = Math.min(...log.map((d) => d.seq));
  const updateSeq = log.find((d) => d.type === `${col}.update`).seq;

  // Trim the log to its newest 3 changes (the update, y, z); a paused probe
  // tells when the create is gone (its replay then answers 400).
  const probe = await createEndpoint(srv, { url: rx.url('/probe'), collection: col, status: 'paused' });
  assert.equal((await srv.su('POST', '/api/crons/__cairnChangeLogTrim__')).status, 204);
  await waitFor(async () => {
    const r = await srv.su('POST', `/api/webhooks/${probe.id}/replay`, { body: { fromSeq: createSeq } });
    return r.status === 400;
  }, 10_000, 'the trim');

  const late = await createEndpoint(srv, { url: rx.url('/late'), collection: col, actions: ['update'] });
  // The update's own log row keeps the record before it, so changedFields
  // still rules the update out (status did not change) and oldRecord is sent.
  const watch = await createEndpoint(srv, { url: rx.url('/watch'), collection: col, changedFields: ['status'] });
  for (const ep of [late, watch]) {
    const r = await srv.su('POST', `/api/webhooks/${ep.id}/replay`, { body: { fromSeq: updateSeq } });
    assert.equal(r.status, 200, r.text);
  }
  await waitFor(() => rx.on('/late').length >= 1 && rx.on('/watch').length >= 2, 10_000, 'replayed deliveries');
  const [body] = bySeq(late.secret, rx.on('/late'));
  assert.equal(body.data.record.title, 'x2');
  assert.equal(body.data.oldRecord.title, 'x1', JSON.stringify(body.data));
  const w = bySeq(watch.secret, rx.on('/watch'));
  assert.deepEqual(w.map((b) => b.data.action), ['create', 'create']);
});

// Webhook payloads (docs/webhooks.md "The request"): `oldRecord` in update
// payloads, with the same projection as `record`, and the dead-letter
// counter on /api/metrics. Every request is verified with npm
// `standardwebhooks`.

import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { useServer, test, cairnOnly, REPO_ROOT } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, sleep, newCollection, createEndpoint,
  createRecord, deliveries, delivery,
} from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('updates carry oldRecord, projected like record; creates, deletes and thin payloads do not', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const full = await createEndpoint(srv, { url: rx.url('/full'), collection: col });
  const some = await createEndpoint(srv, { url: rx.url('/fields'), collection: col, actions: ['update'], fields: ['id', 'title'] });
  const thin = await createEndpoint(srv, { url: rx.url('/thin'), collection: col, actions: ['update'], payloadMode: 'thin' });
  const { id } = await createRecord(srv, col, { title: 'before', status: 'draft', secretNote: 'old hush' });
  const u = await srv.su('PATCH', `/api/collections/${col}/records/${id}`, { body: { title: 'after', secretNote: 'new hush' } });
  assert.equal(u.status, 200);
  assert.equal((await srv.su('DELETE', `/api/collections/${col}/records/${id}`)).status, 204);
  await waitFor(() => rx.on('/full').length >= 3 && rx.on('/fields').length >= 1 && rx.on('/thin').length >= 1, 10_000, 'deliveries');

  const bodies = rx.on('/full').map((r) => verify(full.secret, r));
  const byAction = Object.fromEntries(bodies.map((b) => [b.data.action, b]));
  assert.ok(!('oldRecord' in byAction.create.data));
  assert.ok(!('oldRecord' in byAction.delete.data));
  const upd = byAction.update.data;
  assert.equal(upd.record.title, 'after');
  assert.equal(upd.oldRecord.title, 'before');
  assert.equal(upd.oldRecord.status, 'draft');
  assert.equal(upd.oldRecord.id, id);
  assert.equal(upd.oldRecord.collectionName, col);
  assert.deepEqual(Object.keys(upd.oldRecord).sort(), Object.keys(upd.record).sort());
  assert.equal(upd.oldRecord.secretNote, undefined, 'hidden fields are not sent');
  assert.ok(!rx.on('/full').some((r) => r.body.includes('hush')));

  const fb = verify(some.secret, rx.on('/fields')[0]);
  assert.deepEqual(fb.data.oldRecord, { id, title: 'before' });
  assert.deepEqual(fb.data.record, { id, title: 'after' });
  const tb = verify(thin.secret, rx.on('/thin')[0]);
  assert.deepEqual(Object.keys(tb.data).sort(), ['action', 'collectionName', 'id', 'seq']);

  // Frozen at enqueue: the stored body is what was sent.
  const [d] = await deliveries(srv, { webhook: some.id });
  assert.equal((await delivery(srv, d.id)).body, rx.on('/fields')[0].body);
});

test('auth records: oldRecord never carries password or tokenKey, even across a password change', opts, async () => {
  const rx = await startReceiver();
  const ep = await createEndpoint(srv, { url: rx.url(), collection: 'users', actions: ['update'] });
  const email = `old${Date.now()}@example.com`;
  const c = await srv.su('POST', '/api/collections/users/records', {
    body: { email, password: 'secret-pass-1', passwordConfirm: 'secret-pass-1', name: 'Ann' },
  });
  assert.equal(c.status, 200);
  const u = await srv.su('PATCH', `/api/collections/users/records/${c.json.id}`, {
    body: { name: 'Bea', password: 'secret-pass-2', passwordConfirm: 'secret-pass-2' },
  });
  assert.equal(u.status, 200);
  await waitFor(() => rx.requests.length >= 1);
  const body = verify(ep.secret, rx.requests[0]);
  assert.equal(body.data.oldRecord.name, 'Ann');
  assert.equal(body.data.record.name, 'Bea');
  assert.equal(body.data.oldRecord.email, email);
  for (const r of [body.data.oldRecord, body.data.record]) {
    assert.ok(!('password' in r) && !('tokenKey' in r));
  }
  assert.ok(!rx.requests[0].body.includes('argon2') && !rx.requests[0].body.includes('$2'));
  await srv.su('DELETE', `/api/webhooks/${ep.id}`);
});

test('a relation clean-up on delete sends the referencing record with its oldRecord', opts, async () => {
  const rx = await startReceiver();
  const target = await newCollection(srv);
  const tcol = (await srv.su('GET', `/api/collections/${target}`)).json;
  const name = `whref_${Date.now().toString(36)}`;
  const r = await srv.su('POST', '/api/collections', {
    body: {
      name, type: 'base',
      fields: [{ name: 'title', type: 'text' }, { name: 'refs', type: 'relation', collectionId: tcol.id, maxSelect: 5 }],
    },
  });
  assert.equal(r.status, 200, r.text);
  const a = await createRecord(srv, target, { title: 'a' });
  const b = await createRecord(srv, target, { title: 'b' });
  const holder = await createRecord(srv, name, { title: 'h', refs: [a.id, b.id] });
  const ep = await createEndpoint(srv, { url: rx.url(), collection: name, actions: ['update'] });
  assert.equal((await srv.su('DELETE', `/api/collections/${target}/records/${a.id}`)).status, 204);
  await waitFor(() => rx.requests.length >= 1);
  const body = verify(ep.secret, rx.requests[0]);
  assert.equal(body.data.record.id, holder.id);
  assert.deepEqual(body.data.record.refs, [b.id]);
  assert.deepEqual(body.data.oldRecord.refs, [a.id, b.id]);
});

// /api/metrics, parsed with the prometheus_client PyPI parser (as ops_metrics does).
const PY = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const PARSER = path.join(REPO_ROOT, 'tests', 'sdk', 'parse_metrics.py');
async function deadLetters() {
  const r = await srv.su('GET', '/api/metrics');
  assert.equal(r.status, 200, r.text);
  const fams = JSON.parse(execFileSync(PY, [PARSER], { input: r.text }));
  const fam = fams.cairn_webhook_dead_letters;
  assert.equal(fam?.type, 'counter');
  return fam.samples.find(([n]) => n === 'cairn_webhook_dead_letters_total')?.[2];
}

test('metrics: cairn_webhook_dead_letters_total counts deliveries failed after their last attempt', opts, async () => {
  let ok = false;
  const rx = await startReceiver(() => ({ status: ok ? 200 : 500 }));
  const col = await newCollection(srv);
  const ep = await createEndpoint(srv, { url: rx.url(), collection: col, actions: ['create'] });
  const before = await deadLetters();
  await createRecord(srv, col, { title: 'doomed 1' });
  await createRecord(srv, col, { title: 'doomed 2' });
  // Schedule 0, 1 s, 2 s: three attempts each, then dead.
  await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'failed' })).length === 2, 10_000, 'dead letters');
  assert.equal(await waitFor(async () => (await deadLetters()) === before + 2, 3_000, 'counted'), true);
  // Not counted while retries remain, nor again when a resend fails.
  const [d] = await deliveries(srv, { webhook: ep.id, state: 'failed' });
  assert.equal((await srv.su('POST', `/api/webhooks/deliveries/${d.id}/resend`)).status, 200);
  await waitFor(async () => (await delivery(srv, d.id)).attemptsLog.length === 4, 5_000, 'resend attempt');
  await sleep(300);
  assert.equal(await deadLetters(), before + 2);
  ok = true;
  await createRecord(srv, col, { title: 'fine' });
  await waitFor(async () => (await deliveries(srv, { webhook: ep.id, state: 'succeeded' })).length === 1, 5_000);
  assert.equal(await deadLetters(), before + 2);
  for (const r of rx.requests) verify(ep.secret, r);
});

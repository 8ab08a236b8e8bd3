// GET /api/metrics (Cairn only; PocketBase has no metrics endpoint): parsed
// with the prometheus_client PyPI package's OpenMetrics parser; counters
// move with the requests made. Also the readiness detail in /api/health.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { useServer, test, describe, rejects, errBody, cairnOnly, REPO_ROOT, uniqueName, ON_POSTGRES } from './harness.mjs';
import { postSubs, waitFor } from './realtime_fixtures.mjs';

const srv = useServer();
const PY = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const PARSER = path.join(REPO_ROOT, 'tests', 'sdk', 'parse_metrics.py');

async function scrape() {
  const r = await srv.su('GET', '/api/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/openmetrics-text/);
  return JSON.parse(execFileSync(PY, [PARSER], { input: r.text }));
}

const sample = (fams, family, name, labels = {}) =>
  fams[family]?.samples.find(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v))?.[2];

describe('metrics', { skip: cairnOnly }, () => {
  test('parses as OpenMetrics and the counters move', async () => {
    const route = { method: 'GET', route: '/api/health', status: '200' };
    const before = await scrape();
    for (const f of ['cairn_http_requests', 'cairn_request_logs_dropped', 'cairn_backups_succeeded']) {
      assert.equal(before[f]?.type, 'counter', f);
    }
    for (const f of ['cairn_writer_queue_depth', 'cairn_wal_bytes', 'cairn_realtime_clients', 'cairn_process_resident_memory_bytes', 'cairn_process_open_files']) {
      assert.equal(before[f]?.type, 'gauge', f);
    }
    assert.equal(before.cairn_http_request_duration_seconds?.type, 'histogram');
    assert.equal(before.cairn_writer_group_commit_jobs?.type, 'histogram');
    assert.ok(sample(before, 'cairn_process_resident_memory_bytes', 'cairn_process_resident_memory_bytes') > 1e6);
    assert.ok(sample(before, 'cairn_process_open_files', 'cairn_process_open_files') > 3);

    const n0 = sample(before, 'cairn_http_requests', 'cairn_http_requests_total', route) ?? 0;
    const commits0 = sample(before, 'cairn_writer_group_commit_jobs', 'cairn_writer_group_commit_jobs_count') ?? 0;
    // On PostgreSQL a backup cannot be taken (400, use pg_dump): it counts as failed.
    const backupFamily = ON_POSTGRES ? 'cairn_backups_failed' : 'cairn_backups_succeeded';
    const backups0 = sample(before, backupFamily, `${backupFamily}_total`);
    for (let i = 0; i < 5; i += 1) await srv.api('GET', '/api/health');
    await srv.pb.collection('users').create({ email: `m${Date.now()}@example.com`, password: 'pass-12345678', passwordConfirm: 'pass-12345678' });
    if (ON_POSTGRES) await rejects(srv.pb.backups.create('metrics.zip'), 400);
    else await srv.pb.backups.create('metrics.zip');
    await srv.api('GET', '/api/collections/nope/records');
    const after = await scrape();
    assert.equal(sample(after, 'cairn_http_requests', 'cairn_http_requests_total', route), n0 + 5);
    assert.equal(sample(after, 'cairn_http_request_duration_seconds', 'cairn_http_request_duration_seconds_count', route), n0 + 5);
    assert.ok(sample(after, 'cairn_http_requests', 'cairn_http_requests_total', { route: '/api/collections/{collection}/records', status: '404' }) >= 1);
    assert.ok(sample(after, 'cairn_writer_group_commit_jobs', 'cairn_writer_group_commit_jobs_count') > commits0);
    assert.equal(sample(after, backupFamily, `${backupFamily}_total`), backups0 + 1);
    // The log writer gathers rows for up to a second before it writes them.
    await waitFor(async () => sample(await scrape(), 'cairn_request_logs_written', 'cairn_request_logs_written_total') > 0, 10_000, 'request logs written');
  });

  test('realtime queued events: a subscriber that stops reading shows a backlog, which drains', async () => {
    const queued = async () => sample(await scrape(), 'cairn_realtime_queued_events', 'cairn_realtime_queued_events');
    assert.equal((await scrape()).cairn_realtime_queued_events?.type, 'gauge');
    const name = uniqueName('rtq');
    await srv.pb.collections.create({ name, listRule: '', viewRule: '', createRule: '', fields: [{ name: 'body', type: 'text', max: 200000 }] });
    const ac = new AbortController();
    const res = await fetch(`${srv.url}/api/realtime`, { signal: ac.signal });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) text += dec.decode((await reader.read()).value, { stream: true });
    const clientId = /id:\s*(\S+)/.exec(text)[1];
    assert.equal((await postSubs(srv.url, { clientId, subscriptions: [`${name}/*`] })).status, 204);
    // The stream is no longer read: once the socket buffers are full, events wait in the queue.
    const body = 'x'.repeat(100_000);
    let created = 0;
    let backlog = 0;
    while (created < 300 && backlog === 0) {
      for (let i = 0; i < 10; i += 1, created += 1) await srv.pb.collection(name).create({ body });
      backlog = await queued();
    }
    assert.ok(backlog > 0, `no backlog after ${created} events`);
    assert.ok(backlog <= created);
    // Reading again delivers them all and the backlog drains to 0.
    let bytes = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
    })().catch(() => {});
    await waitFor(async () => (await queued()) === 0, 20_000, 'the backlog to drain');
    await waitFor(() => bytes >= created * body.length, 20_000, `all ${created} events`);
    ac.abort();
    await reading;
  });

  test('superusers only (or the configured bearer token)', async () => {
    const guest = await srv.api('GET', '/api/metrics');
    assert.equal(guest.status, 401);
    assert.deepEqual(guest.json, errBody(401, 'The request requires valid record authorization token.'));
    const user = await srv.userClient();
    const r = await srv.api('GET', '/api/metrics', { token: user.authStore.token });
    assert.equal(r.status, 403);
    const wrong = await srv.api('GET', '/api/metrics', { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
  });

  test('health: readiness detail for superusers only', async () => {
    const r = await srv.su('GET', '/api/health');
    assert.equal(r.json.data.ready.writer, true);
    assert.equal(typeof r.json.data.ready.diskFreeBytes, 'number');
    assert.equal(typeof r.json.data.ready.lowDisk, 'boolean');
    const guest = await srv.api('GET', '/api/health');
    assert.deepEqual(guest.json.data, {});
  });
});

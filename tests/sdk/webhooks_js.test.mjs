// Webhooks for writes made by JS (docs/webhooks.md): a pb_hooks route that
// saves a record and a pb_migrations file that saves and deletes records
// both enter the outbox in their own transaction, so the real receiver gets
// deliveries signed as for any API write (verified with npm standardwebhooks).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, cairnOnly, REPO_ROOT } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, deliveries,
} from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('a JS hook save and a JS migration save and delete are delivered, signed', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const ep = await createEndpoint(srv, { url: rx.url(), collection: col });
  const hooks = path.join(srv.root, 'pb_hooks');
  const migs = path.join(srv.root, 'pb_migrations');
  await fsp.mkdir(hooks, { recursive: true });
  await fsp.mkdir(migs, { recursive: true });
  await fsp.writeFile(
    path.join(hooks, 'wh.pb.js'),
    `routerAdd("POST", "/api/wh-js-save", (e) => {
  const r = new Record($app.findCollectionByNameOrId(${JSON.stringify(col)}))
  r.set("title", "from hook")
  $app.save(r)
  return e.json(200, { id: r.id })
})
`,
  );
  await fsp.writeFile(
    path.join(migs, '1900000000_wh_seed.js'),
    `migrate((app) => {
  const c = app.findCollectionByNameOrId(${JSON.stringify(col)})
  const keep = new Record(c)
  keep.set("title", "from migration")
  app.save(keep)
  const gone = new Record(c)
  gone.set("title", "deleted by migration")
  app.save(gone)
  app.delete(gone)
}, (app) => {})
`,
  );
  await srv.restart();

  // The migration ran before serve: three deliveries (2 creates, 1 delete).
  await waitFor(() => rx.requests.length >= 3, 15_000, 'migration deliveries');
  const fromMigration = rx.requests.map((r) => verify(ep.secret, r));
  assert.deepEqual(fromMigration.map((b) => b.type).sort(), [`${col}.create`, `${col}.create`, `${col}.delete`]);
  const titles = fromMigration.map((b) => b.data.record.title).sort();
  assert.deepEqual(titles, ['deleted by migration', 'deleted by migration', 'from migration']);
  const kept = await srv.su('GET', `/api/collections/${col}/records?filter=${encodeURIComponent('title="from migration"')}`);
  assert.equal(kept.json.items.length, 1);
  assert.equal(fromMigration.find((b) => b.data.record.title === 'from migration').data.record.id, kept.json.items[0].id);

  const r = await srv.api('POST', '/api/wh-js-save', { body: {} });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => rx.requests.length >= 4, 10_000, 'hook delivery');
  const fromHook = verify(ep.secret, rx.requests[3]);
  assert.equal(fromHook.type, `${col}.create`);
  assert.equal(fromHook.data.record.id, r.json.id);
  assert.equal(fromHook.data.record.title, 'from hook');
  // The receiver has the request before the outcome is recorded (the
  // dispatcher's next turn): wait for the log to say so.
  let log = [];
  await waitFor(async () => {
    log = await deliveries(srv, { webhook: ep.id });
    return log.length === 4 && log.every((d) => d.state === 'succeeded');
  }, 10_000, 'four succeeded deliveries').catch(() => {});
  assert.equal(log.length, 4);
  assert.ok(log.every((d) => d.state === 'succeeded'), JSON.stringify(log.map((d) => d.state)));
  await rx.close();
});

// /api/metrics, parsed with the prometheus_client PyPI parser (as ops_metrics does).
const PY = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const PARSER = path.join(REPO_ROOT, 'tests', 'sdk', 'parse_metrics.py');
async function scrape() {
  const r = await srv.su('GET', '/api/metrics');
  assert.equal(r.status, 200, r.text);
  return JSON.parse(execFileSync(PY, [PARSER], { input: r.text }));
}
const sample = (fams, family, name, labels = {}) =>
  fams[family]?.samples.find(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v))?.[2];

test('metrics: attempts by outcome, latency and queue depth on /api/metrics', opts, async () => {
  const ok = await startReceiver();
  const bad = await startReceiver(() => ({ status: 500 }));
  const col = await newCollection(srv);
  await createEndpoint(srv, { url: ok.url(), collection: col });
  await createEndpoint(srv, { url: bad.url(), collection: col });
  const before = await scrape();
  assert.equal(before.cairn_webhook_attempts?.type, 'counter');
  assert.equal(before.cairn_webhook_attempt_duration_seconds?.type, 'histogram');
  assert.equal(before.cairn_webhook_queue_depth?.type, 'gauge');
  const ok0 = sample(before, 'cairn_webhook_attempts', 'cairn_webhook_attempts_total', { outcome: 'succeeded' }) ?? 0;
  const http0 = sample(before, 'cairn_webhook_attempts', 'cairn_webhook_attempts_total', { outcome: 'failed_http' }) ?? 0;
  const n0 = sample(before, 'cairn_webhook_attempt_duration_seconds', 'cairn_webhook_attempt_duration_seconds_count') ?? 0;
  for (let i = 0; i < 3; i += 1) {
    const r = await srv.su('POST', `/api/collections/${col}/records`, { body: { title: `m${i}` } });
    assert.equal(r.status, 200);
  }
  await waitFor(() => ok.requests.length >= 3 && bad.requests.length >= 3, 10_000, 'first attempts');
  const after = await waitFor(async () => {
    const m = await scrape();
    return sample(m, 'cairn_webhook_attempts', 'cairn_webhook_attempts_total', { outcome: 'failed_http' }) >= http0 + 3 ? m : null;
  }, 10_000, 'failed_http counted');
  assert.equal(sample(after, 'cairn_webhook_attempts', 'cairn_webhook_attempts_total', { outcome: 'succeeded' }), ok0 + 3);
  assert.ok(sample(after, 'cairn_webhook_attempt_duration_seconds', 'cairn_webhook_attempt_duration_seconds_count') >= n0 + 6);
  // The failing endpoint's deliveries wait for their retries: still queued.
  assert.ok(sample(after, 'cairn_webhook_queue_depth', 'cairn_webhook_queue_depth') >= 1);
  await ok.close();
  await bad.close();
});

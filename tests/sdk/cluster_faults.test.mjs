// Several Cairn nodes on one PostgreSQL database when things break
// (docs/scaling.md, POSTGRES.md behaviours 6, 10 and 11): a node killed
// with SIGKILL during writes, PostgreSQL itself crashed and restarted under
// load, and a long transaction in another database holding the change
// feed's horizon back. Nothing acknowledged is lost and subscribers get
// every committed change exactly once; webhook deliveries go out once per
// change from two nodes, and at least once across kill -9. The nodes run on a PostgreSQL server
// of this file's own (pg_fixtures.mjs), since these tests crash it and hold
// its horizon. PostgreSQL only (SDK_STORE=postgres).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, after } from 'node:test';
import { EventSource } from 'eventsource';
import { Server, test, describe, ON_POSTGRES } from './harness.mjs';
import { subscribeResumable } from '../../docs/examples/resumable.mjs';
import { sleep, waitFor } from './realtime_fixtures.mjs';
import { privatePg } from './pg_fixtures.mjs';
import { webhookEnv, startReceiver, verify, createEndpoint, deliveries } from './webhook_fixtures.mjs';

globalThis.EventSource = EventSource;
webhookEnv();
const MAX_IN_FLIGHT = 4;

/** Creates through `node` until `stop()` (or, with `untilError`, the first failure); acknowledged ids go to `acked`. */
function writer(node, tag, acked, { untilError = false } = {}) {
  let running = true;
  let failures = 0;
  const done = (async () => {
    for (let i = 0; running; i++) {
      try {
        const r = await node.pb.collection('shared').create({ title: `${tag}-${i}` });
        acked.push(r.id);
      } catch {
        failures++;
        if (untilError) return;
        await sleep(100);
      }
    }
  })();
  return { stop: async () => { running = false; await done; }, failures: () => failures };
}

/** Every record id in the collection, read through `node`. */
async function stored(node) {
  const all = await node.pb.collection('shared').getFullList({ fields: 'id', batch: 1000 });
  return new Set(all.map((r) => r.id));
}

/** A resumable subscriber; `events` are the create events' record ids in arrival order. */
async function subscriber(node, since) {
  const pb = node.client();
  const events = [];
  const sub = await subscribeResumable(pb, 'shared', '*', (e) => {
    if (e.action === 'create') events.push(e.record.id);
  }, since === undefined ? {} : { since });
  return {
    events,
    lastSeq: () => sub.lastSeq(),
    close: async () => {
      await sub.unsubscribe().catch(() => {});
      pb.realtime.unsubscribe().catch(() => {});
    },
  };
}

function assertOnce(events, want, what) {
  assert.equal(new Set(events).size, events.length, `${what}: an event twice`);
  const missing = [...want].filter((id) => !events.includes(id));
  assert.deepEqual(missing, [], `${what}: committed records without their event`);
}

describe('faults with two nodes on one database', { skip: ON_POSTGRES ? false : 'needs SDK_STORE=postgres' }, () => {
  let pg;
  let a;
  let b;
  let rx;
  let ep;
  /** Verified deliveries per record id, once nothing is pending or in flight. */
  const delivered = async () => {
    await waitFor(async () => {
      const busy = [...(await deliveries(b, { webhook: ep.id, state: 'pending' })), ...(await deliveries(b, { webhook: ep.id, state: 'inflight' }))];
      return busy.length === 0;
    }, 30_000, 'webhook queue drained');
    const per = new Map();
    for (const r of rx.requests) {
      const id = verify(ep.secret, r).data.record.id;
      per.set(id, (per.get(id) ?? 0) + 1);
    }
    return per;
  };
  before(async () => {
    pg = await privatePg();
    a = new Server();
    a.dbUrl = await pg.database('faults');
    await a.start();
    await a.pb.collections.create({
      name: 'shared',
      type: 'base',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [{ name: 'title', type: 'text' }],
    });
    b = await a.peer();
    rx = await startReceiver();
    ep = await createEndpoint(a, { url: rx.url(), collection: 'shared', actions: ['create'], maxInFlight: MAX_IN_FLIGHT });
    // Node B has loaded the endpoint A created (at its next wake-up).
    await waitFor(async () => (await b.su('GET', `/api/webhooks/${ep.id}`)).status === 200, 5000, 'the endpoint on B');
  });
  after(async () => {
    await rx?.close();
    await b?.stop();
    await a?.stop();
    await pg?.stop();
  });

  test('two nodes dispatching: each change goes to the endpoint once', async () => {
    const ids = [];
    await Promise.all([a, b].map(async (node, n) => {
      for (let i = 0; i < 50; i++) ids.push((await node.pb.collection('shared').create({ title: `wh${n}-${i}` })).id);
    }));
    const per = await delivered();
    assert.deepEqual(ids.filter((id) => per.get(id) !== 1).map((id) => [id, per.get(id)]), [], 'records not delivered exactly once');
  });

  test('kill -9 of a node during writes: nothing acknowledged is lost; its subscriber resumes on the other node', async () => {
    const before = await stored(b);
    const sub = await subscriber(a);
    const acked = [];
    const writers = [];
    for (let w = 0; w < 3; w++) writers.push(writer(a, `a${w}`, acked, { untilError: true }));
    writers.push(writer(b, 'b0', acked));
    await waitFor(() => acked.length >= 60, 20_000, 'writes under way');
    await a.kill('SIGKILL');
    await sleep(300);
    for (const w of writers) await w.stop();
    const last = sub.lastSeq();
    await sub.close();

    const have = await stored(b);
    assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'acknowledged writes missing after kill -9');
    const resumed = await subscriber(b, last);
    const all = [...sub.events];
    const fresh = [...have].filter((id) => !before.has(id));
    try {
      await waitFor(() => fresh.every((id) => all.includes(id) || resumed.events.includes(id)), 10_000, 'every committed create, before or after the move');
      await sleep(300);
      all.push(...resumed.events);
      assertOnce(all, fresh, 'A then B');
    } finally {
      await resumed.close();
      await a.restart();
    }

    // Webhooks: at least once, for records that exist, duplicates within the in-flight bound.
    const per = await delivered();
    assert.deepEqual([...have].filter((id) => !per.has(id)), [], 'committed records without a delivery');
    assert.deepEqual([...per.keys()].filter((id) => !have.has(id)), [], 'deliveries of records that do not exist');
    const dups = [...have].reduce((n, id) => n + per.get(id) - 1, 0);
    assert.ok(dups <= MAX_IN_FLIGHT, `${dups} duplicate deliveries`);
  });

  test('PostgreSQL crashes and restarts under load: nodes recover by themselves, nothing acknowledged is lost or missed', async () => {
    const before = await stored(b);
    const sub = await subscriber(a);
    const acked = [];
    const writers = [writer(a, 'ra', acked), writer(a, 'ra2', acked), writer(b, 'rb', acked)];
    await waitFor(() => acked.length >= 40, 20_000, 'writes under way');
    await pg.crash();
    await sleep(1000);
    await pg.start();
    const atRestart = acked.length;
    await waitFor(() => acked.length >= atRestart + 40, 30_000, 'writes acknowledged again through the same nodes');
    for (const w of writers) await w.stop();
    assert.equal(a.exited, null, 'node A kept running');
    assert.equal(b.exited, null, 'node B kept running');

    const have = await stored(b);
    assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'acknowledged writes missing after the crash');
    const fresh = [...have].filter((id) => !before.has(id));
    try {
      await waitFor(() => fresh.every((id) => sub.events.includes(id)), 30_000, 'every committed create on the subscriber');
    } catch (e) {
      const missing = fresh.filter((id) => !sub.events.includes(id));
      const titles = await Promise.all(missing.slice(0, 5).map((id) => b.pb.collection('shared').getOne(id).then((r) => r.title)));
      e.message += `: ${missing.length} of ${fresh.length} missing, ${missing.filter((id) => acked.includes(id)).length} of them acknowledged; e.g. ${titles}; ${sub.events.length} events`;
      throw e;
    }
    await sleep(300);
    assertOnce(sub.events, fresh, 'across the crash');
    await sub.close();
  });

  test('a 10-s writing transaction in another database: no event lost, deliveries resume within 1 s after it ends', async () => {
    const sub = await subscriber(a);
    const other = await pg.database('elsewhere');
    // A transaction with a transaction id, open for 10 s.
    const psql = spawn('psql', [other, '-q', '-c', 'BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(10); COMMIT;'], { stdio: 'ignore' });
    const ended = new Promise((resolve) => psql.on('exit', () => resolve(Date.now())));
    await sleep(1000);
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push((await b.pb.collection('shared').create({ title: `held-${i}` })).id);
    // The metric shows what holds the events back.
    const metrics = await a.su('GET', '/api/metrics');
    const age = Number(/^cairn_changefeed_horizon_age_seconds (\S+)$/m.exec(metrics.text)?.[1]);
    assert.ok(age >= 0.5 && age < 11, `horizon age ${age} s while the transaction is open`);
    const endedAt = await ended;
    await waitFor(() => ids.every((id) => sub.events.includes(id)), 5000, 'the held events');
    const lag = Date.now() - endedAt;
    assert.ok(lag < 1000, `deliveries resumed ${lag} ms after the transaction ended`);
    await sleep(300);
    assertOnce(sub.events, ids, 'held back');
    await sub.close();
  });
});

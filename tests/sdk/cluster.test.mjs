// Several Cairn nodes on one PostgreSQL database (docs/scaling.md): node A
// and node B are two processes with their own data dirs and ports, as two
// servers behind a load balancer would be. Realtime subscribers of one node
// receive the changes written through the other, in each record's commit
// order, exactly once, resumable on either node. PostgreSQL only
// (SDK_STORE=postgres); skipped otherwise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventSource } from 'eventsource';
import { useServer, test, describe, ON_POSTGRES } from './harness.mjs';
import { subscribeResumable } from '../../docs/examples/resumable.mjs';
import { openStream, postSubs, sleep, waitFor } from './realtime_fixtures.mjs';

globalThis.EventSource = EventSource;


const srv = useServer(async (s) => {
  if (!ON_POSTGRES) return;
  await s.pb.collections.create({
    name: 'shared',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'title', type: 'text', max: 100000 },
      { name: 'n', type: 'number' },
    ],
  });
});

/**
 * SQL for a session of the test's own: waits (up to 30 s) until `n` other
 * sessions of its database wait for a lock. Its text names
 * `pg_stat_clear_snapshot`, which `holding` looks for.
 */
function untilWaiting(n) {
  return `DO $$ BEGIN
    FOR i IN 1..3000 LOOP
      PERFORM pg_stat_clear_snapshot();
      EXIT WHEN (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()) >= ${n};
      PERFORM pg_sleep(0.01);
    END LOOP;
  END $$;`;
}

/** Waits until a session runs `untilWaiting`'s loop (it holds its locks by then). */
async function holding(node) {
  const q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_stat_clear_snapshot%' AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()";
  await waitFor(async () => {
    const r = await node.su('POST', '/api/sql', { body: { query: q } });
    assert.equal(r.status, 200, r.text);
    return Number(r.json.rows[0][0]) >= 1;
  }, 20_000, 'the holding session');
}

/** How many sessions of the node's database, other than a holding one, wait for a lock. */
async function lockWaiters(node) {
  const q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query NOT LIKE '%pg_stat_clear_snapshot%'";
  const r = await node.su('POST', '/api/sql', { body: { query: q } });
  assert.equal(r.status, 200, r.text);
  return Number(r.json.rows[0][0]);
}

/** The nodes' count of write jobs run again after a lost conflict, summed. */
async function rerunsOf(nodes) {
  let sum = 0;
  for (const node of nodes) {
    const m = await node.su('GET', '/api/metrics');
    assert.equal(m.status, 200, m.text);
    sum += Number(/^cairn_writer_conflict_reruns_total (\d+)$/m.exec(m.text)?.[1]);
  }
  assert.ok(Number.isFinite(sum), 'the re-run counter is exported');
  return sum;
}

describe('two nodes on one database', { skip: ON_POSTGRES ? false : 'needs SDK_STORE=postgres' }, () => {
  let b;
  test('node B starts on the database node A created', async () => {
    b = await srv.peer();
    const list = await b.pb.collection('shared').getList(1, 1);
    assert.equal(list.totalItems, 0);
  });

  test('a subscriber of A gets what is written through B, as written, including records over 8,000 bytes', async () => {
    const pb = srv.client();
    const got = [];
    await pb.collection('shared').subscribe('*', (e) => got.push(e));
    const big = 'x'.repeat(9000);
    const rec = await b.pb.collection('shared').create({ title: 'via B', n: 1 });
    const upd = await b.pb.collection('shared').update(rec.id, { title: big });
    await b.pb.collection('shared').delete(rec.id);
    await waitFor(() => got.length === 3, 5000, 'three events from B');
    assert.deepEqual(got.map((e) => e.action), ['create', 'update', 'delete']);
    assert.deepEqual(got[0].record, rec);
    assert.deepEqual(got[1].record, upd);
    assert.equal(got[1].record.title.length, 9000);
    await sleep(300);
    assert.equal(got.length, 3, 'nothing twice');
    pb.realtime.unsubscribe();
  });

  test('a client leaves A with its last token and resumes on B: exactly what it missed, then live', async () => {
    const pbA = srv.client();
    const got1 = [];
    const sub1 = await subscribeResumable(pbA, 'shared', '*', (e) => got1.push(e));
    for (let n = 1; n <= 3; n++) await b.pb.collection('shared').create({ n });
    await waitFor(() => got1.length === 3, 5000, 'three events on A');
    const last = sub1.lastSeq();
    await sub1.unsubscribe();
    pbA.realtime.unsubscribe();
    for (let n = 4; n <= 6; n++) await srv.pb.collection('shared').create({ n });

    const pbB = b.client();
    const got2 = [];
    const sub2 = await subscribeResumable(pbB, 'shared', '*', (e) => got2.push(e), { since: last });
    await waitFor(() => got2.length === 3, 5000, 'the three missed events on B');
    await srv.pb.collection('shared').create({ n: 7 });
    await waitFor(() => got2.length === 4, 5000, 'the live event on B');
    assert.deepEqual(got2.map((e) => e.record.n), [4, 5, 6, 7]);
    assert.ok(got2.every((e) => e.seq > last), 'tokens of B sort after the token of A');
    await sleep(300);
    assert.equal(got2.length, 4, 'nothing twice');
    await sub2.unsubscribe();
    pbB.realtime.unsubscribe();
  });

  test('writers on both nodes at once: each subscriber gets every change once, each record in commit order', async () => {
    const hot = [];
    for (let i = 0; i < 4; i++) hot.push(await srv.pb.collection('shared').create({ title: `hot${i}`, n: 0 }));
    const subs = [];
    for (const node of [srv, b]) {
      const pb = node.client();
      const got = [];
      await pb.collection('shared').subscribe('*', (e) => got.push(e), { filter: "title ~ 'hot'" });
      subs.push({ pb, got });
    }
    // 4 writers per node, each 40 increments of a hot record (`n+`), so a
    // record's n in its events must rise by one each time.
    const writers = [];
    for (const node of [srv, b]) {
      for (let w = 0; w < 4; w++) {
        writers.push(
          (async () => {
            for (let i = 0; i < 40; i++) {
              const r = hot[(w + i) % hot.length];
              await node.pb.collection('shared').update(r.id, { 'n+': 1 });
            }
          })(),
        );
      }
    }
    await Promise.all(writers);
    const total = 2 * 4 * 40;
    const finals = await srv.pb.collection('shared').getFullList({ filter: "title ~ 'hot'" });
    assert.equal(finals.reduce((a, r) => a + r.n, 0), total);
    for (const { got } of subs) {
      await waitFor(() => got.length >= total, 20_000, `${total} events (have ${got.length})`);
    }
    await sleep(500);
    for (const [i, { pb, got }] of subs.entries()) {
      assert.equal(got.length, total, `node ${i}: every change exactly once: ${JSON.stringify(got.filter((e) => e.action !== 'update').map((e) => [e.action, e.record.title, e.record.n]))}`);
      for (const r of hot) {
        const ns = got.filter((e) => e.record.id === r.id).map((e) => e.record.n);
        const want = ns.map((_, k) => k + 1);
        assert.deepEqual(ns, want, `node ${i}, ${r.title}: updates in commit order`);
      }
      pb.realtime.unsubscribe();
    }
  });

  test('updates of random shared rows through both nodes at once: each runs once, none loses a deadlock, none is lost', async () => {
    // docs/scaling.md "Write ceiling": a node's write job locks only its
    // own row, for as long as the job runs, so writers of two nodes taking
    // rows in any order wait for each other at most one job long and never
    // deadlock. (With write groups holding every job's lock until the
    // group committed, groups of the two nodes deadlocked, lost jobs were
    // run again after PostgreSQL's 1-s deadlock_timeout, and updates of
    // random rows through two nodes completed none in 4 s.)
    const rows = [];
    for (let i = 0; i < 6; i++) rows.push(await srv.pb.collection('shared').create({ title: `race${i}`, n: 0 }));
    const before = await rerunsOf([srv, b]);
    // 6 writers per node, each 30 updates of the rows in an order of its
    // own (a fixed pseudo-random walk), as many at once as there are writers.
    const want = new Map(rows.map((r) => [r.id, 0]));
    const writers = [];
    for (const [k, node] of [srv, b].entries()) {
      for (let w = 0; w < 6; w++) {
        const order = Array.from({ length: 30 }, (_, i) => rows[(i * (2 * w + 1) + 7 * k + w) % rows.length]);
        for (const r of order) want.set(r.id, want.get(r.id) + 1);
        writers.push((async () => {
          for (const r of order) await node.pb.collection('shared').update(r.id, { 'n+': 1 });
        })());
      }
    }
    await Promise.all(writers);
    for (const r of await srv.pb.collection('shared').getFullList({ filter: "title ~ 'race'" })) {
      assert.equal(r.n, want.get(r.id), `${r.title}: every update counted once`);
    }
    assert.equal(await rerunsOf([srv, b]), before, 'no update lost a deadlock and ran again');
  });

  test('two nodes\' batches that lock the same rows in opposite orders deadlock; the loser runs again and each batch applies once', async () => {
    await srv.su('PATCH', '/api/settings', { body: { batch: { enabled: true } } });
    const [r1, r2, r3] = await Promise.all([1, 2, 3].map((i) => srv.pb.collection('shared').create({ title: `lock${i}`, n: 0 })));
    const reruns0 = await rerunsOf([srv, b]);
    // A session of the test's own holds r3 while A's batch (r1, r3, r2)
    // locks r1 and queues for r3, and B's (r2, r3, r1) locks r2 and queues
    // behind it; once both wait, it lets r3 go. A gets r3 and waits for r2
    // (B's), while B waits for r3 (A's): a deadlock, every time.
    const holder = spawn('psql', [srv.dbUrl, '-q', '-c', `BEGIN;
      SELECT 1 FROM shared WHERE id = '${r3.id}' FOR UPDATE;
      ${untilWaiting(2)}
      COMMIT;`], { stdio: 'ignore' });
    const held = new Promise((resolve) => holder.on('exit', resolve));
    const send = (node, order) => {
      const batch = node.pb.createBatch();
      for (const r of order) batch.collection('shared').update(r.id, { 'n+': 1 });
      return batch.send();
    };
    await holding(srv);
    const viaA = send(srv, [r1, r3, r2]);
    await waitFor(async () => (await lockWaiters(srv)) >= 1, 20_000, "A's batch waiting for r3");
    const viaB = send(b, [r2, r3, r1]);
    const [resA, resB] = await Promise.all([viaA, viaB]);
    assert.equal(await held, 0, 'the holder committed');
    assert.deepEqual(resA.map((x) => x.status), [200, 200, 200]);
    assert.deepEqual(resB.map((x) => x.status), [200, 200, 200]);
    for (const r of [r1, r2, r3]) assert.equal((await srv.pb.collection('shared').getOne(r.id)).n, 2, `${r.title}: both batches applied once`);
    const reruns = (await rerunsOf([srv, b])) - reruns0;
    assert.ok(reruns >= 1, `the deadlock's loser ran again (${reruns} re-runs)`);
  });

  test('a settings save that loses a deadlock runs again and applies once; two nodes\' saves of different keys keep both', async () => {
    await srv.pb.settings.update({ meta: { appName: 'Before deadlock' } });
    const reruns0 = await rerunsOf([srv, b]);
    // A session of the test's own locks the stored settings row, waits
    // until A's save (which locks the settings version row first) queues
    // for it, then asks for the version row: a lock-order cycle, which
    // PostgreSQL breaks by failing A's statement (A waited first).
    const sql = `BEGIN;
      SELECT 1 FROM _params WHERE id = 'settings' FOR UPDATE;
      ${untilWaiting(1)}
      SELECT 1 FROM _cluster WHERE name = 'settings' FOR UPDATE;
      COMMIT;`;
    const holder = spawn('psql', [srv.dbUrl, '-q', '-c', sql], { stdio: 'ignore' });
    const held = new Promise((resolve) => holder.on('exit', resolve));
    await holding(srv);
    const saved = await srv.pb.settings.update({ meta: { appName: 'After deadlock' } });
    assert.equal(await held, 0, 'the holder committed');
    assert.equal(saved.meta.appName, 'After deadlock');
    assert.ok((await rerunsOf([srv, b])) - reruns0 >= 1, 'the save lost the deadlock and ran again');
    // Saves of different keys through both nodes at once: each sees the
    // other's committed keys (the version row orders them).
    await Promise.all([
      srv.pb.settings.update({ meta: { appName: 'Both A' } }),
      b.pb.settings.update({ meta: { senderName: 'Both B' } }),
    ]);
    const both = await srv.pb.settings.getAll();
    assert.deepEqual([both.meta.appName, both.meta.senderName], ['Both A', 'Both B']);
  });

  test('a field added or removed through A, and settings saved through A, are in force on B within 250 ms', async () => {
    const col = await srv.pb.collections.getOne('shared');
    await srv.pb.collections.update('shared', { fields: [...col.fields, { name: 'extra', type: 'text' }] });
    await sleep(300);
    const r1 = await b.pb.collection('shared').create({ title: 'after add', extra: 'kept' });
    assert.equal(r1.extra, 'kept', 'B writes the new field');

    await srv.pb.collections.update('shared', { fields: col.fields });
    await sleep(300);
    const r2 = await b.pb.collection('shared').create({ title: 'after remove', extra: 'ignored' });
    assert.equal('extra' in r2, false, 'B no longer knows the field');
    const back = await b.pb.collection('shared').getOne(r1.id);
    assert.equal('extra' in back, false);

    await srv.pb.settings.update({ meta: { appName: 'Clustered' } });
    await sleep(300);
    const settings = await b.pb.settings.getAll();
    assert.equal(settings.meta.appName, 'Clustered');
  });

  test('a subscription request sent to B for a stream held by A: 204, and it governs the very next event', async () => {
    const stream = await openStream(srv.url);
    try {
      assert.ok(stream.clientId, 'PB_CONNECT from A');
      const a = await postSubs(b.url, { clientId: stream.clientId, subscriptions: ['shared/*'] });
      assert.equal(a.status, 204, a.text);
      const rec = await srv.pb.collection('shared').create({ title: 'seen via B', n: 1 });
      await waitFor(() => stream.events('shared/*').length === 1, 5000, 'the event on A');
      assert.equal(stream.events('shared/*')[0].json.record.id, rec.id);
      // Replaced through B again: the next event follows the new set.
      const c = await postSubs(b.url, { clientId: stream.clientId, subscriptions: [`shared/${rec.id}`] });
      assert.equal(c.status, 204, c.text);
      await b.pb.collection('shared').create({ title: 'not watched any more' });
      await b.pb.collection('shared').update(rec.id, { n: 2 });
      await waitFor(() => stream.events(`shared/${rec.id}`).length === 1, 5000, 'the record event');
      await sleep(300);
      assert.equal(stream.events('shared/*').length, 1, 'the old subscription is gone');
      // Unknown ids are still 404 on any node, and the IP check holds.
      const u = await postSubs(b.url, { clientId: 'x'.repeat(40), subscriptions: [] });
      assert.equal(u.status, 404);
    } finally {
      stream.close();
    }
    // The stream ended: its row goes, and B answers 404 for it.
    await sleep(500);
    const gone = await postSubs(b.url, { clientId: stream.clientId, subscriptions: [] });
    assert.equal(gone.status, 404);
  });

  test('an authenticated subscription through B binds that user on A, and rules apply as that user', async () => {
    await srv.pb.collections.create({
      name: 'owned',
      type: 'base',
      listRule: "owner = @request.auth.id",
      viewRule: "owner = @request.auth.id",
      fields: [{ name: 'owner', type: 'text' }],
    });
    const users = srv.pb.collection('users');
    const u = await users.create({ email: 'node@example.com', password: 'Passw0rd!x', passwordConfirm: 'Passw0rd!x' });
    const token = (await b.client().collection('users').authWithPassword('node@example.com', 'Passw0rd!x')).token;
    const stream = await openStream(srv.url);
    try {
      const r = await postSubs(b.url, { clientId: stream.clientId, subscriptions: ['owned/*'] }, { token });
      assert.equal(r.status, 204, r.text);
      await srv.pb.collection('owned').create({ owner: 'someone-else' });
      const mine = await srv.pb.collection('owned').create({ owner: u.id });
      await waitFor(() => stream.events('owned/*').length >= 1, 5000, "the user's own record");
      await sleep(300);
      assert.deepEqual(stream.events('owned/*').map((e) => e.json.record.id), [mine.id]);
      // A later request without that auth is dropped by A (one node answers
      // 403): the user's subscription stays, the guest's never starts.
      const guest = await postSubs(b.url, { clientId: stream.clientId, subscriptions: ['shared/*'] });
      assert.equal(guest.status, 204);
      await sleep(300);
      await srv.pb.collection('shared').create({ title: 'guest would see this' });
      const mine2 = await srv.pb.collection('owned').create({ owner: u.id });
      await waitFor(() => stream.events('owned/*').length >= 2, 5000, "the user's second record");
      await sleep(300);
      assert.equal(stream.events('shared/*').length, 0, 'the mismatched request was not applied');
      assert.equal(stream.events('owned/*')[1].json.record.id, mine2.id);
    } finally {
      stream.close();
    }
  });

  test('two nodes change one collection at once: the second change starts from what the first committed', async () => {
    await srv.pb.collections.create({ name: 'morph', type: 'base', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'x', type: 'text' }] });
    await waitFor(async () => (await b.su('GET', '/api/collections/morph')).status === 200, 5000, 'the collection on B');
    const base = await srv.pb.collections.getOne('morph');
    // A session of the test's own locks the table until both changes
    // wait, so both are under way at once: A renames x to y; B, from the
    // collection as it was, adds z (keeping x).
    const holder = spawn('psql', [srv.dbUrl, '-q', '-c', `BEGIN; LOCK TABLE morph IN ACCESS EXCLUSIVE MODE; ${untilWaiting(2)} COMMIT;`], { stdio: 'ignore' });
    const held = new Promise((resolve) => holder.on('exit', resolve));
    await holding(srv);
    const viaA = srv.pb.collections.update('morph', { fields: base.fields.map((f) => (f.name === 'x' ? { ...f, name: 'y' } : f)) });
    await waitFor(async () => (await lockWaiters(srv)) >= 1, 20_000, "A's change waiting");
    const viaB = b.pb.collections.update('morph', { fields: [...base.fields, { name: 'z', type: 'text' }] });
    await Promise.all([viaA, viaB]);
    assert.equal(await held, 0, 'the holder committed');
    // B's change came second and was applied to the table as A left it:
    // the collection is B's, and its table has B's columns (on A once it
    // has followed B's change).
    const names = async (node) => (await node.pb.collections.getOne('morph')).fields.filter((f) => !f.system).map((f) => f.name).join();
    assert.equal(await names(b), 'x,z');
    await waitFor(async () => (await names(srv)) === 'x,z', 5000, "B's change on A");
    for (const node of [srv, b]) {
      const rec = await node.pb.collection('morph').create({ x: 'kept', z: 'too' });
      assert.deepEqual([rec.x, rec.z], ['kept', 'too']);
      assert.equal((await node.pb.collection('morph').getList(1, 5)).totalItems >= 1, true);
    }
  });

  test('rows a dead node left in _realtime_clients go at the change-log trim once older than 31 minutes; younger ones stay', async () => {
    // Two clients of a node that died without ending their streams: one
    // registered 32 minutes ago (longer than a stream lives), one 30.
    const old = 'o'.repeat(40);
    const young = 'y'.repeat(40);
    const sql = `INSERT INTO _realtime_clients (id, node, ip, version, created) VALUES
      ('${old}', 'dead-node', '127.0.0.1', 0, extract(epoch from now())::bigint - 32 * 60),
      ('${young}', 'dead-node', '127.0.0.1', 0, extract(epoch from now())::bigint - 30 * 60)`;
    const ins = await srv.su('POST', '/api/sql', { body: { query: sql, write: true } });
    assert.equal(ins.status, 200, ins.text);
    // Both are live as far as the nodes know: B takes requests for them.
    for (const id of [old, young]) assert.equal((await postSubs(b.url, { clientId: id, subscriptions: [] })).status, 204);
    const run = await b.su('POST', '/api/crons/__cairnChangeLogTrim__');
    assert.equal(run.status, 204, run.text);
    await waitFor(async () => (await postSubs(b.url, { clientId: old, subscriptions: [] })).status === 404, 10_000, 'the old row swept');
    assert.equal((await postSubs(b.url, { clientId: young, subscriptions: [] })).status, 204, 'the younger row stays');
  });

  test('node B stops', async () => {
    await b.stop();
  });
});

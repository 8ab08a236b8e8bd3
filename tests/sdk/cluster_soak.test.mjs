// POSTGRES.md behaviour 5 as written: 32 concurrent writers spread over two
// nodes for 60 s (`SOAK_SECONDS` changes the length). Each subscriber, one
// per node, receives every committed change exactly once, and the updates
// of any one record in commit order, checked against the database
// afterwards: a record's `n` counts its committed increments, so its events
// must carry n = 1, 2, 3, ... and as many as the stored n. PostgreSQL only
// (SDK_STORE=postgres); cluster.test.mjs has the short versions.
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { useServer, test, describe, ON_POSTGRES } from './harness.mjs';
import { sleep, waitFor } from './realtime_fixtures.mjs';

globalThis.EventSource = EventSource;

const SECONDS = Number(process.env.SOAK_SECONDS || 60);
const WRITERS = 32;
const HOT = 16;

const srv = useServer(async (s) => {
  if (!ON_POSTGRES) return;
  await s.pb.collections.create({
    name: 'soak',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
    ],
  });
});

describe('32 writers on two nodes', { skip: ON_POSTGRES ? false : 'needs SDK_STORE=postgres' }, () => {
  test(`${WRITERS} writers for ${SECONDS} s: every change once to each node's subscriber, each record's updates in order`, { timeout: (SECONDS + 240) * 1000 }, async () => {
    const b = await srv.peer();
    try {
      const hot = [];
      for (let i = 0; i < HOT; i++) hot.push(await srv.pb.collection('soak').create({ title: `hot${i}`, n: 0 }));
      const subs = [];
      for (const node of [srv, b]) {
        const pb = node.client();
        const got = [];
        await pb.collection('soak').subscribe('*', (e) => got.push(e));
        subs.push({ pb, got });
      }
      // Each writer mostly increments a hot record (`n+`); every tenth
      // request creates a record instead.
      const nodes = [srv, b];
      const end = Date.now() + SECONDS * 1000;
      let failures = 0;
      let requests = 0;
      let updated = 0;
      const writers = [];
      for (let w = 0; w < WRITERS; w++) {
        const c = nodes[w % 2].pb.collection('soak');
        writers.push((async () => {
          for (let i = 0; Date.now() < end; i++) {
            requests++;
            try {
              if (i % 10 === 9) await c.create({ title: `new-${w}-${i}`, n: 0 });
              else {
                await c.update(hot[(w + i) % HOT].id, { 'n+': 1 });
                updated++;
              }
            } catch {
              failures++;
            }
          }
        })());
      }
      await Promise.all(writers);
      assert.equal(failures, 0, `${failures} of ${requests} writes failed`);

      // What the database holds: the increments per hot record, the creates.
      const stored = await srv.pb.collection('soak').getFullList({ batch: 1000 });
      const created = stored.filter((r) => r.title.startsWith('new-')).map((r) => r.id);
      const increments = stored.filter((r) => r.title.startsWith('hot')).reduce((a, r) => a + r.n, 0);
      assert.equal(increments, updated, 'every acknowledged increment is stored, none twice');
      const total = created.length + increments;
      assert.ok(total > WRITERS * 5, `only ${total} writes in ${SECONDS} s`);
      console.log(`soak: ${requests} requests, ${created.length} creates, ${increments} increments`);
      for (const { got } of subs) {
        await waitFor(() => got.length >= total, 60_000, `${total} events`);
      }
      await sleep(1000);
      for (const [i, { pb, got }] of subs.entries()) {
        assert.equal(got.length, total, `node ${'AB'[i]}: every committed change exactly once`);
        const creates = got.filter((e) => e.action === 'create').map((e) => e.record.id);
        assert.deepEqual(creates.sort(), [...created].sort(), `node ${'AB'[i]}: the created records`);
        for (const r of stored.filter((s) => s.title.startsWith('hot'))) {
          const ns = got.filter((e) => e.action === 'update' && e.record.id === r.id).map((e) => e.record.n);
          assert.deepEqual(ns, Array.from({ length: r.n }, (_, k) => k + 1), `node ${'AB'[i]}, ${r.title}: its updates in commit order`);
        }
        pb.realtime.unsubscribe();
      }
    } finally {
      await b.stop();
    }
  });
});

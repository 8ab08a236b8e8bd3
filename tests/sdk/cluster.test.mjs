// Several Cairn nodes on one PostgreSQL database (docs/scaling.md): node A
// and node B are two processes with their own data dirs and ports, as two
// servers behind a load balancer would be. Realtime subscribers of one node
// receive the changes written through the other, in each record's commit
// order, exactly once, resumable on either node. PostgreSQL only
// (SDK_STORE=postgres); skipped otherwise.
import assert from 'node:assert/strict';
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

  test('node B stops', async () => {
    await b.stop();
  });
});

// Realtime record events through the SDK: create/update/delete on COLL/* and
// COLL/RECORD_ID, event naming, subscription options keys, unsubscribe, failed
// writes and batches, cascades, and the SDK's reconnect.
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, IS_POCKETBASE } from './harness.mjs';
import { PUBLIC_RULES } from './fixtures.mjs';
import { waitFor, sleep, collect, summary, sorted, settleCount, closeAll, postSubs, optionsSuffix, startProxy } from './realtime_fixtures.mjs';

let notesId; // collection id of ev_notes
const srv = useServer(async (s) => {
  await s.su('PATCH', '/api/settings', { body: { batch: { enabled: true } } });
  notesId = (
    await s.pb.collections.create({
      name: 'ev_notes',
      ...PUBLIC_RULES,
      fields: [
        { name: 'title', type: 'text', max: 10 },
        { name: 'n', type: 'number' },
      ],
    })
  ).id;
  const parents = await s.pb.collections.create({ name: 'ev_parents', ...PUBLIC_RULES, fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collections.create({
    name: 'ev_kids',
    ...PUBLIC_RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'parent', type: 'relation', collectionId: parents.id, maxSelect: 1, cascadeDelete: true },
    ],
  });
  await s.pb.collections.create({
    name: 'ev_refs',
    ...PUBLIC_RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'target', type: 'relation', collectionId: parents.id, maxSelect: 1 },
    ],
  });
  await s.pb.collections.create({
    name: 'ev_locks',
    ...PUBLIC_RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'parent', type: 'relation', collectionId: parents.id, maxSelect: 1, required: true },
    ],
  });
});

const N = () => srv.pb.collection('ev_notes');

/** An SDK guest client that records the subscription lists it POSTs. */
function trackedClient(url = srv.url) {
  const pb = srv.client();
  if (url !== srv.url) pb.baseURL = url;
  pb.posts = [];
  pb.beforeSend = (u, options) => {
    if (u.endsWith('/api/realtime') && options.method === 'POST') pb.posts.push([...options.body.subscriptions]);
    return { url: u, options };
  };
  return pb;
}

describe('record events', () => {
  test('subscribe("*"): create, update, delete -> {action, record} with the REST record, in order', async () => {
    const pb = srv.client();
    try {
      const { events } = await collect(pb, 'ev_notes');
      // each event is awaited before the next write (see `sorted` for why)
      const created = await N().create({ title: 'one', n: 1 });
      await waitFor(() => events.length === 1, 5000, 'create event');
      const updates = [];
      for (let n = 2; n <= 5; n++) {
        updates.push(await N().update(created.id, { n }));
        await waitFor(() => events.length === n, 5000, `update event ${n}`);
      }
      await N().delete(created.id);
      await settleCount(events, 6, 'events');
      const last = updates[updates.length - 1];
      assert.deepEqual(events, [
        { action: 'create', record: created },
        ...updates.map((record) => ({ action: 'update', record })),
        { action: 'delete', record: last },
      ]);
      assert.deepEqual(Object.keys(events[0]).sort(), ['action', 'record']);
      assert.deepEqual(Object.keys(created).sort(), ['collectionId', 'collectionName', 'id', 'n', 'title']);
    } finally {
      await closeAll(pb);
    }
  });

  test('subscribe(id): only that record, including its create when the id is chosen by the writer', async () => {
    const pb = srv.client();
    const id = 'evfixedid000001';
    try {
      const { events } = await collect(pb, 'ev_notes', id);
      await N().create({ title: 'other' });
      const r = await N().create({ id, title: 'mine' });
      await N().update(id, { title: 'mine2' });
      await N().create({ title: 'other2' });
      await N().delete(id);
      await settleCount(events, 3, 'events');
      assert.deepEqual(sorted(events), ['create:mine', 'delete:mine2', 'update:mine2']);
      assert.deepEqual(events.find((e) => e.action === 'create').record, r);
    } finally {
      await closeAll(pb);
    }
  });

  test('event name = the subscription string: name or id topics, legacy bare collection topics, extra query', async () => {
    const pb = srv.client();
    const id = 'evnamedid000001';
    const topics = [
      'ev_notes/*',
      `${notesId}/*`,
      'ev_notes', // deprecated form of COLL/*
      notesId,
      `ev_notes/${id}`,
      `${notesId}/${id}`,
      'ev_notes/*?x=1&y=2',
      `ev_notes/${id}?options=not-json`,
    ];
    const got = Object.fromEntries(topics.map((t) => [t, []]));
    try {
      for (const t of topics) await pb.realtime.subscribe(t, (e) => got[t].push(e));
      const r = await N().create({ id, title: 'named' });
      await waitFor(() => topics.every((t) => got[t].length === 1), 5000, 'one event per topic');
      await sleep(200);
      for (const t of topics) assert.deepEqual(got[t], [{ action: 'create', record: r }], t);
      // the SDK addresses a collection by whatever was passed to pb.collection()
      const viaId = await collect(pb, notesId);
      const r2 = await N().create({ title: 'by id' });
      await settleCount(viaId.events, 1, 'event');
      assert.deepEqual(viaId.events, [{ action: 'create', record: r2 }]);
      assert.equal(viaId.events[0].record.collectionName, 'ev_notes');
    } finally {
      await closeAll(pb);
    }
  });

  test('SDK options: key = topic?options=<json {query, headers}>; each subscription gets its own event', async () => {
    const pb = trackedClient();
    try {
      const a = await collect(pb, 'ev_notes', '*', { fields: 'id,title' });
      const b = await collect(pb, 'ev_notes', '*', { query: { fields: 'n' }, headers: { 'X-Any': 'v' } });
      const c = await collect(pb, 'ev_notes', '*');
      const c2 = await collect(pb, 'ev_notes', '*'); // same key: one subscription, two listeners
      assert.deepEqual(pb.posts.at(-1), [
        'ev_notes/*' + optionsSuffix({ query: { fields: 'id,title' } }),
        'ev_notes/*' + optionsSuffix({ query: { fields: 'n' }, headers: { 'X-Any': 'v' } }),
        'ev_notes/*',
      ]);
      assert.equal(pb.posts.length, 3, 'the second listener of an existing key is not POSTed');
      const r = await N().create({ title: 'opt', n: 7 });
      for (const x of [a, b, c, c2]) await settleCount(x.events, 1, 'event', 50);
      await sleep(200);
      assert.deepEqual(a.events, [{ action: 'create', record: { id: r.id, title: 'opt' } }]);
      assert.deepEqual(b.events, [{ action: 'create', record: { n: 7 } }]);
      assert.deepEqual(c.events, [{ action: 'create', record: r }]);
      assert.deepEqual(c2.events, c.events);
    } finally {
      await closeAll(pb);
    }
  });

  test('PB_CONNECT can be subscribed to through the SDK: {clientId}', async () => {
    const pb = srv.client();
    const seen = [];
    try {
      await pb.realtime.subscribe('PB_CONNECT', (e) => seen.push(e));
      await waitFor(() => seen.length === 1, 5000, 'PB_CONNECT');
      assert.deepEqual(seen, [{ clientId: pb.realtime.clientId }]);
      assert.equal(pb.realtime.isConnected, true);
    } finally {
      await closeAll(pb);
    }
  });
});

describe('unsubscribe', () => {
  test('the returned function removes one listener; unsubscribe("*") removes * with all options; unsubscribe() the collection', async () => {
    const pb = trackedClient();
    const other = await srv.pb.collection('ev_parents').create({ title: 'p' });
    try {
      const l1 = await collect(pb, 'ev_notes');
      const l2 = await collect(pb, 'ev_notes');
      const opt = await collect(pb, 'ev_notes', '*', { fields: 'title' });
      const one = await N().create({ title: 'watched' });
      const byId = await collect(pb, 'ev_notes', one.id);
      const par = await collect(pb, 'ev_parents');
      await l1.unsubscribe();
      assert.equal(pb.posts.length, 4, 'removing one of two listeners sends nothing');
      await N().update(one.id, { n: 1 });
      await waitFor(() => l2.events.length === 2 && byId.events.length === 1 && opt.events.length === 2, 5000, 'events');
      assert.equal(l1.events.length, 1);

      await pb.collection('ev_notes').unsubscribe('*');
      assert.deepEqual(pb.posts.at(-1), [`ev_notes/${one.id}`, 'ev_parents/*']);
      await N().update(one.id, { n: 2 });
      await waitFor(() => byId.events.length === 2, 5000, 'id event');
      assert.deepEqual([l2.events.length, opt.events.length], [2, 2]);

      await pb.collection('ev_notes').unsubscribe();
      assert.deepEqual(pb.posts.at(-1), ['ev_parents/*']);
      await N().update(one.id, { n: 3 });
      await srv.pb.collection('ev_parents').update(other.id, { title: 'p2' });
      await waitFor(() => par.events.length === 1, 5000, 'parent event');
      await sleep(200);
      assert.equal(byId.events.length, 2);
      assert.equal(pb.realtime.isConnected, true);
    } finally {
      await closeAll(pb);
    }
  });

  test('pb.realtime.unsubscribe() closes the connection; the server forgets the client', async () => {
    const pb = trackedClient();
    const { events } = await collect(pb, 'ev_notes');
    const clientId = pb.realtime.clientId;
    assert.equal((await postSubs(srv.url, { clientId, subscriptions: ['ev_notes/*'] })).status, 204);
    await pb.realtime.unsubscribe();
    assert.equal(pb.realtime.clientId, '');
    assert.equal(pb.realtime.isConnected, false);
    assert.equal(pb.posts.length, 1, 'no POST when closing');
    await waitFor(async () => (await postSubs(srv.url, { clientId })).status === 404, 5000, 'client gone');
    await N().create({ title: 'late' });
    await sleep(300);
    assert.equal(events.length, 0);
  });
});

describe('what is (not) delivered', () => {
  test('no event for a failed create/update (validation) nor for a failed delete (required relation)', async () => {
    const pb = srv.client();
    try {
      const notes = await collect(pb, 'ev_notes');
      const parents = await collect(pb, 'ev_parents');
      const parent = await srv.pb.collection('ev_parents').create({ title: 'locked' });
      await srv.pb.collection('ev_locks').create({ title: 'lock', parent: parent.id });
      const r = await N().create({ title: 'ok' });
      await settleCount(notes.events, 1, 'create');
      await rejects(N().create({ title: 'far too long title' }), 400);
      await rejects(N().update(r.id, { title: 'far too long title' }), 400);
      await rejects(srv.pb.collection('ev_parents').delete(parent.id), 400);
      await N().create({ title: 'sentinel' });
      await settleCount(notes.events, 2, 'events');
      assert.deepEqual(sorted(notes.events), ['create:ok', 'create:sentinel']);
      assert.deepEqual(summary(parents.events), ['create:locked']);
    } finally {
      await closeAll(pb);
    }
  });

  test('batch: a committed batch emits one event per write; a rolled-back batch emits none', async () => {
    const pb = srv.client();
    try {
      const { events } = await collect(pb, 'ev_notes');
      const ok = srv.pb.createBatch();
      ok.collection('ev_notes').create({ title: 'b1' });
      ok.collection('ev_notes').create({ title: 'b2' });
      const res = await ok.send();
      await settleCount(events, 2, 'batch events');
      assert.deepEqual(sorted(events), ['create:b1', 'create:b2']);
      const bad = srv.pb.createBatch();
      bad.collection('ev_notes').create({ title: 'b3' });
      bad.collection('ev_notes').update(res[0].body.id, { title: 'b1 changed' });
      bad.collection('ev_notes').create({ title: 'far too long title' });
      await rejects(bad.send(), 400);
      await N().create({ title: 'sentinel' });
      await settleCount(events, 3, 'events');
      assert.deepEqual(sorted(events.slice(2)), ['create:sentinel']);
    } finally {
      await closeAll(pb);
    }
  });

  test('cascade delete emits delete events for the children; a cleared relation emits an update', async () => {
    const pb = srv.client();
    try {
      const parent = await srv.pb.collection('ev_parents').create({ title: 'P' });
      const kid = await srv.pb.collection('ev_kids').create({ title: 'K', parent: parent.id });
      const ref = await srv.pb.collection('ev_refs').create({ title: 'R', target: parent.id });
      const kids = await collect(pb, 'ev_kids');
      const refs = await collect(pb, 'ev_refs');
      const parents = await collect(pb, 'ev_parents', parent.id);
      await srv.pb.collection('ev_parents').delete(parent.id);
      await settleCount(kids.events, 1, 'kid event');
      await settleCount(refs.events, 1, 'ref event');
      await settleCount(parents.events, 1, 'parent event');
      assert.deepEqual(kids.events, [{ action: 'delete', record: kid }]);
      assert.deepEqual(refs.events, [{ action: 'update', record: { ...ref, target: '' } }]);
      assert.deepEqual(parents.events, [{ action: 'delete', record: parent }]);
    } finally {
      await closeAll(pb);
    }
  });
});

describe('SDK reconnect', () => {
  test('after a dropped connection the SDK reconnects (new client id) and resubmits; events in the gap are lost', async () => {
    const proxy = await startProxy(srv.url);
    const pb = trackedClient(proxy.url);
    try {
      const connects = [];
      const disconnects = [];
      await pb.realtime.subscribe('PB_CONNECT', (e) => connects.push(e.clientId));
      const { events } = await collect(pb, 'ev_notes', '*', { fields: 'title' });
      pb.realtime.onDisconnect = (subs) => disconnects.push(subs);
      await N().create({ title: 'before' });
      await waitFor(() => events.length === 1, 5000, 'first event');
      const firstId = connects[0];

      proxy.down = true;
      proxy.cut();
      await waitFor(() => disconnects.length === 1, 5000, 'onDisconnect');
      assert.deepEqual(disconnects[0], ['PB_CONNECT', 'ev_notes/*' + optionsSuffix({ query: { fields: 'title' } })]);
      await waitFor(async () => (await postSubs(srv.url, { clientId: firstId })).status === 404, 5000, 'server dropped the client');
      await N().create({ title: 'gap' });
      proxy.down = false;

      await waitFor(() => connects.length === 2, 10_000, 'reconnect');
      assert.notEqual(connects[1], firstId);
      assert.equal(pb.realtime.clientId, connects[1]);
      assert.deepEqual(pb.posts.at(-1), ['PB_CONNECT', 'ev_notes/*' + optionsSuffix({ query: { fields: 'title' } })]);
      await N().create({ title: 'after' });
      await waitFor(() => events.some((e) => e.record.title === 'after'), 5000, 'event after reconnect');
      await sleep(200);
      if (IS_POCKETBASE) {
        // PocketBase keeps no backlog: the event written while disconnected is gone
        assert.deepEqual(summary(events), ['create:before', 'create:after']);
      }
    } finally {
      await closeAll(pb);
      await proxy.close();
    }
  });
});

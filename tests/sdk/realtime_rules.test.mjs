// Realtime access rules and subscription options: COLL/* is checked with the
// listRule, COLL/ID with the viewRule, per subscriber and per subscription, against
// the record's state after the write (before it for deletes); options.query
// (filter/expand/fields/any key) and options.headers feed @request.query/headers.
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, USERS_ID } from './harness.mjs';
import { PUBLIC_RULES } from './fixtures.mjs';
import { waitFor, sleep, collect, sorted, settleCount, closeAll, openStream, postSubs, optionsSuffix } from './realtime_fixtures.mjs';

const OWNER_RULE = 'owner = @request.auth.id';
let alice; // logged-in users clients (their realtime connections are per test)
let bob;
const srv = useServer(async (s) => {
  alice = await s.userClient();
  bob = await s.userClient();
  const col = (name, rules, fields = []) => s.pb.collections.create({ name, ...rules, fields: [{ name: 'title', type: 'text' }, ...fields] });
  const owner = [{ name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 }];
  await col('ru_owned', { listRule: OWNER_RULE, viewRule: OWNER_RULE }, owner);
  await col('ru_view_only', { listRule: null, viewRule: '' });
  await col('ru_list_only', { listRule: '', viewRule: null });
  await col('ru_flag', { listRule: 'visible = true', viewRule: 'visible = true' }, [{ name: 'visible', type: 'bool' }]);
  await col('ru_ctx', { listRule: "@request.context = 'realtime' && @request.method = 'GET'", viewRule: "@request.context = 'realtime'" });
  await col('ru_hdr', { listRule: "@request.headers.x_token = 'abc'" });
  await col('ru_query', { listRule: "@request.query.x = '1'" });
  const pub = await col('ru_pub', PUBLIC_RULES);
  const sec = await col('ru_sec', { listRule: '', viewRule: null });
  await col('ru_child', PUBLIC_RULES, [
    { name: 'pub', type: 'relation', collectionId: pub.id, maxSelect: 1 },
    { name: 'sec', type: 'relation', collectionId: sec.id, maxSelect: 1 },
  ]);
});

const C = (name) => srv.pb.collection(name);
const aliceId = () => alice.authStore.record.id;
const bobId = () => bob.authStore.record.id;
/** A fresh SDK client for the actor (its own realtime connection). */
function as(actor) {
  const src = { alice, bob, superuser: srv.pb }[actor];
  return src ? srv.client(src.authStore.token, src.authStore.record) : srv.client();
}

describe('rules per subscriber', () => {
  test('owner rule: each user gets only their records, a guest only ownerless ones, a superuser all', async () => {
    const actors = ['guest', 'alice', 'bob', 'superuser'];
    const clients = actors.map(as);
    try {
      const subs = {};
      for (const [i, a] of actors.entries()) subs[a] = await collect(clients[i], 'ru_owned');
      const ra = await C('ru_owned').create({ title: 'a', owner: aliceId() });
      const rb = await C('ru_owned').create({ title: 'b', owner: bobId() });
      await C('ru_owned').create({ title: 'nobody' });
      await C('ru_owned').update(ra.id, { title: 'a2' });
      await C('ru_owned').delete(rb.id);
      const want = {
        guest: ['create:nobody'],
        alice: ['create:a', 'update:a2'],
        bob: ['create:b', 'delete:b'],
        superuser: ['create:a', 'create:b', 'create:nobody', 'delete:b', 'update:a2'],
      };
      for (const a of actors) await settleCount(subs[a].events, want[a].length, `${a} events`, 50);
      await sleep(200);
      for (const a of actors) assert.deepEqual(sorted(subs[a].events), want[a], a);
    } finally {
      await closeAll(...clients);
    }
  });

  test('COLL/ID uses the viewRule, COLL/* the listRule; a null rule lets only superusers through', async () => {
    const user = as('alice');
    const su = as('superuser');
    try {
      const ids = { ru_view_only: 'ruviewonly00001', ru_list_only: 'rulistonly00001' };
      const got = {};
      for (const [who, c] of [['user', user], ['su', su]]) {
        for (const coll of Object.keys(ids)) {
          got[`${who} ${coll}/*`] = (await collect(c, coll)).events;
          got[`${who} ${coll}/ID`] = (await collect(c, coll, ids[coll])).events;
        }
      }
      for (const [coll, id] of Object.entries(ids)) await C(coll).create({ id, title: coll });
      const want = {
        'user ru_view_only/*': [],
        'user ru_view_only/ID': ['create:ru_view_only'],
        'user ru_list_only/*': ['create:ru_list_only'],
        'user ru_list_only/ID': [],
        'su ru_view_only/*': ['create:ru_view_only'],
        'su ru_view_only/ID': ['create:ru_view_only'],
        'su ru_list_only/*': ['create:ru_list_only'],
        'su ru_list_only/ID': ['create:ru_list_only'],
      };
      await waitFor(() => Object.entries(want).every(([k, v]) => got[k].length >= v.length), 5000, 'events');
      await sleep(300);
      assert.deepEqual(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, sorted(v)])), want);
    } finally {
      await closeAll(user, su);
    }
  });

  test('the rule sees the state after the write: leaving the view sends nothing, entering it sends "update"; deletes are checked before', async () => {
    const pb = srv.client();
    try {
      const all = await collect(pb, 'ru_flag');
      const r = await C('ru_flag').create({ title: 'r', visible: true });
      const one = await collect(pb, 'ru_flag', r.id);
      await C('ru_flag').update(r.id, { title: 'hidden', visible: false });
      await C('ru_flag').update(r.id, { title: 'still hidden' });
      await C('ru_flag').update(r.id, { title: 'back', visible: true });
      await C('ru_flag').delete(r.id);
      const h = await C('ru_flag').create({ title: 'h', visible: false });
      await C('ru_flag').update(h.id, { title: 'h2' });
      await C('ru_flag').delete(h.id);
      await C('ru_flag').create({ title: 'sentinel', visible: true });
      await settleCount(all.events, 4, 'events');
      assert.deepEqual(sorted(all.events), ['create:r', 'create:sentinel', 'delete:back', 'update:back']);
      assert.deepEqual(sorted(one.events), ['delete:back', 'update:back']);
    } finally {
      await closeAll(pb);
    }
  });

  test("@request.context is 'realtime' and @request.method is 'GET' for subscribers (REST sees nothing)", async () => {
    const pb = srv.client();
    try {
      const { events } = await collect(pb, 'ru_ctx');
      const r = await C('ru_ctx').create({ title: 'ctx' });
      await settleCount(events, 1, 'event');
      assert.deepEqual(events, [{ action: 'create', record: r }]);
      assert.equal((await srv.client().collection('ru_ctx').getList()).totalItems, 0);
      await rejects(srv.client().collection('ru_ctx').getOne(r.id), 404, errBody(404, "The requested resource wasn't found."));
    } finally {
      await closeAll(pb);
    }
  });
});

describe('subscription options', () => {
  test('query.filter narrows within the rule; @request/@collection filters (non-superuser) and bad filters match nothing', async () => {
    const user = as('alice');
    const su = as('superuser');
    try {
      const f = async (c, filter) => (await collect(c, 'ru_owned', '*', { filter })).events;
      const got = {
        xOnly: await f(user, "title ~ 'x'"),
        widen: await f(user, "id != '' || owner != @request.auth.id"),
        widen2: await f(user, "id != ''"),
        request: await f(user, "@request.auth.id != ''"),
        collection: await f(user, "@collection.users.id != ''"),
        bad: await f(user, 'title ==='),
        suRequest: await f(su, "@request.auth.id != ''"),
      };
      await C('ru_owned').create({ title: 'x1', owner: aliceId() });
      await C('ru_owned').create({ title: 'y1', owner: aliceId() });
      await C('ru_owned').create({ title: 'x2', owner: bobId() });
      await waitFor(() => got.suRequest.length === 3 && got.widen2.length === 2, 5000, 'events');
      await sleep(300);
      assert.deepEqual(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, sorted(v)])), {
        xOnly: ['create:x1'],
        widen: [],
        widen2: ['create:x1', 'create:y1'],
        request: [],
        collection: [],
        bad: [],
        suRequest: ['create:x1', 'create:x2', 'create:y1'],
      });
    } finally {
      await closeAll(user, su);
    }
  });

  test('query.expand follows the related viewRule of the subscriber; query.fields picks (with modifiers)', async () => {
    const guest = srv.client();
    const su = as('superuser');
    try {
      const p = await C('ru_pub').create({ title: 'pub' });
      const s = await C('ru_sec').create({ title: 'sec' });
      const g = (await collect(guest, 'ru_child', '*', { expand: 'pub,sec' })).events;
      const gs = (await collect(su, 'ru_child', '*', { expand: 'pub,sec' })).events;
      const picked = (await collect(guest, 'ru_child', '*', { expand: 'pub', fields: 'id,title:excerpt(3,true),expand.pub.title' })).events;
      const r = await C('ru_child').create({ title: 'childish', pub: p.id, sec: s.id });
      for (const list of [g, gs, picked]) await settleCount(list, 1, 'event', 50);
      assert.deepEqual(g, [{ action: 'create', record: { ...r, expand: { pub: p } } }]);
      assert.deepEqual(gs, [{ action: 'create', record: { ...r, expand: { pub: p, sec: s } } }]);
      assert.deepEqual(picked, [{ action: 'create', record: { id: r.id, title: 'chi...', expand: { pub: { title: 'pub' } } } }]);
    } finally {
      await closeAll(guest, su);
    }
  });

  test('options.headers feed @request.headers (names snake_cased: X-Token, X-TOKEN, xToken -> x_token); the POST request headers do not', async () => {
    const pb = srv.client();
    const st = await openStream(srv.url);
    try {
      const good = (await collect(pb, 'ru_hdr', '*', { headers: { 'X-Token': 'abc' } })).events;
      const wrong = (await collect(pb, 'ru_hdr', '*', { headers: { 'X-Token': 'nope' } })).events;
      const none = (await collect(pb, 'ru_hdr')).events;
      const subs = [
        'ru_hdr/*',
        'ru_hdr/*' + optionsSuffix({ headers: { x_token: 'abc' } }),
        'ru_hdr/*' + optionsSuffix({ headers: { xToken: 'abc' } }),
        'ru_hdr/*' + optionsSuffix({ headers: { 'X-TOKEN': 'abc' } }),
      ];
      const post = await postSubs(srv.url, { clientId: st.clientId, subscriptions: subs }, { headers: { 'X-Token': 'abc' } });
      assert.equal(post.status, 204);
      const r = await C('ru_hdr').create({ title: 'hdr' });
      await settleCount(good, 1, 'event');
      await waitFor(() => st.messages.length >= 3, 5000, 'raw events');
      await sleep(200);
      assert.deepEqual(good, [{ action: 'create', record: r }]);
      assert.deepEqual([wrong.length, none.length], [0, 0]);
      assert.deepEqual(st.messages.slice(1).map((m) => m.event).sort(), subs.slice(1).sort());
    } finally {
      st.close();
      await closeAll(pb);
    }
  });

  test('options.query feeds @request.query (values stringified); a plain ?x= on the topic does not', async () => {
    const pb = srv.client();
    const st = await openStream(srv.url);
    try {
      const num = (await collect(pb, 'ru_query', '*', { x: 1 })).events;
      const str = (await collect(pb, 'ru_query', '*', { query: { x: '1' } })).events;
      const other = (await collect(pb, 'ru_query', '*', { x: '2' })).events;
      assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: ['ru_query/*?x=1'] })).status, 204);
      await C('ru_query').create({ title: 'q' });
      await settleCount(num, 1, 'event');
      await settleCount(str, 1, 'event', 0);
      assert.equal(other.length, 0);
      assert.equal(st.messages.length, 1, 'only PB_CONNECT');
    } finally {
      st.close();
      await closeAll(pb);
    }
  });
});

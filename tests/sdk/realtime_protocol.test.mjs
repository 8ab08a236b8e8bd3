// Realtime wire protocol: GET /api/realtime (SSE bytes, headers, client ids) and
// POST /api/realtime (status codes, exact error bodies, auth and IP binding,
// replace-all subscription semantics). Raw HTTP, no SDK.
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { useServer, test, describe, errBody, fieldErr } from './harness.mjs';
import { PUBLIC_RULES } from './fixtures.mjs';
import { openStream, postSubs, waitFor, sleep, CLIENT_ID_RE, startProxy } from './realtime_fixtures.mjs';

const MISSING_CLIENT = errBody(404, 'Missing or invalid client id.');
const BAD_REQUEST = 'Something went wrong while processing your request.';
const AUTH_MISMATCH = errBody(403, "The current and the previous request authorization don't match.");
const INVALID_CLIENT = errBody(400, 'Invalid realtime client.');

let user; // logged-in users client
let user2;
const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'rt_items', ...PUBLIC_RULES, fields: [{ name: 'title', type: 'text' }] });
  await s.pb.collections.create({ name: 'rt_other', ...PUBLIC_RULES, fields: [{ name: 'title', type: 'text' }] });
  user = await s.userClient();
  user2 = await s.userClient();
});

const create = (title, coll = 'rt_items') => srv.pb.collection(coll).create({ title });

/** Open a stream, run fn(stream), always close it. */
async function withStream(fn, headers) {
  const st = await openStream(srv.url, headers);
  try {
    return await fn(st);
  } finally {
    st.close();
  }
}

describe('GET /api/realtime', () => {
  test('200 text/event-stream; the first message is exactly id:<clientId> event:PB_CONNECT data:{"clientId":...}', async () => {
    await withStream(async (st) => {
      assert.equal(st.status, 200);
      assert.equal(st.headers.get('content-type'), 'text/event-stream');
      assert.equal(st.headers.get('cache-control'), 'no-store');
      assert.equal(st.headers.get('x-accel-buffering'), 'no');
      assert.equal(st.headers.get('content-length'), null, 'streamed, no Content-Length');
      assert.equal(st.headers.get('content-encoding'), null, 'never compressed');
      assert.match(st.clientId, CLIENT_ID_RE);
      assert.equal(st.text, `id:${st.clientId}\nevent:PB_CONNECT\ndata:{"clientId":"${st.clientId}"}\n\n`);
    }, { 'accept-encoding': 'gzip, deflate, br' });
  });

  test('every connection gets a new random 40-char id; Last-Event-ID and Authorization headers are ignored', async () => {
    await withStream(async (a) => {
      await withStream(async (b) => {
        assert.equal(b.status, 200);
        assert.match(b.clientId, CLIENT_ID_RE);
        assert.notEqual(b.clientId, a.clientId, 'no resume of the previous client');
        assert.equal(b.messages[0].event, 'PB_CONNECT');
      }, { 'last-event-id': a.clientId, authorization: 'not-a-token' });
    });
  });

  test('no keep-alive: nothing is written after PB_CONNECT while idle (3 s), the stream stays open', async () => {
    // PocketBase documents an idle timeout of 5 minutes (RealtimeConnectRequestEvent.IdleTimeout,
    // reset by every sent message) and a max connection duration of 30 minutes (MaxTimeout);
    // it sends no comments/pings in between.
    await withStream(async (st) => {
      const first = st.text;
      await sleep(3000);
      assert.equal(st.text, first);
      assert.equal(st.closed, false);
      assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: [] })).status, 204);
    });
  });

  test('every later message repeats id:<clientId>; event = the subscription; data = {"record":...,"action":...} (exact bytes)', async () => {
    await withStream(async (st) => {
      assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: ['rt_items/*'] })).status, 204);
      const r = await create('bytes');
      await waitFor(() => st.messages.length === 2, 5000, 'the create message');
      await srv.pb.collection('rt_items').delete(r.id);
      await waitFor(() => st.messages.length === 3, 5000, 'two record messages');
      const rec = `{"collectionId":"${r.collectionId}","collectionName":"rt_items","id":"${r.id}","title":"bytes"}`;
      const blocks = st.text.split('\n\n');
      assert.deepEqual(blocks.slice(1), [
        `id:${st.clientId}\nevent:rt_items/*\ndata:{"record":${rec},"action":"create"}`,
        `id:${st.clientId}\nevent:rt_items/*\ndata:{"record":${rec},"action":"delete"}`,
        '',
      ]);
    });
  });

  test('PUT/DELETE /api/realtime -> 404', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await srv.api(method, '/api/realtime');
      assert.equal(r.status, 404, method);
      assert.deepEqual(r.json, errBody(404, "The requested resource wasn't found."));
    }
  });
});

describe('POST /api/realtime: validation', () => {
  test('missing/blank clientId -> 400 validation_required; bad JSON -> 400 with empty data', async () => {
    const blank = { clientId: fieldErr('validation_required', 'Cannot be blank.') };
    assert.deepEqual(await postSubs(srv.url, {}), { status: 400, text: JSON.stringify(errBody(400, BAD_REQUEST, blank)), json: errBody(400, BAD_REQUEST, blank) });
    assert.deepEqual((await postSubs(srv.url, { clientId: '', subscriptions: ['x'] })).json, errBody(400, BAD_REQUEST, blank));
    const bad = await srv.api('POST', '/api/realtime', { body: 'not json', contentType: 'application/json' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, errBody(400, BAD_REQUEST));
    const wrongType = await postSubs(srv.url, { clientId: 5 });
    assert.deepEqual([wrongType.status, wrongType.json], [400, errBody(400, BAD_REQUEST)]);
  });

  test('clientId longer than 255 -> 400 validation_length_out_of_range', async () => {
    const r = await postSubs(srv.url, { clientId: 'a'.repeat(256) });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      errBody(400, BAD_REQUEST, {
        clientId: fieldErr('validation_length_out_of_range', 'The length must be between 1 and 255.', { max: 255, min: 1 }),
      }),
    );
  });

  test('unknown clientId -> 404 (also with subscriptions, form bodies)', async () => {
    assert.deepEqual((await postSubs(srv.url, { clientId: 'nope' })).json, MISSING_CLIENT);
    const r = await postSubs(srv.url, { clientId: 'nope', subscriptions: ['rt_items/*'] });
    assert.deepEqual([r.status, r.json], [404, MISSING_CLIENT]);
    const form = await srv.api('POST', '/api/realtime', { body: 'clientId=nope', contentType: 'application/x-www-form-urlencoded' });
    assert.deepEqual([form.status, form.json], [404, MISSING_CLIENT]);
  });

  test('the client of a closed connection is forgotten -> 404', async () => {
    const st = await openStream(srv.url);
    assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: [] })).status, 204);
    st.close();
    await waitFor(async () => (await postSubs(srv.url, { clientId: st.clientId })).status === 404, 5000, '404 after close');
    assert.deepEqual((await postSubs(srv.url, { clientId: st.clientId })).json, MISSING_CLIENT);
  });

  test('subscriptions: at most 1000 entries of at most 2500 chars; non-strings -> 400', async () => {
    await withStream(async (st) => {
      const id = st.clientId;
      const many = await postSubs(srv.url, { clientId: id, subscriptions: Array.from({ length: 1001 }, (_, i) => `t${i}`) });
      assert.equal(many.status, 400);
      assert.deepEqual(
        many.json,
        errBody(400, BAD_REQUEST, {
          subscriptions: fieldErr('validation_length_too_long', 'The length must be no more than 1000.', { max: 1000, min: 0 }),
        }),
      );
      const ok1000 = await postSubs(srv.url, { clientId: id, subscriptions: Array.from({ length: 1000 }, (_, i) => `t${i}`) });
      assert.equal(ok1000.status, 204);
      assert.equal(ok1000.text, '');
      const long = await postSubs(srv.url, { clientId: id, subscriptions: ['ok', 'a'.repeat(2501)] });
      assert.equal(long.status, 400);
      assert.deepEqual(
        long.json,
        errBody(400, BAD_REQUEST, {
          subscriptions: { 1: fieldErr('validation_length_too_long', 'The length must be no more than 2500.', { max: 2500, min: 0 }) },
        }),
      );
      assert.equal((await postSubs(srv.url, { clientId: id, subscriptions: ['a'.repeat(2500)] })).status, 204);
      const num = await postSubs(srv.url, { clientId: id, subscriptions: [5] });
      assert.deepEqual([num.status, num.json], [400, errBody(400, BAD_REQUEST)]);
      assert.equal((await postSubs(srv.url, { clientId: id, subscriptions: null })).status, 204);
      assert.equal((await postSubs(srv.url, { clientId: id })).status, 204);
    });
  });

  test('form bodies (urlencoded, multipart with repeated keys) are accepted', async () => {
    await withStream(async (st) => {
      const fd = new FormData();
      fd.append('clientId', st.clientId);
      fd.append('subscriptions', 'rt_other/*');
      fd.append('subscriptions', 'rt_items/*');
      const multi = await fetch(`${srv.url}/api/realtime`, { method: 'POST', body: fd });
      assert.equal(multi.status, 204);
      await create('via form');
      await waitFor(() => st.events('rt_items/*').length === 1, 5000, 'event');
      const url = await fetch(`${srv.url}/api/realtime`, { method: 'POST', body: new URLSearchParams({ clientId: st.clientId, subscriptions: 'rt_other/*' }) });
      assert.equal(url.status, 204);
    });
  });
});

describe('POST /api/realtime: subscription semantics', () => {
  test('each POST replaces the whole set; [] unsubscribes all but keeps the connection open', async () => {
    await withStream(async (st) => {
      const set = async (subs) => assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: subs })).status, 204);
      await set(['rt_items/*']);
      await create('i1');
      await waitFor(() => st.events('rt_items/*').length === 1, 5000, 'i1');
      await set(['rt_other/*']);
      await create('i2'); // no longer subscribed
      await create('o1', 'rt_other');
      await waitFor(() => st.events('rt_other/*').length === 1, 5000, 'o1');
      await set([]);
      await create('o2', 'rt_other');
      await create('i3');
      await sleep(300);
      assert.equal(st.closed, false);
      await set(['rt_items/*']);
      await create('i4');
      await waitFor(() => st.events('rt_items/*').length === 2, 5000, 'i4');
      await sleep(200);
      assert.deepEqual(
        st.messages.slice(1).map((m) => `${m.event} ${JSON.parse(m.data).record.title}`),
        ['rt_items/* i1', 'rt_other/* o1', 'rt_items/* i4'],
      );
    });
  });

  test('unknown or malformed topics are accepted silently; "" is ignored; duplicates collapse to one', async () => {
    await withStream(async (st) => {
      const subs = ['nope/*', 'a b c?options=%%%', '', 'rt_items/*', 'rt_items/*', 'RT_ITEMS/*', 'rt_items/*x', 'rt_item/*'];
      assert.equal((await postSubs(srv.url, { clientId: st.clientId, subscriptions: subs })).status, 204);
      await create('dup');
      await waitFor(() => st.messages.length >= 2, 5000, 'event');
      await sleep(300);
      // topics match case-sensitively, and the collection part must be followed by "/" or "?"
      assert.deepEqual(st.messages.slice(1).map((m) => m.event), ['rt_items/*']);
    });
  });
});

describe('POST /api/realtime: auth binding', () => {
  test('guest -> user upgrade is allowed; afterwards only the same auth record may POST (403 otherwise)', async () => {
    await withStream(async (st) => {
      const id = st.clientId;
      const post = (subs, token) => postSubs(srv.url, { clientId: id, subscriptions: subs }, { token });
      assert.equal((await post(['rt_items/*'])).status, 204, 'guest');
      assert.equal((await post(['rt_items/*'], 'garbage-token')).status, 204, 'invalid token = guest');
      assert.equal((await post(['rt_items/*'], user.authStore.token)).status, 204, 'guest -> user');
      const again = srv.client();
      await again.collection('users').authWithPassword(user.authStore.record.email, 'user-pass-123');
      assert.notEqual(again.authStore.token, user.authStore.token);
      assert.equal((await post(['rt_items/*'], again.authStore.token)).status, 204, 'another token of the same user');
      for (const [what, token] of [['guest', ''], ['invalid token', 'garbage'], ['other user', user2.authStore.token], ['superuser', srv.pb.authStore.token]]) {
        const r = await post(['rt_other/*'], token);
        assert.equal(r.status, 403, what);
        assert.deepEqual(r.json, AUTH_MISMATCH, what);
      }
      // a rejected POST leaves the previous subscriptions in place
      await create('still', 'rt_other');
      await create('still');
      await waitFor(() => st.messages.length === 2, 5000, 'event');
      await sleep(200);
      assert.deepEqual(st.messages.slice(1).map((m) => m.event), ['rt_items/*']);
    });
  });

  test('a superuser-bound client cannot switch to a user or a guest', async () => {
    await withStream(async (st) => {
      const post = (token) => postSubs(srv.url, { clientId: st.clientId, subscriptions: [] }, { token });
      assert.equal((await post(srv.pb.authStore.token)).status, 204);
      assert.deepEqual((await post(user.authStore.token)).json, AUTH_MISMATCH);
      assert.deepEqual((await post('')).json, AUTH_MISMATCH);
      assert.equal((await post(srv.pb.authStore.token)).status, 204);
    });
  });

  test('the POST must come from the IP that opened the stream (with trusted proxy headers) -> 400', async () => {
    const before = await srv.pb.settings.getAll();
    await srv.pb.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false } });
    try {
      await withStream(async (st) => {
        const post = (ip) => postSubs(srv.url, { clientId: st.clientId, subscriptions: [] }, { headers: ip ? { 'x-forwarded-for': ip } : {} });
        for (const ip of ['5.6.7.8', '']) {
          const r = await post(ip);
          assert.deepEqual([r.status, r.json], [400, INVALID_CLIENT], ip || 'direct (127.0.0.1)');
        }
        assert.equal((await post('1.2.3.4')).status, 204);
        // the id lookup comes first
        const unknown = await postSubs(srv.url, { clientId: 'nope' }, { headers: { 'x-forwarded-for': '5.6.7.8' } });
        assert.deepEqual([unknown.status, unknown.json], [404, MISSING_CLIENT]);
      }, { 'x-forwarded-for': '1.2.3.4' });
    } finally {
      await srv.pb.settings.update({ trustedProxy: before.trustedProxy });
    }
  });
});

describe('plain EventSource reconnects', () => {
  test('after a dropped connection EventSource reconnects on its own and gets a new client id without subscriptions', async () => {
    const proxy = await startProxy(srv.url);
    const es = new EventSource(`${proxy.url}/api/realtime`);
    try {
      const ids = [];
      es.addEventListener('PB_CONNECT', (e) => ids.push({ lastEventId: e.lastEventId, data: JSON.parse(e.data) }));
      const events = [];
      es.addEventListener('rt_items/*', (e) => events.push(JSON.parse(e.data)));
      await waitFor(() => ids.length === 1, 5000, 'first PB_CONNECT');
      const first = ids[0].lastEventId;
      assert.deepEqual(ids[0].data, { clientId: first });
      assert.equal((await postSubs(srv.url, { clientId: first, subscriptions: ['rt_items/*'] })).status, 204);
      proxy.cut();
      await waitFor(() => ids.length === 2, 10_000, 'second PB_CONNECT');
      const second = ids[1].lastEventId;
      assert.match(second, CLIENT_ID_RE);
      assert.notEqual(second, first);
      assert.deepEqual(ids[1].data, { clientId: second });
      await waitFor(async () => (await postSubs(srv.url, { clientId: first })).status === 404, 5000, 'old client gone');
      await create('after reconnect');
      await sleep(300);
      assert.deepEqual(events, [], 'subscriptions are not carried over');
    } finally {
      es.close();
      await proxy.close();
    }
  });
});

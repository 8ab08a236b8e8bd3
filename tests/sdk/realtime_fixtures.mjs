// Helpers shared by the realtime_*.test.mjs files (/api/realtime: SSE + subscriptions).
//
// PocketBase's realtime protocol: `GET /api/realtime` opens an SSE stream whose first
// message is PB_CONNECT (carrying the client id); `POST /api/realtime {clientId,
// subscriptions}` replaces that client's subscriptions. Record events are sent as SSE
// messages named after the subscription string.
import assert from 'node:assert/strict';
import net from 'node:net';
import { EventSource } from 'eventsource';
import { ON_POSTGRES } from './harness.mjs';

// the SDK's realtime service needs a global EventSource (Node 20 has none)
globalThis.EventSource ??= EventSource;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `predicate` every 10 ms; throws after `ms`. Returns the predicate's (truthy) value. */
/**
 * How long to wait for an event by default. On PostgreSQL the test files share
 * one cluster, and a transaction left open in another file's database holds
 * every feed back until it ends (the horizon is cluster-wide: docs/scaling.md),
 * so events can take seconds to come while other files run.
 */
export const EVENT_WAIT_MS = ON_POSTGRES ? 20_000 : 5000;

export async function waitFor(predicate, ms = EVENT_WAIT_MS, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

export const CLIENT_ID_RE = /^[A-Za-z0-9]{40}$/;

/** The `?options=` suffix the SDK appends for subscription options (query/headers). */
export function optionsSuffix(options) {
  return '?options=' + encodeURIComponent(JSON.stringify(options));
}

/**
 * Parse one SSE message block ("field:value" lines) into {id, event, data}, as the
 * SSE spec reads it (one space after the colon is dropped; ":comment" lines are
 * skipped). Exact bytes are asserted on `text` separately.
 */
function parseBlock(block) {
  const m = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    if (i < 0) m[line] = '';
    else m[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, '');
  }
  return m;
}

/** A block made only of comments (e.g. a keep-alive ":") dispatches no message. */
const isCommentOnly = (block) => block.split('\n').every((l) => l === '' || l.startsWith(':'));

/**
 * A raw SSE reader of GET /api/realtime (fetch, not EventSource, so the exact bytes
 * are visible). Resolves once the first message (PB_CONNECT) arrived.
 * Returns {status, headers, text, messages, clientId, closed, close(), events(name)}.
 */
export async function openStream(url, headers = {}, timeoutMs = 5000) {
  const ac = new AbortController();
  const res = await fetch(`${url}/api/realtime`, { headers, signal: ac.signal });
  const st = {
    status: res.status,
    headers: res.headers,
    text: '',
    messages: [],
    clientId: '',
    closed: false,
    close: () => ac.abort(),
    /** Messages (parsed, data JSON-decoded) with the given event name. */
    events(name) {
      return this.messages.filter((m) => m.event === name).map((m) => ({ ...m, json: JSON.parse(m.data) }));
    },
  };
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        st.text += dec.decode(value, { stream: true });
        const blocks = st.text.split('\n\n');
        st.messages = blocks.slice(0, -1).filter((b) => !isCommentOnly(b)).map(parseBlock);
      }
    } catch {
      /* aborted */
    }
    st.closed = true;
  })();
  await waitFor(() => st.messages.length > 0 || st.closed, timeoutMs, 'the PB_CONNECT message');
  st.clientId = st.messages[0]?.id ?? '';
  return st;
}

/** POST /api/realtime with a JSON body (raw); returns {status, text, json}. */
export async function postSubs(url, body, { token, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (token) h.authorization = token;
  const r = await fetch(`${url}/api/realtime`, { method: 'POST', headers: h, body: JSON.stringify(body) });
  const text = await r.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}

/**
 * Subscribe an SDK client to `collection`/`topic` and collect the events.
 * Returns {events, unsubscribe} (events: the callback arguments, in arrival order).
 */
export async function collect(pb, collection, topic = '*', options) {
  const events = [];
  const unsubscribe = await pb.collection(collection).subscribe(topic, (e) => events.push(e), options);
  return { events, unsubscribe };
}

/** A compact summary of SDK events: "action:title" (or the given field), in arrival order. */
export const summary = (events, field = 'title') => events.map((e) => `${e.action}:${e.record?.[field]}`);

/**
 * The same, sorted. PocketBase does not guarantee the delivery order of events of
 * different writes (each message is handed to the connection by its own goroutine;
 * about 1 in 200 back-to-back creates arrives swapped), so tests that do not wait
 * for each event before the next write compare sorted summaries.
 */
export const sorted = (events, field = 'title') => summary(events, field).sort();

/** Assert that `list` holds exactly `n` entries after a short grace period (no late extras). */
export async function settleCount(list, n, what, ms = 300) {
  await waitFor(() => list.length >= n, EVENT_WAIT_MS, `${n} ${what}`);
  await sleep(ms);
  assert.equal(list.length, n, `${what}: ${JSON.stringify(list).slice(0, 2000)}`);
}

/** Close the realtime connections of SDK clients (unsubscribe from everything). */
export async function closeAll(...clients) {
  for (const c of clients) {
    try {
      await c.realtime.unsubscribe();
    } catch {
      /* already closed */
    }
  }
}

/**
 * A TCP proxy in front of the server, to simulate network drops for the SDK:
 * `cut()` destroys every proxied connection, `down = true` refuses new ones.
 */
export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  const proxy = {
    url: '',
    down: false,
    accepted: 0,
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    async close() {
      proxy.cut();
      await new Promise((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((client) => {
    if (proxy.down) {
      client.destroy();
      return;
    }
    proxy.accepted += 1;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}

// Helpers for the webhook tests: a recording receiver on 127.0.0.1:0 whose
// requests are verified with the npm `standardwebhooks` package (an
// implementation of the standard nobody on the team wrote), and small API
// helpers for endpoints, collections and the delivery log.

import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Webhook } from 'standardwebhooks';
import { REPO_ROOT } from './harness.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Test-mode settings every webhook test file starts Cairn with (env, before useServer). */
export function webhookEnv(overrides = {}) {
  const env = {
    CAIRN_WEBHOOKS_RETRY_SCHEDULE: '0,1000,2000',
    CAIRN_WEBHOOKS_JITTER: '0',
    CAIRN_WEBHOOKS_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    CAIRN_WEBHOOKS_RETRY_AFTER_CAP_MS: '5000',
    ...overrides,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * A receiver: `handler(req, n)` returns {status, headers, body, delayMs} for
 * the n-th request (1-based) on a path; default 200. Every request is kept
 * as {path, headers, body (raw string), at (ms), n, concurrent}.
 */
export async function startReceiver(handler = () => ({})) {
  const requests = [];
  const perPath = new Map();
  let active = 0;
  let maxActive = 0;
  let connections = 0;
  const server = http.createServer((req, res) => {
    const at = Date.now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      const n = (perPath.get(req.url) ?? 0) + 1;
      perPath.set(req.url, n);
      const rec = { path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at, n };
      requests.push(rec);
      let out = {};
      try {
        out = (await handler(rec, n)) ?? {};
      } catch {
        out = { status: 500 };
      }
      if (out.delayMs) await sleep(out.delayMs);
      active -= 1;
      if (out.destroy) {
        req.socket.destroy();
        return;
      }
      res.writeHead(out.status ?? 200, out.headers ?? {});
      res.end(out.body ?? 'ok');
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    port,
    url: (p = '/hook') => `http://127.0.0.1:${port}${p}`,
    requests,
    on: (p) => requests.filter((r) => r.path === p),
    get maxActive() {
      return maxActive;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** Verifies a recorded request with `standardwebhooks`; returns the parsed body (throws if invalid). */
export function verify(secret, rec) {
  return new Webhook(secret).verify(rec.body, {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  });
}

/** Polls `fn` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor(fn, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let seq = 0;
/** A fresh base collection with `title` (text), `status` (text) and `secretNote` (hidden text). */
export async function newCollection(srv, prefix = 'wh') {
  seq += 1;
  const name = `${prefix}_${Date.now().toString(36)}_${seq}`;
  const r = await srv.su('POST', '/api/collections', {
    body: {
      name,
      type: 'base',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'status', type: 'text' },
        { name: 'secretNote', type: 'text', hidden: true },
      ],
    },
  });
  if (r.status !== 200) throw new Error(`collection: ${r.status} ${r.text}`);
  return name;
}

/** Creates an endpoint; returns its JSON (with `secret`). */
export async function createEndpoint(srv, body) {
  const r = await srv.su('POST', '/api/webhooks', { body });
  if (r.status !== 200) throw new Error(`endpoint: ${r.status} ${r.text}`);
  return r.json;
}

/** Verified bodies of recorded requests, in change-log order. */
export const bySeq = (secret, recs) => recs.map((r) => verify(secret, r)).sort((a, b) => a.data.seq - b.data.seq);

/** `patch(body)` updates record `id` of `collection` as superuser (must answer 200). */
export const patcher = (srv, collection, id) => async (body) => {
  const r = await srv.su('PATCH', `/api/collections/${collection}/records/${id}`, { body });
  if (r.status !== 200) throw new Error(`update: ${r.status} ${r.text}`);
};

/** Creates a record; returns {id, at} (at = when the response arrived). */
export async function createRecord(srv, collection, data) {
  const r = await srv.su('POST', `/api/collections/${collection}/records`, { body: data });
  if (r.status !== 200) throw new Error(`record: ${r.status} ${r.text}`);
  return { id: r.json.id, at: Date.now() };
}

/** The delivery log, filtered (`{webhook, state, eventId}`). */
export async function deliveries(srv, q = {}) {
  const params = new URLSearchParams({ perPage: '500', ...q });
  const r = await srv.su('GET', `/api/webhooks/deliveries?${params}`);
  if (r.status !== 200) throw new Error(`deliveries: ${r.status} ${r.text}`);
  return r.json.items;
}

export async function delivery(srv, id) {
  const r = await srv.su('GET', `/api/webhooks/deliveries/${id}`);
  if (r.status !== 200) throw new Error(`delivery: ${r.status} ${r.text}`);
  return r.json;
}

/**
 * Verifies recorded requests with PyPI `standardwebhooks` (installed into
 * <repo>/.venv by scripts/test), exactly as docs/webhooks.md's Python
 * receiver does; returns the parsed bodies.
 */
export function verifyPython(secret, recs) {
  const py = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  const script = [
    'import json, sys',
    'from standardwebhooks import Webhook',
    'req = json.load(sys.stdin)',
    'wh = Webhook(req["secret"])',
    'print(json.dumps([wh.verify(r["body"].encode(), r["headers"]) for r in req["recs"]]))',
  ].join('\n');
  const input = JSON.stringify({ secret, recs: recs.map((r) => ({ body: r.body, headers: r.headers })) });
  return JSON.parse(execFileSync(py, ['-c', script], { input, encoding: 'utf8' }));
}

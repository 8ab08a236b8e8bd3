// Webhooks across a kill -9: a delivery waiting for its third attempt
// survives the crash, the attempt numbers continue, and timestamps are fresh
// (WEBHOOKS.md behaviours 17 and 19). Verified with npm `standardwebhooks`.

import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, createRecord, deliveries, delivery,
} from './webhook_fixtures.mjs';

webhookEnv({ CAIRN_WEBHOOKS_RETRY_SCHEDULE: '0,300,4000,300,300,300,300' });
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('17, 19: retries survive kill -9 and continue their numbering', opts, async () => {
  const tmp = await startReceiver();
  const port = tmp.port;
  await tmp.close();
  const col = await newCollection(srv);
  const ep = await createEndpoint(srv, { url: `http://127.0.0.1:${port}/hook`, collection: col });
  await createRecord(srv, col, { title: 'survivor' });
  const [d] = await waitFor(async () => {
    const l = await deliveries(srv, { webhook: ep.id });
    return l.length && l[0].attempts === 2 && l;
  }, 5_000, 'two failed attempts');
  const info = await srv.restart('SIGKILL');
  assert.equal(info.signal, 'SIGKILL');
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now() });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  try {
    await waitFor(() => got.length >= 1, 10_000, 'delivery after restart');
    const body = verify(ep.secret, got[0]);
    assert.equal(body.data.record.title, 'survivor');
    assert.equal(got[0].headers['webhook-id'], d.eventId);
    assert.ok(Math.abs(Number(got[0].headers['webhook-timestamp']) - got[0].at / 1000) <= 2, 'fresh timestamp');
    const full = await waitFor(async () => {
      const x = await delivery(srv, d.id);
      return x.state === 'succeeded' && x;
    }, 5_000);
    const ns = full.attemptsLog.map((a) => a.n);
    assert.deepEqual(ns.slice(0, 2), [1, 2]);
    assert.ok(ns.length >= 3 && ns.every((n, i) => n === i + 1), JSON.stringify(ns));
    assert.equal(full.attemptsLog.at(-1).status, 200);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

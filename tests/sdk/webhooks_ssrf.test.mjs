// Webhooks never reach internal addresses by default (WEBHOOKS.md behaviour
// 22): every loopback spelling is logged as blocked_address and the listener
// accepts no connection; allowing 127.0.0.0/8 in config.toml opens it.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, createRecord, deliveries, delivery,
} from './webhook_fixtures.mjs';

webhookEnv({ CAIRN_WEBHOOKS_ALLOW_CIDRS: null });
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('22: loopback in every spelling is blocked by default, allowed by allow_cidrs', opts, async () => {
  const rx = await startReceiver();
  const p = rx.port;
  const hosts = ['127.0.0.1', 'localhost', '[::1]', '0.0.0.0', '127.1', '2130706433', '[::ffff:127.0.0.1]'];
  const col = await newCollection(srv);
  const eps = [];
  for (const h of hosts) eps.push(await createEndpoint(srv, { url: `http://${h}:${p}/hook`, collection: col }));
  await createRecord(srv, col, { title: 'ssrf' });
  for (const ep of eps) {
    const [d] = await waitFor(async () => {
      const l = await deliveries(srv, { webhook: ep.id });
      return l.length && l[0].attempts >= 1 && l;
    }, 5_000, `attempt for ${ep.url}`);
    const log = (await delivery(srv, d.id)).attemptsLog;
    assert.equal(log[0].errorKind, 'blocked_address', ep.url);
  }
  assert.equal(rx.connections, 0, 'no connection reached the listener');
  assert.equal(rx.requests.length, 0);

  await fs.writeFile(path.join(srv.root, 'config.toml'), '[webhooks]\nallow_cidrs = ["127.0.0.0/8"]\n');
  await srv.restart();
  const allowed = eps.filter((e) => /127\.0\.0\.1:|localhost|127\.1:|2130706433/.test(e.url) && !e.url.includes('::ffff'));
  assert.equal(allowed.length, 4);
  for (const ep of allowed) {
    const r = await srv.su('POST', `/api/webhooks/${ep.id}/test`);
    assert.equal(r.status, 200);
  }
  await waitFor(() => rx.requests.length >= 4, 10_000, 'allowed deliveries');
  const secrets = new Map(allowed.map((e) => [e.id, e.secret]));
  for (const r of rx.requests) {
    const body = JSON.parse(r.body);
    verify(secrets.get(body.data.webhookId), r);
    assert.equal(body.type, 'webhook.test');
  }
});

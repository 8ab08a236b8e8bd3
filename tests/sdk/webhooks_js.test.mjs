// Webhooks for writes made by JS (docs/webhooks.md): a pb_hooks route that
// saves a record and a pb_migrations file that saves and deletes records
// both enter the outbox in their own transaction, so the real receiver gets
// deliveries signed as for any API write (verified with npm standardwebhooks).

import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, cairnOnly } from './harness.mjs';
import {
  webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, deliveries,
} from './webhook_fixtures.mjs';

webhookEnv();
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

test('a JS hook save and a JS migration save and delete are delivered, signed', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  const ep = await createEndpoint(srv, { url: rx.url(), collection: col });
  const hooks = path.join(srv.root, 'pb_hooks');
  const migs = path.join(srv.root, 'pb_migrations');
  await fsp.mkdir(hooks, { recursive: true });
  await fsp.mkdir(migs, { recursive: true });
  await fsp.writeFile(
    path.join(hooks, 'wh.pb.js'),
    `routerAdd("POST", "/api/wh-js-save", (e) => {
  const r = new Record($app.findCollectionByNameOrId(${JSON.stringify(col)}))
  r.set("title", "from hook")
  $app.save(r)
  return e.json(200, { id: r.id })
})
`,
  );
  await fsp.writeFile(
    path.join(migs, '1900000000_wh_seed.js'),
    `migrate((app) => {
  const c = app.findCollectionByNameOrId(${JSON.stringify(col)})
  const keep = new Record(c)
  keep.set("title", "from migration")
  app.save(keep)
  const gone = new Record(c)
  gone.set("title", "deleted by migration")
  app.save(gone)
  app.delete(gone)
}, (app) => {})
`,
  );
  await srv.restart();

  // The migration ran before serve: three deliveries (2 creates, 1 delete).
  await waitFor(() => rx.requests.length >= 3, 15_000, 'migration deliveries');
  const fromMigration = rx.requests.map((r) => verify(ep.secret, r));
  assert.deepEqual(fromMigration.map((b) => b.type).sort(), [`${col}.create`, `${col}.create`, `${col}.delete`]);
  const titles = fromMigration.map((b) => b.data.record.title).sort();
  assert.deepEqual(titles, ['deleted by migration', 'deleted by migration', 'from migration']);
  const kept = await srv.su('GET', `/api/collections/${col}/records?filter=${encodeURIComponent('title="from migration"')}`);
  assert.equal(kept.json.items.length, 1);
  assert.equal(fromMigration.find((b) => b.data.record.title === 'from migration').data.record.id, kept.json.items[0].id);

  const r = await srv.api('POST', '/api/wh-js-save', { body: {} });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => rx.requests.length >= 4, 10_000, 'hook delivery');
  const fromHook = verify(ep.secret, rx.requests[3]);
  assert.equal(fromHook.type, `${col}.create`);
  assert.equal(fromHook.data.record.id, r.json.id);
  assert.equal(fromHook.data.record.title, 'from hook');
  const log = await deliveries(srv, { webhook: ep.id });
  assert.equal(log.length, 4);
  assert.ok(log.every((d) => d.state === 'succeeded'), JSON.stringify(log.map((d) => d.state)));
  await rx.close();
});

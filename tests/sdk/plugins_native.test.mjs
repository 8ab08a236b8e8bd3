// Cairn-native plugins (plugins/*.js, ES modules; Cairn-only: PocketBase has
// no such tier). The fixtures in tests/plugins/native:
//  - counter.js: module scope across requests, an import of ./lib/util.js,
//    timers, URL, TextEncoder/Decoder, Headers, crypto, Response, ApiError,
//    and a cron run through POST /api/crons/{id};
//  - net.js: async fetch to a local server (allowHosts) and a refused host;
//  - limits.js: an endless loop ends within the budget while other requests
//    are served, also when it starts after an await; a memory bomb fails its
//    call and the plugin comes back;
//  - data.js: record hooks (REST and /api/batch), and db.tx that commits or
//    rolls back.
// Hot reload is in plugins_native_reload.test.mjs.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after } from 'node:test';
import { useServer, test, describe, cairnOnly, IS_POCKETBASE, REPO_ROOT } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins', 'native');

const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ method: req.method, from: req.headers['x-from'], body });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ got: JSON.parse(body || 'null') }));
  });
});

const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  delete process.env.CAIRN_JS_ALLOWED_HOSTS;
  await fsp.cp(FIXTURES, path.join(s.root, 'plugins'), { recursive: true });
  await s.restart();
  await s.pb.collections.create({
    name: 'notes',
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'slug', type: 'text' },
    ],
    createRule: '',
    listRule: '',
    viewRule: '',
  });
});
after(() => receiver.close());

const until = async (fn, ms = 5000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('modules', { skip: cairnOnly }, () => {
  test('module scope lives across requests; imports between files work', async () => {
    const a = await srv.api('GET', '/api/native/counter');
    const b = await srv.api('GET', '/api/native/counter');
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json, { hits: 1, imported: 1 });
    assert.deepEqual(b.json, { hits: 2, imported: 2 });
    const g = await srv.api('GET', '/api/native/greet/ada');
    assert.deepEqual(g.json, { greeting: 'hello ada' });
  });

  test('web APIs: timers, URL, text, headers, crypto, Response', async () => {
    const r = await srv.api('GET', '/api/native/web?q=1%202');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('x-plugin'), 'counter');
    assert.deepEqual(r.json, {
      waited: true, cleared: true, path: '/api/native/web', q: '1 2', bytes: 6, text: 'héllo',
      uuid: true, random: 8, header: '1, 2', method: 'GET',
    });
  });

  test('request bodies, text responses and ApiError', async () => {
    const ok = await srv.api('POST', '/api/native/echo', { body: { name: 'bo' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'hi bo');
    const bad = await srv.api('POST', '/api/native/echo', { body: {} });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, {
      status: 400, message: 'name is required',
      data: { name: { code: 'validation_required', message: 'Missing required value.' } },
    });
  });

  test('a plugin cron is listed and runs through POST /api/crons/{id}', async () => {
    const list = await srv.su('GET', '/api/crons');
    assert.ok(list.json.some((j) => j.id === 'native_tick' && j.expression === '0 0 1 1 *'), list.text);
    const before = (await srv.api('GET', '/api/native/ticks')).json.ticks;
    const run = await srv.su('POST', '/api/crons/native_tick');
    assert.equal(run.status, 204, run.text);
    const ticked = await until(async () => (await srv.api('GET', '/api/native/ticks')).json.ticks === before + 1);
    assert.ok(ticked);
  });
});

describe('fetch', { skip: cairnOnly }, () => {
  test('async fetch reaches a local server listed in allowHosts', async () => {
    const url = `http://127.0.0.1:${receiver.address().port}/in`;
    const r = await srv.api('GET', `/api/native/fetch?url=${encodeURIComponent(url)}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { status: 200, ok: true, body: { got: { a: 1 } } });
    assert.deepEqual(received.at(-1), { method: 'POST', from: 'plugin', body: '{"a":1}' });
  });

  test('a host outside allowHosts is refused before any connection', async () => {
    const n = received.length;
    for (const host of ['localhost', 'example.com']) {
      const url = `http://${host}:${receiver.address().port}/no`;
      const r = await srv.api('GET', `/api/native/forbidden?url=${encodeURIComponent(url)}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.refused, true);
      assert.match(r.json.message, new RegExp(`${host} is not in the allowHosts of plugin net`));
    }
    assert.equal(received.length, n);
  });
});

describe('limits', { skip: cairnOnly }, () => {
  test('an endless loop ends within the budget; other requests are served meanwhile', async () => {
    const t0 = Date.now();
    const loop = srv.api('GET', '/api/native/loop');
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, i) => srv.api('GET', i % 2 ? '/api/health' : '/api/native/counter')),
    );
    assert.deepEqual(others.map((o) => o.status), Array(10).fill(200));
    const r = await loop;
    assert.equal(r.status, 500);
    assert.equal(r.json.message, 'Something went wrong while processing your request.');
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    assert.match(srv.log, /time budget of 300 ms/);
    const after = await srv.api('GET', '/api/native/ping');
    assert.deepEqual(after.json, { pong: true });
  });

  test('a loop after an await ends at the budget, not at the call timeout', async () => {
    for (const route of ['loop-after-tick', 'loop-after-timer']) {
      const t0 = Date.now();
      const r = await srv.api('GET', `/api/native/${route}`);
      const took = Date.now() - t0;
      assert.equal(r.status, 500, route);
      assert.equal(r.json.message, 'Something went wrong while processing your request.');
      // The call timeout is 6x the server's budget (30 s by default).
      assert.ok(took < 3000, `${route} took ${took} ms`);
    }
    assert.match(srv.log, /exceeded its time budget of 300 ms per call/);
    const after = await srv.api('GET', '/api/native/ping');
    assert.deepEqual(after.json, { pong: true });
  });

  test('a memory bomb fails its call and the plugin serves again', async () => {
    const r = await srv.api('GET', '/api/native/bomb');
    assert.equal(r.status, 500);
    assert.match(srv.log, /out of memory: the plugin reached its limit of 16 MiB/);
    const back = await until(async () => (await srv.api('GET', '/api/native/ping')).status === 200);
    assert.ok(back);
  });

  test('calls, errors and time per plugin are on /api/metrics', async () => {
    const r = await srv.su('GET', '/api/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /^cairn_plugin_calls_total\{plugin="counter",kind="route"\} [1-9]/m);
    assert.match(r.text, /^cairn_plugin_errors_total\{plugin="limits",kind="route"\} [2-9]/m);
    assert.match(r.text, /^cairn_plugin_call_seconds_total\{plugin="net"\} /m);
    assert.match(r.text, /^cairn_plugin_js_seconds_total\{plugin="limits"\} /m);
  });
});

describe('records and db', { skip: cairnOnly }, () => {
  test('record hooks set a field, refuse a value and see the commit', async () => {
    const n = (await srv.api('GET', '/api/native/created')).json.created;
    const rec = await srv.pb.collection('notes').create({ title: 'Hello World' });
    assert.equal(rec.slug, 'hello-world');
    const refused = await srv.api('POST', '/api/collections/notes/records', { body: { title: 'forbidden' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.message, 'That title is not allowed.');
    assert.equal((await srv.api('GET', '/api/native/created')).json.created, n + 1);
  });

  test('update and delete hooks see the stored record; a plain throw refuses with 400', async () => {
    const rec = await srv.pb.collection('notes').create({ title: 'keep' });
    const up = await srv.su('PATCH', `/api/collections/notes/records/${rec.id}`, { body: { title: 'Kept Note' } });
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.slug, 'kept-note');
    assert.deepEqual((await srv.api('GET', '/api/native/created')).json.lastUpdate, { was: 'keep', now: 'Kept Note' });
    await srv.su('PATCH', `/api/collections/notes/records/${rec.id}`, { body: { title: 'keep' } });
    const del = await srv.su('DELETE', `/api/collections/notes/records/${rec.id}`);
    assert.equal(del.status, 400);
    assert.equal(del.json.message, 'Something went wrong while processing your request.');
    const other = await srv.pb.collection('notes').create({ title: 'gone' });
    const ok = await srv.su('DELETE', `/api/collections/notes/records/${other.id}`);
    assert.equal(ok.status, 204);
  });

  test('record hooks fire for /api/batch writes', async () => {
    await srv.su('PATCH', '/api/settings', { body: { batch: { enabled: true } } });
    const n = (await srv.api('GET', '/api/native/created')).json.created;
    const create = (title) => ({ method: 'POST', url: '/api/collections/notes/records', body: { title } });
    const ok = await srv.su('POST', '/api/batch', { body: { requests: [create('Batch One'), create('Batch Two')] } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.map((x) => x.body.slug), ['batch-one', 'batch-two']);
    assert.equal((await srv.api('GET', '/api/native/created')).json.created, n + 2);
    const up = await srv.su('POST', '/api/batch', {
      body: { requests: [{ method: 'PATCH', url: `/api/collections/notes/records/${ok.json[0].body.id}`, body: { title: 'Batch Renamed' } }] },
    });
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json[0].body.slug, 'batch-renamed');
    assert.deepEqual((await srv.api('GET', '/api/native/created')).json.lastUpdate, { was: 'Batch One', now: 'Batch Renamed' });
    // A refusing hook fails the whole batch: nothing of it is written.
    const bad = await srv.su('POST', '/api/batch', { body: { requests: [create('Batch Three'), create('forbidden')] } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.data.requests['1'].response.message, 'That title is not allowed.');
    const list = await srv.api('GET', `/api/collections/notes/records?filter=${encodeURIComponent("title='Batch Three'")}`);
    assert.equal(list.json.totalItems, 0);
    assert.equal((await srv.api('GET', '/api/native/created')).json.created, n + 2);
  });

  test('a handler that returns nothing answers 204', async () => {
    const r = await srv.api('DELETE', '/api/native/nothing');
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  test('db.tx commits, and a tx that throws rolls back', async () => {
    const ok = await srv.api('POST', '/api/native/kv', { body: { k: 'a', v: '1' } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.rows, [{ k: 'a', v: '1' }]);
    const failed = await srv.api('POST', '/api/native/kv', { body: { k: 'b', v: '2', fail: true } });
    assert.equal(failed.status, 200, failed.text);
    assert.deepEqual(failed.json.rows, [{ k: 'a', v: '1' }]);
    const dup = await srv.api('POST', '/api/native/kv', { body: { k: 'a', v: '3' } });
    assert.equal(dup.status, 500);
    assert.match(srv.log, /UNIQUE constraint failed: native_kv\.k|duplicate key value violates unique constraint "native_kv_pkey"/);
  });
});

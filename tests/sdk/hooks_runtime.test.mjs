// Cairn's JS runtime limits and hot reload (Cairn-only: PocketBase has no
// budget, so `while (true) {}` blocks one of its VMs forever, and it reloads
// hooks by restarting the whole process).
//  - an endless loop ends that call with an error within the time budget,
//    while other requests keep being served;
//  - a memory bomb fails its call, and the server keeps working;
//  - $http.send to a private/loopback address is refused unless allowed;
//  - editing a hook file swaps the handlers in-process with 0 failed requests
//    from a client looping during the edit, and a broken edit keeps the old ones.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after } from 'node:test';
import { useServer, test, describe, cairnOnly, IS_POCKETBASE } from './harness.mjs';

const receiver = http.createServer((req, res) => res.end('reached'));

const hooksFile = (version) => `
routerAdd("GET", "/api/ping", (e) => e.json(200, { v: ${version} }))
routerAdd("GET", "/api/loop", (e) => { while (true) {} })
routerAdd("GET", "/api/bomb", (e) => { const a = []; while (true) a.push("x".repeat(1 << 20) + a.length) })
routerAdd("GET", "/api/fetch", (e) => {
  const r = $http.send({ url: e.request.url.query().get("url"), timeout: 5 })
  return e.json(200, { status: r.statusCode, body: r.raw })
})
`;

const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  process.env.CAIRN_JS_TIME_LIMIT_MS = '500';
  delete process.env.CAIRN_JS_ALLOWED_HOSTS;
  await fsp.mkdir(path.join(s.root, 'pb_hooks'), { recursive: true });
  await fsp.writeFile(path.join(s.root, 'pb_hooks', 'main.pb.js'), hooksFile(1));
  await s.restart();
});
after(() => receiver.close());

const hooksPath = () => path.join(srv.root, 'pb_hooks', 'main.pb.js');

describe('limits', { skip: cairnOnly }, () => {
  test('an endless loop ends within the budget; other requests are served meanwhile', async () => {
    const t0 = Date.now();
    const loop = srv.api('GET', '/api/loop');
    const pings = await Promise.all(Array.from({ length: 20 }, () => srv.api('GET', '/api/ping')));
    assert.deepEqual(pings.map((p) => p.status), Array(20).fill(200));
    const r = await loop;
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'Something went wrong while processing your request.');
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.match(srv.log, /time budget of 500 ms/);
  });

  test('a memory bomb fails its call and the server keeps working', async () => {
    const r = await srv.api('GET', '/api/bomb');
    assert.equal(r.status, 400);
    const p = await srv.api('GET', '/api/ping');
    assert.equal(p.status, 200);
    assert.match(srv.log, /memory/);
  });

  test('$http.send refuses loopback and private hosts that are not allowed', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const url = `http://${host}:${receiver.address().port}/`;
      const r = await srv.api('GET', `/api/fetch?url=${encodeURIComponent(url)}`);
      assert.equal(r.status, 400, host);
    }
    assert.match(srv.log, /resolves to a private address/);
  });
});

describe('hot reload', { skip: cairnOnly }, () => {
  test('an edit swaps handlers with 0 failed requests; a broken edit keeps the old ones', async () => {
    let stop = false;
    const seen = new Set();
    let failures = 0;
    let total = 0;
    const kinds = new Map(); // what failed, for the message
    const failed = (kind) => { failures++; kinds.set(kind, (kinds.get(kind) ?? 0) + 1); };
    const client = (async () => {
      const end = Date.now() + 30_000;
      while (!stop && Date.now() < end && total < 20_000) {
        total++;
        try {
          const r = await fetch(`${srv.url}/api/ping`);
          const text = await r.text();
          if (r.status !== 200) failed(`${r.status} ${text.slice(0, 200)}`);
          else seen.add(JSON.parse(text).v);
        } catch (e) {
          failed(String(e));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await fsp.writeFile(hooksPath(), hooksFile(2));
    const deadline = Date.now() + 10_000;
    while (!seen.has(2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(seen.has(2), 'the edit was not picked up');
    // A writer that empties the file first and fills it a moment later (as
    // fs.writeFile and many editors do): the empty file is never loaded.
    await fsp.truncate(hooksPath(), 0);
    await new Promise((r) => setTimeout(r, 450));
    await fsp.writeFile(hooksPath(), hooksFile(4));
    const deadline4 = Date.now() + 10_000;
    while (!seen.has(4) && Date.now() < deadline4) await new Promise((r) => setTimeout(r, 20));
    assert.ok(seen.has(4), 'the second edit was not picked up');
    // A syntax error: logged, old handlers stay.
    await fsp.writeFile(hooksPath(), hooksFile(3) + '\nrouterAdd("GET", "/x", (e) => {\n');
    const deadline3 = Date.now() + 10_000;
    while (!/failed to execute main\.pb\.js/.test(srv.log) && Date.now() < deadline3) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await client;
    assert.equal(failures, 0, `${failures} of ${total} requests failed: ${JSON.stringify([...kinds])}`);
    assert.ok(total > 50, `only ${total} requests`);
    assert.ok(!seen.has(3));
    const now = await srv.api('GET', '/api/ping');
    assert.deepEqual(now.json, { v: 4 });
    assert.match(srv.log, /failed to execute main\.pb\.js/);
  });
});

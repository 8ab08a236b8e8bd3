// pb_hooks run unchanged: the fixture tests/plugins/pb_hooks/main.pb.js (custom
// routes with e.json/e.string, path values, query, response headers,
// $apis.requireAuth, $app finders and saves, require() of a CommonJS file,
// thrown errors; record hooks that set a field on create, refuse a value, and
// call $http.send to a local server after the commit) answers the same on
// PocketBase 0.40.6 and on Cairn.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { useServer, test, describe, REPO_ROOT, errBody, SUPERUSER_EMAIL } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins');

// The webhook receiver the after-create hook posts to.
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
    res.end('ok');
  });
});

const srv = useServer(async (s) => {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  process.env.HOOK_WEBHOOK_URL = `http://127.0.0.1:${receiver.address().port}/hook`;
  process.env.CAIRN_JS_ALLOWED_HOSTS = '127.0.0.1';
  await fsp.cp(path.join(FIXTURES, 'pb_migrations'), path.join(s.root, 'pb_migrations'), { recursive: true });
  await fsp.cp(path.join(FIXTURES, 'pb_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
});
after(() => receiver.close());
import { after } from 'node:test';

const waitFor = async (cond, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
};

describe('custom routes', () => {
  test('e.json with path value, query and a response header', async () => {
    const r = await srv.api('GET', '/api/hello/bob?greeting=Hi');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-hello'), 'bob');
    assert.deepEqual(r.json, { message: 'Hi bob' });
  });

  test('a handler\'s e.next() does nothing; a handler that writes nothing answers 200 empty', async () => {
    const r = await srv.api('GET', '/api/next/w%20x');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { word: 'w x', ip: '127.0.0.1', next: 'function' });
    const s = await srv.api('GET', '/api/silent');
    assert.deepEqual([s.status, s.text], [200, '']);
  });

  test('$apis.requireAuth: 401 for guests, e.auth for signed-in callers', async () => {
    const guest = await srv.api('GET', '/api/me');
    assert.equal(guest.status, 401);
    assert.deepEqual(guest.json, errBody(401, 'The request requires valid record authorization token.'));
    const me = await srv.su('GET', '/api/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.email, SUPERUSER_EMAIL);
    assert.equal(me.json.superuser, true);
  });

  test('$app.findRecordById in a route; a miss is a 404', async () => {
    const post = (await srv.pb.collection('posts').getFullList({ filter: 'slug = "world"' }))[0];
    const r = await srv.api('GET', `/api/posts/${post.id}/summary`);
    assert.deepEqual(r.json, { id: post.id, title: 'World', views: 11 });
    const miss = await srv.api('GET', '/api/fail/missing');
    assert.equal(miss.status, 404);
    assert.deepEqual(miss.json, errBody(404, "The requested resource wasn't found."));
  });

  test('a found record\'s collection() follows a schema change', async () => {
    const post = (await srv.pb.collection('posts').getFullList({ filter: 'slug = "world"' }))[0];
    const rule = async () => (await srv.api('GET', `/api/posts/${post.id}/rule`)).json.viewRule;
    const before = await rule();
    for (let i = 0; i < 4; i++) assert.equal(await rule(), before);
    await srv.su('PATCH', '/api/collections/posts', { body: { viewRule: "id != ''" } });
    try {
      // Several calls: each request thread keeps its own engine and cache.
      for (let i = 0; i < 8; i++) assert.equal(await rule(), "id != ''");
    } finally {
      await srv.su('PATCH', '/api/collections/posts', { body: { viewRule: before } });
    }
    assert.equal(await rule(), before);
  });

  test('$app.save of new records and findRecordsByFilter with params', async () => {
    const guest = await srv.api('POST', '/api/posts/bulk', { body: { titles: ['A'] } });
    assert.equal(guest.status, 401);
    const r = await srv.su('POST', '/api/posts/bulk', { body: { titles: ['Bulk one', 'Bulk two'] } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.ids.length, 2);
    assert.equal(r.json.drafts, 2);
    const saved = await srv.pb.collection('posts').getOne(r.json.ids[0]);
    assert.equal(saved.title, 'Bulk one');
  });

  test('require() of a CommonJS file under __hooks, and e.string', async () => {
    const r = await srv.api('GET', '/api/shout/hey');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.text, 'HEY!');
    const t = await srv.api('GET', '/api/text');
    assert.equal(t.status, 201);
    assert.equal(t.text, 'plain');
  });

  test('thrown errors: ApiError keeps status and data, others are a generic 400', async () => {
    const bad = await srv.api('GET', '/api/fail/bad');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, errBody(400, 'Bad thing.', { title: { code: 'invalid_title', message: 'Invalid title.' } }));
    const secret = await srv.api('GET', '/api/fail/secret');
    assert.equal(secret.status, 400);
    assert.deepEqual(secret.json, errBody(400, 'Something went wrong while processing your request.'));
  });
});

describe('record hooks', () => {
  test('onRecordCreate sets a field, onRecordAfterCreateSuccess posts to a webhook', async () => {
    const rec = await srv.pb.collection('posts').create({ title: 'Hooked Post', status: 'draft' });
    assert.equal(rec.slug, 'hooked-post');
    assert.ok(await waitFor(() => received.some((m) => m.body.id === rec.id)), 'webhook not received');
    const m = received.find((x) => x.body.id === rec.id);
    assert.equal(m.method, 'POST');
    assert.equal(m.type, 'application/json');
    assert.deepEqual(m.body, { id: rec.id, title: 'Hooked Post', slug: 'hooked-post' });
  });

  test('onRecordCreateRequest refuses a value: 400 and nothing written', async () => {
    const before = (await srv.pb.collection('posts').getList(1, 1)).totalItems;
    const r = await srv.su('POST', '/api/collections/posts/records', { body: { title: 'forbidden' } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'Title not allowed.'));
    assert.equal((await srv.pb.collection('posts').getList(1, 1)).totalItems, before);
  });
});

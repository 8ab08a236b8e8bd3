// Health, routing, error shapes, malformed bodies and access to superuser-only APIs.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';

const srv = useServer();

const NOT_FOUND_FILE = errBody(404, 'File not found.');
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const NEEDS_AUTH = errBody(401, 'The request requires valid record authorization token.');
const NOT_ALLOWED = errBody(403, 'The authorized record is not allowed to perform this action.');

describe('health', () => {
  test('guest GET /api/health has the exact body (code, not status)', async () => {
    const r = await srv.api('GET', '/api/health');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.json, { message: 'API is healthy.', code: 200, data: {} });
  });

  test('superuser health adds canBackup, realIP, possibleProxyHeader', async () => {
    const r = await srv.su('GET', '/api/health');
    assert.equal(r.status, 200);
    assert.equal(r.json.code, 200);
    assert.equal(r.json.message, 'API is healthy.');
    // `ready` is Cairn's readiness detail (docs/operations.md).
    assert.deepEqual(Object.keys(r.json.data).filter((k) => k !== 'ready').sort(), ['canBackup', 'possibleProxyHeader', 'realIP']);
    assert.equal(typeof r.json.data.canBackup, 'boolean');
    assert.equal(r.json.data.realIP, '127.0.0.1');
    assert.equal(r.json.data.possibleProxyHeader, '');
  });

  test('SDK pb.health.check()', async () => {
    const res = await srv.client().health.check();
    assert.deepEqual(res, { message: 'API is healthy.', code: 200, data: {} });
  });

  test('HEAD /api/health answers 200 with no body', async () => {
    const r = await fetch(srv.url + '/api/health', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');
  });
});

describe('unknown routes and wrong methods', () => {
  for (const p of ['/api/nope', '/api/collections/x/nope/deeper', '/nope', '/api/']) {
    test(`GET ${p} -> 404 "File not found." (static fallback)`, async () => {
      const r = await srv.api('GET', p);
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, NOT_FOUND_FILE);
    });
  }

  for (const [method, p] of [
    ['DELETE', '/api/health'],
    ['POST', '/api/health'],
    ['PUT', '/api/collections'],
    ['PUT', '/api/collections/users/records'],
    ['POST', '/api/collections/users/records/abc'],
  ]) {
    test(`${method} ${p} -> 404 "The requested resource wasn't found."`, async () => {
      const r = await srv.su(method, p, { body: {} });
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, NOT_FOUND);
    });
  }

  test('unknown collection: list/view/delete say "Missing collection context."', async () => {
    for (const [method, p] of [
      ['GET', '/api/collections/nope/records'],
      ['GET', '/api/collections/nope/records/abc'],
      ['DELETE', '/api/collections/nope/records/abc'],
    ]) {
      for (const token of ['', srv.pb.authStore.token]) {
        const r = await srv.api(method, p, { token });
        assert.equal(r.status, 404, `${method} ${p}`);
        assert.deepEqual(r.json, errBody(404, 'Missing collection context.'), `${method} ${p}`);
      }
    }
  });

  test('unknown collection: create/update say "Missing or invalid collection context."', async () => {
    // PocketBase uses a different message for the body-reading endpoints.
    for (const [method, p] of [
      ['POST', '/api/collections/nope/records'],
      ['PATCH', '/api/collections/nope/records/abc'],
    ]) {
      for (const token of ['', srv.pb.authStore.token]) {
        const r = await srv.api(method, p, { token, body: { a: 1 } });
        assert.equal(r.status, 404, `${method} ${p}`);
        assert.deepEqual(r.json, errBody(404, 'Missing or invalid collection context.'), `${method} ${p}`);
      }
    }
  });

  test('invalid UTF-8 in a path segment gets the JSON 404 of an unknown name, not a plain-text 400', async () => {
    // PocketBase keeps the raw bytes and finds nothing: the ordinary 404
    // for that place of the path.
    for (const [method, p, message] of [
      ['GET', '/api/collections/x/records/%FF%FE', 'Missing collection context.'],
      ['GET', '/api/collections/users/records/%FF%FE', "The requested resource wasn't found."],
      ['DELETE', '/api/collections/users/records/%FF%FE', "The requested resource wasn't found."],
      ['PATCH', '/api/collections/users/records/%FF%FE', "The requested resource wasn't found."],
      ['GET', '/api/collections/%FF/records', 'Missing collection context.'],
      ['POST', '/api/collections/%FF/auth-with-password', 'Missing or invalid collection context.'],
      ['GET', '/api/collections/users/auth-methods%FF', 'File not found.'],
      ['GET', '/api/health%C3', 'File not found.'],
    ]) {
      const r = await srv.su(method, p, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      assert.equal(r.status, 404, `${method} ${p}`);
      assert.match(r.headers.get('content-type'), /^application\/json/, `${method} ${p}`);
      assert.deepEqual(r.json, errBody(404, message), `${method} ${p}`);
    }
  });

  test('SDK against an unknown collection rejects with 404', async () => {
    await rejects(srv.pb.collection('nope').getList(), 404, errBody(404, 'Missing collection context.'));
    await rejects(srv.pb.collection('nope').getOne('abc'), 404, errBody(404, 'Missing collection context.'));
  });
});

describe('malformed bodies', () => {
  test('malformed JSON on record create -> 400, nothing stored', async () => {
    const name = 'mal_rec';
    await srv.pb.collections.create({ name, type: 'base', createRule: '', fields: [{ name: 't', type: 'text' }] });
    for (const body of ['{bad', '{"t": "x"', '[1,2]', '"str"']) {
      const r = await srv.api('POST', `/api/collections/${name}/records`, { body, contentType: 'application/json' });
      assert.equal(r.status, 400, body);
      assert.deepEqual(r.json, errBody(400, 'Something went wrong while processing your request.'), body);
    }
    assert.equal((await srv.pb.collection(name).getList()).totalItems, 0);
  });

  test('malformed JSON on record update -> 400, record unchanged', async () => {
    const name = 'mal_upd';
    await srv.pb.collections.create({ name, type: 'base', updateRule: '', fields: [{ name: 't', type: 'text' }] });
    const rec = await srv.pb.collection(name).create({ t: 'keep' });
    const r = await srv.api('PATCH', `/api/collections/${name}/records/${rec.id}`, { body: '{"t":', contentType: 'application/json' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'Something went wrong while processing your request.'));
    assert.equal((await srv.pb.collection(name).getOne(rec.id)).t, 'keep');
  });

  test('malformed JSON on collection create -> 400', async () => {
    const r = await srv.su('POST', '/api/collections', { body: '{bad', contentType: 'application/json' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'Failed to load the collection type data due to invalid formatting.'));
  });

  test('malformed JSON on auth-with-password -> 400', async () => {
    const r = await srv.api('POST', '/api/collections/_superusers/auth-with-password', {
      body: '{bad',
      contentType: 'application/json',
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'An error occurred while loading the submitted data.'));
  });

  test('malformed JSON on settings PATCH and collections import -> 400', async () => {
    for (const [method, p] of [
      ['PATCH', '/api/settings'],
      ['PUT', '/api/collections/import'],
    ]) {
      const r = await srv.su(method, p, { body: '{bad', contentType: 'application/json' });
      assert.equal(r.status, 400, p);
      assert.deepEqual(r.json, errBody(400, 'An error occurred while loading the submitted data.'), p);
    }
  });

  test('unsupported content type on record create -> 400', async () => {
    const name = 'mal_ct';
    await srv.pb.collections.create({ name, type: 'base', createRule: '', fields: [{ name: 't', type: 'text' }] });
    const r = await srv.api('POST', `/api/collections/${name}/records`, { body: '{"t":"x"}', contentType: 'text/plain' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'Unsupported Content-Type.'));
    assert.equal((await srv.pb.collection(name).getList()).totalItems, 0);
  });
});

describe('tokens on public endpoints', () => {
  test('an invalid token on a public endpoint is ignored (guest), not 401', async () => {
    const name = 'pub_tok';
    await srv.pb.collections.create({ name, type: 'base', listRule: '', viewRule: '', fields: [{ name: 't', type: 'text' }] });
    const rec = await srv.pb.collection(name).create({ t: 'x' });
    for (const token of ['garbage', 'a.b.c', 'Bearer nope', srv.pb.authStore.token.slice(0, -3) + 'abc']) {
      const list = await srv.api('GET', `/api/collections/${name}/records`, { token });
      assert.equal(list.status, 200, token);
      assert.equal(list.json.totalItems, 1);
      const view = await srv.api('GET', `/api/collections/${name}/records/${rec.id}`, { token });
      assert.equal(view.status, 200, token);
      assert.equal(view.json.id, rec.id);
    }
    // and the SDK with a bogus token in its store behaves as a guest too
    const c = srv.client('bogus.token.value');
    assert.equal((await c.collection(name).getList()).totalItems, 1);
  });

  test('an invalid token on a superuser-rules collection is a guest (403)', async () => {
    const r = await srv.api('GET', '/api/collections/_superusers/records', { token: 'garbage' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, errBody(403, 'Only superusers can perform this action.'));
  });

  test('Authorization works with and without "Bearer "', async () => {
    const tok = srv.pb.authStore.token;
    for (const token of [tok, `Bearer ${tok}`]) {
      const r = await srv.api('GET', '/api/collections', { token });
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.json.items));
    }
  });
});

describe('superuser-only APIs', () => {
  const endpoints = [
    ['GET', '/api/collections'],
    ['GET', '/api/collections/users'],
    ['POST', '/api/collections', { name: 'sneaky', type: 'base' }],
    ['PATCH', '/api/collections/users', { listRule: '' }],
    ['DELETE', '/api/collections/users'],
    ['DELETE', '/api/collections/users/truncate'],
    ['PUT', '/api/collections/import', { collections: [{ name: 'sneaky', type: 'base' }] }],
    ['GET', '/api/collections/meta/scaffolds'],
    ['GET', '/api/settings'],
    ['PATCH', '/api/settings', { meta: { appName: 'Hacked' } }],
  ];

  for (const [method, p, body] of endpoints) {
    test(`guest ${method} ${p} -> 401`, async () => {
      const r = await srv.api(method, p, { body });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, NEEDS_AUTH);
    });
  }

  test('regular auth record on superuser APIs -> 403, nothing changed', async () => {
    const user = await srv.userClient();
    const token = user.authStore.token;
    for (const [method, p, body] of endpoints) {
      const r = await srv.api(method, p, { body, token });
      assert.equal(r.status, 403, `${method} ${p}`);
      assert.deepEqual(r.json, NOT_ALLOWED, `${method} ${p}`);
    }
    await rejects(srv.pb.collections.getOne('sneaky'), 404);
    assert.ok(await srv.pb.collections.getOne('users'));
    assert.equal((await srv.pb.settings.getAll()).meta.appName, 'Acme');
  });

  test('SDK: guest pb.collections.getFullList() rejects with 401', async () => {
    await rejects(srv.client().collections.getFullList(), 401, NEEDS_AUTH);
  });
});

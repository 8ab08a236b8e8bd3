// Request bodies as PocketBase binds them, checked against the reference
// binary: the same JSON, multipart (with @jsonPayload) and url-encoded bodies,
// and the same bad bodies (no Content-Type, an unknown one, malformed JSON),
// sent to both servers on several routes must get the same answers.
// (tests/api/bodies.rs covers every route of Cairn's table.)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './harness.mjs';
import { createSchema, startBoth } from './ecosystem_fixtures.mjs';

let servers;

before(async () => {
  servers = await startBoth();
  for (const s of [servers.cairn, servers.pocketbase]) {
    await createSchema(s.pb);
    await s.pb.settings.update({ batch: { enabled: true, maxRequests: 10 } });
  }
});

after(async () => {
  await servers?.stop();
});

/** Status and message (or the keys of a success) of one raw request. */
async function answer(srv, method, path, { type, body, auth = true }) {
  const headers = {};
  if (type) headers['content-type'] = type;
  if (auth) headers.authorization = srv.pb.authStore.token;
  const res = await fetch(srv.url + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* empty or not JSON */
  }
  return {
    status: res.status,
    message: json?.message ?? null,
    data: json?.data && typeof json.data === 'object' ? Object.keys(json.data).sort() : null,
  };
}

const ROUTES = [
  ['POST', '/api/collections/_superusers/auth-with-password'],
  ['POST', '/api/collections/posts/records'],
  ['POST', '/api/collections/users/request-password-reset'],
  ['POST', '/api/collections/users/confirm-password-reset'],
  ['POST', '/api/collections'],
  ['PATCH', '/api/collections/posts'],
  ['PUT', '/api/collections/import'],
  ['PATCH', '/api/settings'],
  ['POST', '/api/batch'],
  ['POST', '/api/realtime'],
];

async function compare(label, opts) {
  for (const [method, path] of ROUTES) {
    const [cairn, pocketbase] = await Promise.all([
      answer(servers.cairn, method, path, opts),
      answer(servers.pocketbase, method, path, opts),
    ]);
    assert.deepEqual(cairn, pocketbase, `${label}: ${method} ${path}`);
  }
}

test('a JSON body with no Content-Type gets PocketBase\'s answer on every route', async () => {
  await compare('no Content-Type', { body: '{"title":"x"}' });
  const a = await answer(servers.pocketbase, 'POST', '/api/collections/posts/records', { body: '{"title":"x"}' });
  assert.deepEqual(a, { status: 400, message: 'Unsupported Content-Type.', data: [] });
});

test('an unknown Content-Type, malformed JSON and non-object JSON answer alike', async () => {
  await compare('text/plain', { type: 'text/plain', body: '{"title":"x"}' });
  await compare('malformed', { type: 'application/json', body: '{"title":' });
  await compare('array', { type: 'application/json', body: '[1]' });
  await compare('whitespace', { type: 'application/json', body: '  ' });
});

test('an empty body is no body, whatever the Content-Type', async () => {
  await compare('empty text/plain', { type: 'text/plain', body: '' });
});

test('sign-in binds JSON, multipart, @jsonPayload and url-encoded bodies alike', async () => {
  const path = '/api/collections/_superusers/auth-with-password';
  const bodies = () => {
    const mp = new FormData();
    mp.append('identity', SUPERUSER_EMAIL);
    mp.append('password', SUPERUSER_PASSWORD);
    const payload = new FormData();
    payload.append('@jsonPayload', JSON.stringify({ identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD }));
    const badPayload = new FormData();
    badPayload.append('@jsonPayload', '{"identity":');
    return [
      ['json', { type: 'application/json', body: JSON.stringify({ identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD }) }, 200],
      ['multipart', { body: mp }, 200],
      ['@jsonPayload', { body: payload }, 200],
      ['url-encoded', { type: 'application/x-www-form-urlencoded', body: new URLSearchParams({ identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD }).toString() }, 200],
      ['bad @jsonPayload', { body: badPayload }, 400],
    ];
  };
  for (const srv of [servers.cairn, servers.pocketbase]) {
    for (const [label, opts, status] of bodies()) {
      const got = await answer(srv, 'POST', path, { ...opts, auth: false });
      assert.equal(got.status, status, `${srv.kind} ${label}: ${JSON.stringify(got)}`);
    }
  }
});

test('records bind repeated form keys and multiple @jsonPayload parts alike', async () => {
  const created = await Promise.all(
    [servers.cairn, servers.pocketbase].map(async (srv) => {
      const mp = new FormData();
      mp.append('title', 'from a form');
      mp.append('tags', 'a');
      mp.append('tags', 'b');
      mp.append('views', '3');
      mp.append('@jsonPayload', JSON.stringify({ views: 4 }));
      mp.append('@jsonPayload', JSON.stringify({ meta: { k: [1] } }));
      const res = await fetch(`${srv.url}/api/collections/posts/records`, { method: 'POST', body: mp });
      assert.equal(res.status, 200, srv.kind);
      const r = await res.json();
      const form = await fetch(`${srv.url}/api/collections/posts/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'title=url+encoded&tags=b&tags=c&views=2&published=true',
      });
      assert.equal(form.status, 200, srv.kind);
      const f = await form.json();
      return [
        { title: r.title, tags: r.tags, views: r.views, meta: r.meta },
        { title: f.title, tags: f.tags, views: f.views, published: f.published },
      ];
    }),
  );
  assert.deepEqual(created[0], created[1]);
  assert.deepEqual(created[0][0], { title: 'from a form', tags: ['a', 'b'], views: 4, meta: { k: [1] } });
});

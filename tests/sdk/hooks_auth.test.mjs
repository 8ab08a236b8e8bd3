// onRecordAuthRequest, measured on PocketBase 0.40.6 and run on both
// targets (hook file: tests/plugins/auth_hooks): it runs before every
// sign-in's answer with e.record, e.token, e.meta, e.authMethod and
// e.collection; a throw refuses the sign-in, a handler that does not call
// e.next() answers with what it wrote (else 200 and an empty body), and
// what it changes in e.record is what the answer shows.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './harness.mjs';

const PW = 'password123';
const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'auth_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.collections.create({
    name: 'ah_users', type: 'auth', listRule: '', viewRule: '', createRule: '',
    fields: [{ name: 'name', type: 'text' }],
  });
  for (const u of ['ok', 'blocked', 'stop', 'custom', 'shaped']) {
    await s.pb.collection('ah_users').create({ email: `${u}@example.com`, password: PW, passwordConfirm: PW, name: u });
  }
});

const signIn = (who) => srv.api('POST', '/api/collections/ah_users/auth-with-password', { body: { identity: `${who}@example.com`, password: PW } });
const stored = async (key) => (await srv.api('GET', `/api/ah/store/${encodeURIComponent(key)}`)).json;

test('a password sign-in runs onRecordAuthRequest with the record, the token and the method', async () => {
  const r = await signIn('ok');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.record.email, 'ok@example.com');
  assert.ok(r.json.token);
  const seen = (await stored('auth:ok@example.com')).value;
  assert.deepEqual(seen, { method: 'password', token: true, meta: null, collection: 'ah_users' });
  assert.deepEqual(await stored('any:ah_users'), { has: true, value: 'ok@example.com' });
});

test('a wrong password never reaches the hook', async () => {
  await srv.api('POST', '/api/collections/ah_users/auth-with-password', { body: { identity: 'blocked@example.com', password: 'wrong-password' } });
  assert.equal((await stored('auth:blocked@example.com')).has, false);
});

test('a throw refuses the sign-in with its error', async () => {
  const r = await signIn('blocked');
  assert.deepEqual([r.status, r.json], [403, errBody(403, 'Blocked by a hook.')]);
});

test('a handler that does not call e.next() answers with what it wrote, else 200 empty', async () => {
  const s = await signIn('stop');
  assert.deepEqual([s.status, s.text], [200, '']);
  const c = await signIn('custom');
  assert.deepEqual([c.status, c.json], [200, { custom: 'password' }]);
});

test('what a handler changes in e.record is what the answer shows', async () => {
  const r = await signIn('shaped');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.record.name, 'changed by the hook');
  assert.equal('verified' in r.json.record, false);
  // Not saved.
  const back = await srv.pb.collection('ah_users').getFirstListItem('email = "shaped@example.com"');
  assert.equal(back.name, 'shaped');
});

test('auth-refresh runs it too; superusers\' sign-ins reach only untagged handlers', async () => {
  const ok = await signIn('ok');
  const r = await srv.api('POST', '/api/collections/ah_users/auth-refresh', { token: ok.json.token });
  assert.equal(r.status, 200, r.text);
  const seen = (await stored('auth:ok@example.com')).value;
  assert.deepEqual(seen, { method: '', token: true, meta: null, collection: 'ah_users' });
  const su = await srv.api('POST', '/api/collections/_superusers/auth-with-password', { body: { identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD } });
  assert.equal(su.status, 200, su.text);
  assert.deepEqual(await stored('any:_superusers'), { has: true, value: SUPERUSER_EMAIL });
  assert.equal((await stored(`auth:${SUPERUSER_EMAIL}`)).has, false);
});

test('impersonation runs it too (authMethod empty)', async () => {
  const u = await srv.pb.collection('ah_users').getFirstListItem('email = "custom@example.com"');
  const r = await srv.su('POST', `/api/collections/ah_users/impersonate/${u.id}`, { body: { duration: 100 } });
  assert.deepEqual([r.status, r.json], [200, { custom: '' }]);
});

test('a custom sign-in route: validatePassword, $apis.recordAuthResponse (with onRecordAuthRequest)', async () => {
  const login = (email, password, meta) => srv.api('POST', '/api/ah/login', { body: { email: `${email}@example.com`, password, meta } });
  const bad = await login('ok', 'wrong-password');
  assert.deepEqual([bad.status, bad.json], [400, errBody(400, 'Invalid credentials.')]);
  const r = await login('ok', PW);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.record.email, 'ok@example.com');
  assert.equal('meta' in r.json, false);
  assert.deepEqual((await stored('auth:ok@example.com')).value, { method: 'custom', token: true, meta: null, collection: 'ah_users' });
  // The token signs in.
  const refreshed = await srv.api('POST', '/api/collections/ah_users/auth-refresh', { token: r.json.token });
  assert.equal(refreshed.status, 200, refreshed.text);
  // The hook refuses, answers itself, or reshapes, as for the built-in sign-ins.
  assert.equal((await login('blocked', PW)).status, 403);
  assert.deepEqual((await login('custom', PW)).json, { custom: 'custom' });
  const shaped = await login('shaped', PW, { a: 1 });
  assert.deepEqual([shaped.json.record.name, shaped.json.meta], ['changed by the hook', { a: 1 }]);
});

test('record.newAuthToken() gives a token that signs in', async () => {
  const u = await srv.pb.collection('ah_users').getFirstListItem('email = "ok@example.com"');
  const t = await srv.api('GET', `/api/ah/token/${u.id}`);
  assert.equal(t.status, 200, t.text);
  const r = await srv.api('POST', '/api/collections/ah_users/auth-refresh', { token: t.json.token });
  assert.deepEqual([r.status, r.json.record.id], [200, u.id]);
});

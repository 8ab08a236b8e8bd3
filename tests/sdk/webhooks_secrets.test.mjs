// Webhook signing secrets at rest (docs/webhooks.md "Endpoints"): with the
// key `--encryptionEnv` / CAIRN_ENCRYPTION_ENV names, the `_webhooks`
// columns hold AES-256-GCM ciphertext, not the secret; secrets stored
// before the key was set keep signing; every request still verifies with
// npm `standardwebhooks`.

import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { useServer, test, cairnOnly, REPO_ROOT } from './harness.mjs';
import { webhookEnv, startReceiver, verify, waitFor, newCollection, createEndpoint, createRecord } from './webhook_fixtures.mjs';

webhookEnv({ CAIRN_ENCRYPTION_ENV: null, CAIRN_TEST_SECRETS_KEY: null });
const srv = useServer();
const opts = { skip: cairnOnly, timeout: 60_000 };

const PY = path.join(REPO_ROOT, '.venv', 'bin', 'python');
/** The stored `secret` and `old_secrets` columns of an endpoint, read from data.db (or PostgreSQL). */
function stored(id) {
  if (srv.dbUrl) {
    const sql = `SELECT json_build_object('secret', secret, 'old', CAST(old_secrets AS jsonb)) FROM _webhooks WHERE id = '${id.replace(/[^a-z0-9]/g, '')}'`;
    const row = JSON.parse(execFileSync('psql', [srv.dbUrl, '-At', '-c', sql], { encoding: 'utf8' }));
    return { secret: row.secret, old: row.old.map((o) => o.secret) };
  }
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    'row = db.execute("SELECT secret, old_secrets FROM _webhooks WHERE id = ?", (sys.argv[2],)).fetchone()',
    'print(json.dumps({"secret": row[0], "old": [o["secret"] for o in json.loads(row[1])]}))',
  ].join('\n');
  return JSON.parse(execFileSync(PY, ['-c', script, path.join(srv.dir, 'data.db'), id], { encoding: 'utf8' }));
}

test('secrets are sealed with the encryption key; plaintext ones keep working; a bad key refuses to start', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  // Without a key the secret is stored as it is (docs say so).
  const plain = await createEndpoint(srv, { url: rx.url('/plain'), collection: col });
  assert.equal(stored(plain.id).secret, plain.secret);

  // A key of the wrong length: serve refuses to start (the flag spelling PocketBase uses).
  process.env.CAIRN_TEST_BAD_KEY = 'too-short';
  const bad = await srv.cli(['serve', '--http', '127.0.0.1:0', '--encryptionEnv', 'CAIRN_TEST_BAD_KEY'], { allowFail: true });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /32 bytes/);
  delete process.env.CAIRN_TEST_BAD_KEY;

  process.env.CAIRN_TEST_SECRETS_KEY = 'k'.repeat(16) + '0123456789abcdef';
  process.env.CAIRN_ENCRYPTION_ENV = 'CAIRN_TEST_SECRETS_KEY';
  try {
    await srv.restart();
    const sealed = await createEndpoint(srv, { url: rx.url('/sealed'), collection: col });
    const col1 = stored(sealed.id);
    assert.notEqual(col1.secret, sealed.secret);
    assert.ok(!col1.secret.includes(sealed.secret.slice(6)), 'no trace of the key bytes');
    assert.match(col1.secret, /^enc1:[A-Za-z0-9+/]+=*$/);
    // The old plaintext secret still signs after the restart with a key.
    assert.equal(stored(plain.id).secret, plain.secret);
    await createRecord(srv, col, { title: 'first' });
    await waitFor(() => rx.on('/plain').length >= 1 && rx.on('/sealed').length >= 1);
    verify(sealed.secret, rx.on('/sealed')[0]);
    verify(plain.secret, rx.on('/plain')[0]);

    // Rotation seals the new secret and the old one kept for the grace.
    const rot = await srv.su('POST', `/api/webhooks/${plain.id}/rotate`, { body: { grace: 60 } });
    assert.equal(rot.status, 200);
    const col2 = stored(plain.id);
    assert.match(col2.secret, /^enc1:/);
    assert.equal(col2.old.length, 1);
    assert.match(col2.old[0], /^enc1:/);
    assert.ok(![col2.secret, ...col2.old].some((s) => s.includes(plain.secret.slice(6)) || s.includes(rot.json.secret.slice(6))));
    const n = rx.on('/plain').length;
    await createRecord(srv, col, { title: 'after rotate' });
    await waitFor(() => rx.on('/plain').length > n);
    const last = rx.on('/plain')[n];
    assert.equal(last.headers['webhook-signature'].split(' ').length, 2);
    verify(rot.json.secret, last);
    verify(plain.secret, last);

    // Across a restart with the same key, the sealed secrets still sign.
    await srv.restart();
    const m = rx.on('/sealed').length;
    await createRecord(srv, col, { title: 'after restart' });
    await waitFor(() => rx.on('/sealed').length > m);
    verify(sealed.secret, rx.on('/sealed')[m]);
  } finally {
    delete process.env.CAIRN_ENCRYPTION_ENV;
    delete process.env.CAIRN_TEST_SECRETS_KEY;
  }
  await rx.close();
});

test('cairn webhooks rekey re-seals every secret under a new key; signatures verify after a restart with it', opts, async () => {
  const rx = await startReceiver();
  const col = await newCollection(srv);
  // Key A is the one the test above sealed with, so its endpoints re-seal too.
  process.env.CAIRN_TEST_SECRETS_KEY = 'k'.repeat(16) + '0123456789abcdef';
  process.env.CAIRN_TEST_KEY_B = 'b'.repeat(32);
  process.env.CAIRN_TEST_KEY_C = 'c'.repeat(32);
  process.env.CAIRN_ENCRYPTION_ENV = 'CAIRN_TEST_SECRETS_KEY';
  try {
    await srv.restart();
    const ep = await createEndpoint(srv, { url: rx.url('/rekey'), collection: col });
    const rot = await srv.su('POST', `/api/webhooks/${ep.id}/rotate`, { body: { grace: 600 } });
    assert.equal(rot.status, 200);
    const underA = stored(ep.id);
    assert.match(underA.secret, /^enc1:/);
    assert.equal(underA.old.length, 1);
    await srv.kill();

    // The wrong old key: an error, and nothing changes.
    const wrong = await srv.cli(['webhooks', 'rekey', '--oldEncryptionEnv', 'CAIRN_TEST_KEY_C', '--encryptionEnv', 'CAIRN_TEST_KEY_B'], { allowFail: true });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /neither the old nor the new key/);
    assert.deepEqual(stored(ep.id), underA);

    const ok = await srv.cli(['webhooks', 'rekey', '--oldEncryptionEnv', 'CAIRN_TEST_SECRETS_KEY', '--encryptionEnv', 'CAIRN_TEST_KEY_B']);
    assert.match(ok.stdout, /Re-encrypted \d+ secrets of \d+ webhooks/);
    const underB = stored(ep.id);
    assert.match(underB.secret, /^enc1:/);
    assert.notEqual(underB.secret, underA.secret);
    assert.notEqual(underB.old[0], underA.old[0]);
    // A rerun (the secrets already open with the new key) is harmless.
    await srv.cli(['webhooks', 'rekey', '--oldEncryptionEnv', 'CAIRN_TEST_SECRETS_KEY', '--encryptionEnv', 'CAIRN_TEST_KEY_B']);

    process.env.CAIRN_ENCRYPTION_ENV = 'CAIRN_TEST_KEY_B';
    await srv.restart();
    await createRecord(srv, col, { title: 'under key B' });
    await waitFor(() => rx.on('/rekey').length >= 1, 10_000, 'delivery');
    const sig = rx.on('/rekey')[0];
    assert.equal(sig.headers['webhook-signature'].split(' ').length, 2);
    verify(rot.json.secret, sig);
    verify(ep.secret, sig);

    // And back to plain text: no new key named.
    await srv.kill();
    delete process.env.CAIRN_ENCRYPTION_ENV;
    await srv.cli(['webhooks', 'rekey', '--oldEncryptionEnv', 'CAIRN_TEST_KEY_B']);
    assert.equal(stored(ep.id).secret, rot.json.secret);
    await srv.restart();
    await createRecord(srv, col, { title: 'plain again' });
    await waitFor(() => rx.on('/rekey').length >= 2, 10_000, 'delivery');
    verify(rot.json.secret, rx.on('/rekey')[1]);
  } finally {
    for (const k of ['CAIRN_ENCRYPTION_ENV', 'CAIRN_TEST_SECRETS_KEY', 'CAIRN_TEST_KEY_B', 'CAIRN_TEST_KEY_C']) delete process.env[k];
  }
  await rx.close();
});

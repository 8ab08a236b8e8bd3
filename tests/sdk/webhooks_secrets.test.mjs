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
/** The stored `secret` and `old_secrets` columns of an endpoint, read from data.db. */
function stored(id) {
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

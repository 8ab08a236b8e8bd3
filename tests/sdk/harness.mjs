// Test harness for the SDK black-box suite.
//
// Each test file starts its own server (Cairn, or the reference PocketBase when
// SDK_TARGET=pocketbase) in a fresh temporary data dir, logs in a superuser with
// the official JS SDK, and stops the server (only the process it started, by PID)
// and removes the dir afterwards.
//
//   CAIRN_BIN   binary to run (default: <repo>/target/release/cairn, or
//               <repo>/.venv/bin/pocketbase when SDK_TARGET=pocketbase)
//   SDK_TARGET  "cairn" (default) or "pocketbase"
//   SDK_SHOW_LOGS=1  always print the server output when a file's server stops
//
// Cairn is started with `--http 127.0.0.1:0` and must print a line containing
// `Server started at http://127.0.0.1:PORT` on stdout. PocketBase cannot report
// port 0, so a free port is picked here first. The server's cwd is the temp root
// (PocketBase writes pb_migrations/ next to its data dir).
//
// Test files call `useServer(setup?)` once at top level and use this module's
// `test` (node:test's, plus the server output tail on failure).

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test as nodeTest, before, after } from 'node:test';
import PocketBase from 'pocketbase';

const execFileP = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TARGET = (process.env.SDK_TARGET || 'cairn').toLowerCase();
export const IS_POCKETBASE = TARGET === 'pocketbase';
export const BIN = resolveBin();
export const SUPERUSER_EMAIL = 'admin@example.com';
export const SUPERUSER_PASSWORD = 'Sup3r-secret-pw';
export const SUPERUSERS_ID = 'pbc_3142635823';
export const USERS_ID = '_pb_users_auth_';

/** Skip option for tests of Cairn-only promises (not PocketBase behaviour). */
export const cairnOnly = IS_POCKETBASE ? 'Cairn-only extra (SDK_TARGET=pocketbase)' : false;

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL_CHARS = 6_000;

function resolveBin() {
  const env = process.env.CAIRN_BIN;
  if (env) return path.resolve(process.cwd(), env);
  return IS_POCKETBASE
    ? path.join(REPO_ROOT, '.venv', 'bin', 'pocketbase')
    : path.join(REPO_ROOT, 'target', 'release', 'cairn');
}

/**
 * Every running server started by this process, and every temp root not yet
 * removed, so an aborted run (Ctrl-C, a closed pipe) still cleans up.
 */
const running = new Set();
const roots = new Set();
function killAllNow() {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const root of roots) {
    try {
      fs.rmSync(root, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}
process.on('exit', killAllNow);
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(sig, () => {
    killAllNow();
    process.exit(128 + num);
  });
}

/**
 * Janitor for runs that were killed too hard to clean up (SIGKILL, a dead parent):
 * a temp root whose owning test process is gone is removed, after killing the
 * server recorded in it, by PID, if that PID still runs a server on this root.
 */
function removeStaleRoots() {
  const tmp = os.tmpdir();
  let entries = [];
  try {
    entries = fs.readdirSync(tmp).filter((n) => /^cairn-sdk-(cairn|pocketbase)-/.test(n));
  } catch {
    return;
  }
  for (const name of entries) {
    const root = path.join(tmp, name);
    try {
      const owner = Number(fs.readFileSync(path.join(root, 'owner.pid'), 'utf8'));
      if (!owner || isAlive(owner)) continue;
      const server = Number(fs.readFileSync(path.join(root, 'server.pid'), 'utf8').trim() || 0);
      if (server && isAlive(server)) {
        const cmdline = fs.readFileSync(`/proc/${server}/cmdline`, 'utf8');
        if (cmdline.includes(root)) process.kill(server, 'SIGKILL');
      }
      fs.rmSync(root, { recursive: true, force: true });
    } catch {
      /* not ours, or already gone */
    }
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

removeStaleRoots();

/** The most recently started server of this test file (for log tails on failure). */
let current = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A PocketBase SDK client without auto-cancellation (tests fire parallel requests). */
export function newClient(url, token = '', record = null) {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  if (token) pb.authStore.save(token, record);
  return pb;
}

class Server {
  constructor() {
    this.root = '';
    this.dir = '';
    this.url = '';
    this.child = null;
    this.log = '';
    this.exited = null; // {code, signal} once the process exits
    this.pb = null;
  }

  /** Run the binary with the given CLI args and `--dir DIR` appended. */
  async cli(args, { allowFail = false } = {}) {
    try {
      const { stdout, stderr } = await execFileP(BIN, [...args, '--dir', this.dir], { cwd: this.root, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      if (!allowFail) {
        throw new Error(`${path.basename(BIN)} ${args.join(' ')} failed (code ${err.code}):\n${err.stdout}\n${err.stderr}`);
      }
      return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }

  async start() {
    if (!fs.existsSync(BIN)) {
      throw new Error(`server binary not found: ${BIN} (set CAIRN_BIN, or build with cargo build --release)`);
    }
    if (!this.dir) {
      // The data dir is nested in a private root that is also the server's cwd:
      // PocketBase writes pb_migrations/ (automigrate) and looks for pb_hooks/
      // next to its data dir, so a data dir directly in /tmp would share them.
      this.root = await fsp.mkdtemp(path.join(os.tmpdir(), `cairn-sdk-${TARGET}-`));
      roots.add(this.root);
      await fsp.writeFile(path.join(this.root, 'owner.pid'), String(process.pid));
      this.dir = path.join(this.root, 'data');
      await this.cli(['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD]);
    }
    await this.spawnServe();
    this.pb = newClient(this.url);
    await this.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    return this;
  }

  async spawnServe() {
    const port = IS_POCKETBASE ? await freePort() : 0;
    const args = ['serve', '--http', `127.0.0.1:${port}`, '--dir', this.dir];
    this.log += `$ ${BIN} ${args.join(' ')}\n`;
    this.exited = null;
    const child = spawn(BIN, args, { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    if (child.pid) fs.writeFileSync(path.join(this.root, 'server.pid'), String(child.pid));

    let stdoutBuf = '';
    let announced = null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      this.log += d;
      stdoutBuf += d;
      const m = /Server started at (http:\/\/[\d.]+:\d+)/.exec(stdoutBuf);
      if (m && !announced) announced = m[1];
    });
    child.stderr.on('data', (d) => {
      this.log += d;
    });
    const exitedP = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        this.exited = { code, signal };
        this.log += `\n[process exited: code=${code} signal=${signal}]\n`;
        resolve(this.exited);
      });
    });
    this.exitedP = exitedP;
    child.on('error', (err) => {
      this.log += `\n[spawn error: ${err.message}]\n`;
    });

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    const fixedUrl = IS_POCKETBASE ? `http://127.0.0.1:${port}` : null;
    while (Date.now() < deadline) {
      if (this.exited) break;
      const url = fixedUrl ?? announced;
      if (url) {
        try {
          const r = await fetch(`${url}/api/health`);
          if (r.status === 200) {
            this.url = url;
            return;
          }
        } catch {
          /* not listening yet */
        }
      }
      await sleep(50);
    }
    const why = this.exited
      ? `exited early (${JSON.stringify(this.exited)})`
      : IS_POCKETBASE || announced
        ? 'did not answer GET /api/health in time'
        : 'did not print "Server started at http://IP:PORT" on stdout in time';
    await this.kill();
    throw new Error(`server ${why}\n--- server output ---\n${this.log}`);
  }

  /** SIGTERM our own child (by PID), SIGKILL after a timeout. Returns its exit info. */
  async kill(signal = 'SIGTERM') {
    const child = this.child;
    if (!child) return this.exited;
    if (!this.exited) {
      try {
        process.kill(child.pid, signal);
      } catch {
        /* already gone */
      }
      let timer;
      const timeout = new Promise((r) => {
        timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS);
      });
      const outcome = await Promise.race([this.exitedP, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.log += '\n[did not stop after SIGTERM; sending SIGKILL]\n';
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await this.exitedP;
      }
    }
    this.child = null;
    return this.exited;
  }

  /** Log `pb` in again (after something revoked its token). */
  async relogin() {
    await this.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  }

  /** Stop (SIGTERM, or the given signal) and start the server again on the same data dir. */
  async restart(signal = 'SIGTERM') {
    const info = await this.kill(signal);
    await this.spawnServe();
    this.pb = newClient(this.url);
    await this.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    return info;
  }

  async stop() {
    await this.kill();
    if (process.env.SDK_SHOW_LOGS === '1') {
      process.stderr.write(`--- server output (${TARGET}) ---\n${this.log}\n`);
    }
    if (this.root) {
      await fsp.rm(this.root, { recursive: true, force: true });
      roots.delete(this.root);
    }
    this.root = '';
    this.dir = '';
  }

  logTail() {
    return this.log.length > LOG_TAIL_CHARS ? '...' + this.log.slice(-LOG_TAIL_CHARS) : this.log;
  }

  // ---- helpers used by the tests ----

  /** A guest SDK client, or one carrying the given token. */
  client(token = '', record = null) {
    return newClient(this.url, token, record);
  }

  /** Raw HTTP: returns {status, headers, text, json}. `body` objects are sent as JSON. */
  async api(method, p, { body, token, headers = {}, contentType } = {}) {
    const h = { ...headers };
    if (token) h.authorization = token;
    let payload = body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof FormData) && !(body instanceof Uint8Array)) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    if (contentType) h['content-type'] = contentType;
    const r = await fetch(this.url + p, { method, headers: h, body: payload });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  }

  /** Raw HTTP as the logged-in superuser. */
  su(method, p, opts = {}) {
    return this.api(method, p, { ...opts, token: this.pb.authStore.token });
  }

  /** Create a user in `users` (or another auth collection) and return a logged-in client. */
  async userClient(collection = 'users', email = `u${Math.random().toString(36).slice(2, 10)}@example.com`) {
    const password = 'user-pass-123';
    await this.pb.collection(collection).create({ email, password, passwordConfirm: password });
    const c = this.client();
    await c.collection(collection).authWithPassword(email, password);
    return c;
  }
}

/**
 * Start one server for the current test file: registers before/after hooks and
 * returns the (lazily filled) Server handle. `setup(srv)` runs once the
 * superuser client is logged in (one root-level hook, so it runs in order).
 */
export function useServer(setup) {
  const srv = new Server();
  before(async () => {
    current = srv;
    await srv.start();
    if (setup) await setup(srv);
  });
  after(async () => {
    await srv.stop();
  });
  return srv;
}

/**
 * node:test's `test`, but a failure also shows the tail of the server output.
 * Signature as node:test: test(name, [options], fn).
 */
export function test(name, options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  return nodeTest(name, options, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      if (current && err && typeof err === 'object') {
        try {
          const tail = `\n--- server output tail (${TARGET}) ---\n${current.logTail()}\n--- end of server output ---`;
          if (typeof err.stack === 'string') err.stack += tail;
          else err.message += tail;
        } catch {
          /* non-writable message */
        }
      }
      throw err;
    }
  });
}

export { describe } from 'node:test';

// ---- assertion helpers ----

/**
 * Await an SDK call that must fail; returns the ClientResponseError.
 * Checks status and, when given, the exact error body.
 */
export async function rejects(promise, status, body) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected HTTP ${status}, got success: ${JSON.stringify(value)?.slice(0, 500)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.equal(err.status, status, `status (body: ${JSON.stringify(err.response)})`);
  if (body !== undefined) assert.deepEqual(err.response, body);
  return err;
}

/** The standard error body. */
export function errBody(status, message, data = {}) {
  return { data, message, status };
}

/** `{code, message[, params]}` of one field error. */
export function fieldErr(code, message, params) {
  return params === undefined ? { code, message } : { code, message, params };
}

/** Assert that a validation error (400) carries exactly these field codes. */
export function assertCodes(err, expected, message) {
  const got = Object.fromEntries(Object.entries(err.response?.data ?? {}).map(([k, v]) => [k, v?.code]));
  assert.deepEqual(got, expected, `${message ?? 'field codes'} (body: ${JSON.stringify(err.response)})`);
}

/** Decode a JWT payload without verifying (the SDK does the same client-side). */
export function jwtPayload(token) {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

export const ID_RE = /^[a-z0-9]{15}$/;
export const DATE_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let nameSeq = 0;
/** A unique, valid collection name. */
export function uniqueName(prefix = 'c') {
  nameSeq += 1;
  return `${prefix}_${process.pid}_${nameSeq}`;
}

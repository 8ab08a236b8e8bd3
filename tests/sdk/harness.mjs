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

// SDK_STORE=postgres runs every Cairn server on a fresh PostgreSQL
// database of its own on the server CAIRN_TEST_PG_URL names (scripts/test
// starts one), created with Debian's psql.
export const ON_POSTGRES = (process.env.SDK_TARGET || 'cairn').toLowerCase() !== 'pocketbase' && process.env.SDK_STORE === 'postgres';
let pgDatabases = 0;
/** A new, empty database on CAIRN_TEST_PG_URL's server; its URL. */
export async function freshPgDatabase() {
  const base = process.env.CAIRN_TEST_PG_URL;
  if (!base) throw new Error('SDK_STORE=postgres needs CAIRN_TEST_PG_URL');
  const name = `cairn_sdk_${process.pid}_${++pgDatabases}`;
  await execFileP('psql', [base, '-q', '-c', `CREATE DATABASE ${name}`], { timeout: 30_000 });
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}


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

export class Server {
  constructor() {
    this.root = '';
    this.dir = '';
    this.url = '';
    this.child = null;
    this.log = '';
    this.exited = null; // {code, signal} once the process exits
    this.pb = null;
  }

  /** The environment the binary runs with (its own database on PostgreSQL). */
  env() {
    return this.dbUrl ? { ...process.env, CAIRN_DB_URL: this.dbUrl } : process.env;
  }

  /** Run the binary with the given CLI args and `--dir DIR` appended. */
  async cli(args, { allowFail = false } = {}) {
    try {
      const { stdout, stderr } = await execFileP(BIN, [...args, '--dir', this.dir], { cwd: this.root, timeout: 30_000, env: this.env() });
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
      if (ON_POSTGRES && !this.dbUrl) this.dbUrl = await freshPgDatabase();
      await this.cli(['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD]);
    }
    await this.spawnServe();
    this.pb = newClient(this.url);
    await this.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    return this;
  }

  async spawnServe(fixedPort = null) {
    const port = fixedPort ?? (IS_POCKETBASE ? await freePort() : 0);
    const args = ['serve', '--http', `127.0.0.1:${port}`, '--dir', this.dir];
    this.log += `$ ${BIN} ${args.join(' ')}\n`;
    this.exited = null;
    const child = spawn(BIN, args, { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'], env: this.env() });
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
    const fixedUrl = IS_POCKETBASE || fixedPort ? `http://127.0.0.1:${port}` : null;
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

  /**
   * Start another node on this server's PostgreSQL database (its own data
   * dir, port and process), as a second Cairn behind a load balancer
   * would be. Stop it with `peer.stop()`.
   */
  async peer() {
    if (!this.dbUrl) throw new Error('peer() needs SDK_STORE=postgres');
    const p = new Server();
    p.root = await fsp.mkdtemp(path.join(os.tmpdir(), `cairn-sdk-${TARGET}-`));
    roots.add(p.root);
    await fsp.writeFile(path.join(p.root, 'owner.pid'), String(process.pid));
    p.dir = path.join(p.root, 'data');
    p.dbUrl = this.dbUrl;
    await p.spawnServe();
    p.pb = newClient(p.url);
    await p.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    return p;
  }

  /** Log `pb` in again (after something revoked its token). */
  async relogin() {
    await this.pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  }

  /**
   * Stop (SIGTERM, or the given signal) and start the server again on the same
   * data dir; `samePort` keeps the address, so connected clients can reconnect.
   */
  async restart(signal = 'SIGTERM', { samePort = false } = {}) {
    const port = samePort ? Number(new URL(this.url).port) : null;
    const info = await this.kill(signal);
    await this.spawnServe(port);
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

// ---- SMTP sink (mail tests) ----

const SMTP_SINK_SCRIPT = path.join(REPO_ROOT, 'tests', 'sdk', 'smtp_sink.py');
const SMTP_SINK_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

/**
 * A real SMTP server (tests/sdk/smtp_sink.py, aiosmtpd) on 127.0.0.1 with an
 * OS-chosen port. Every accepted message is stored as one JSON file; the
 * Python side also decodes the MIME parts (quoted-printable/base64, charsets,
 * multipart, RFC 2047 headers), so `messages()` returns:
 *   {from, to, cc, subject, text, html, mailFrom, rcptTos, headers, raw,
 *    attachments, header(name)}
 * with CRLF line ends of `text`/`html` turned into LF.
 */
class SmtpSink {
  constructor() {
    this.root = '';
    this.dir = '';
    this.host = '127.0.0.1';
    this.port = 0;
    this.child = null;
    this.log = '';
    this.exitedP = null;
    this.exited = null;
  }

  async start() {
    // The same root naming as the servers, so the stale-root janitor above
    // also cleans up (and kills, by PID) a sink left behind by a killed run.
    this.root = await fsp.mkdtemp(path.join(os.tmpdir(), `cairn-sdk-${TARGET}-smtp-`));
    roots.add(this.root);
    await fsp.writeFile(path.join(this.root, 'owner.pid'), String(process.pid));
    this.dir = path.join(this.root, 'mail');
    await fsp.mkdir(this.dir);
    const child = spawn(SMTP_SINK_PYTHON, [SMTP_SINK_SCRIPT, this.dir], { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    if (child.pid) fs.writeFileSync(path.join(this.root, 'server.pid'), String(child.pid));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    let announced = null;
    child.stdout.on('data', (d) => {
      this.log += d;
      const m = /SMTP sink listening on ([\d.]+):(\d+)/.exec(this.log);
      if (m && !announced) announced = { host: m[1], port: Number(m[2]) };
    });
    child.stderr.on('data', (d) => {
      this.log += d;
    });
    this.exitedP = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
    child.on('error', (err) => {
      this.log += `\n[spawn error: ${err.message}]\n`;
    });
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!announced && !this.exited && Date.now() < deadline) await sleep(20);
    if (!announced) {
      await this.stop();
      throw new Error(`SMTP sink did not start (${SMTP_SINK_PYTHON} ${SMTP_SINK_SCRIPT})\n${this.log}`);
    }
    this.host = announced.host;
    this.port = announced.port;
    return this;
  }

  /** All messages received so far, oldest first. */
  messages() {
    let names = [];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return [];
    }
    const out = [];
    for (const name of names) {
      let m;
      try {
        m = JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8'));
      } catch {
        continue; // removed by clear() meanwhile
      }
      const lf = (s) => (typeof s === 'string' ? s.replace(/\r\n/g, '\n') : s);
      out.push({
        ...m,
        file: name,
        text: lf(m.text),
        html: lf(m.html),
        header(h) {
          const found = (m.headers || []).find(([k]) => k.toLowerCase() === h.toLowerCase());
          return found ? found[1] : undefined;
        },
      });
    }
    return out;
  }

  /** Messages sent (envelope) to `address`. */
  messagesTo(address) {
    return this.messages().filter((m) => m.rcptTos.map((a) => a.toLowerCase()).includes(address.toLowerCase()));
  }

  /** Wait for the first message matching `predicate` (default: any); throws on timeout. */
  async waitFor(predicate = () => true, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages().find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const seen = this.messages().map((m) => `${m.rcptTos.join(',')}: ${m.subject}`);
        throw new Error(`no matching mail within ${timeoutMs} ms; received: ${JSON.stringify(seen)}`);
      }
      await sleep(25);
    }
  }

  /** Wait for the first message to `address` (envelope recipient). */
  waitForTo(address, timeoutMs) {
    return this.waitFor((m) => m.rcptTos.map((a) => a.toLowerCase()).includes(address.toLowerCase()), timeoutMs);
  }

  /** Assert that no message matching `predicate` arrives within `ms` (mail is sent in the background). */
  async expectNone(predicate = () => true, ms = 1500, what = 'mail') {
    await sleep(ms);
    const hits = this.messages().filter(predicate);
    assert.equal(hits.length, 0, `expected no ${what}, got: ${JSON.stringify(hits.map((m) => [m.rcptTos, m.subject]))}`);
  }

  /** Let background mail sends settle (then count messages). */
  quiet(ms = 1500) {
    return sleep(ms);
  }

  /** Forget every message received so far. */
  clear() {
    let names = [];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return;
    }
    for (const name of names) fs.rmSync(path.join(this.dir, name), { force: true });
  }

  async stop() {
    const child = this.child;
    if (child && !this.exited) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      let timer;
      const outcome = await Promise.race([
        this.exitedP,
        new Promise((r) => {
          timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await this.exitedP;
      }
    }
    this.child = null;
    if (this.root) {
      await fsp.rm(this.root, { recursive: true, force: true });
      roots.delete(this.root);
    }
    this.root = '';
  }
}

/** Start an SMTP sink (see SmtpSink); stop it with `await sink.stop()`. */
export async function startSmtpSink() {
  return new SmtpSink().start();
}

/**
 * Start an SMTP sink for the current test file (before/after hooks, like
 * useServer). Call it BEFORE useServer so it is running when the server's
 * setup points the settings at it. Returns the (lazily started) handle.
 */
export function useSmtpSink() {
  const sink = new SmtpSink();
  before(async () => {
    await sink.start();
  });
  after(async () => {
    await sink.stop();
  });
  return sink;
}

export const MAIL_META = {
  appName: 'Cairn Mail Test',
  appURL: 'http://app.example.test',
  senderName: 'Mail Bot',
  senderAddress: 'bot@mail.example.test',
};

/**
 * Point the server's mail settings at the sink (PocketBase's settings shape:
 * smtp {enabled, host, port, username, password, authMethod, tls, localName},
 * meta {appName, appURL, senderName, senderAddress, ...}).
 */
export async function useSmtpSettings(pb, sink, meta = {}) {
  return pb.settings.update({
    smtp: { enabled: true, host: sink.host, port: sink.port, tls: false, username: '', password: '', authMethod: '' },
    meta: { ...MAIL_META, ...meta },
  });
}

/** The first link in a mail body that contains `marker`, e.g. '/confirm-verification/'. */
export function mailLink(mail, marker) {
  const body = mail.html ?? mail.text ?? '';
  const re = /href="([^"]+)"/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const href = m[1].replace(/&amp;/g, '&');
    if (href.includes(marker)) return href;
  }
  return undefined;
}

/** The token at the end of a link like APP_URL/_/#/auth/confirm-verification/TOKEN. */
export function mailToken(mail, marker) {
  const link = mailLink(mail, marker);
  assert.ok(link, `no link containing ${marker} in mail: ${mail.html ?? mail.text}`);
  return link.slice(link.lastIndexOf('/') + 1);
}

/**
 * Assert the envelope and headers of a mail the server sent to `to`:
 * envelope sender = meta.senderAddress, envelope recipients = [to],
 * From "senderName <senderAddress>", To, Subject, a Date and a Message-ID,
 * and both an HTML and a plain-text part.
 */
export function assertMail(mail, { to, subject, meta = MAIL_META }) {
  assert.equal(mail.mailFrom, meta.senderAddress, 'envelope sender (MAIL FROM)');
  assert.deepEqual(mail.rcptTos, [to], 'envelope recipients (RCPT TO)');
  assert.equal(mail.from, `${meta.senderName} <${meta.senderAddress}>`, 'From header');
  assert.equal(mail.to, to, 'To header');
  assert.equal(mail.subject, subject, 'Subject header');
  assert.equal(mail.cc, '', 'no Cc header');
  assert.ok(mail.header('Date'), 'Date header');
  assert.match(mail.messageId, /^<[^<>@\s]+@[^<>@\s]+>$/, 'Message-ID header');
  assert.equal(typeof mail.html, 'string', 'has a text/html part');
  assert.equal(typeof mail.text, 'string', 'has a text/plain part');
  assert.deepEqual(mail.attachments, [], 'no attachments');
}

/** Resolve a PocketBase mail template body/subject with the given placeholder values. */
export function resolveTemplate(text, values) {
  let out = text;
  for (const [k, v] of Object.entries(values)) out = out.split(k).join(v);
  return out;
}

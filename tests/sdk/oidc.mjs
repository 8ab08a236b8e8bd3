// A real OpenID Connect provider process for the OAuth2 tests.
//
// Runs `oidc-provider-mock` (PyPI, installed into <repo>/.venv) on a free
// 127.0.0.1 port. The mock accepts any client id/secret and any redirect_uri,
// signs id_tokens with RS256 and serves /userinfo. Its headless login is
// `POST /oauth2/authorize?<the authorize params>` with the form `sub=<subject>`,
// answered by a 302 to `redirect_uri?code=...&state=...`.
//
// The stock mock ignores PKCE (no code_challenge is stored, so any
// code_verifier is accepted). The launcher below registers authlib's RFC 7636
// CodeChallenge extension (not required, so non-PKCE clients still work), so a
// wrong code_verifier fails at the token endpoint (`invalid_grant`), as with a
// real provider.
//
//   OIDC_MOCK_BIN  python interpreter with oidc_provider_mock installed
//                  (default: <repo>/.venv/bin/python)
//
// Usage (top level of a test file):
//   const idp = useOidcProvider({ users: [{ sub: 'alice', email: 'alice@example.test', email_verified: true }] });
//   const srv = useServer(async (s) => { await idp.ready(); ... configure providers with idp.authURL ... });
//   ... idp.url, idp.authURL, idp.tokenURL, idp.userInfoURL, await idp.setUser('bob', {...})
//   const { code, state } = await authorize(providerAuthURL, redirectURL, 'alice');

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { before, after } from 'node:test';
import { REPO_ROOT } from './harness.mjs';

const PYTHON = process.env.OIDC_MOCK_BIN
  ? path.resolve(process.cwd(), process.env.OIDC_MOCK_BIN)
  : path.join(REPO_ROOT, '.venv', 'bin', 'python');
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

// Runs the mock's own CLI (`oidc-provider-mock ...`) after enabling PKCE checks.
const LAUNCHER = `
import sys
import authlib.integrations.flask_oauth2 as flask_oauth2
from authlib.oauth2.rfc7636 import CodeChallenge
from oidc_provider_mock import _app
from oidc_provider_mock.__main__ import run

_challenges = {}
_orig_save = _app.AuthorizationCodeGrant.save_authorization_code

def _save_authorization_code(self, code, request):
    _orig_save(self, code, request)
    data = request.payload.data
    _challenges[code] = (data.get("code_challenge"), data.get("code_challenge_method"))

_app.AuthorizationCodeGrant.save_authorization_code = _save_authorization_code

class _PKCE(CodeChallenge):
    def get_authorization_code_challenge(self, authorization_code):
        return _challenges.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code):
        return _challenges.get(authorization_code.code, (None, None))[1]

_orig_register = flask_oauth2.AuthorizationServer.register_grant

def _register_grant(self, grant_cls, extensions=None):
    if grant_cls is _app.AuthorizationCodeGrant:
        extensions = list(extensions or []) + [_PKCE(required=False)]
    return _orig_register(self, grant_cls, extensions)

flask_oauth2.AuthorizationServer.register_grant = _register_grant
sys.argv[0] = "oidc-provider-mock"
sys.exit(run())
`;

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

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

class OidcProvider {
  constructor(opts = {}) {
    this.opts = opts;
    this.startP = null;
    this.url = '';
    this.child = null;
    this.log = '';
    this.exited = null;
    this.exitedP = null;
    this.discovery = null;
  }

  get authURL() {
    return `${this.url}/oauth2/authorize`;
  }
  get tokenURL() {
    return `${this.url}/oauth2/token`;
  }
  get userInfoURL() {
    return `${this.url}/userinfo`;
  }

  /** Start once (memoized); safe to await from several hooks. */
  ready() {
    this.startP ??= this.start(this.opts);
    return this.startP;
  }

  /**
   * users: [{sub, ...claims}] predefined users (claims are served as-is in the
   * id_token and /userinfo; standard claims only for the matching scope, e.g.
   * email/email_verified need the "email" scope).
   */
  async start({ users = [] } = {}) {
    if (!fs.existsSync(PYTHON)) throw new Error(`python not found: ${PYTHON} (pip install oidc-provider-mock into .venv)`);
    const port = await freePort();
    const args = ['-c', LAUNCHER, '-H', '127.0.0.1', '-p', String(port)];
    for (const u of users) args.push('--user-claims', JSON.stringify(u));
    this.log += `$ oidc-provider-mock -H 127.0.0.1 -p ${port} ${users.map((u) => `--user-claims '${JSON.stringify(u)}'`).join(' ')}\n`;
    const child = spawn(PYTHON, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', PYTHONWARNINGS: 'ignore', PYTHONUNBUFFERED: '1' },
    });
    this.child = child;
    running.add(child);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (this.log += d));
    child.stderr.on('data', (d) => (this.log += d));
    this.exitedP = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        this.exited = { code, signal };
        this.log += `\n[oidc provider exited: code=${code} signal=${signal}]\n`;
        resolve(this.exited);
      });
    });
    child.on('error', (err) => (this.log += `\n[spawn error: ${err.message}]\n`));

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline && !this.exited) {
      try {
        const r = await fetch(`${url}/.well-known/openid-configuration`);
        if (r.status === 200) {
          this.url = url;
          this.discovery = await r.json();
          return this;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    await this.stop();
    throw new Error(`oidc provider did not start\n--- output ---\n${this.log}`);
  }

  /** Create or replace a user's claims at runtime (PUT /users/{sub}). */
  async setUser(sub, claims) {
    const r = await fetch(`${this.url}/users/${encodeURIComponent(sub)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(claims),
    });
    if (r.status !== 204) throw new Error(`PUT /users/${sub} -> ${r.status}: ${await r.text()}`);
  }

  /** SIGTERM its own PID, SIGKILL after a timeout. */
  async stop() {
    const child = this.child;
    if (!child || this.exited) return;
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([this.exitedP, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await this.exitedP;
    }
    if (process.env.SDK_SHOW_LOGS === '1') process.stderr.write(`--- oidc provider output ---\n${this.log}\n`);
  }
}

/** Start a provider now; call `.stop()` when done. */
export async function startOidcProvider(opts = {}) {
  return new OidcProvider().start(opts);
}

/**
 * One provider for the current test file (before/after hooks); returns its
 * (lazily filled) handle. node:test does not order separate root-level
 * `before` hooks, so a `useServer` setup that needs the provider's URLs must
 * `await idp.ready()` (memoized: the provider starts once).
 */
export function useOidcProvider(opts = {}) {
  const idp = new OidcProvider(opts);
  before(async () => {
    await idp.ready();
  });
  after(async () => {
    await idp.stop();
  });
  return idp;
}

/**
 * The headless login: POST the authorize URL (PocketBase's provider authURL,
 * which ends with `&redirect_uri=`) with the form `sub=<sub>` and read the 302.
 * `redirectURL` (when given) replaces the redirect_uri param. `deny: true`
 * presses the mock's "deny" button instead (302 with error=access_denied).
 *
 * Returns {code, state, error, location} from the redirect Location.
 */
export async function authorize(authURL, redirectURL, sub, { deny = false } = {}) {
  const u = new URL(authURL);
  if (redirectURL !== undefined && redirectURL !== null) u.searchParams.set('redirect_uri', redirectURL);
  const form = new URLSearchParams(deny ? { action: 'deny' } : { sub });
  const r = await fetch(u, { method: 'POST', body: form, redirect: 'manual' });
  const location = r.headers.get('location');
  if (r.status !== 302 || !location) {
    throw new Error(`authorize: expected a 302 redirect, got ${r.status}: ${(await r.text()).slice(0, 500)}`);
  }
  const loc = new URL(location);
  return {
    code: loc.searchParams.get('code'),
    state: loc.searchParams.get('state'),
    error: loc.searchParams.get('error'),
    location,
  };
}

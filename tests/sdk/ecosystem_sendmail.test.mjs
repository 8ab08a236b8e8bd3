// The sendmail fallback (docs/ecosystem.md): with SMTP disabled each mail is
// piped to `sendmail -i -t` as an RFC 5322 message. The program comes from
// CAIRN_SENDMAIL (config.toml `sendmail`) or PocketBase's lookup (PATH here);
// a failing program is logged and never shown to the client.

import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { IS_POCKETBASE } from './harness.mjs';
import { startServer } from './ecosystem_fixtures.mjs';

const skip = IS_POCKETBASE ? 'CAIRN_SENDMAIL is Cairn configuration (SDK_TARGET=pocketbase)' : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await cond();
    if (v) return v;
    await sleep(50);
  }
  return null;
}

const PW = 'sendmail-pass-1';

async function signUp(srv, email) {
  await srv.pb.collection('users').create({ email, password: PW, passwordConfirm: PW });
}

let configured;
let failing;

before(async () => {
  if (skip) return;
  // A program named by configuration, in a directory not on PATH.
  const dir = await fsp.mkdtemp(path.join((await import('node:os')).tmpdir(), 'cairn-sendmail-'));
  const out = path.join(dir, 'configured.eml');
  const prog = path.join(dir, 'mta');
  // Written aside and renamed, so the test never reads half a message.
  await fsp.writeFile(prog, `#!/bin/sh\n{ echo "ARGS: $*"; cat; } > "${out}.part" && mv "${out}.part" "${out}"\n`, { mode: 0o755 });
  const bad = path.join(dir, 'broken-mta');
  await fsp.writeFile(bad, '#!/bin/sh\ncat >/dev/null\necho "relay refused the message" >&2\nexit 75\n', { mode: 0o755 });
  configured = { srv: await startServer('cairn', { env: { CAIRN_SENDMAIL: prog } }), out, dir };
  failing = await startServer('cairn', { env: { CAIRN_SENDMAIL: bad } });
});

after(async () => {
  await configured?.srv.stop();
  await failing?.stop();
  if (configured) await fsp.rm(configured.dir, { recursive: true, force: true });
});

test('CAIRN_SENDMAIL names the program; it gets an RFC 5322 message on stdin', { skip }, async () => {
  const { srv, out } = configured;
  await signUp(srv, 'cfg@example.com');
  await srv.pb.collection('users').requestPasswordReset('cfg@example.com');
  const raw = await waitFor(() => fsp.readFile(out, 'utf8').catch(() => null));
  assert.ok(raw, 'the configured program ran');
  const [args, ...rest] = raw.split('\n');
  assert.equal(args, 'ARGS: -i -t');
  const message = rest.join('\n');
  assert.match(message, /^To: cfg@example\.com\r?$/m);
  assert.match(message, /^Subject: Reset your .+ password\r?$/m);
  assert.match(message, /^From: /m);
  assert.match(message, /^Content-Type: multipart\/alternative/m);
  assert.match(message, /confirm-password-reset/);
  // The PATH program (the fixture's fake sendmail) was not used.
  assert.deepEqual(await srv.mails(), []);
});

test('a failing sendmail is logged, never shown to the client', { skip }, async () => {
  await signUp(failing, 'fail@example.com');
  // The client gets PocketBase's usual answer.
  assert.equal(await failing.pb.collection('users').requestPasswordReset('fail@example.com'), true);
  assert.equal(await failing.pb.collection('users').requestVerification('fail@example.com'), true);
  const line = await waitFor(() => failing.log().split('\n').find((l) => l.includes('mail not sent')));
  assert.ok(line, `no log line:\n${failing.log()}`);
  assert.match(line, /relay refused the message/);
  assert.match(line, /exit status: 75/);
  // The log carries no token or link.
  assert.doesNotMatch(failing.log(), /confirm-password-reset\/ey/);
});

// First run (DASHBOARD.md item 8): with no superuser the server prints a
// one-time link /_/#/pbinstall/TOKEN; /_/ offers to create the first
// superuser; the link fills in the token; afterwards REST sign-in works and
// the installer is gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, after } from 'node:test';
import { BIN, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, newPage, test } from './dashboard_fixtures.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const srv = { url: '', child: null, root: '', out: '' };

before(async () => {
  if (skip) return;
  srv.root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cairn-sdk-cairn-install-'));
  srv.child = spawn(BIN, ['serve', '--http', '127.0.0.1:0', '--dir', path.join(srv.root, 'data')], { cwd: srv.root, stdio: ['ignore', 'pipe', 'pipe'] });
  srv.child.stdout.setEncoding('utf8');
  srv.child.stdout.on('data', (d) => (srv.out += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !/pbinstall\/\S+/.test(srv.out)) await new Promise((r) => setTimeout(r, 50));
  srv.url = /Server started at (http:\/\/[\d.]+:\d+)/.exec(srv.out)?.[1];
  assert.ok(srv.url, srv.out);
});
after(async () => {
  if (srv.child) {
    process.kill(srv.child.pid, 'SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
  }
  if (srv.root) await fsp.rm(srv.root, { recursive: true, force: true });
});
const b = useBrowser();

test('first run: install link creates the first superuser', b, async () => {
  if (skip) return;
  const link = /(http:\/\/\S+\/_\/#\/pbinstall\/\S+)/.exec(srv.out)[1];
  assert.ok(link.startsWith(srv.url));
  const page = await newPage(b, srv);
  await page.goto('/_/');
  await page.getByRole('heading', { name: 'Create your first superuser' }).waitFor();
  // A wrong token is refused.
  await page.getByLabel('Setup token').fill('not-the-token');
  await page.getByLabel('Email').fill('first@example.com');
  await page.getByLabel('Password', { exact: true }).fill('first-pass-123');
  await page.getByLabel('Password again').fill('first-pass-123');
  await page.getByRole('button', { name: /Create superuser/ }).click();
  await page.getByRole('alert').waitFor();
  let r = await fetch(`${srv.url}/api/collections/_superusers/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'first@example.com', password: 'first-pass-123' }),
  });
  assert.equal(r.status, 400);
  // The printed link fills in the token.
  await page.goto(link);
  await page.waitForURL('**/_/install?token=*');
  await page.getByLabel('Email').fill('first@example.com');
  await page.getByLabel('Password', { exact: true }).fill('first-pass-123');
  await page.getByLabel('Password again').fill('first-pass-123');
  await page.getByRole('button', { name: /Create superuser/ }).click();
  // Signed in as the new superuser, as the button says.
  await page.waitForURL(/\/_\/collections(\/|$)/);
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  assert.match(await page.getByRole('button', { name: /Sign out/ }).innerText(), /first@example\.com/);
  r = await fetch(`${srv.url}/api/collections/_superusers/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'first@example.com', password: 'first-pass-123' }),
  });
  assert.equal(r.status, 200);
  // The installer is gone.
  const guest = await newPage(b, srv);
  await guest.goto(link);
  await guest.waitForURL('**/_/login');
});

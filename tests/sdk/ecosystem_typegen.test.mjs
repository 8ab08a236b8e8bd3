// PocketBase's type generators run against Cairn and against PocketBase
// 0.40.6 on the same schema (every field type, an auth collection, a view)
// must write the same TypeScript, file for file:
//
// - npm `pocketbase-typegen` (CLI `pocketbase-typegen`): signs in with a
//   multipart body (URL + email/password mode) or takes a superuser token
//   (token mode), then reads GET /api/collections?perPage=200.
// - npm `pocketbase-types` (CLI `pocketbase-types`): signs in and lists
//   collections with the official JS SDK (getFullList).
//
// Both list system collections too, so Cairn's own (`_roles`, ...) must not
// show while unused (docs/ecosystem.md).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './harness.mjs';
import { createSchema, startBoth } from './ecosystem_fixtures.mjs';

const execFileP = promisify(execFile);
const MODULES = path.join(REPO_ROOT, 'tests', 'sdk', 'node_modules');
const TYPEGEN = path.join(MODULES, 'pocketbase-typegen', 'dist', 'cli.js');
const TYPES = path.join(MODULES, 'pocketbase-types', 'dist', 'cli', 'index.js');

let servers;

before(async () => {
  servers = await startBoth();
  await Promise.all([createSchema(servers.cairn.pb), createSchema(servers.pocketbase.pb)]);
});

after(async () => {
  await servers?.stop();
});

/** Runs a generator CLI in the server's root and returns the file it wrote. */
async function generate(srv, script, args, out) {
  const cwd = srv.root;
  const { stdout, stderr } = await execFileP(process.execPath, [script, ...args], {
    cwd,
    timeout: 60_000,
    env: { ...process.env, PB_TYPEGEN_URL: '', PB_URL: '' },
  });
  try {
    return await fsp.readFile(path.join(cwd, out), 'utf8');
  } catch (e) {
    throw new Error(`${path.basename(script)} wrote no ${out} for ${srv.kind}:\n${stdout}\n${stderr}\n${e}`);
  }
}

const bothOf = (f) => Promise.all([f(servers.cairn), f(servers.pocketbase)]);

function assertSameTypes(cairn, pocketbase, what) {
  // Line by line first, for a readable failure.
  const a = cairn.split('\n');
  const b = pocketbase.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    assert.equal(a[i], b[i], `${what}: line ${i + 1} differs (Cairn vs PocketBase)`);
  }
  assert.equal(cairn, pocketbase);
}

function assertCovers(types) {
  for (const name of ['authors', 'posts', 'post_stats', '_superusers', 'users']) {
    assert.ok(types.includes(`"${name}"`), `types for ${name}`);
  }
  for (const cairnOwn of ['_roles', '_roleAssignments', '_policies', '_apiKeys']) {
    assert.ok(!types.includes(cairnOwn), `${cairnOwn} is listed`);
  }
}

test('pocketbase-typegen (URL + email/password) writes the same types', async () => {
  const [cairn, pocketbase] = await bothOf((s) =>
    generate(s, TYPEGEN, ['--url', s.url, '--email', SUPERUSER_EMAIL, '--password', SUPERUSER_PASSWORD, '--out', 'typegen-pw.ts'], 'typegen-pw.ts'),
  );
  assertCovers(pocketbase);
  assertSameTypes(cairn, pocketbase, 'typegen');
  assert.match(cairn, /geoPoint|GeoPoint/, 'geoPoint type emitted');
});

test('pocketbase-typegen (token mode) writes the same types', async () => {
  const [cairn, pocketbase] = await bothOf((s) =>
    generate(s, TYPEGEN, ['--url', s.url, '--token', s.pb.authStore.token, '--out', 'typegen-token.ts'], 'typegen-token.ts'),
  );
  assertCovers(pocketbase);
  assertSameTypes(cairn, pocketbase, 'typegen --token');
});

test('pocketbase-types writes the same types', async () => {
  const [cairn, pocketbase] = await bothOf((s) =>
    generate(s, TYPES, ['--url', s.url, '--email', SUPERUSER_EMAIL, '--password', SUPERUSER_PASSWORD, '--output', 'pb-types.ts'], 'pb-types.ts'),
  );
  assertCovers(pocketbase);
  assertSameTypes(cairn, pocketbase, 'pocketbase-types');
});

test('typegen refuses a wrong password on both servers alike', async () => {
  const results = await bothOf(async (s) => {
    try {
      await execFileP(process.execPath, [TYPEGEN, '--url', s.url, '--email', SUPERUSER_EMAIL, '--password', 'wrong-password', '--out', 'never.ts'], {
        cwd: s.root,
        timeout: 60_000,
      });
    } catch {
      /* exit code is the tool's business */
    }
    return fsp
      .access(path.join(s.root, 'never.ts'))
      .then(() => 'written')
      .catch(() => 'not written');
  });
  assert.deepEqual(results, ['not written', 'not written']);
});

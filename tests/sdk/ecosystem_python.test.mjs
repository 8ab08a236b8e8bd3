// The community Python SDK (PyPI `pocketbase`, pinned in requirements.txt)
// against Cairn and PocketBase 0.40.6 on the same schema: sign-in, records,
// realtime (collection and single record), mail flows through the sendmail
// fallback, settings. python/sdk_flows.py drives the SDK and reports what it
// saw; both servers must report the same, and the right, things.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './harness.mjs';
import { PYTHON, createSchema, startBoth } from './ecosystem_fixtures.mjs';

const execFileP = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'tests', 'sdk', 'python', 'sdk_flows.py');

let servers;
const seen = {};

async function runFlows(srv) {
  try {
    const { stdout } = await execFileP(PYTHON, [SCRIPT, srv.url, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, srv.outbox], {
      timeout: 120_000,
      maxBuffer: 1 << 20,
    });
    return JSON.parse(stdout.trim().split('\n').pop());
  } catch (e) {
    throw new Error(`sdk_flows.py failed against ${srv.kind}:\n${e.stdout ?? ''}\n${e.stderr ?? e}\n--- server ---\n${srv.log().slice(-3000)}`);
  }
}

before(async () => {
  assert.ok(fs.existsSync(PYTHON), `no venv python at ${PYTHON} (scripts/test installs it)`);
  servers = await startBoth();
  await Promise.all([createSchema(servers.cairn.pb), createSchema(servers.pocketbase.pb)]);
  // One at a time: the runs are timing-sensitive (realtime) on a small machine.
  seen.pocketbase = await runFlows(servers.pocketbase);
  seen.cairn = await runFlows(servers.cairn);
});

after(async () => {
  await servers?.stop();
});

const both = (key) => [seen.cairn[key], seen.pocketbase[key]];

function same(key) {
  const [cairn, pocketbase] = both(key);
  assert.deepEqual(cairn, pocketbase, `${key}: Cairn vs PocketBase`);
  return cairn;
}

test('Python SDK: sign-in, refresh and a refused password', () => {
  assert.equal(same('superuser_signin'), true);
  assert.equal(same('user_signin'), true);
  assert.equal(same('auth_refresh'), true);
  assert.deepEqual(same('bad_password'), { status: 400, message: 'Failed to authenticate.' });
});

test('Python SDK: records, expand, list filters, modifiers, views, errors', () => {
  assert.deepEqual(same('record_view'), {
    title: 'first',
    views: 3,
    tags: ['a', 'b'],
    meta: { k: 1 },
    expand_author: 'Py',
  });
  assert.deepEqual(same('record_list'), { total: 2, titles: ['second', 'first'] });
  assert.equal(same('record_update'), 12);
  assert.deepEqual(same('view_collection'), ['first', 'second']);
  assert.equal(same('missing_record').status, 404);
  assert.equal(same('invalid_create').status, 400);
});

test('Python SDK: realtime on a collection and on a single record', () => {
  assert.equal(same('realtime_connected'), true);
  assert.deepEqual(same('realtime_collection'), [
    ['update', 'p2'],
    ['update', 'p1'],
    ['delete', 'p2'],
  ]);
  assert.deepEqual(same('realtime_record'), [['update', 'p1']]);
});

test('Python SDK: mail flows go through sendmail -i -t with SMTP disabled', () => {
  assert.equal(same('smtp_enabled'), false);
  for (const key of ['verification_mail', 'reset_mail', 'email_change_mail']) {
    const mail = same(key);
    assert.equal(mail.args, 'ARGS: -i -t', key);
    assert.match(mail.subject, /PySDK/, key);
  }
  assert.equal(same('verification_confirmed'), true);
  assert.equal(same('verified'), true);
  assert.equal(same('reset_confirmed'), true);
  assert.equal(same('signin_new_password'), true);
  assert.equal(same('unknown_email_reset'), true);
  assert.equal(same('email_changed'), true);
  assert.equal(same('new_email_signin'), true);
});

test('Python SDK: settings read and update', () => {
  assert.deepEqual(same('settings_keys'), ['batch', 'logs', 'meta', 'rateLimits', 'smtp']);
  assert.equal(same('settings_app_name'), 'PySDK');
  // Nothing reported that the two servers disagree on.
  assert.deepEqual(Object.keys(seen.cairn).sort(), Object.keys(seen.pocketbase).sort());
});

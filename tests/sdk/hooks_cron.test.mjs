// cronAdd/cronRemove in pb_hooks run on the app's scheduler, the same on
// PocketBase 0.40.6 and Cairn: a hook's job is listed by GET /api/crons, a
// removed one is not, POST /api/crons/{id} runs it (the job writes a record),
// and a hook file added or deleted at runtime adds or drops its jobs.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins');

const srv = useServer(async (s) => {
  await fsp.cp(path.join(FIXTURES, 'pb_migrations'), path.join(s.root, 'pb_migrations'), { recursive: true });
  await fsp.cp(path.join(FIXTURES, 'pb_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
});

const waitFor = async (cond, ms = 15000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (await cond()) return true;
    } catch {
      // the server may be restarting (PocketBase restarts on hook changes)
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

const jobs = async () => (await srv.su('GET', '/api/crons')).json;

test('a cronAdd job is listed, a cronRemove-d one is not', async () => {
  const list = await jobs();
  assert.deepEqual(
    list.find((j) => j.id === 'hookTally'),
    { id: 'hookTally', expression: '0 0 1 1 *' },
  );
  assert.equal(list.some((j) => j.id === 'dropped'), false);
  // The built-in jobs are still there next to it.
  assert.ok(list.some((j) => j.id === '__pbDBOptimize__'));
});

test('POST /api/crons/{id} runs the hook job, which writes a record', async () => {
  const count = async () =>
    (await srv.pb.collection('posts').getList(1, 1, { filter: 'title = "Cron tally"' })).totalItems;
  assert.equal(await count(), 0);
  const guest = await srv.api('POST', '/api/crons/hookTally');
  assert.equal(guest.status, 401);
  const r = await srv.su('POST', '/api/crons/hookTally');
  assert.equal(r.status, 204, r.text);
  assert.ok(await waitFor(async () => (await count()) === 1), 'the cron job did not write');
  // The first run may still be finishing (its record is visible before the
  // job returns), and Cairn skips a run of a job that is still running: ask
  // again until a second run has written.
  assert.ok(
    await waitFor(async () => {
      if ((await count()) >= 2) return true;
      await srv.su('POST', '/api/crons/hookTally');
      return false;
    }),
    'the second run did not write',
  );
  const unknown = await srv.su('POST', '/api/crons/dropped');
  assert.equal(unknown.status, 404);
});

test('a hook file added at runtime schedules its jobs; deleting it drops them', async () => {
  const file = path.join(srv.root, 'pb_hooks', 'later.pb.js');
  await fsp.writeFile(file, 'cronAdd("later", "0 3 * * *", () => {})\n');
  assert.ok(
    await waitFor(async () => (await jobs()).some((j) => j.id === 'later' && j.expression === '0 3 * * *')),
    'the new job was not listed',
  );
  await fsp.rm(file);
  assert.ok(await waitFor(async () => !(await jobs()).some((j) => j.id === 'later')), 'the job was not dropped');
  assert.ok((await jobs()).some((j) => j.id === 'hookTally'));
});

// Edge cases, checked on PocketBase 0.40.6: a hook job with a built-in job's
// id replaces it and cronRemove removes one, except __pbLogsCleanup__ (and
// __pbAutoBackup__), which PocketBase registers again from the settings
// after loading the hooks. Without the hook, the built-in jobs are back
// (PocketBase restarts; Cairn reloads in-process).
test('a hook job replaces a built-in job of the same id until the hook is gone', async () => {
  const file = path.join(srv.root, 'pb_hooks', 'zz_builtin.pb.js');
  const expr = async (id) => (await jobs()).find((j) => j.id === id)?.expression;
  await fsp.writeFile(file, [
    'cronAdd("__pbDBOptimize__", "6 5 * * *", () => {',
    '  const r = new Record($app.findCollectionByNameOrId("posts"))',
    '  r.set("title", "Optimize replaced")',
    '  r.set("slug", "optimize-" + $security.randomString(8).toLowerCase())',
    '  r.set("status", "published")',
    '  $app.save(r)',
    '})',
    'cronRemove("__pbOTPCleanup__")',
    'cronAdd("__pbLogsCleanup__", "5 5 * * *", () => {})',
    '',
  ].join('\n'));
  assert.ok(await waitFor(async () => (await expr('__pbDBOptimize__')) === '6 5 * * *'), 'not replaced');
  assert.equal(await expr('__pbOTPCleanup__'), undefined);
  assert.equal(await expr('__pbLogsCleanup__'), '0 */6 * * *');
  assert.equal(await expr('__pbMFACleanup__'), '0 * * * *');

  const count = async () =>
    (await srv.pb.collection('posts').getList(1, 1, { filter: 'title = "Optimize replaced"' })).totalItems;
  assert.equal((await srv.su('POST', '/api/crons/__pbDBOptimize__')).status, 204);
  assert.ok(await waitFor(async () => (await count()) === 1), 'the hook handler did not run');

  await fsp.rm(file);
  assert.ok(await waitFor(async () => (await expr('__pbDBOptimize__')) === '0 0 * * *'), 'the built-in job did not come back');
  assert.ok(await waitFor(async () => (await expr('__pbOTPCleanup__')) === '0 * * * *'), 'the removed job did not come back');
  assert.equal((await srv.su('POST', '/api/crons/__pbDBOptimize__')).status, 204);
});

test('cronAdd with an invalid expression fails the file loudly, naming it', async () => {
  const file = path.join(srv.root, 'pb_hooks', 'bad_cron.pb.js');
  await fsp.writeFile(file, 'cronAdd("badExpr", "not a cron", () => {})\ncronAdd("afterBad", "@daily", () => {})\n');
  const logged = () => /failed to execute bad_cron\.pb\.js[\s\S]{0,300}badExpr[\s\S]{0,200}invalid cron expression/.test(srv.log);
  assert.ok(await waitFor(async () => logged()), 'no load error naming the file');
  const list = await jobs();
  assert.equal(list.some((j) => j.id === 'badExpr' || j.id === 'afterBad'), false);
  // The other hook files still run.
  assert.ok(list.some((j) => j.id === 'hookTally'));
  await fsp.rm(file);
});

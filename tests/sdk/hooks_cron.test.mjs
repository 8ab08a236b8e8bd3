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
  await srv.su('POST', '/api/crons/hookTally');
  assert.ok(await waitFor(async () => (await count()) === 2), 'the second run did not write');
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

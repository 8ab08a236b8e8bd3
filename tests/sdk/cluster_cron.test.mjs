// Cron across nodes (docs/scaling.md "Periodic jobs run once", POSTGRES.md
// behaviour 12): two Cairn nodes on one PostgreSQL database load the same
// pb_hooks `cronAdd` job, every minute. Each tick runs once cluster-wide
// (on the node holding the leader's advisory lock); when that node is killed
// with SIGKILL, the other runs the next tick, even one due less than 30 s
// after the kill. PostgreSQL only (SDK_STORE=postgres); the file takes about
// three minutes, as cron ticks are whole minutes.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { before, after } from 'node:test';
import { Server, test, describe, ON_POSTGRES } from './harness.mjs';
import { sleep, waitFor } from './realtime_fixtures.mjs';

/** The same job on every node; only the node name it records differs. */
const hook = (node) => `cronAdd("clusterTick", "* * * * *", () => {
  const r = new Record($app.findCollectionByNameOrId("ticks"));
  r.set("node", ${JSON.stringify(node)});
  r.set("minute", new Date().toISOString().slice(0, 16));
  $app.save(r);
});
`;

async function withHook(node, name) {
  await fsp.mkdir(path.join(node.root, 'pb_hooks'), { recursive: true });
  await fsp.writeFile(path.join(node.root, 'pb_hooks', 'tick.pb.js'), hook(name));
  await node.restart();
}

/** Poll twice a second (waitFor alone polls every 10 ms), for up to `ms`. */
const waitSlow = (pred, ms, what) => waitFor(async () => (await sleep(500), pred()), ms, what);

/** Every tick so far, oldest first: {node, minute}. */
async function ticks(node) {
  const all = await node.pb.collection('ticks').getFullList({ sort: 'minute', fields: 'node,minute' });
  return all.map(({ node: n, minute }) => ({ node: n, minute }));
}

function assertOncePerMinute(list) {
  const per = new Map();
  for (const t of list) per.set(t.minute, [...(per.get(t.minute) ?? []), t.node]);
  const twice = [...per].filter(([, nodes]) => nodes.length > 1);
  assert.deepEqual(twice, [], 'a tick ran on more than one node');
}

describe('a cron job on two nodes', { skip: ON_POSTGRES ? false : 'needs SDK_STORE=postgres' }, () => {
  const nodes = {};
  before(async () => {
    nodes.A = await new Server().start();
    await nodes.A.pb.collections.create({
      name: 'ticks',
      type: 'base',
      fields: [{ name: 'node', type: 'text' }, { name: 'minute', type: 'text' }],
    });
    await withHook(nodes.A, 'A');
    nodes.B = await nodes.A.peer();
    await withHook(nodes.B, 'B');
  });
  after(async () => {
    await nodes.B?.stop();
    await nodes.A?.stop();
  });

  test('both nodes up: two ticks in a row, each run by one node only', { timeout: 150_000 }, async () => {
    await waitSlow(async () => (await ticks(nodes.A)).length >= 2, 135_000, 'two ticks');
    const list = await ticks(nodes.B);
    assertOncePerMinute(list);
    assert.equal(new Set(list.map((t) => t.minute)).size, list.length);
  });

  test('the node running the job is killed: the other runs the next tick, due under 30 s later', { timeout: 150_000 }, async () => {
    // Kill the leader half a minute past a tick, so that the next one is due
    // less than 30 s after the kill.
    const last = (await ticks(nodes.A)).at(-1);
    const leader = last.node;
    const other = leader === 'A' ? 'B' : 'A';
    const second = new Date().getUTCSeconds();
    await sleep((second < 32 ? 32 - second : 92 - second) * 1000);
    const killedAt = new Date();
    await nodes[leader].kill('SIGKILL');
    const due = new Date(killedAt);
    due.setUTCSeconds(60, 0);
    assert.ok(due - killedAt <= 30_000, `the next tick is due ${due - killedAt} ms after the kill`);
    const minute = due.toISOString().slice(0, 16);
    await waitSlow(async () => (await ticks(nodes[other])).some((t) => t.minute === minute), 60_000, `the tick of ${minute}`);
    const list = await ticks(nodes[other]);
    assertOncePerMinute(list);
    assert.deepEqual(list.filter((t) => t.minute === minute).map((t) => t.node), [other]);
  });
});

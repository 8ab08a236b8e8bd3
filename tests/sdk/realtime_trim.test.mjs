// A resume position older than what the change log still holds
// (docs/realtime.md, "The change log"): after a trim, a subscription that
// resumes from before it gets one `reset` event naming the current end
// instead of a silent gap, and then live events. On both stores: SQLite's
// positions are numbers, PostgreSQL's opaque span tokens, whose trim keeps
// the highest transaction id it removed (`_changes_trim`). The trim is the
// built-in cron job, run on demand (`POST /api/crons/{id}`). Cairn-only.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { EventSource } from 'eventsource';
import { Server, test, describe, cairnOnly } from './harness.mjs';
import { subscribeResumable } from '../../docs/examples/resumable.mjs';
import { sleep, waitFor } from './realtime_fixtures.mjs';

globalThis.EventSource = EventSource;

/** A server that keeps the newest 3 changes at each trim. */
class KeepsThree extends Server {
  env() {
    return { ...super.env(), CAIRN_CHANGES_RETENTION_ROWS: '3' };
  }
}

describe('a resume position the trimmed log no longer reaches', { skip: cairnOnly }, () => {
  let srv;
  before(async () => {
    srv = new KeepsThree();
    await srv.start();
    await srv.pb.collections.create({
      name: 'feed',
      type: 'base',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [{ name: 'n', type: 'number' }],
    });
  });
  after(async () => {
    await srv?.stop();
  });

  test('answers one reset naming the current end, then live events', async () => {
    const pb1 = srv.client();
    const seen = [];
    const sub1 = await subscribeResumable(pb1, 'feed', '*', (e) => seen.push(e));
    for (let n = 1; n <= 7; n++) await srv.pb.collection('feed').create({ n });
    await waitFor(() => seen.length === 7, 5000, 'seven events');
    const first = seen[0].seq;
    await sub1.unsubscribe();
    pb1.realtime.unsubscribe();

    const run = await srv.su('POST', '/api/crons/__cairnChangeLogTrim__');
    assert.equal(run.status, 204, run.text);
    const count = async () => {
      const r = await srv.su('POST', '/api/sql', { body: { query: 'SELECT count(*) AS n FROM _changes' } });
      assert.equal(r.status, 200, r.text);
      return Number(r.json.rows[0][0]);
    };
    await waitFor(async () => (await count()) <= 3, 30_000, 'the log trimmed to three changes');

    const pb2 = srv.client();
    const got = [];
    const sub2 = await subscribeResumable(pb2, 'feed', '*', (e) => got.push(e), { since: first });
    try {
      await waitFor(() => got.length >= 1, 5000, 'the reset event');
      await sleep(300);
      assert.deepEqual(got.map((e) => e.action), ['reset'], 'one reset, no partial replay');
      const end = (await srv.api('GET', '/api/realtime/seq')).json.seq;
      assert.equal(typeof got[0].seq, typeof first, 'a position of the store in use');
      if (typeof end === 'number') {
        assert.equal(got[0].seq, end, 'the reset names the current end');
      } else {
        // PostgreSQL's end is the cluster-wide horizon, which other
        // databases' transactions move on in the meantime.
        assert.ok(got[0].seq > first && got[0].seq <= end, `the reset names the end as it was then: ${got[0].seq}`);
      }
      const rec = await srv.pb.collection('feed').create({ n: 8 });
      await waitFor(() => got.length === 2, 5000, 'the live event after the reset');
      assert.equal(got[1].record.id, rec.id);
      assert.ok(got[1].seq > got[0].seq, 'positions keep rising after the reset');
    } finally {
      await sub2.unsubscribe();
      pb2.realtime.unsubscribe();
    }
  });
});

// POST /api/sql, the SQL console (Cairn only): read-only by default, writes
// with an explicit flag through the writer, a row cap, a time limit, and
// every statement in the request logs.
import assert from 'node:assert/strict';
import { useServer, test, describe, errBody, cairnOnly, uniqueName, ON_POSTGRES, DATE_RE } from './harness.mjs';

const srv = useServer();
const sql = (body, token) => srv.api('POST', '/api/sql', { body, token: token ?? srv.pb.authStore.token });

describe('sql console', { skip: cairnOnly }, () => {
  test('reads, caps rows, refuses writes without the flag', async () => {
    const name = uniqueName('sq');
    await srv.pb.collections.create({ name, type: 'base', listRule: '', fields: [{ name: 'n', type: 'number' }] });
    for (const n of [1, 2, 3]) await srv.pb.collection(name).create({ n });
    const r = await sql({ query: `SELECT n, 'x' AS s FROM ${name} ORDER BY n`, maxRows: 2 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.columns, ['n', 's']);
    assert.deepEqual(r.json.rows, [[1, 'x'], [2, 'x']]);
    assert.equal(r.json.truncated, true);
    const w = await sql({ query: `DELETE FROM ${name}` });
    assert.equal(w.status, 400);
    assert.equal(w.json.message, 'The statement writes: send "write": true to run it.');
    assert.equal((await srv.pb.collection(name).getList()).totalItems, 3);
    const bad = await sql({ query: 'SELEC 1' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.message, 'Failed to execute the statement.');
    assert.match(bad.json.data.error, /syntax error/);
    const empty = await sql({ query: '' });
    assert.deepEqual(empty.json, errBody(400, 'An error occurred while validating the submitted data.', {
      query: { code: 'validation_required', message: 'Cannot be blank.' },
    }));
  });

  test('writes with write: true go through the writer', async () => {
    const name = uniqueName('sw');
    await srv.pb.collections.create({ name, type: 'base', listRule: '', fields: [{ name: 'n', type: 'number' }] });
    for (const n of [1, 2, 3]) await srv.pb.collection(name).create({ n });
    const w = await sql({ query: `UPDATE ${name} SET n = n * 10 WHERE n > 1`, write: true });
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json.changes, 2);
    const items = await srv.pb.collection(name).getFullList({ sort: 'n' });
    assert.deepEqual(items.map((i) => i.n), [1, 20, 30]);
    const tx = await sql({ query: 'BEGIN', write: true });
    assert.equal(tx.status, 400);
  });

  test('a statement past its time limit is interrupted', async () => {
    const r = await sql({
      query: 'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM c',
      timeoutMs: 200,
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'The statement took longer than its time limit.');
    const ok = await sql({ query: 'SELECT 1 AS one' });
    assert.deepEqual(ok.json.rows, [[1]]);
  });

  test('every statement is logged; superusers only', async () => {
    const marker = `marker_${Date.now()}`;
    await sql({ query: `SELECT '${marker}'` });
    const deadline = Date.now() + 5000;
    let found;
    while (!found && Date.now() < deadline) {
      found = (await srv.pb.logs.getList(1, 5, { filter: `data.type = 'sql' && data.query ~ '${marker}'` })).items[0];
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(found, 'the statement is in the logs');
    assert.equal(found.data.write, false);
    assert.equal(found.data.authId, srv.pb.authStore.record.id);
    assert.equal((await srv.api('POST', '/api/sql', { body: { query: 'SELECT 1' } })).status, 401);
    const user = await srv.userClient();
    assert.equal((await sql({ query: 'SELECT 1' }, user.authStore.token)).status, 403);
  });

  // docs/scaling.md: the console runs PostgreSQL's SQL there; a query's
  // count is not a change; times read as PocketBase prints them; the
  // backups API answers that it does not exist on PostgreSQL.
  test('on PostgreSQL: times, counts, and a clear answer from the backups API', { skip: !ON_POSTGRES }, async () => {
    const r = await sql({ query: 'SELECT now() AS t, CAST(2.5 AS numeric) AS n' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.rows[0][0], DATE_RE);
    assert.equal(r.json.rows[0][1], 2.5);
    assert.equal(r.json.changes, 0);
    const b = await srv.api('POST', '/api/backups', { body: { name: 'x.zip' }, token: srv.pb.authStore.token });
    assert.deepEqual([b.status, b.json], [400, errBody(400, 'Not supported: backups on PostgreSQL (use pg_dump).')]);
  });
});

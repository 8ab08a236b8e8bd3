// Request logs and cron jobs (issue 13): /api/logs, /api/logs/{id},
// /api/logs/stats, the `logs` and `trustedProxy` settings, /api/crons.
// Validated against PocketBase 0.40.6 (which writes logs in batches after
// up to 3 s, hence the polling).
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, ID_RE, DATE_RE, IS_POCKETBASE } from './harness.mjs';

const srv = useServer();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls the logs until `filter` matches at least `n` rows (PocketBase flushes after ~3 s). */
async function waitLogs(filter, n = 1) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await srv.pb.logs.getList(1, 50, { filter, sort: '-created' });
    if (page.items.length >= n || Date.now() > deadline) return page;
    await sleep(200);
  }
}

const uniq = () => `ua-${Math.random().toString(36).slice(2, 10)}`;

describe('request logs', () => {
  test('every request becomes a row in PocketBase shape', async () => {
    const ua = uniq();
    await srv.api('GET', '/api/collections/nope/records?x=1', { headers: { 'user-agent': ua, referer: 'http://ref.example/' } });
    await srv.api('GET', '/api/health', { headers: { 'user-agent': ua } });
    const page = await waitLogs(`data.userAgent = '${ua}'`, 2);
    assert.equal(page.items.length, 2);
    const [ok, bad] = page.items;
    assert.deepEqual(Object.keys(bad).sort(), ['created', 'data', 'id', 'level', 'message']);
    assert.match(bad.id, ID_RE);
    assert.match(bad.created, DATE_RE);
    assert.equal(bad.level, 8);
    assert.equal(bad.message, 'GET /api/collections/nope/records?x=1');
    const { details, execTime, ...rest } = bad.data;
    assert.equal(typeof execTime, 'number');
    assert.deepEqual(rest, {
      auth: '',
      error: 'Missing collection context.',
      method: 'GET',
      referer: 'http://ref.example/',
      remoteIP: '127.0.0.1',
      status: 404,
      type: 'request',
      url: '/api/collections/nope/records?x=1',
      userAgent: ua,
      userIP: '127.0.0.1',
    });
    assert.equal(ok.level, 0);
    assert.equal(ok.data.status, 200);
    assert.equal('error' in ok.data, false);
    // The dashboard's static files are not requests to log.
    await srv.api('GET', '/_/', { headers: { 'user-agent': ua } });
    const one = await srv.pb.logs.getOne(bad.id);
    assert.deepEqual(one, bad);
    await rejects(srv.pb.logs.getOne('nope0000000000x'), 404, errBody(404, "The requested resource wasn't found."));
    await sleep(IS_POCKETBASE ? 3500 : 1300);
    assert.equal((await srv.pb.logs.getList(1, 10, { filter: `data.userAgent = '${ua}'` })).totalItems, 2);
  });

  test('filter and sort over data.*, paging, bad filters', async () => {
    const ua = uniq();
    for (const s of [1, 2, 3]) await srv.api('GET', `/api/health?n=${s}`, { headers: { 'user-agent': ua } });
    await waitLogs(`data.userAgent = '${ua}'`, 3);
    const asc = await srv.pb.logs.getList(1, 2, { filter: `data.userAgent = '${ua}' && data.url ~ 'n='`, sort: 'data.url' });
    assert.equal(asc.totalItems, 3);
    assert.equal(asc.totalPages, 2);
    assert.deepEqual(asc.items.map((l) => l.data.url), ['/api/health?n=1', '/api/health?n=2']);
    const desc = await srv.pb.logs.getList(1, 1, { filter: `data.userAgent = '${ua}'`, sort: '-data.url' });
    assert.equal(desc.items[0].data.url, '/api/health?n=3');
    const generic = errBody(400, 'Something went wrong while processing your request.');
    await rejects(srv.pb.logs.getList(1, 1, { filter: 'bogus = 1' }), 400, generic);
    await rejects(srv.pb.logs.getList(1, 1, { sort: 'bogus' }), 400, generic);
  });

  test('stats: hourly buckets, filtered', async () => {
    const ua = uniq();
    await srv.api('GET', '/api/health', { headers: { 'user-agent': ua } });
    await srv.api('GET', '/api/nope', { headers: { 'user-agent': ua } });
    await waitLogs(`data.userAgent = '${ua}'`, 2);
    const stats = await srv.pb.logs.getStats({ filter: `data.userAgent = '${ua}'` });
    assert.equal(stats.length, 1);
    assert.deepEqual(Object.keys(stats[0]).sort(), ['date', 'total']);
    assert.match(stats[0].date, /^\d{4}-\d{2}-\d{2} \d{2}:00:00\.000Z$/);
    assert.equal(stats[0].total, 2);
    const errors = await srv.pb.logs.getStats({ filter: `data.userAgent = '${ua}' && level >= 8` });
    assert.equal(errors[0].total, 1);
    const all = await srv.pb.logs.getStats();
    assert.ok(all.reduce((n, s) => n + s.total, 0) >= 2);
    await rejects(srv.pb.logs.getStats({ filter: 'bogus = 1' }), 400, errBody(400, 'Invalid filter format.'));
  });

  test('settings: logAuthId, logIP, trusted proxy headers, minLevel', async () => {
    await srv.pb.settings.update({ logs: { logAuthId: true }, trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false } });
    try {
      const ua = uniq();
      const user = await srv.userClient();
      await srv.api('GET', '/api/collections/users/records', {
        token: user.authStore.token,
        headers: { 'user-agent': ua, 'x-forwarded-for': '9.9.9.9, 8.8.8.8' },
      });
      const [row] = (await waitLogs(`data.userAgent = '${ua}'`)).items;
      assert.equal(row.data.auth, 'users');
      assert.equal(row.data.authId, user.authStore.record.id);
      assert.equal(row.data.userIP, '8.8.8.8');
      assert.equal(row.data.remoteIP, '127.0.0.1');

      await srv.pb.settings.update({ logs: { logIP: false, minLevel: 4 } });
      const ua2 = uniq();
      await srv.api('GET', '/api/health', { headers: { 'user-agent': ua2 } });
      await srv.api('GET', '/api/nope', { headers: { 'user-agent': ua2 } });
      const page = await waitLogs(`data.userAgent = '${ua2}'`);
      await sleep(IS_POCKETBASE ? 3500 : 500);
      const again = await srv.pb.logs.getList(1, 10, { filter: `data.userAgent = '${ua2}'` });
      assert.equal(again.items.length, 1, 'the INFO request is not stored');
      assert.equal(page.items[0].data.status, 404);
      assert.equal('remoteIP' in page.items[0].data, false);
      assert.equal('userIP' in page.items[0].data, false);
    } finally {
      await srv.pb.settings.update({ logs: { logAuthId: false, logIP: true, minLevel: 0 }, trustedProxy: { headers: [] } });
    }
  });

  test('fields picks keys of the page items, one log and the stats buckets', async () => {
    const ua = uniq();
    await srv.api('GET', '/api/health?fields-test=1', { headers: { 'user-agent': ua } });
    const [row] = (await waitLogs(`data.userAgent = '${ua}'`)).items;
    const filter = encodeURIComponent(`data.userAgent = '${ua}'`);
    const page = (await srv.su('GET', `/api/logs?perPage=5&filter=${filter}&fields=id,data.url,level`)).json;
    assert.deepEqual(page, {
      page: 1, perPage: 5, totalItems: 1, totalPages: 1,
      items: [{ id: row.id, level: 0, data: { url: '/api/health?fields-test=1' } }],
    });
    const ex = (await srv.su('GET', `/api/logs?perPage=1&filter=${filter}&fields=message:excerpt(5,true),data.status`)).json;
    assert.deepEqual(ex.items, [{ message: 'GET /...', data: { status: 200 } }]);
    const star = (await srv.su('GET', `/api/logs?perPage=1&filter=${filter}&fields=*`)).json;
    assert.deepEqual(star.items, [row]);
    const unknown = (await srv.su('GET', `/api/logs?perPage=1&filter=${filter}&fields=nope,page`)).json;
    assert.deepEqual(unknown.items, [{}]);
    assert.equal(unknown.page, 1);
    assert.deepEqual(await srv.pb.logs.getOne(row.id, { fields: 'id,data.status' }), { id: row.id, data: { status: 200 } });
    assert.deepEqual(await srv.pb.logs.getStats({ filter: `data.userAgent = '${ua}'`, fields: 'total' }), [{ total: 1 }]);
    const bad = await srv.su('GET', '/api/logs?fields=data.url:excerpt(abc)');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, errBody(400, 'Something went wrong while processing your request.'));
  });

  test('superusers only', async () => {
    await rejects(srv.client().logs.getList(), 401, errBody(401, 'The request requires valid record authorization token.'));
    const user = await srv.userClient();
    await rejects(user.logs.getList(), 403, errBody(403, 'The authorized record is not allowed to perform this action.'));
    await rejects(user.logs.getStats(), 403);
  });
});

describe('crons', () => {
  test('lists the built-in jobs and runs one now', async () => {
    const jobs = await srv.pb.crons.getFullList();
    for (const j of jobs) assert.deepEqual(Object.keys(j).sort(), ['expression', 'id']);
    const byId = Object.fromEntries(jobs.map((j) => [j.id, j.expression]));
    assert.equal(byId.__pbDBOptimize__, '0 0 * * *');
    assert.equal(byId.__pbLogsCleanup__, '0 */6 * * *');
    assert.equal(byId.__pbMFACleanup__, '0 * * * *');
    assert.equal(byId.__pbOTPCleanup__, '0 * * * *');
    assert.equal(await srv.pb.crons.run('__pbOTPCleanup__'), true);
    assert.equal(await srv.pb.crons.run('__pbLogsCleanup__'), true);
    await rejects(srv.pb.crons.run('nope'), 404, errBody(404, 'Missing or invalid cron job.'));
    await rejects(srv.client().crons.getFullList(), 401);
    const user = await srv.userClient();
    await rejects(user.crons.run('__pbLogsCleanup__'), 403);
  });
});

// Operations pages (DASHBOARD.md): logs (filter/sort/page in the URL, the
// SVG chart, the detail page) and crons (list, run now), each cross-checked
// through REST (/api/logs, /api/crons, /api/metrics), axe-clean in light and
// dark themes, usable at 375 px, and refused without a session.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, ON_POSTGRES } from './harness.mjs';
import { useBrowser, newPage, signIn, signedInPage, assertAxeClean, test } from './dashboard_fixtures.mjs';

const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

/** Requests that leave log entries: 404s on a marked path and one 200. */
let logBatch = 0;
async function makeLogs() {
  const mark = `ops_missing_${++logBatch}_`;
  for (let i = 0; i < 3; i++) await srv.api('GET', `/api/collections/${mark}${i}/records`);
  await srv.api('GET', '/api/health');
  // The log writer is asynchronous: wait until REST sees this call's entries.
  for (let i = 0; i < 100; i++) {
    const mine = await srv.pb.logs.getList(1, 1, { filter: `data.url ~ '${mark}'` });
    const r = await srv.pb.logs.getList(1, 50, { filter: 'data.status = 404' });
    if (mine.totalItems >= 3) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the request logs never appeared');
}


const cronRuns = async () => {
  const r = await srv.su('GET', '/api/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith('cairn_cron_runs_total'));
  return Number(line?.split(' ').pop() ?? NaN);
};

test('logs page: filter and sort in the URL, chart, detail match /api/logs', b, async () => {
  if (skip) return;
  const rest = await makeLogs();
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/logs');
  await page.getByLabel(/^Filter/).fill('data.status = 404');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Apply' }).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('filter'), 'data.status = 404');
  assert.equal(url.searchParams.get('sort'), '-created');
  assert.equal(await page.locator('#total').innerText(), `${rest.totalItems} log(s)`);
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), rest.items.length);
  // Newest first, as REST sorts them.
  const restSorted = await srv.pb.logs.getList(1, 50, { filter: 'data.status = 404', sort: '-created' });
  assert.equal(await rows.first().getByRole('link').getAttribute('href'), `/_/logs/${restSorted.items[0].id}`);
  // The chart: one bar per hour, with the total from /api/logs/stats.
  const stats = await srv.pb.logs.getStats({ filter: 'data.status = 404' });
  assert.equal(await page.locator('.chart rect').count(), stats.length);
  const sum = stats.reduce((n, s) => n + s.total, 0);
  assert.match(await page.locator('.chart figcaption').innerText(), new RegExp(`^${sum} request`));
  // Sort by created ascending (one click flips the default descending sort).
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: /^Created/ }).click()]);
  assert.equal(new URL(page.url()).searchParams.get('sort'), 'created');
  assert.equal(new URL(page.url()).searchParams.get('filter'), 'data.status = 404');
  const asc = await srv.pb.logs.getList(1, 50, { filter: 'data.status = 404', sort: 'created' });
  assert.equal(await rows.first().getByRole('link').getAttribute('href'), `/_/logs/${asc.items[0].id}`);
  // Detail page shows the entry REST returns.
  await Promise.all([page.waitForEvent('load'), rows.first().getByRole('link').click()]);
  const one = await srv.pb.logs.getOne(asc.items[0].id);
  assert.match(await page.locator('pre').innerText(), new RegExp(one.data.url.replace(/[/]/g, '\\/')));
  assert.match(await page.locator('dl').innerText(), new RegExp(one.id));
  // A bad filter: 400 with an inline error, not a crash.
  const bad = await page.goto('/_/logs?filter=' + encodeURIComponent('nope ~~ ('));
  assert.equal(bad.status(), 400);
  await page.getByRole('alert').filter({ hasText: 'Invalid filter' }).waitFor();
  // A missing entry: 404 page.
  assert.equal((await page.goto('/_/logs/doesnotexist')).status(), 404);
});

test('crons page lists /api/crons and "Run now" starts the job', b, async () => {
  if (skip) return;
  const jobs = await srv.pb.crons.getFullList();
  assert.ok(jobs.length > 0, 'the built-in jobs are registered');
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/crons');
  for (const j of jobs) {
    const row = page.locator('tbody tr').filter({ hasText: j.id });
    assert.equal(await row.count(), 1, j.id);
    assert.match(await row.innerText(), new RegExp(j.expression.replace(/\*/g, '\\*')));
  }
  const before = await cronRuns();
  const id = jobs[0].id;
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: `Run now: ${id}` }).click()]);
  await page.getByRole('status').filter({ hasText: `Job ${id} started.` }).waitFor();
  for (let i = 0; i < 100 && (await cronRuns()) <= before; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok((await cronRuns()) > before, 'the cron_runs counter moved');
  // An unknown job: an error, nothing run.
  await page.goto('/_/crons?missing=nope');
  await page.getByRole('alert').filter({ hasText: 'There is no cron job nope' }).waitFor();
});

test('ops pages: signed-out redirect, CSRF, axe in both themes, 375 px', b, async () => {
  if (skip) return;
  await makeLogs();
  const anon = await newPage(b, srv, {});
  await anon.goto('/_/logs');
  assert.match(new URL(anon.url()).pathname, /^\/_\/login/);
  // A signed-in POST without the CSRF token is refused and runs nothing.
  const su = await signedInPage(b, srv, {});
  const before = await cronRuns();
  const r = await su.request.post('/_/crons/__pbDBOptimize__/run', { form: { x: '1' }, maxRedirects: 0 });
  assert.equal(r.status(), 403, await r.text());
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(await cronRuns(), before);
  for (const colorScheme of ['light', 'dark']) {
    const page = await newPage(b, srv, { colorScheme, bypassCSP: true });
    await signIn(page);
    const id = (await srv.pb.logs.getList(1, 1)).items[0].id;
    for (const p of ['/_/logs', `/_/logs/${id}`, '/_/crons', '/_/health', '/_/backups']) {
      await page.goto(p);
      await assertAxeClean(page, `${p} (${colorScheme})`);
    }
  }
  const narrow = await signedInPage(b, srv, { viewport: { width: 375, height: 700 } });
  for (const p of ['/_/logs', '/_/crons', '/_/health', '/_/backups']) {
    await narrow.goto(p);
    const over = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${p} scrolls sideways by ${over}px at 375 px`);
  }
});

test('logs page says when request logging is switched off', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/logs');
  assert.equal(await page.getByRole('alert').filter({ hasText: 'switched off' }).count(), 0);
  await srv.pb.settings.update({ logs: { maxDays: 0 } });
  try {
    await page.goto('/_/logs');
    await page.getByRole('alert').filter({ hasText: 'Request logging is switched off' }).waitFor();
    // Each chart bar names its hour and count.
    await srv.pb.settings.update({ logs: { maxDays: 5 } });
    await makeLogs();
    // Requests (these included) keep adding entries in the background: the
    // page's count lies between the counts REST gives before and after it.
    const before = (await srv.pb.logs.getStats())[0];
    await page.goto('/_/logs');
    const [date, total] = (await page.locator('.chart rect title').first().textContent()).split(': ');
    const after = (await srv.pb.logs.getStats())[0];
    assert.equal(date, before.date);
    assert.ok(Number(total) >= before.total && Number(total) <= after.total, `${total} in ${before.total}..${after.total}`);
  } finally {
    await srv.pb.settings.update({ logs: { maxDays: 5 } });
  }
});

test('health page shows the /api/metrics counters', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/health');
  const cell = (name) => page.getByRole('row', { name: new RegExp(`^${name}`) }).locator('td').innerText();
  // Counters that stay still while the page loads, compared with the scrape.
  const runs = await cronRuns();
  assert.equal(Number(await cell('Cron runs')), runs);
  const r = await srv.su('GET', '/api/metrics');
  const ok = Number(r.text.split('\n').find((l) => l.startsWith('cairn_backups_succeeded_total')).split(' ').pop());
  assert.equal(Number(await cell('Backups succeeded')), ok);
  assert.match(await cell('Memory in use'), /^[0-9.]+ MiB$/);
  assert.ok(Number(await cell('Open files')) > 0);
});

test('backups page: create and delete (confirmed) match /api/backups', b, async (t) => {
  if (skip) return;
  if (ON_POSTGRES) return t.skip('backups are not supported on PostgreSQL (use pg_dump)');
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/backups');
  await page.getByLabel(/^Name/).fill('ui_made.zip');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create backup' }).click()]);
  await page.getByRole('status').filter({ hasText: 'Backup ui_made.zip created.' }).waitFor();
  const list = await srv.pb.backups.getFullList();
  const made = list.find((x) => x.key === 'ui_made.zip');
  assert.ok(made && made.size > 0, JSON.stringify(list));
  assert.match(await page.locator('tbody tr').filter({ hasText: 'ui_made.zip' }).innerText(), new RegExp(String(made.size)));
  // A bad name: the API's message, nothing created.
  await page.getByLabel(/^Name/).fill('../bad name');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create backup' }).click()]);
  await page.getByRole('alert').waitFor();
  assert.equal((await srv.pb.backups.getFullList()).length, list.length);
  // Delete asks first, naming the backup; cancelling keeps it.
  await page.getByRole('button', { name: 'Delete: ui_made.zip' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Delete the backup ui_made\.zip\?/);
  await dialog.getByRole('button', { name: /Cancel/ }).click();
  assert.ok((await srv.pb.backups.getFullList()).some((x) => x.key === 'ui_made.zip'));
  await page.getByRole('button', { name: 'Delete: ui_made.zip' }).click();
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: /Delete|Confirm|OK/ }).click()]);
  await page.getByRole('status').filter({ hasText: 'Backup ui_made.zip deleted.' }).waitFor();
  assert.ok(!(await srv.pb.backups.getFullList()).some((x) => x.key === 'ui_made.zip'));
});

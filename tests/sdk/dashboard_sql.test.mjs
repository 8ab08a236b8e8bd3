// SQL console page (DASHBOARD.md item 24): a SELECT renders the same rows
// as POST /api/sql, bad SQL shows SQLite's message, a write is refused
// unless "Allow writes" is ticked and then asks for a confirmation first,
// "Download CSV" sends the rows as a quoted CSV attachment, and the page
// needs a session and the CSRF token. The catalogue queries are picked per
// store (SDK_STORE=postgres runs it on PostgreSQL); the rest is portable.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, ON_POSTGRES } from './harness.mjs';
import { useBrowser, newPage, signedInPage, assertAxeClean, test } from './dashboard_fixtures.mjs';

const srv = useServer();
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
/** The first tables by name, as (name, type) rows. */
const TABLES = ON_POSTGRES
  ? 'SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name LIMIT 5'
  : "SELECT name, type FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 5";
/** How many tables are called `name` (0 or 1). */
const tableCount = (name) =>
  ON_POSTGRES
    ? `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '${name}'`
    : `SELECT count(*) FROM sqlite_master WHERE name = '${name}'`;
/** A newline character in SQL (a literal one would reach the server as CRLF from the form). */
const NL = ON_POSTGRES ? 'chr(10)' : 'char(10)';

async function run(page, sql, write = false) {
  await page.getByLabel('SQL').fill(sql);
  await page.getByLabel('Allow writes').setChecked(write);
  if (!write) {
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Run' }).click()]);
    return;
  }
  // Writes allowed: the page asks first.
  await page.getByRole('button', { name: 'Run' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /writes allowed/);
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: /Confirm/ }).click()]);
}

test('SQL console: rows match /api/sql, errors shown, writes need the box', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, { bypassCSP: true });
  await page.goto('/_/sql');
  const sql = TABLES;
  await run(page, sql);
  const rest = JSON.parse((await srv.su('POST', '/api/sql', { body: { query: sql } })).text);
  const cells = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(cells, rest.rows);
  assert.ok(rest.rows.length > 0);
  assert.deepEqual(await page.locator('thead th').allTextContents(), rest.columns);
  await assertAxeClean(page, '/_/sql with rows');
  // Bad SQL: SQLite's message, no table.
  await run(page, 'SELEC nonsense');
  assert.match(await page.getByRole('alert').innerText(), /syntax error/);
  assert.equal(await page.locator('tbody tr').count(), 0);
  // A write without the box: refused, nothing created.
  await run(page, 'CREATE TABLE sql_ui_probe (x integer)');
  assert.match(await page.getByRole('alert').innerText(), /Allow writes/);
  const probe = tableCount('sql_ui_probe');
  const count = async () => Number(JSON.parse((await srv.su('POST', '/api/sql', { body: { query: probe } })).text).rows[0][0]);
  assert.equal(await count(), 0);
  // With the box ticked, the page asks first; Cancel runs nothing.
  await page.getByLabel('Allow writes').setChecked(true);
  const sent = [];
  const onRequest = (r) => r.method() === 'POST' && sent.push(r.url());
  page.on('request', onRequest);
  await page.getByRole('button', { name: 'Run' }).click();
  await page.getByRole('dialog').getByRole('button', { name: /Cancel/ }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
  page.off('request', onRequest);
  assert.deepEqual(sent, [], 'Cancel sent no request');
  assert.equal(await count(), 0);
  // Confirmed, it runs.
  await run(page, 'CREATE TABLE sql_ui_probe (x integer)', true);
  assert.equal(await page.getByRole('alert').count(), 0);
  assert.equal(await count(), 1);
  // Dark theme and 375 px, with a result table on the page.
  const dark = await signedInPage(b, srv, { bypassCSP: true, colorScheme: 'dark', viewport: { width: 375, height: 700 } });
  await dark.goto('/_/sql');
  await run(dark, sql);
  await assertAxeClean(dark, '/_/sql (dark)');
  const over = await dark.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(over <= 0, `/_/sql scrolls sideways by ${over}px at 375 px`);
});

test('SQL console is refused without a session or the CSRF token', b, async () => {
  if (skip) return;
  const anon = await newPage(b, srv, {});
  await anon.goto('/_/sql');
  assert.match(new URL(anon.url()).pathname, /^\/_\/login/);
  const su = await signedInPage(b, srv, {});
  const r = await su.request.post('/_/sql', { form: { query: 'CREATE TABLE sql_nocsrf (x integer)', write: 'on' }, maxRedirects: 0 });
  assert.equal(r.status(), 403, await r.text());
  const q = tableCount('sql_nocsrf');
  assert.equal(Number(JSON.parse((await srv.su('POST', '/api/sql', { body: { query: q } })).text).rows[0][0]), 0);
});

test('SQL console: "Download CSV" sends the rows, quoted, as an attachment', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv, {});
  await page.goto('/_/sql');
  const sql = `SELECT 'plain' AS a, 'x,y' AS "b,c", 'say "hi"' AS q, 'two' || ${NL} || 'lines' AS nl, NULL AS n, 42 AS i`;
  await page.getByLabel('SQL').fill(sql);
  // Even with writes allowed, the CSV runs read-only and asks nothing.
  await page.getByLabel('Allow writes').setChecked(true);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'result.csv');
  const fs = await import('node:fs');
  const text = fs.readFileSync(await download.path(), 'utf8');
  assert.equal(text, 'a,"b,c",q,nl,n,i\r\nplain,"x,y","say ""hi""","two\nlines",,42\r\n');
  // The headers, straight from the server.
  const csrf = await page.locator('input[name=_csrf]').first().inputValue();
  const r = await page.request.post('/_/sql/csv', { form: { _csrf: csrf, query: 'SELECT 1 AS one' } });
  assert.equal(r.status(), 200);
  assert.match(r.headers()['content-type'], /^text\/csv/);
  assert.equal(r.headers()['content-disposition'], 'attachment; filename="result.csv"');
  assert.equal(await r.text(), 'one\r\n1\r\n');
  // A write is not run for a CSV: the page shows the refusal.
  const w = await page.request.post('/_/sql/csv', { form: { _csrf: csrf, query: 'CREATE TABLE sql_csv_probe (x integer)', write: 'on' } });
  assert.match(await w.text(), /Allow writes/);
  const probe = tableCount('sql_csv_probe');
  assert.equal(Number(JSON.parse((await srv.su('POST', '/api/sql', { body: { query: probe } })).text).rows[0][0]), 0);
  // Without the CSRF token: refused.
  const nocsrf = await page.request.post('/_/sql/csv', { form: { query: 'SELECT 1' }, maxRedirects: 0 });
  assert.equal(nocsrf.status(), 403);
});

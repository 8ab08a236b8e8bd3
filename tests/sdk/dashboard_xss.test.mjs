// DASHBOARD.md item 4 on the pages dashboard_records does not visit: script
// payloads stored in select values, an editor field, JSON, a relation's
// presentable value, a file name and a `javascript:` string, and sent as a
// User-Agent so they land in the request log, then shown on the records
// list, the record editor, the relation picker, "Preview as user", the
// collection editor, the logs list and detail, and in an error message.
// Expect: no script runs, no dialog opens, the text is shown as typed, and
// no link has a `javascript:` URL.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, signedInPage, test } from './dashboard_fixtures.mjs';
import { png } from './dashboard_data.mjs';

const skip = IS_POCKETBASE ? cairnOnly : false;
const XSS = '<img src=x onerror="window.__x=1">';
const SVG = '"><svg onload="window.__x=2">';
const JS = 'javascript:window.__x=3';
let rec;
let user;
const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  const users = await s.pb.collections.getOne('users');
  await s.pb.collections.update('users', { fields: users.fields.map((f) => (f.name === 'name' ? { ...f, presentable: true } : f)) });
  user = await s.pb.collection('users').create({ email: 'probe@example.com', password: 'probe-pass-123', passwordConfirm: 'probe-pass-123', name: `${XSS} user` });
  await s.pb.collections.create({
    name: 'probe',
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'title', type: 'text', presentable: true },
      { name: 'kind', type: 'select', values: [XSS, SVG, 'plain'], maxSelect: 1 },
      { name: 'body', type: 'editor' },
      { name: 'meta', type: 'json' },
      { name: 'link', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
      { name: 'pic', type: 'file', maxSelect: 1 },
    ],
  });
  const form = new FormData();
  for (const [k, v] of Object.entries({ title: `${SVG} {{ 7*7 }}`, kind: XSS, body: `<p>${SVG}</p><script>window.__x=4</script>`, meta: JSON.stringify({ html: XSS }), link: JS, owner: user.id })) form.append(k, v);
  form.append('pic', new Blob([png()], { type: 'image/png' }), `${XSS}.png`);
  rec = await s.pb.collection('probe').create(form);
  // A request whose User-Agent is a payload: it lands in the request log.
  await fetch(`${s.url}/api/collections/probe/records`, { headers: { 'user-agent': XSS } });
});
const b = useBrowser();

/** Nothing ran, nothing popped up, and no link carries a javascript: URL. */
async function inert(page, where) {
  await page.waitForLoadState('load');
  assert.equal(await page.evaluate(() => window.__x), undefined, `a script ran on ${where}`);
  assert.equal(page.__dialogs || 0, 0, `a dialog opened on ${where}`);
  const jsLinks = await page.locator('a[href^="javascript:" i], [src^="javascript:" i]').count();
  assert.equal(jsLinks, 0, `a javascript: URL on ${where}`);
}

test('payloads in every field type, a file name, a relation label and the log render as text', b, async () => {
  if (skip) return;
  const page = await signedInPage(b, srv);
  await page.goto('/_/collections/probe');
  await inert(page, 'records list');
  const main = page.locator('main');
  assert.ok((await main.innerText()).includes(`${SVG} {{ 7*7 }}`), 'title shown as typed');
  assert.ok((await main.innerText()).includes(`${XSS} user`), 'relation label shown as typed');

  await page.goto(`/_/collections/probe/records/${rec.id}`);
  await inert(page, 'record editor');
  assert.equal(await page.getByLabel(/^link/).inputValue(), JS);
  assert.equal(await page.getByLabel(/^kind/).locator('option:checked').innerText(), XSS);
  assert.match(await page.locator('main').innerText(), /<img src=x onerror="window.__x=1"> user/);
  await page.getByRole('button', { name: 'Choose owner…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Choose owner from users' });
  await dlg.getByText(`${XSS} user`).first().waitFor();
  await inert(page, 'relation picker');

  await page.goto(`/_/collections/probe?as_coll=users&as_user=${encodeURIComponent(user.email)}`);
  await page.getByText(/Preview: these are the records the API lists for probe@example\.com/).waitFor();
  await inert(page, 'preview as user');

  await page.goto('/_/collections/probe/edit');
  await inert(page, 'collection editor');
  assert.ok((await page.getByRole('group', { name: /^kind / }).getByLabel('Choices').inputValue()).includes(XSS));

  await page.goto('/_/collections');
  await inert(page, 'collections overview');

  // An error message built from the filter.
  await page.goto('/_/collections/probe?filter=' + encodeURIComponent(`${XSS} = 1`));
  await page.getByRole('alert').first().waitFor();
  await inert(page, 'filter error');

  // The request log: the list and the entry with the payload as its User-Agent.
  let id;
  for (let i = 0; i < 100 && !id; i++) {
    const r = await srv.su('GET', '/api/logs?perPage=200');
    id = r.json.items.find((l) => (l.data?.userAgent || '').includes('onerror'))?.id;
    if (!id) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(id, 'the request was logged');
  await page.goto('/_/logs');
  await inert(page, 'logs list');
  await page.goto(`/_/logs/${id}`);
  await inert(page, 'log entry');
  assert.ok((await page.locator('main').innerText()).includes(XSS.replaceAll('"', '\\"')), 'the User-Agent shown as text');
});

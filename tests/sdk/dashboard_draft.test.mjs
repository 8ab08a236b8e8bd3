// The record editor's draft survives an expired session (DASHBOARD.md item
// 5, PocketBase's `draft_<collection>_<record>`): with a 5 s idle limit for
// this server only, a form saved after expiry goes to sign-in, nothing is
// stored, and signing in returns to the same record, where "Restore draft"
// brings back what was typed; saving it reaches REST and ends the draft.
// "Discard draft" keeps the stored values; signing out clears drafts.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './harness.mjs';
import { useBrowser, newPage, signIn, test } from './dashboard_fixtures.mjs';
import { checkLayout, submit } from './dashboard_data.mjs';

process.env.CAIRN_ADMIN_IDLE_SECS = '5';
process.env.CAIRN_ADMIN_MAX_SECS = '120';
let recId;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'notes',
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'done', type: 'bool' },
      { name: 'kind', type: 'select', values: ['a', 'b'], maxSelect: 1 },
    ],
  });
  recId = (await s.pb.collection('notes').create({ title: 'stored', n: 1, kind: 'a' })).id;
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const drafts = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('draft_')));

async function signInHere(page) {
  await page.getByLabel('Email').fill(SUPERUSER_EMAIL);
  await page.getByLabel('Password').fill(SUPERUSER_PASSWORD);
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

test('a record edit saved after the session expired is offered back after signing in', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  const path = `/_/collections/notes/records/${recId}`;
  await signIn(page, { next: path });
  await page.getByLabel(/^title/).fill('typed before expiry');
  await page.getByLabel(/^n /).fill('42');
  await page.getByLabel('done').check();
  await page.getByLabel(/^kind/).selectOption('b');
  await sleep(6500);
  await submit(page, 'Save changes');
  const login = new URL(page.url());
  assert.equal(login.pathname, '/_/login');
  assert.equal(login.searchParams.get('next'), path, 'back to the record after signing in');
  assert.equal((await srv.pb.collection('notes').getOne(recId)).title, 'stored', 'nothing was saved');
  await signInHere(page);
  assert.equal(new URL(page.url()).pathname, path);
  const draft = page.getByRole('region', { name: 'Unsaved draft' });
  await draft.waitFor();
  assert.equal(await page.getByLabel(/^title/).inputValue(), 'stored', 'the form shows the stored record until restored');
  await draft.getByRole('button', { name: 'Restore draft' }).click();
  assert.equal(await draft.count(), 0);
  assert.equal(await page.getByLabel(/^title/).inputValue(), 'typed before expiry');
  assert.equal(await page.getByLabel(/^n /).inputValue(), '42');
  assert.equal(await page.getByLabel('done').isChecked(), true);
  assert.equal(await page.getByLabel(/^kind/).inputValue(), 'b');
  await page.getByRole('status').filter({ hasText: 'Draft restored' }).waitFor();
  await submit(page, 'Save changes');
  assert.equal(new URL(page.url()).searchParams.get('saved'), recId);
  const rec = await srv.pb.collection('notes').getOne(recId);
  assert.deepEqual([rec.title, rec.n, rec.done, rec.kind], ['typed before expiry', 42, true, 'b']);
  assert.deepEqual(await drafts(page), [], 'a saved draft is gone');
  await page.goto(path);
  assert.equal(await page.getByRole('region', { name: 'Unsaved draft' }).count(), 0);
});

test('a new record draft; Discard draft keeps the stored values; signing out clears drafts', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections/notes/records/new' });
  await page.getByLabel(/^title/).fill('never saved');
  await sleep(6500);
  await submit(page, 'Create');
  await signInHere(page);
  assert.equal(new URL(page.url()).pathname, '/_/collections/notes/records/new');
  const draft = page.getByRole('region', { name: 'Unsaved draft' });
  await draft.getByRole('button', { name: 'Discard draft' }).click();
  assert.equal(await page.getByLabel(/^title/).inputValue(), '');
  assert.deepEqual(await drafts(page), []);
  assert.equal((await srv.pb.collection('notes').getList(1, 1, { filter: 'title = "never saved"' })).totalItems, 0);
  // A draft left behind, then signing out: gone.
  await page.goto(`/_/collections/notes/records/${recId}`);
  await page.getByLabel(/^title/).fill('left behind');
  await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('draft_')));
  // Signing out in another tab of the same browser (this one would ask
  // about its unsaved changes first).
  const other = await page.context().newPage();
  await other.goto('/_/collections/notes');
  await submit(other, /^Sign out/);
  assert.deepEqual(await drafts(other), []);
});

test('a draft never keeps passwords', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections/users/records/new' });
  await page.getByLabel(/^email/).fill('drafted@example.com');
  await page.getByLabel(/^password/).first().fill('Never-in-a-draft-1');
  await page.getByLabel(/^password again/).fill('Never-in-a-draft-1');
  const stored = await page.waitForFunction(() => localStorage.getItem('draft_users_new')?.includes('drafted@example.com') && localStorage.getItem('draft_users_new'));
  const text = await stored.jsonValue();
  assert.ok(!text.includes('Never-in-a-draft-1'), text);
  assert.ok(!text.includes('_csrf'), text);
});

test('draft offer: axe in both themes, 375 px', b, async () => {
  if (skip) return;
  await checkLayout(b, srv, `/_/collections/notes/records/${recId}`, async (page) => {
    await page.evaluate((id) => localStorage.setItem(`draft_notes_${id}`, JSON.stringify({ at: Date.now(), fields: [['title\u0000#0', 'x']] })), recId);
    await page.reload();
    await page.getByRole('region', { name: 'Unsaved draft' }).waitFor();
  });
});

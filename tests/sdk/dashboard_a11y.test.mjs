// Accessibility and layout (DASHBOARD.md items 25, 26, 29): axe-core finds no
// serious or critical violation on any page in light and dark themes; the
// confirmation dialog is modal, named, keeps and returns focus; the theme
// choice persists; at 375 px the shell does not scroll sideways and the
// sidebar is a drawer.
import assert from 'node:assert/strict';
import { useServer, cairnOnly, IS_POCKETBASE } from './harness.mjs';
import { useBrowser, newPage, signIn, assertAxeClean, test } from './dashboard_fixtures.mjs';

let recId;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'things',
    type: 'base',
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'n', type: 'number' },
      { name: 'ok', type: 'bool' },
      { name: 'kind', type: 'select', values: ['a', 'b'], maxSelect: 1 },
      { name: 'tags', type: 'select', values: ['x', 'y'], maxSelect: 2 },
      { name: 'data', type: 'json' },
      { name: 'when', type: 'date' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'pos', type: 'geoPoint' },
    ],
  });
  recId = (await s.pb.collection('things').create({ title: 'first', n: 1 })).id;
  await s.pb.collections.create({ name: 'thing_view', type: 'view', viewQuery: 'SELECT id, title FROM things' });
});
const b = useBrowser();
const skip = IS_POCKETBASE ? cairnOnly : false;

const PAGES = () => [
  '/_/collections',
  '/_/collections/things',
  `/_/collections/things/records/${recId}`,
  '/_/collections/things/records/new',
  '/_/collections/things/edit',
  '/_/collections/new?type=auth',
  '/_/collections/thing_view/edit',
  '/_/collections/users',
  '/_/settings',
  '/_/account',
];

for (const colorScheme of ['light', 'dark']) {
  test(`axe: no serious or critical violations (${colorScheme})`, b, async () => {
    if (skip) return;
    // axe is injected as an inline script: this context bypasses the CSP
    // (dashboard_auth.test.mjs checks the CSP itself).
    const page = await newPage(b, srv, { colorScheme, bypassCSP: true });
    await page.goto('/_/login');
    await assertAxeClean(page, `login (${colorScheme})`);
    await page.goto('/_/auth/confirm-password-reset/x');
    await assertAxeClean(page, `reset link page (${colorScheme})`);
    await signIn(page);
    for (const p of PAGES()) {
      await page.goto(p);
      await assertAxeClean(page, `${p} (${colorScheme})`);
    }
    // A record form with validation errors, and the open dialog.
    await page.goto('/_/collections/things/records/new');
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create' }).click()]);
    await assertAxeClean(page, `record errors (${colorScheme})`);
    await page.goto('/_/collections/things');
    await page.getByRole('checkbox', { name: `Select record ${recId}` }).check();
    await page.getByRole('button', { name: 'Delete 1 selected' }).click();
    await page.getByRole('dialog').waitFor();
    await assertAxeClean(page, `confirm dialog (${colorScheme})`);
  });
}

test('confirmation dialog: modal, named, focus inside, Esc closes, focus returns', b, async () => {
  if (skip) return;
  const page = await newPage(b, srv);
  await signIn(page, { next: '/_/collections/things' });
  await page.getByRole('checkbox', { name: `Select record ${recId}` }).check();
  const trigger = page.getByRole('button', { name: 'Delete 1 selected' });
  await trigger.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Please confirm' });
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.querySelector('dialog').matches(':modal')), true);
  assert.equal(await page.evaluate(() => document.activeElement.closest('dialog') !== null), true, 'focus moved in');
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.closest('dialog') !== null), true, 'focus stays in');
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Delete 1 selected', 'focus returned');
  assert.ok(await srv.pb.collection('things').getOne(recId), 'nothing deleted');
});

test('theme persists across reloads; 375 px: no sideways scroll, sidebar drawer', b, async () => {
  if (skip) return;
  // Auto (the default) follows the system's prefers-color-scheme.
  const background = async (colorScheme) => {
    const p = await newPage(b, srv, { colorScheme });
    await signIn(p, { next: '/_/collections/things' });
    assert.equal(await p.getByLabel('Theme').inputValue(), 'auto');
    return p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  };
  assert.notEqual(await background('light'), await background('dark'), 'auto follows prefers-color-scheme');
  const page = await newPage(b, srv, { viewport: { width: 375, height: 812 } });
  await signIn(page, { next: '/_/collections/things' });
  await page.getByLabel('Theme').selectOption('dark');
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.equal(await page.getByLabel('Theme').inputValue(), 'dark');
  for (const p of ['/_/collections/things', `/_/collections/things/records/${recId}`, '/_/collections/things/edit', '/_/settings']) {
    await page.goto(p);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${p} scrolls sideways by ${overflow}px`);
  }
  const menu = page.getByRole('button', { name: 'Menu' });
  assert.equal(await page.getByRole('complementary', { name: 'Collections' }).isVisible(), false);
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await page.getByRole('complementary', { name: 'Collections' }).getByRole('link', { name: 'users', exact: true }).click();
  await page.waitForURL('**/_/collections/users');
  // The record editor is usable at this width.
  await page.goto('/_/collections/things/records/new');
  await page.getByLabel(/^title/).fill('from a phone');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create' }).click()]);
  assert.equal((await srv.pb.collection('things').getFullList({ filter: 'title = "from a phone"' })).length, 1);
});

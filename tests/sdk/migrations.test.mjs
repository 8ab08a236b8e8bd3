// pb_migrations run unchanged: the fixture files in tests/plugins/pb_migrations
// (collections with rules and indexes, an edit through unmarshal/fields.add,
// a superuser seeded from $os.getenv, records and raw SQL) give the same schema
// and data on PocketBase 0.40.6 and on Cairn; a failing file applies nothing and
// stops the server naming the file.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, describe, REPO_ROOT, cairnOnly } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins');
process.env.SEED_ADMIN_EMAIL = 'seeded@example.com';
process.env.SEED_ADMIN_PASSWORD = 'Seeded-pass-123';

const srv = useServer(async (s) => {
  const dir = path.join(s.root, 'pb_migrations');
  await fsp.cp(path.join(FIXTURES, 'pb_migrations'), dir, { recursive: true });
  await s.restart();
});

describe('pb_migrations fixtures', () => {
  test('collections get PocketBase ids, rules, fields and indexes', async () => {
    const c = await srv.pb.collections.getOne('posts');
    assert.equal(c.id, 'pbc_1125843985');
    assert.equal(c.listRule, "status = 'published'");
    assert.equal(c.viewRule, '');
    assert.equal(c.createRule, "@request.auth.id != ''");
    assert.equal(c.updateRule, null);
    assert.deepEqual(
      c.fields.map((f) => [f.name, f.id]),
      [
        ['id', 'text3208210256'],
        ['slug', 'text2560465762'],
        ['title', 'text724990059'],
        ['body', 'editor3685223346'],
        ['status', 'select2063623452'],
        ['created', 'autodate2990389176'],
        ['updated', 'autodate3332085495'],
        ['views', 'number300981383'],
      ],
    );
    assert.equal(c.fields.find((f) => f.name === 'title').required, true);
    assert.equal(c.fields.find((f) => f.name === 'views').onlyInt, true);
    assert.deepEqual(c.indexes, [
      'CREATE INDEX `idx_posts_status` ON `posts` (`status`)',
      "CREATE UNIQUE INDEX `idx_posts_slug` ON `posts` (`slug`) WHERE `slug` != ''",
    ]);
  });

  test('records saved by migrations and raw SQL are there', async () => {
    const list = await srv.client().collection('posts').getFullList({ sort: 'slug' });
    assert.deepEqual(
      list.map((r) => [r.title, r.slug, r.views, r.status]),
      [
        ['Hello', 'hello', 0, 'published'],
        ['World', 'world', 11, 'published'],
      ],
    );
    assert.match(list[0].created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('the superuser seeded from $os.getenv can sign in', async () => {
    const pb = srv.client();
    await pb.collection('_superusers').authWithPassword('seeded@example.com', 'Seeded-pass-123');
    assert.equal(pb.authStore.isSuperuser, true);
  });

  test('a failing migration applies nothing and the server exits naming the file', async () => {
    const dir = path.join(srv.root, 'pb_migrations');
    await fsp.copyFile(path.join(FIXTURES, 'bad_migration.js'), path.join(dir, '1700000400_bad.js'));
    await fsp.copyFile(path.join(FIXTURES, 'bad_migration.js'), path.join(dir, '1700000350_also_bad.js'));
    await assert.rejects(srv.restart());
    assert.notEqual(srv.exited.code, 0);
    assert.match(srv.log, /failed to apply migration 1700000350_also_bad\.js/);
    await fsp.rm(path.join(dir, '1700000400_bad.js'));
    await fsp.rm(path.join(dir, '1700000350_also_bad.js'));
    await srv.restart();
    const names = (await srv.pb.collections.getFullList()).map((c) => c.name);
    assert.ok(!names.includes('half_done'), names.join(','));
    assert.ok(names.includes('posts'));
  });

  test('migrate down reverts the last file and up applies it again', { skip: cairnOnly }, async () => {
    // (serve applies pending files, so both run with the server stopped)
    await srv.kill();
    const down = await srv.cli(['migrate', 'down', '1']);
    assert.match(down.stdout, /Reverted 1700000300_seed_posts\.js/);
    const up = await srv.cli(['migrate', 'up']);
    assert.match(up.stdout, /Applied 1700000300_seed_posts\.js/);
    await srv.restart();
    // down deleted the two records (up would otherwise hit the unique slug index)
    assert.equal((await srv.pb.collection('posts').getList(1, 1)).totalItems, 2);
  });
});

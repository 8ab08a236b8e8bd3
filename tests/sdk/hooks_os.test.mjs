// $os.readFile / readDir / stat / writeFile / mkdir(All) / remove(All),
// $app.dataDir() and record.baseFilesPath() in pb_hooks (and $os reads in a migration: tests/plugins/os_migrations),
// measured on PocketBase 0.40.6 and run on both targets (hook
// file: tests/plugins/os_hooks). readFile gives bytes (toString makes the
// text), failures read as Go's errors naming the path as given, relative
// paths resolve from the working directory. Cairn confines them to the
// app's directory (never the data directory): a Cairn-only test.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, cairnOnly } from './harness.mjs';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'os_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'os_migrations'), path.join(s.root, 'pb_migrations'), { recursive: true });
  await s.restart();
});

const get = async (p) => {
  const r = await srv.api('GET', p);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test('readFile gives the bytes, from __hooks or a path relative to the working directory', async () => {
  assert.deepEqual(await get('/api/os/read'), { isArray: true, len: 11, first: 104, text: 'hello\nworld', seed: [1, 2, 3] });
});

test('failures read as Go errors naming the path as given', async () => {
  const r = await get('/api/os/fail');
  assert.deepEqual(r, {
    hooks: r.hooks,
    missing: `open ${r.hooks}/data/nope.txt: no such file or directory`,
    dir: `read ${r.hooks}/data/sub: is a directory`,
    stat: 'stat pb_hooks/data/nope.txt: no such file or directory',
    readDir: 'open pb_hooks/nope: no such file or directory',
  });
});

test('stat and readDir give Go-shaped file infos and entries, by name', async () => {
  const s = await get('/api/os/stat');
  assert.deepEqual(s.file, ['a.txt', 11, false, '-', true]);
  assert.deepEqual(s.dir, ['sub', true, 'd']);
  assert.ok(s.modAge < 3600, `modTime ${s.modAge} s away`);
  assert.deepEqual(await get('/api/os/dir'), {
    names: ['a.txt', 'seed.json', 'sub'], dirs: [false, false, true], sizes: [11, 17, -1],
  });
});

test('a migration reads its seed with $os.readFile and $os.readDir', async () => {
  const list = await srv.client().collection('oh_seed').getFullList({ sort: 'n' });
  assert.deepEqual(list.map((r) => r.n), [3, 6, 9]);
});

test('$app.dataDir() and record.baseFilesPath()', async () => {
  const c = await srv.pb.collections.create({ name: 'oh_items', type: 'base', fields: [{ name: 'title', type: 'text' }] });
  const rec = await srv.pb.collection('oh_items').create({ title: 'x' });
  const r = await get(`/api/os/app/${rec.id}`);
  assert.equal(r.dataDir, srv.dir);
  assert.equal(r.files, `${c.id}/${rec.id}`);
});

test('writeFile, mkdir(All), remove(All) as Go does them', async () => {
  assert.deepEqual(await get('/api/os/write'), {
    read: ['str', 'hi'], mode: '-rw-------', removed: true,
    notEmpty: 'remove HOOKS/out/x: directory not empty',
    missing: 'remove HOOKS/out/nope: no such file or directory',
    deep: 'mkdir HOOKS/out/p/q: no such file or directory',
    all: true,
  });
});

test('$os stays inside the app directory, never the data directory; process helpers fail naming themselves', { skip: cairnOnly }, async () => {
  const r = await get('/api/os/outside');
  for (const k of ['db', 'dotdot', 'etc', 'write']) assert.match(r[k], /outside the app directory/, k);
  assert.match(r.removeAll, /sandbox/);
  assert.match(r.cmd, /\$os\.cmd\(\) is not supported/);
  assert.equal((await srv.api('GET', '/api/os/read')).status, 200);
});

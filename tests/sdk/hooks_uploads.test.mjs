// e.findUploadedFiles(field) in onRecordCreateRequest / onRecordUpdateRequest,
// measured on PocketBase 0.40.6 and run on both targets (hook file:
// tests/plugins/upload_hooks): the request's new uploads under that form key
// as filesystem.File values (name, originalName, size, reader.open() read by
// toString and toBytes), "http: no such file" when the key has none, and
// "request Content-Type isn't multipart/form-data" for a JSON body.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, REPO_ROOT, errBody, IS_POCKETBASE } from './harness.mjs';

const srv = useServer(async (s) => {
  await fsp.cp(path.join(REPO_ROOT, 'tests', 'plugins', 'upload_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await s.restart();
  await s.pb.collections.create({
    name: 'uh_docs', type: 'base', listRule: '', viewRule: '', createRule: '', updateRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'doc', type: 'file', maxSelect: 5, maxSize: 4 << 20 },
      { name: 'other', type: 'file', maxSelect: 1, maxSize: 1 << 20 },
    ],
  });
});

const stored = async (key) => (await srv.api('GET', `/api/uh/store/${encodeURIComponent(key)}`)).json;
const form = (title, files) => {
  const f = new FormData();
  f.append('title', title);
  for (const [key, name, text] of files) f.append(key, new Blob([text], { type: 'text/plain' }), name);
  return f;
};
const NAME = /^[a-z0-9_]+_[a-z0-9]{10}\.[a-z]+$/;

test('a create with files: the new uploads of the key, with name, originalName, size and contents', async () => {
  const r = await srv.api('POST', '/api/collections/uh_docs/records', {
    body: form('two', [['doc', 'Hello World.txt', 'hello world'], ['doc', 'notes.md', 'é ok']]),
  });
  assert.equal(r.status, 200, r.text);
  const s = await stored('create:two');
  assert.equal(s.has, true);
  const [a, b] = s.value.doc;
  assert.deepEqual([a.originalName, a.size, a.text, a.head], ['Hello World.txt', 11, 'hello world', 'hel']);
  assert.deepEqual([b.originalName, b.size, b.text, b.head, b.first], ['notes.md', 5, 'é ok', 'é ', [195, 169]]);
  assert.match(a.name, NAME);
  assert.match(b.name, NAME);
  assert.ok(a.name.startsWith('hello_world_'), a.name);
  assert.deepEqual(s.value.other, { error: 'http: no such file' });
  assert.equal(r.json.doc.length, 2);
});

test('a large upload (past what Cairn holds in memory) reads the same', async () => {
  const big = 'x'.repeat(1536 * 1024);
  const r = await srv.api('POST', '/api/collections/uh_docs/records', {
    body: form('large', [['doc', 'small.txt', 'tiny'], ['doc', 'big.txt', big]]),
  });
  assert.equal(r.status, 200, r.text);
  const s = await stored('create:large');
  const [a, b] = s.value.doc;
  assert.deepEqual([a.size, a.text], [4, 'tiny']);
  assert.deepEqual([b.originalName, b.size, b.text, b.head], ['big.txt', big.length, big.length, 'xxx']);
});

test('a JSON create: findUploadedFiles throws that the request is not multipart', async () => {
  const r = await srv.api('POST', '/api/collections/uh_docs/records', { body: { title: 'json' } });
  assert.equal(r.status, 200, r.text);
  const s = await stored('create:json');
  const error = { error: "request Content-Type isn't multipart/form-data" };
  assert.deepEqual(s.value, { doc: error, other: error });
});

test('a hook may refuse an upload by its size: 400 with its message, nothing saved', async () => {
  const r = await srv.api('POST', '/api/collections/uh_docs/records', {
    body: form('too-big', [['doc', 'small.txt', 'tiny'], ['doc', 'big.txt', 'far more than ten bytes']]),
  });
  assert.deepEqual([r.status, r.json], [400, errBody(400, 'File too large: big.txt.')]);
  const list = await srv.pb.collection('uh_docs').getFullList({ filter: 'title = "too-big"' });
  assert.equal(list.length, 0);
});

test('an update: the files appended under "doc+" are found under that key', async () => {
  const rec = await srv.pb.collection('uh_docs').create({ title: 'upd' });
  const r = await srv.api('PATCH', `/api/collections/uh_docs/records/${rec.id}`, {
    body: form('upd', [['doc+', 'added.txt', 'added']]),
  });
  assert.equal(r.status, 200, r.text);
  const s = await stored('update:upd');
  assert.equal(s.value.plus.length, 1);
  assert.deepEqual([s.value.plus[0].originalName, s.value.plus[0].size, s.value.plus[0].text], ['added.txt', 5, 'added']);
  assert.deepEqual(s.value.doc, { error: 'http: no such file' });
  assert.equal(r.json.doc.length, 1);
});

test('in a custom route: the files on PocketBase; on Cairn an error naming what is not supported', async () => {
  const r = await srv.api('POST', '/api/uh/route', { body: form('route', [['doc', 'r.txt', 'route']]) });
  assert.equal(r.status, 200, r.text);
  if (IS_POCKETBASE) {
    assert.deepEqual([r.json[0].originalName, r.json[0].text], ['r.txt', 'route']);
  } else {
    assert.deepEqual(r.json, {
      error: "e.findUploadedFiles outside onRecordCreateRequest and onRecordUpdateRequest is not supported by Cairn's PocketBase compatibility layer (see docs/plugins.md)",
    });
  }
});

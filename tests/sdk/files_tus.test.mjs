// Resumable uploads (TUS 1.0.0: core, creation, termination, expiration)
// with the stock tus-js-client, attached to record fields as "tus:<id>".
// Cairn-only (PocketBase has no resumable uploads). FILES_STORAGE=s3 runs it
// again with storage on S3 (moto): uploads are spooled locally, then stored.
import assert from 'node:assert/strict';
import * as tus from 'tus-js-client';
import { useServer, test, rejects, newClient, cairnOnly } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';
import { after } from 'node:test';
import { storedFiles, eventually, useStorage, stopMoto } from './files_fixtures.mjs';

const skip = cairnOnly;
let col;
let user;

after(stopMoto);

const srv = useServer(async (s) => {
  if (skip) return;
  await useStorage(s); // FILES_STORAGE=s3: the same tests on a real S3 server
  col = await s.pb.collections.create({
    name: 'videos',
    ...RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'clip', type: 'file', maxSelect: 1, maxSize: 20 << 20 },
      { name: 'parts', type: 'file', maxSelect: 3, maxSize: 20 << 20, mimeTypes: ['text/plain'] },
    ],
  });
  await s.pb.collection('users').create({ email: 't@example.com', password: 'pass123456', passwordConfirm: 'pass123456' });
  user = newClient(s.url);
  await user.collection('users').authWithPassword('t@example.com', 'pass123456');
});

/** Uploads `data` with tus-js-client; resolves with the upload id. */
function upload(data, { name = 'clip.bin', token = user.authStore.token, chunkSize = 1 << 20, onChunk } = {}) {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      endpoint: `${srv.url}/api/tus`,
      headers: { Authorization: token },
      metadata: { filename: name, filetype: 'application/octet-stream' },
      chunkSize,
      retryDelays: [0, 100, 200],
      onChunkComplete: (size, sent, total) => onChunk?.(up, sent, total),
      onError: reject,
      onSuccess: () => resolve(up.url.split('/').pop()),
    });
    up.start();
  });
}

const tusHeaders = (extra = {}) => ({ 'tus-resumable': '1.0.0', authorization: user.authStore.token, ...extra });

test('tus-js-client uploads in chunks; the upload is attached to a record field', { skip }, async () => {
  const data = Buffer.alloc(3 * (1 << 20) + 12345);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
  const id = await upload(data, { name: 'Big Clip.bin' });
  assert.match(id, /^[A-Za-z0-9]{32}$/);
  const rec = await user.collection('videos').create({ title: 'v', clip: `tus:${id}` });
  assert.match(rec.clip, /^big_clip_[a-z0-9]{10}\.bin$/);
  const res = await fetch(`${srv.url}/api/files/videos/${rec.id}/${rec.clip}`);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
  // Consumed: a second attach fails.
  const err = await rejects(user.collection('videos').create({ clip: `tus:${id}` }), 400);
  assert.equal(err.response.data.clip.code, 'validation_invalid_tus_upload');
});

test('an interrupted upload resumes from the stored offset', { skip }, async () => {
  const data = Buffer.alloc(4 * (1 << 20), 'abcdefgh');
  // Stop after the second chunk.
  let first;
  await new Promise((resolve, reject) => {
    first = new tus.Upload(data, {
      endpoint: `${srv.url}/api/tus`,
      headers: { Authorization: user.authStore.token },
      metadata: { filename: 'r.txt' },
      chunkSize: 1 << 20,
      onChunkComplete: (size, sent) => {
        if (sent >= 2 << 20) {
          first.abort().then(resolve);
        }
      },
      onError: reject,
      onSuccess: () => reject(new Error('should have been aborted')),
    });
    first.start();
  });
  const url = first.url;
  let head = await fetch(url, { method: 'HEAD', headers: tusHeaders() });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), String(2 << 20));
  assert.equal(head.headers.get('upload-length'), String(data.length));
  assert.equal(head.headers.get('cache-control'), 'no-store');
  // A new client resumes from the offset the server reports.
  const id = await new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      uploadUrl: url,
      headers: { Authorization: user.authStore.token },
      chunkSize: 1 << 20,
      onError: reject,
      onSuccess: () => resolve(up.url.split('/').pop()),
    });
    up.start();
  });
  head = await fetch(url, { method: 'HEAD', headers: tusHeaders() });
  assert.equal(head.headers.get('upload-offset'), String(data.length));
  const rec = await user.collection('videos').create({ 'parts+': [`tus:${id}`] });
  assert.equal(rec.parts.length, 1);
  assert.equal((await (await fetch(`${srv.url}/api/files/videos/${rec.id}/${rec.parts[0]}`)).text()).length, data.length);
});

test('protocol: OPTIONS, version, offsets, ownership, termination', { skip }, async () => {
  // Discovery: a plain OPTIONS (no Origin, no auth) answers 204 with the
  // capabilities, on the creation URL and on an upload's URL.
  for (const path of ['/api/tus', '/api/tus/nope']) {
    const o = await fetch(`${srv.url}${path}`, { method: 'OPTIONS' });
    assert.equal(o.status, 204, path);
    assert.equal(o.headers.get('tus-version'), '1.0.0');
    assert.equal(o.headers.get('tus-extension'), 'creation,termination,expiration');
    assert.ok(Number(o.headers.get('tus-max-size')) > 0);
  }
  // A browser's preflight is still CORS's.
  const pre = await fetch(`${srv.url}/api/tus`, { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'PATCH' } });
  assert.equal(pre.status, 204);
  assert.ok(pre.headers.get('access-control-allow-origin'));
  // Guests cannot create uploads.
  let res = await fetch(`${srv.url}/api/tus`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '5' } });
  assert.equal(res.status, 401);
  res = await fetch(`${srv.url}/api/tus`, { method: 'POST', headers: tusHeaders({ 'tus-resumable': '0.2.2', 'upload-length': '5' }) });
  assert.equal(res.status, 412);
  assert.equal(res.headers.get('tus-version'), '1.0.0');
  res = await fetch(`${srv.url}/api/tus`, { method: 'POST', headers: tusHeaders() });
  assert.equal(res.status, 400);
  res = await fetch(`${srv.url}/api/tus`, { method: 'POST', headers: tusHeaders({ 'upload-length': '5' }) });
  assert.equal(res.status, 201);
  assert.ok(res.headers.get('upload-expires'));
  // Capabilities come with every answer (OPTIONS is the CORS preflight).
  assert.equal(res.headers.get('tus-version'), '1.0.0');
  assert.equal(res.headers.get('tus-extension'), 'creation,termination,expiration');
  assert.ok(Number(res.headers.get('tus-max-size')) > 0);
  const loc = new URL(res.headers.get('location'), srv.url).href;
  const patch = (offset, body, ct = 'application/offset+octet-stream') =>
    fetch(loc, { method: 'PATCH', headers: tusHeaders({ 'upload-offset': String(offset), 'content-type': ct }), body });
  assert.equal((await patch(0, 'ab', 'text/plain')).status, 415);
  res = await patch(0, 'ab');
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('upload-offset'), '2');
  assert.equal((await patch(0, 'ab')).status, 409);
  assert.equal((await patch(2, 'cdefgh')).status, 413);
  // An unfinished upload cannot be attached.
  const err = await rejects(user.collection('videos').create({ clip: `tus:${loc.split('/').pop()}` }), 400);
  assert.equal(err.response.data.clip.code, 'validation_invalid_tus_upload');
  // Another user (and a guest) sees nothing.
  const su = await fetch(loc, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: srv.pb.authStore.token } });
  assert.equal(su.status, 404);
  assert.equal((await fetch(loc, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })).status, 401);
  // Termination.
  assert.equal((await fetch(loc, { method: 'DELETE', headers: tusHeaders() })).status, 204);
  assert.equal((await fetch(loc, { method: 'HEAD', headers: tusHeaders() })).status, 404);
});

test('attached uploads are checked like multipart files', { skip }, async () => {
  const id = await upload(Buffer.from('%PDF-1.4 not text'), { name: 'x.pdf' });
  const err = await rejects(user.collection('videos').create({ parts: [`tus:${id}`] }), 400);
  assert.equal(err.response.data.parts.code, 'validation_invalid_mime_type');
  // The failed write did not use the upload up: it can be attached elsewhere.
  const rec = await user.collection('videos').create({ clip: `tus:${id}` });
  assert.equal(await (await fetch(`${srv.url}/api/files/videos/${rec.id}/${rec.clip}`)).text(), '%PDF-1.4 not text');
});

test('batch requests attach uploads; a failed batch leaves them claimable', { skip }, async () => {
  await srv.pb.settings.update({ batch: { enabled: true, maxRequests: 50 } });
  const a = await upload(Buffer.from('first upload'), { name: 'alpha.txt' });
  const b = await upload(Buffer.from('second upload'), { name: 'beta.txt' });
  const head = async (id) => (await fetch(`${srv.url}/api/tus/${id}`, { method: 'HEAD', headers: tusHeaders() })).status;
  const before = await storedFiles(srv, col.id);
  // The second request fails: the whole batch rolls back.
  let batch = user.createBatch();
  batch.collection('videos').create({ title: 'batch a', clip: `tus:${a}` });
  batch.collection('videos').create({ title: 'batch b', parts: [`tus:${b}`], clip: 'not-a-file.txt' });
  const err = await rejects(batch.send(), 400);
  assert.equal(err.response.data.requests['1'].code, 'batch_request_failed');
  assert.equal(err.response.data.requests['1'].response.data.clip.code, 'validation_invalid_file');
  assert.equal(await head(a), 200, 'a failed batch keeps the upload');
  assert.equal(await head(b), 200);
  assert.deepEqual(await storedFiles(srv, col.id), before, 'nothing stored by the failed batch');
  // An unknown upload fails its sub-request with the field's code.
  batch = user.createBatch();
  batch.collection('videos').create({ clip: 'tus:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
  const unknown = await rejects(batch.send(), 400);
  assert.equal(unknown.response.data.requests['0'].response.data.clip.code, 'validation_invalid_tus_upload');
  // Retried, it commits, and the uploads are used up.
  batch = user.createBatch();
  batch.collection('videos').create({ title: 'batch a', clip: `tus:${a}` });
  batch.collection('videos').create({ title: 'batch b', 'parts+': [`tus:${b}`] });
  const [ra, rb] = await batch.send();
  assert.equal(ra.status, 200);
  assert.match(ra.body.clip, /^alpha_[a-z0-9]{10}\.txt$/);
  assert.equal(rb.body.parts.length, 1);
  assert.equal(await (await fetch(`${srv.url}/api/files/videos/${ra.body.id}/${ra.body.clip}`)).text(), 'first upload');
  assert.equal(await (await fetch(`${srv.url}/api/files/videos/${rb.body.id}/${rb.body.parts[0]}`)).text(), 'second upload');
  assert.equal(await head(a), 404, 'consumed');
  assert.equal(await head(b), 404, 'consumed');
});

test('unfinished uploads expire and are removed by the files sweep job', { skip, timeout: 60_000 }, async () => {
  process.env.CAIRN_FILES_TUS_EXPIRY_SECS = '1';
  try {
    await srv.restart();
  } finally {
    delete process.env.CAIRN_FILES_TUS_EXPIRY_SECS;
  }
  await user.collection('users').authWithPassword('t@example.com', 'pass123456').catch(() => {});
  user = newClient(srv.url);
  await user.collection('users').authWithPassword('t@example.com', 'pass123456');
  const res = await fetch(`${srv.url}/api/tus`, { method: 'POST', headers: tusHeaders({ 'upload-length': '100' }) });
  assert.equal(res.status, 201);
  const loc = new URL(res.headers.get('location'), srv.url).href;
  await eventually(async () => {
    await srv.pb.crons.run('__cairnFilesSweep__');
    return (await fetch(loc, { method: 'HEAD', headers: tusHeaders() })).status === 404;
  }, 'upload expired', 10_000);
  assert.deepEqual(await storedFiles(srv, col.id, 'none'), []);
});

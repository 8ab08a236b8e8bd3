// S3 storage settings and the S3 test endpoint, against a real S3 server
// (moto, started here on a free loopback port). Checked against the
// reference PocketBase 0.40.6 first. On PostgreSQL (SDK_STORE=postgres) a
// second node on the same database shares the bucket (docs/scaling.md).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { useServer, test, rejects, errBody, newClient, ON_POSTGRES } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { file, startMoto, stopMoto, s3Settings, bucketKeys, eventually } from './files_fixtures.mjs';

after(stopMoto);
const srv = useServer();
const FAIL = 'Failed to test the S3 filesystem.';
const required = { code: 'validation_required', message: 'Cannot be blank.' };

test('the S3 test endpoint: superusers only, filesystem required, disabled answers 400', async () => {
  await rejects(newClient(srv.url).send('/api/settings/test/s3', { method: 'POST', body: { filesystem: 'storage' } }), 401);
  const pb = srv.pb;
  const send = (body) => pb.send('/api/settings/test/s3', { method: 'POST', body });
  await rejects(send({}), 400, errBody(400, FAIL, { filesystem: required }));
  await rejects(send({ filesystem: 'nope' }), 400, errBody(400, FAIL, { filesystem: { code: 'validation_in_invalid', message: 'Must be a valid value.' } }));
  await rejects(send({ filesystem: 'storage' }), 400, errBody(400, `${FAIL} Raw error: \nS3 storage filesystem is not enabled.`));
});

test('enabling S3 needs every connection field; the secret is never returned', async () => {
  const pb = srv.pb;
  const err = await rejects(pb.settings.update({ s3: { enabled: true, bucket: '', region: '', endpoint: '', accessKey: '', secret: '' } }), 400);
  assert.deepEqual(err.response, errBody(400, 'An error occurred while saving the new settings.', {
    s3: { accessKey: required, bucket: required, endpoint: required, region: required, secret: required },
  }));
  const { url } = await startMoto();
  const saved = await pb.settings.update({ s3: s3Settings(url) });
  assert.equal(saved.s3.enabled, true);
  assert.equal(saved.s3.accessKey, 'test');
  assert.ok(!('secret' in saved.s3));
  assert.ok(!('secret' in (await pb.settings.getAll()).s3));
});

test('the S3 test endpoint answers 204 for a reachable bucket and 400 otherwise', async () => {
  const pb = srv.pb;
  const { url } = await startMoto();
  await pb.settings.update({ s3: s3Settings(url) });
  const ok = await fetch(`${srv.url}/api/settings/test/s3`, {
    method: 'POST',
    headers: { authorization: pb.authStore.token, 'content-type': 'application/json' },
    body: JSON.stringify({ filesystem: 'storage' }),
  });
  assert.equal(ok.status, 204, await ok.text());
  await pb.settings.update({ s3: { ...s3Settings(url), bucket: 'no-such-bucket' } });
  const err = await rejects(pb.send('/api/settings/test/s3', { method: 'POST', body: { filesystem: 'storage' } }), 400);
  assert.match(err.response.message, /^Failed to test the S3 filesystem\. Raw error: \n/);
  await pb.settings.update({ s3: s3Settings(url) });
});

test('with S3 enabled, uploads go to the bucket and are served from it', async () => {
  const pb = srv.pb;
  const { url } = await startMoto();
  await pb.settings.update({ s3: s3Settings(url) });
  const c = await pb.collections.create({ name: 'ons3', ...RULES, fields: [{ name: 'f', type: 'file', maxSelect: 1 }] });
  const r = await pb.collection('ons3').create({ f: file('hello.txt', 'from s3') });
  const res = await fetch(`${srv.url}/api/files/ons3/${r.id}/${r.f}`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'from s3');
  const keys = await (await fetch(`${url}/cairn-files?list-type=2&prefix=${c.id}/${r.id}/`)).text();
  assert.ok(keys.includes(`<Key>${c.id}/${r.id}/${r.f}</Key>`), keys);
  // Not on the local disk.
  assert.ok(!fs.existsSync(path.join(srv.dir, 'storage', c.id, r.id)));
  await pb.settings.update({ s3: { enabled: false } });
});

test('two nodes on one database: S3 switched on through one node, files uploaded through either are served by both', { skip: ON_POSTGRES ? false : 'two nodes need SDK_STORE=postgres' }, async () => {
  const { url } = await startMoto();
  const peer = await srv.peer();
  try {
    // Settings saved through A reach B (its storage moves to the bucket too).
    await srv.pb.settings.update({ s3: s3Settings(url) });
    const c = await srv.pb.collections.create({ name: 'twonodes', ...RULES, fields: [{ name: 'f', type: 'file', maxSelect: 2 }] });
    const got = async (node, name) => {
      const res = await fetch(`${node.url}/api/files/twonodes/${r.id}/${name}`);
      return res.status === 200 ? res.text() : res.status;
    };
    const r = await srv.pb.collection('twonodes').create({ f: file('a.txt', 'through A') });
    await eventually(async () => (await got(peer, r.f[0])) === 'through A', 'B serving the file uploaded through A');
    const both = await peer.pb.collection('twonodes').update(r.id, { 'f+': file('b.txt', 'through B') });
    assert.equal(both.f.length, 2);
    assert.equal(await got(srv, both.f[1]), 'through B');
    const keys = await bucketKeys(`${c.id}/${r.id}/`);
    for (const name of both.f) assert.ok(keys.includes(`${c.id}/${r.id}/${name}`), keys.join());
    assert.ok(!fs.existsSync(path.join(srv.dir, 'storage', c.id)) && !fs.existsSync(path.join(peer.dir, 'storage', c.id)), 'no local copies');
    // A delete through B removes the files: A no longer serves them.
    await peer.pb.collection('twonodes').delete(r.id);
    await eventually(async () => (await bucketKeys(`${c.id}/${r.id}/`)).length === 0, 'the objects deleted');
    assert.equal(await got(srv, both.f[0]), 404);
  } finally {
    await peer.stop();
    await srv.pb.settings.update({ s3: { enabled: false } });
  }
});

// S3 storage settings and the S3 test endpoint, against a real S3 server
// (moto, started here on a free loopback port). Checked against the
// reference PocketBase 0.40.6 first.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { useServer, test, rejects, errBody, newClient } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { file, startMoto, stopMoto, s3Settings } from './files_fixtures.mjs';

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

// OAuth2 sign-up with `mappedFields.avatarURL` naming a `file` field: the
// provider's picture is downloaded into the new record, as PocketBase's
// `oauth2Submit` does (apis/record_auth_with_oauth2.go: NewFileFromURL with
// a 15 s timeout, a failed download only logged). A picture that cannot be
// fetched does not stop the sign-up; a field that refuses the picture's
// type fails it with the field's error; a second sign-in changes nothing.
//
// Cairn-only for now: against the PocketBase 0.40.6 binary no request
// reached the picture server in this setup (see REPORT_dash5.md), so the
// reference behaviour is taken from PocketBase's source, not its binary.
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, after } from 'node:test';
import { test, IS_POCKETBASE, cairnOnly } from './harness.mjs';
import { useOAuthServer } from './oauth2_setup.mjs';

// A 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
let pictures = ''; // base URL of the picture server
const served = [];
let server;
before(async () => {
  server = http.createServer((req, res) => {
    served.push(req.url);
    if (req.url.startsWith('/missing')) {
      res.writeHead(404).end('no');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  pictures = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((r) => server.close(r)));

const { srv, providerConfig, newIdpUser, oauthLogin } = useOAuthServer();
const opts = { skip: IS_POCKETBASE ? cairnOnly : false };

async function pictureCollection(name, fileOptions = {}) {
  await srv.pb.collections.create({
    name,
    type: 'auth',
    createRule: '',
    fields: [{ name: 'photo', type: 'file', maxSelect: 1, ...fileOptions }],
    oauth2: { enabled: true, providers: [providerConfig('oidc')], mappedFields: { avatarURL: 'photo' } },
  });
}

test('a mapped file field gets the downloaded picture on sign-up', opts, async () => {
  await pictureCollection('pics');
  const user = await newIdpUser('pic', { picture: `${pictures}/u/pic.png?s=80` });
  const { res } = await oauthLogin(user.sub, { collection: 'pics' });
  assert.equal(res.meta.isNew, true);
  assert.equal(res.meta.avatarURL, user.picture);
  const rec = await srv.pb.collection('pics').getOne(res.record.id);
  assert.match(rec.photo, /^pic_\w+\.png$/, `${rec.photo}; picture requests: ${served.join(' ')}`);
  const got = await fetch(srv.pb.files.getURL(rec, rec.photo));
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG);
  assert.ok(served.includes('/u/pic.png?s=80'), served.join(' '));

  // A second sign-in does not download again or change the file.
  const before = served.length;
  const again = await oauthLogin(user.sub, { collection: 'pics' });
  assert.equal(again.res.meta.isNew, false);
  assert.equal((await srv.pb.collection('pics').getOne(rec.id)).photo, rec.photo);
  assert.equal(served.length, before);
});

test('a picture that cannot be fetched leaves the field empty; the sign-up succeeds', opts, async () => {
  await pictureCollection('pics404');
  const user = await newIdpUser('nopic', { picture: `${pictures}/missing.png` });
  const { res } = await oauthLogin(user.sub, { collection: 'pics404' });
  assert.equal(res.meta.isNew, true);
  assert.equal((await srv.pb.collection('pics404').getOne(res.record.id)).photo, '');
});

test('a picture the field refuses (mime type) fails the sign-up with the field error', opts, async () => {
  await pictureCollection('picsjpeg', { mimeTypes: ['image/jpeg'] });
  const user = await newIdpUser('badpic', { picture: `${pictures}/u/bad.png` });
  await assert.rejects(oauthLogin(user.sub, { collection: 'picsjpeg' }), (err) => {
    assert.equal(err.status, 400, JSON.stringify(err.response));
    assert.equal(err.response.data.photo?.code, 'validation_invalid_mime_type', JSON.stringify(err.response));
    return true;
  });
  assert.equal((await srv.pb.collection('picsjpeg').getFullList()).length, 0);
});

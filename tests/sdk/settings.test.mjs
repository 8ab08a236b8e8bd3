// GET/PATCH /api/settings (superuser only) with PocketBase's default settings object.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr } from './harness.mjs';

const srv = useServer();

describe('settings', () => {
  test('GET returns the default settings object', async () => {
    const s = await srv.pb.settings.getAll();
    assert.deepEqual(Object.keys(s).sort(), ['backups', 'batch', 'logs', 'meta', 'rateLimits', 's3', 'smtp', 'superuserIPs', 'trustedProxy']);
    assert.deepEqual(s.meta, {
      accentColor: '#1055c9',
      appName: 'Acme',
      appURL: 'http://localhost:8090',
      senderName: 'Support',
      senderAddress: 'support@example.com',
      hideControls: false,
    });
    assert.deepEqual(s.batch, { enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 });
    assert.deepEqual(s.logs, { maxDataSize: 0, maxDays: 5, minLevel: 0, logIP: true, logAuthId: false });
    assert.equal(s.rateLimits.enabled, false);
    assert.deepEqual(s.smtp, { enabled: false, port: 587, host: 'smtp.example.com', username: '', authMethod: '', tls: false, localName: '' });
    assert.deepEqual(s.s3, { enabled: false, bucket: '', region: '', endpoint: '', accessKey: '', forcePathStyle: false });
    assert.deepEqual(s.superuserIPs, []);
    assert.deepEqual(s.trustedProxy, { headers: [], useLeftmostIP: false });
  });

  test('PATCH merges and returns the whole object; secrets are never returned', async () => {
    const before = await srv.pb.settings.getAll();
    const after = await srv.pb.settings.update({ meta: { appName: 'Zed' }, smtp: { password: 'hunter2' }, s3: { secret: 's3cr3t' } });
    assert.equal(after.meta.appName, 'Zed');
    assert.deepEqual({ ...after, meta: { ...after.meta, appName: 'Acme' } }, before);
    const again = await srv.pb.settings.getAll();
    assert.equal(again.meta.appName, 'Zed');
    const raw = await srv.su('GET', '/api/settings');
    assert.doesNotMatch(raw.text, /hunter2|s3cr3t/);
    assert.equal('password' in again.smtp, false);
    assert.equal('secret' in again.s3, false);
    await srv.pb.settings.update({ meta: { appName: 'Acme' } });
  });

  test('PATCH validation: blank appName -> data.meta.appName', async () => {
    const err = await rejects(srv.pb.settings.update({ meta: { appName: '' } }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'An error occurred while saving the new settings.', {
        meta: { appName: fieldErr('validation_required', 'Cannot be blank.') },
      }),
    );
    assert.equal((await srv.pb.settings.getAll()).meta.appName, 'Acme');
  });

  test('guest -> 401, regular user -> 403', async () => {
    await rejects(srv.client().settings.getAll(), 401, errBody(401, 'The request requires valid record authorization token.'));
    const user = await srv.userClient();
    await rejects(user.settings.getAll(), 403, errBody(403, 'The authorized record is not allowed to perform this action.'));
    await rejects(user.settings.update({ meta: { appName: 'X' } }), 403);
    assert.equal((await srv.pb.settings.getAll()).meta.appName, 'Acme');
  });
});

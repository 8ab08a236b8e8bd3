// Auth collections' mail templates need a subject and a body (not empty;
// whitespace counts), enabled or not (PocketBase 0.40.6's answers, checked on both servers).
import assert from 'node:assert/strict';
import { useServer, test, rejects, errBody, fieldErr } from './harness.mjs';

const srv = useServer();
const REQ = fieldErr('validation_required', 'Cannot be blank.');

test('blank template subject or body: 400 under the template path, nothing saved', async () => {
  const before = await srv.pb.collections.getOne('users');
  await rejects(
    srv.pb.collections.update('users', { verificationTemplate: { subject: '', body: '' } }),
    400,
    errBody(400, 'Failed to update collection.', { verificationTemplate: { body: REQ, subject: REQ } }),
  );
  await rejects(
    srv.pb.collections.update('users', { otp: { emailTemplate: { subject: '', body: 'x' } } }),
    400,
    errBody(400, 'Failed to update collection.', { otp: { emailTemplate: { subject: REQ } } }),
  );
  await rejects(
    srv.pb.collections.update('users', { authAlert: { enabled: false, emailTemplate: { subject: ' ', body: '' } } }),
    400,
    errBody(400, 'Failed to update collection.', { authAlert: { emailTemplate: { body: REQ } } }), // ' ' is not blank
  );
  const after = await srv.pb.collections.getOne('users');
  assert.deepEqual(after.verificationTemplate, before.verificationTemplate);
  const ok = await srv.pb.collections.update('users', { resetPasswordTemplate: { subject: 'Reset', body: 'no placeholder' } });
  assert.deepEqual(ok.resetPasswordTemplate, { subject: 'Reset', body: 'no placeholder' });
});

// Rate limiting (settings.rateLimits): rule labels, audiences, the 429 body,
// window reset, excluded IPs, and settings validation.
//
// Every settings save resets all counters, so each test installs its own rules.
// Superuser requests are never limited (the harness's `srv.pb`/`srv.su`).
// Windows are whole seconds in PocketBase (a limiter resets once
// `duration` seconds have passed since its last allowed request), so the
// counting tests use a long duration and the reset test aligns to a second.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, cairnOnly } from './harness.mjs';

const PW = 'rl-pass-12345';
let userToken;
const srv = useServer(async (s) => {
  await s.pb.collections.create({ name: 'members', type: 'auth', listRule: '', viewRule: '', createRule: '' });
  await s.pb.collection('users').create({ email: 'u@example.com', password: PW, passwordConfirm: PW });
  await s.pb.collection('members').create({ email: 'm@example.com', password: PW, passwordConfirm: PW });
  userToken = (await s.client().collection('users').authWithPassword('u@example.com', PW)).token;
});

const TOO_MANY = errBody(429, 'Too Many Requests.');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function setRules(rules, extra = {}) {
  const r = await srv.su('PATCH', '/api/settings', { body: { rateLimits: { enabled: true, excludedIPs: [], rules, ...extra } } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.rateLimits;
}

const authUsers = (password = PW) =>
  srv.api('POST', '/api/collections/users/auth-with-password', { body: { identity: 'u@example.com', password } });
const authMembers = () => srv.api('POST', '/api/collections/members/auth-with-password', { body: { identity: 'm@example.com', password: PW } });
const authMethods = (token) => srv.api('GET', '/api/collections/users/auth-methods', { token });

/** Run `fn` n times sequentially; returns the statuses. */
async function statuses(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await fn(i)).status);
  return out;
}

describe('rate limit rules', () => {
  test('defaults: disabled, 4 rules, no excluded IPs', async () => {
    const s = await srv.pb.settings.getAll();
    assert.deepEqual(s.rateLimits, {
      rules: [
        { label: '*:auth', audience: '', duration: 3, maxRequests: 2 },
        { label: '*:create', audience: '', duration: 5, maxRequests: 20 },
        { label: '/api/batch', audience: '', duration: 1, maxRequests: 3 },
        { label: '/api/', audience: '', duration: 10, maxRequests: 300 },
      ],
      excludedIPs: [],
      enabled: false,
    });
  });

  test('saved rules echo back with audience defaulting to ""', async () => {
    const saved = await setRules([{ label: 'users:auth', maxRequests: 2, duration: 30 }]);
    assert.deepEqual(saved, {
      rules: [{ label: 'users:auth', audience: '', duration: 30, maxRequests: 2 }],
      excludedIPs: [],
      enabled: true,
    });
  });

  test('"users:auth": auth-with-password over the limit -> 429 with the exact body; failed logins count too', async () => {
    await setRules([{ label: 'users:auth', maxRequests: 2, duration: 30 }]);
    assert.deepEqual(await statuses(2, (i) => authUsers(i === 0 ? 'wrong-password' : PW)), [400, 200]);
    const r = await authUsers();
    assert.equal(r.status, 429);
    assert.deepEqual(r.json, TOO_MANY);
    // through the SDK
    await rejects(srv.client().collection('users').authWithPassword('u@example.com', PW), 429, TOO_MANY);
    // the limit is checked before the body: even an invalid request is refused
    const bad = await srv.api('POST', '/api/collections/users/auth-with-password', { body: {} });
    assert.equal(bad.status, 429);
  });

  test('other paths, other collections and superusers are not limited by "users:auth"', async () => {
    await setRules([{ label: 'users:auth', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
    assert.deepEqual(await statuses(3, () => authMethods()), [200, 200, 200]);
    assert.deepEqual(await statuses(3, () => srv.api('GET', '/api/health')), [200, 200, 200]);
    assert.deepEqual(await statuses(3, () => authMembers()), [200, 200, 200]);
    const su = await srv.su('POST', '/api/collections/users/auth-with-password', { body: { identity: 'u@example.com', password: PW } });
    assert.equal(su.status, 200, 'superuser requests skip rate limiting');
  });

  test('"users:auth" also covers auth-with-oauth2 (its own counter)', async () => {
    await setRules([{ label: 'users:auth', maxRequests: 1, duration: 30 }]);
    const first = await srv.api('POST', '/api/collections/users/auth-with-oauth2', { body: {} });
    assert.equal(first.status, 403, 'oauth2 is disabled on users');
    const second = await srv.api('POST', '/api/collections/users/auth-with-oauth2', { body: {} });
    assert.equal(second.status, 429);
    assert.deepEqual(second.json, TOO_MANY);
    assert.equal((await authUsers()).status, 200, 'auth-with-password has a separate counter');
  });

  test('"*:auth" applies to every auth collection, counted per collection', async () => {
    await setRules([{ label: '*:auth', maxRequests: 2, duration: 30 }]);
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 429]);
    assert.deepEqual(await statuses(3, () => authMembers()), [200, 200, 429]);
  });

  test('the most specific tag wins: "users:authWithPassword" over "*:auth"', async () => {
    await setRules([
      { label: '*:auth', maxRequests: 3, duration: 30 },
      { label: 'users:authWithPassword', maxRequests: 1, duration: 30 },
    ]);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
    assert.deepEqual(await statuses(4, () => authMembers()), [200, 200, 200, 429]);
  });

  test('record tags: "users:create" and "users:list"', async () => {
    await setRules([
      { label: 'users:create', maxRequests: 1, duration: 30 },
      { label: 'users:list', maxRequests: 1, duration: 30 },
    ]);
    const create = (i) =>
      srv.api('POST', '/api/collections/users/records', { body: { email: `rl-create-${i}@example.com`, password: PW, passwordConfirm: PW } });
    assert.deepEqual(await statuses(2, create), [200, 429]);
    assert.deepEqual(await statuses(2, () => srv.api('GET', '/api/collections/users/records')), [200, 429]);
    assert.deepEqual(await statuses(2, () => srv.api('GET', '/api/collections/members/records')), [200, 200]);
  });

  test('"METHOD /path" matches that method and exact path only', async () => {
    await setRules([{ label: 'POST /api/collections/users/auth-with-password', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
    assert.deepEqual(await statuses(2, () => authMembers()), [200, 200]);

    await setRules([{ label: 'GET /api/health', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => srv.api('GET', '/api/health')), [200, 429]);
  });

  test('an exact path ignores the query string; without a trailing "/" there is no prefix match', async () => {
    await setRules([{ label: '/api/collections/users/records', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => srv.api('GET', '/api/collections/users/records?page=2')), [200, 429]);

    await setRules([
      { label: '/api/heal', maxRequests: 1, duration: 30 },
      { label: '/api/hea/', maxRequests: 1, duration: 30 },
    ]);
    assert.deepEqual(await statuses(3, () => srv.api('GET', '/api/health')), [200, 200, 200]);
  });

  test('a label ending in "/" is a path prefix, and also matches the path without the slash', async () => {
    await setRules([{ label: '/api/health/', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => srv.api('GET', '/api/health')), [200, 429]);

    await setRules([{ label: 'POST /api/collections/', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
    assert.deepEqual(await statuses(2, () => authMembers()), [200, 429], 'per collection route counters');
    assert.deepEqual(await statuses(2, () => authMethods()), [200, 200], 'GET is not matched');
  });

  test('a path rule outside collection routes shares one counter across paths (even unknown ones)', async () => {
    await setRules([{ label: '/api/', maxRequests: 3, duration: 30 }]);
    assert.equal((await srv.api('GET', '/api/health')).status, 200);
    assert.equal((await srv.api('GET', '/api/health')).status, 200);
    assert.equal((await srv.api('GET', '/api/nope-nope')).status, 404);
    const limited = await srv.api('GET', '/api/oauth2-redirect');
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.json, TOO_MANY);
    assert.equal((await srv.api('GET', '/api/health')).status, 429);
    // collection routes count separately (per collection and route)
    assert.deepEqual(await statuses(4, () => authMethods()), [200, 200, 200, 429]);
  });

  test('audience "@guest" / "@auth": separate limits for guests and authenticated records', async () => {
    await setRules([
      { label: 'users:listAuthMethods', audience: '@guest', maxRequests: 1, duration: 30 },
      { label: 'users:listAuthMethods', audience: '@auth', maxRequests: 3, duration: 30 },
    ]);
    assert.deepEqual(await statuses(2, () => authMethods()), [200, 429]);
    assert.deepEqual(await statuses(4, () => authMethods(userToken)), [200, 200, 200, 429]);

    await setRules([{ label: 'users:listAuthMethods', audience: '@auth', maxRequests: 1, duration: 30 }]);
    assert.deepEqual(await statuses(3, () => authMethods()), [200, 200, 200], 'guests are not limited by an @auth rule');
    assert.deepEqual(await statuses(2, () => authMethods(userToken)), [200, 429]);
  });

  test('excludedIPs and enabled: false switch limiting off', async () => {
    const rules = [{ label: 'users:auth', maxRequests: 1, duration: 30 }];
    await setRules(rules, { excludedIPs: ['127.0.0.1'] });
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 200]);
    await setRules(rules, { enabled: false });
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 200]);
    await setRules(rules);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
  });

  test('saving the settings resets the counters', async () => {
    const rules = [{ label: 'users:auth', maxRequests: 1, duration: 30 }];
    await setRules(rules);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
    await setRules(rules);
    assert.deepEqual(await statuses(2, () => authUsers()), [200, 429]);
  });

  test('the window resets after `duration` seconds', async () => {
    const duration = 2;
    await setRules([{ label: 'users:auth', maxRequests: 2, duration }]);
    await sleep(1000 - (Date.now() % 1000) + 30); // start just after a second boundary
    const t0 = Date.now();
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 429]);
    // still inside the window a second later
    await sleep(Math.max(0, t0 + 1200 - Date.now()));
    assert.equal((await authUsers()).status, 429);
    // well after the window (duration s after the last allowed request, whole seconds)
    const secondStart = t0 - (t0 % 1000);
    await sleep(Math.max(0, secondStart + (duration + 1) * 1000 + 100 - Date.now()));
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 429]);
  });

  test('429 responses carry Retry-After (seconds)', { skip: cairnOnly }, async () => {
    await setRules([{ label: 'users:auth', maxRequests: 1, duration: 30 }]);
    assert.equal((await authUsers()).status, 200);
    const r = await authUsers();
    assert.equal(r.status, 429);
    const ra = r.headers.get('retry-after');
    assert.match(ra ?? '', /^\d+$/);
    assert.ok(Number(ra) >= 1 && Number(ra) <= 30, `Retry-After ${ra}`);
  });

  test('finally: disable rate limiting', async () => {
    await setRules([], { enabled: false });
    assert.deepEqual(await statuses(3, () => authUsers()), [200, 200, 200]);
  });
});

describe('rate limit settings validation', () => {
  const SAVE_FAILED = 'An error occurred while saving the new settings.';
  const patch = (rateLimits) => srv.su('PATCH', '/api/settings', { body: { rateLimits } });
  const ruleErr = (index, errors) => errBody(400, SAVE_FAILED, { rateLimits: { rules: { [index]: errors } } });
  const REQUIRED = fieldErr('validation_required', 'Cannot be blank.');
  const BAD_FORMAT = fieldErr('validation_match_invalid', 'Must be in a valid format.');

  test('maxRequests / duration 0 -> validation_required; negative -> validation_min_greater_equal_than_required', async () => {
    let r = await patch({ enabled: true, rules: [{ label: 'x', maxRequests: 0, duration: 1 }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, ruleErr(0, { maxRequests: REQUIRED }));

    r = await patch({ enabled: true, rules: [{ label: 'x', maxRequests: 1, duration: 0 }] });
    assert.deepEqual(r.json, ruleErr(0, { duration: REQUIRED }));

    r = await patch({ enabled: true, rules: [{ label: '*:auth', maxRequests: -1, duration: -1 }] });
    const min1 = fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 1.', { threshold: 1 });
    assert.deepEqual(r.json, ruleErr(0, { duration: min1, maxRequests: min1 }));
  });

  test('label required and in a valid format', async () => {
    let r = await patch({ enabled: true, rules: [{ label: '', maxRequests: 1, duration: 1 }] });
    assert.deepEqual(r.json, ruleErr(0, { label: REQUIRED }));
    for (const label of ['bad label!', 'users:*', '*', 'GET api/x', '/api/x?y=1']) {
      r = await patch({ enabled: true, rules: [{ label, maxRequests: 1, duration: 1 }] });
      assert.equal(r.status, 400, label);
      assert.deepEqual(r.json, ruleErr(0, { label: BAD_FORMAT }), label);
    }
  });

  test('accepted label forms', async () => {
    const labels = ['mytag', 'users:auth', '*:auth', '/', '/api/', '/api/batch', 'POST /api/collections/', 'GET /api/health', 'post /api/x'];
    const saved = await setRules(labels.map((label) => ({ label, maxRequests: 1, duration: 60 })), { enabled: false });
    assert.deepEqual(saved.rules.map((r) => r.label), labels);
  });

  test('audience must be "", "@guest" or "@auth"', async () => {
    const r = await patch({ enabled: true, rules: [{ label: 'x', maxRequests: 1, duration: 1, audience: 'nope' }] });
    assert.deepEqual(r.json, ruleErr(0, { audience: fieldErr('validation_in_invalid', 'Must be a valid value.') }));
  });

  test('duplicate labels conflict (also an audience rule after an all-audience one); @guest + @auth do not', async () => {
    const conflict = (label) =>
      fieldErr(
        'validation_conflicting_rate_limit_rule',
        `Rate limit rule configuration with label ${label} already exists or conflicts with another rule.`,
        { label },
      );
    let r = await patch({
      enabled: true,
      rules: [
        { label: 'users:auth', maxRequests: 1, duration: 1 },
        { label: 'users:auth', maxRequests: 2, duration: 1 },
      ],
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, ruleErr(1, { label: conflict('users:auth') }));

    r = await patch({
      enabled: true,
      rules: [
        { label: 'users:auth', maxRequests: 1, duration: 1 },
        { label: 'users:auth', maxRequests: 2, duration: 1, audience: '@guest' },
      ],
    });
    assert.deepEqual(r.json, ruleErr(1, { label: conflict('users:auth') }));

    const saved = await setRules(
      [
        { label: 'users:auth', maxRequests: 1, duration: 1, audience: '@guest' },
        { label: 'users:auth', maxRequests: 2, duration: 1, audience: '@auth' },
        { label: 'a', maxRequests: 1, duration: 1 },
        { label: 'ab', maxRequests: 1, duration: 1 },
        { label: '/api/', maxRequests: 1, duration: 1 },
        { label: '/api/x', maxRequests: 1, duration: 1 },
      ],
      { enabled: false },
    );
    assert.equal(saved.rules.length, 6);
  });

  test('enabled requires at least one rule; disabled does not (but rules are still validated)', async () => {
    let r = await patch({ enabled: true, rules: [] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, SAVE_FAILED, { rateLimits: { rules: REQUIRED } }));

    r = await patch({ enabled: false, rules: [] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.rateLimits, { rules: [], excludedIPs: [], enabled: false });

    r = await patch({ enabled: false, rules: [{ label: '', maxRequests: 0, duration: 0 }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, ruleErr(0, { duration: REQUIRED, label: REQUIRED, maxRequests: REQUIRED }));
  });

  test('a non-integer maxRequests -> 400 (body not loadable)', async () => {
    const r = await patch({ enabled: true, rules: [{ label: '*:auth', maxRequests: 1.5, duration: 1 }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, errBody(400, 'An error occurred while loading the submitted data.'));
  });

  test('failed saves change nothing', async () => {
    const before = (await srv.pb.settings.getAll()).rateLimits;
    await patch({ enabled: true, rules: [{ label: '', maxRequests: 0, duration: 0 }] });
    assert.deepEqual((await srv.pb.settings.getAll()).rateLimits, before);
  });
});

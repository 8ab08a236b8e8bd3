// OAuth2 against a real OpenID Connect provider process (oidc-provider-mock, see
// oidc.mjs): provider options on auth collections, auth-methods, the code flow
// (auth-with-oauth2), _externalAuths, and the SDK's realtime/popup flow through
// /api/realtime + /api/oauth2-redirect.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EventSource } from 'eventsource';
import { useServer, test, describe, rejects, errBody, fieldErr, jwtPayload, ID_RE, DATE_RE, uniqueName } from './harness.mjs';
import { authorize } from './oidc.mjs';

// the SDK's realtime service (used by authWithOAuth2's popup flow) needs a global EventSource
globalThis.EventSource ??= EventSource;

import { ALICE, CLIENT_ID, CLIENT_SECRET, REDIRECT, MAPPED, s256, useOAuthServer } from './oauth2_setup.mjs';

const ctx = useOAuthServer();
const { srv, idp, providerConfig, M, newIdpUser, startLogin, oauthLogin, externalAuthsOf } = ctx;

describe('oauth2 provider options (collection)', () => {
  test('stored shape: providers without clientSecret, pkce null when omitted, mappedFields', async () => {
    const r = await srv.su('GET', '/api/collections/members');
    assert.equal(r.status, 200);
    const stored = (name, displayName, pkce) => ({
      pkce,
      name,
      clientId: CLIENT_ID,
      authURL: idp.authURL,
      tokenURL: idp.tokenURL,
      userInfoURL: idp.userInfoURL,
      displayName,
      extra: {},
    });
    assert.deepEqual(r.json.oauth2, {
      providers: [stored('oidc', 'Mock IdP', true), stored('oidc2', '', false), stored('oidc3', '', null)],
      mappedFields: MAPPED,
      enabled: true,
    });
    assert.doesNotMatch(r.text, new RegExp(CLIENT_SECRET), 'the client secret is never returned');
  });

  test('mappedFields naming a missing field are reset to ""', async () => {
    const name = uniqueName('oa');
    const c = await srv.pb.collections.create({
      name,
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      oauth2: { enabled: true, providers: [providerConfig('oidc')], mappedFields: { id: 'nope', name: 'nick', username: 'missing', avatarURL: '' } },
    });
    assert.deepEqual(c.oauth2.mappedFields, { id: '', name: 'nick', username: '', avatarURL: '' });
  });

  test('validation: unknown provider name, missing client credentials, invalid URLs, duplicates', async () => {
    const patch = (providers) => srv.su('PATCH', '/api/collections/users', { body: { oauth2: { enabled: true, providers } } });
    const failed = (providers) => errBody(400, 'Failed to update collection.', { oauth2: { providers } });

    let r = await patch([{ name: 'nope', clientId: 'a', clientSecret: 'b' }]);
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      failed({ 0: { name: fieldErr('validation_missing_provider', 'Invalid or missing provider with name nope.', { name: 'nope' }) } }),
    );

    r = await patch([{ name: 'oidc' }]);
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      failed({
        0: {
          clientId: fieldErr('validation_required', 'Cannot be blank.'),
          clientSecret: fieldErr('validation_required', 'Cannot be blank.'),
        },
      }),
    );

    r = await patch([{ name: 'oidc', clientId: 'a', clientSecret: 'b', authURL: 'not a url', tokenURL: 'nope', userInfoURL: '::' }]);
    assert.equal(r.status, 400);
    const notURL = fieldErr('validation_is_url', 'Must be a valid URL.');
    assert.deepEqual(r.json, failed({ 0: { authURL: notURL, tokenURL: notURL, userInfoURL: notURL } }));

    r = await patch([providerConfig('oidc'), providerConfig('oidc')]);
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      failed({ 1: { name: fieldErr('validation_duplicated_provider', 'The provider oidc is already registered.', { name: 'oidc' }) } }),
    );

    // none of the above was saved
    const users = await srv.pb.collections.getOne('users');
    assert.deepEqual(users.oauth2.providers, []);
    assert.equal(users.oauth2.enabled, false);
  });

  test('the generic oidc provider needs no URLs to be saved (only name + client credentials)', async () => {
    const name = uniqueName('oa');
    const c = await srv.pb.collections.create({
      name,
      type: 'auth',
      oauth2: { enabled: true, providers: [{ name: 'oidc', clientId: 'a', clientSecret: 'b' }] },
    });
    assert.deepEqual(c.oauth2.providers, [
      { pkce: null, name: 'oidc', clientId: 'a', authURL: '', tokenURL: '', userInfoURL: '', displayName: '', extra: {} },
    ]);
  });

  test('with oauth2 disabled the providers are not validated', async () => {
    const name = uniqueName('oa');
    const c = await srv.pb.collections.create({ name, type: 'auth', oauth2: { enabled: false, providers: [{ name: 'nope' }] } });
    assert.equal(c.oauth2.enabled, false);
    assert.deepEqual(c.oauth2.providers.map((p) => p.name), ['nope']);
  });
});

describe('auth-methods', () => {
  test('raw JSON: exact shape, PKCE params, authURL ending in "&redirect_uri=", legacy fields', async () => {
    const r = await srv.api('GET', '/api/collections/members/auth-methods');
    assert.equal(r.status, 200);
    const body = r.json;
    assert.deepEqual(Object.keys(body).sort(), ['authProviders', 'emailPassword', 'mfa', 'oauth2', 'otp', 'password', 'usernamePassword']);
    assert.deepEqual(body.password, { identityFields: ['email'], enabled: true });
    assert.deepEqual(body.mfa, { enabled: false, duration: 0 });
    assert.deepEqual(body.otp, { enabled: false, duration: 0 });
    assert.equal(body.usernamePassword, false);
    assert.equal(body.emailPassword, true);
    assert.deepEqual(Object.keys(body.oauth2).sort(), ['enabled', 'providers']);
    assert.equal(body.oauth2.enabled, true);

    // provider order is not significant (PocketBase iterates a map)
    const providers = [...body.oauth2.providers].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(providers.map((p) => p.name), ['oidc', 'oidc2', 'oidc3']);
    for (const p of providers) {
      assert.deepEqual(Object.keys(p).sort(), [
        'authURL',
        'authUrl',
        'codeChallenge',
        'codeChallengeMethod',
        'codeVerifier',
        'displayName',
        'logo',
        'name',
        'state',
      ]);
      assert.match(p.state, /^[A-Za-z0-9]{30}$/);
      assert.equal(p.authUrl, p.authURL, 'legacy authUrl mirrors authURL');
      assert.match(p.logo, /^<svg[\s\S]*<\/svg>$/, 'the provider logo is an inline SVG');
    }
    const [oidc, oidc2, oidc3] = providers;

    // PKCE on: 43-char verifier, S256 challenge = base64url(sha256(verifier))
    for (const p of [oidc, oidc3]) {
      assert.match(p.codeVerifier, /^[A-Za-z0-9]{43}$/);
      assert.equal(p.codeChallenge, s256(p.codeVerifier));
      assert.equal(p.codeChallengeMethod, 'S256');
      assert.equal(
        p.authURL,
        `${idp.authURL}?client_id=${CLIENT_ID}&code_challenge=${p.codeChallenge}&code_challenge_method=S256` +
          `&response_type=code&scope=openid+email+profile&state=${p.state}&redirect_uri=`,
      );
    }
    assert.equal(oidc.displayName, 'Mock IdP');
    assert.equal(oidc3.displayName, 'OIDC', 'displayName falls back to the provider default');

    // PKCE off: empty PKCE fields and no code_challenge params
    assert.equal(oidc2.displayName, 'OIDC');
    assert.equal(oidc2.codeVerifier, '');
    assert.equal(oidc2.codeChallenge, '');
    assert.equal(oidc2.codeChallengeMethod, '');
    assert.equal(
      oidc2.authURL,
      `${idp.authURL}?client_id=${CLIENT_ID}&response_type=code&scope=openid+email+profile&state=${oidc2.state}&redirect_uri=`,
    );

    // legacy authProviders: the same entries, with an empty logo
    const legacy = [...body.authProviders].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      legacy,
      providers.map((p) => ({ ...p, logo: '' })),
    );
  });

  test('every call issues a fresh state and code verifier', async () => {
    const a = (await M().listAuthMethods()).oauth2.providers.find((p) => p.name === 'oidc');
    const b = (await M().listAuthMethods()).oauth2.providers.find((p) => p.name === 'oidc');
    assert.notEqual(a.state, b.state);
    assert.notEqual(a.codeVerifier, b.codeVerifier);
    assert.notEqual(a.codeChallenge, b.codeChallenge);
  });

  test('the SDK asks for fields=mfa,otp,password,oauth2 (no legacy fields)', async () => {
    const m = await M().listAuthMethods();
    assert.deepEqual(Object.keys(m).sort(), ['mfa', 'oauth2', 'otp', 'password']);
    assert.deepEqual(m.oauth2.providers.map((p) => p.name).sort(), ['oidc', 'oidc2', 'oidc3']);
  });

  test('oauth2 disabled: enabled false, no providers', async () => {
    const r = await srv.api('GET', '/api/collections/users/auth-methods');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      password: { identityFields: ['email'], enabled: true },
      oauth2: { providers: [], enabled: false },
      mfa: { enabled: false, duration: 0 },
      otp: { enabled: false, duration: 0 },
      authProviders: [],
      usernamePassword: false,
      emailPassword: true,
    });
  });
});

describe('auth-with-oauth2: sign-up, login, linking', () => {
  test('first login creates a verified record with the mapped fields; meta carries the OAuth2 user', async () => {
    const before = Date.now();
    const { res, pb } = await oauthLogin('alice');
    assert.deepEqual(Object.keys(res).sort(), ['meta', 'record', 'token']);

    const { meta } = res;
    assert.deepEqual(Object.keys(meta).sort(), [
      'accessToken',
      'avatarURL',
      'avatarUrl',
      'email',
      'expiry',
      'id',
      'isNew',
      'name',
      'rawUser',
      'refreshToken',
      'username',
    ]);
    assert.equal(meta.isNew, true);
    assert.equal(meta.id, 'alice');
    assert.equal(meta.email, ALICE.email);
    assert.equal(meta.name, ALICE.name);
    assert.equal(meta.username, ALICE.preferred_username);
    assert.equal(meta.avatarURL, ALICE.picture);
    assert.equal(meta.avatarUrl, ALICE.picture, 'legacy avatarUrl');
    assert.deepEqual(meta.rawUser, ALICE, 'rawUser is the provider userinfo response');
    assert.equal(typeof meta.accessToken, 'string');
    assert.ok(meta.accessToken.length > 10);
    assert.equal(typeof meta.refreshToken, 'string');
    assert.ok(meta.refreshToken.length > 10);
    assert.match(meta.expiry, DATE_RE);
    assert.ok(Date.parse(meta.expiry.replace(' ', 'T')) > before, 'expiry = the access token expiry');

    const rec = res.record;
    assert.match(rec.id, ID_RE);
    assert.deepEqual(rec, {
      collectionId: ctx.membersId,
      collectionName: 'members',
      id: rec.id,
      email: ALICE.email,
      emailVisibility: false,
      verified: true,
      name: ALICE.name,
      username: ALICE.preferred_username,
      avatar: ALICE.picture,
      extId: 'alice',
    });

    const p = jwtPayload(res.token);
    assert.deepEqual(p, { collectionId: ctx.membersId, exp: p.exp, id: rec.id, refreshable: true, type: 'auth' });
    assert.equal(pb.authStore.token, res.token, 'the SDK stores the auth');
    assert.equal(pb.authStore.record.id, rec.id);
  });

  test('_externalAuths gets one record {collectionRef, recordRef, provider, providerId}', async () => {
    const { res } = await oauthLogin('alice');
    const list = await externalAuthsOf(res.record.id);
    assert.equal(list.length, 1);
    const ea = list[0];
    assert.deepEqual(Object.keys(ea).sort(), [
      'collectionId',
      'collectionName',
      'collectionRef',
      'created',
      'id',
      'provider',
      'providerId',
      'recordRef',
      'updated',
    ]);
    assert.equal(ea.collectionName, '_externalAuths');
    assert.equal(ea.collectionRef, ctx.membersId);
    assert.equal(ea.recordRef, res.record.id);
    assert.equal(ea.provider, 'oidc');
    assert.equal(ea.providerId, 'alice');
    assert.match(ea.id, ID_RE);
    assert.match(ea.created, DATE_RE);

    // the owner sees it through the SDK helper; a guest sees nothing
    const own = await M(srv.client(res.token)).listExternalAuths(res.record.id);
    assert.deepEqual(own.map((x) => x.id), [ea.id]);
    const guest = await srv.api('GET', '/api/collections/_externalAuths/records');
    assert.equal(guest.status, 200);
    assert.deepEqual(guest.json.items, []);
  });

  test('a second login returns the same record with isNew false and no new link', async () => {
    const first = (await oauthLogin('alice')).res;
    const again = (await oauthLogin('alice', { createData: { name: 'Ignored On Login' } })).res;
    assert.equal(again.meta.isNew, false);
    assert.equal(again.record.id, first.record.id);
    assert.equal(again.record.name, ALICE.name, 'createData is only used for new records');
    assert.equal((await externalAuthsOf(first.record.id)).length, 1);
    const all = await srv.pb.collection('members').getFullList({ filter: srv.pb.filter('email = {:e}', { e: ALICE.email }) });
    assert.equal(all.length, 1);
  });

  test('createData is used on sign-up and wins over the mapped fields', async () => {
    const u = await newIdpUser('cd', { preferred_username: 'cd_mapped' });
    const { res } = await oauthLogin(u.sub, { createData: { name: 'From CreateData', username: 'cd_custom', emailVisibility: true } });
    assert.equal(res.meta.isNew, true);
    assert.equal(res.record.name, 'From CreateData');
    assert.equal(res.record.username, 'cd_custom');
    assert.equal(res.record.emailVisibility, true);
    assert.equal(res.record.extId, u.sub);
    assert.equal(res.record.email, u.email);
  });

  test('an unverified provider email is not used: sign-up fails with email validation_required', async () => {
    const u = await newIdpUser('unverified', { email_verified: false });
    const { info, code } = await startLogin(u.sub);
    const err = await rejects(M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT), 400);
    assert.deepEqual(err.response, errBody(400, 'Failed to create record.', { email: fieldErr('validation_required', 'Cannot be blank.') }));
    const found = await srv.pb.collection('members').getFullList({ filter: srv.pb.filter('extId = {:s}', { s: u.sub }) });
    assert.deepEqual(found, []);
  });

  test('an existing unverified account with the same email is linked, verified, and its password reset', async () => {
    const u = await newIdpUser('erin');
    const pw = 'erin-pass-1234';
    const existing = await srv.pb.collection('members').create({ email: u.email, password: pw, passwordConfirm: pw });
    const old = await M().authWithPassword(u.email, pw);

    const { res } = await oauthLogin(u.sub);
    assert.equal(res.meta.isNew, false);
    assert.equal(res.record.id, existing.id);
    assert.equal(res.record.verified, true);
    assert.equal(res.record.name, '', 'mapped fields are not applied to existing records');
    const links = await externalAuthsOf(existing.id);
    assert.deepEqual(links.map((l) => [l.provider, l.providerId]), [['oidc', u.sub]]);

    // the old password (possibly set by someone else) no longer works, nor the old token
    await rejects(M().authWithPassword(u.email, pw), 400, errBody(400, 'Failed to authenticate.'));
    await rejects(
      M(srv.client(old.token)).authRefresh(),
      401,
      errBody(401, 'The request requires valid record authorization token.'),
    );
  });

  test('an existing verified account with the same email is linked and keeps its password', async () => {
    const u = await newIdpUser('fred');
    const pw = 'fred-pass-1234';
    const existing = await srv.pb.collection('members').create({ email: u.email, password: pw, passwordConfirm: pw, verified: true });
    const old = await M().authWithPassword(u.email, pw);

    const { res } = await oauthLogin(u.sub);
    assert.equal(res.meta.isNew, false);
    assert.equal(res.record.id, existing.id);
    assert.equal((await externalAuthsOf(existing.id)).length, 1);
    await M().authWithPassword(u.email, pw);
    const refreshed = await M(srv.client(old.token)).authRefresh();
    assert.equal(refreshed.record.id, existing.id);
  });

  test('a logged-in record calling auth-with-oauth2 links the provider to itself', async () => {
    const pw = 'gus-pass-12345';
    const gusEmail = `gus-${process.pid}@example.com`;
    const gus = await srv.pb.collection('members').create({ email: gusEmail, password: pw, passwordConfirm: pw });
    const pb = srv.client();
    await M(pb).authWithPassword(gusEmail, pw);
    const ext = await newIdpUser('gus-ext'); // a different email at the provider

    const { res } = await oauthLogin(ext.sub, { pb });
    assert.equal(res.meta.isNew, false);
    assert.equal(res.meta.email, ext.email);
    assert.equal(res.record.id, gus.id);
    assert.equal(res.record.email, gusEmail, 'the email is kept');
    assert.equal(res.record.verified, false, 'not verified: the provider email differs');
    assert.deepEqual(
      (await externalAuthsOf(gus.id)).map((l) => [l.collectionRef, l.provider, l.providerId]),
      [[ctx.membersId, 'oidc', ext.sub]],
    );
    // linking while logged in keeps the password
    await M().authWithPassword(gusEmail, pw);

    // a later guest login with that provider account lands on the same record; as the
    // record is still unverified (and not the logged-in one), its password is reset
    const guest = (await oauthLogin(ext.sub)).res;
    assert.equal(guest.record.id, gus.id);
    assert.equal(guest.meta.isNew, false);
    await rejects(M().authWithPassword(gusEmail, pw), 400, errBody(400, 'Failed to authenticate.'));
  });

  test("another collection's auth (a superuser) is not linked: a new record is created", async () => {
    const u = await newIdpUser('viasu');
    const { res } = await oauthLogin(u.sub, { pb: srv.client(srv.pb.authStore.token) });
    assert.equal(res.meta.isNew, true);
    assert.equal(res.record.collectionName, 'members');
    assert.equal(res.record.email, u.email);
  });

  test('a provider without PKCE (oidc2): no code verifier needed; linked separately by provider name', async () => {
    const u = await newIdpUser('nopkce');
    const first = (await oauthLogin(u.sub)).res;
    const { info, code } = await startLogin(u.sub, { provider: 'oidc2' });
    assert.equal(info.codeVerifier, '');
    const res = await M().authWithOAuth2Code('oidc2', code, '', REDIRECT);
    assert.equal(res.meta.isNew, false, 'found by email');
    assert.equal(res.record.id, first.record.id);
    const links = (await externalAuthsOf(first.record.id)).map((l) => `${l.provider}:${l.providerId}`).sort();
    assert.deepEqual(links, [`oidc2:${u.sub}`, `oidc:${u.sub}`]);
  });
});

describe('auth-with-oauth2: failures', () => {
  const TOKEN_FAILED = errBody(400, 'Failed to fetch OAuth2 token.');

  test('wrong PKCE code verifier -> 400 "Failed to fetch OAuth2 token."', async () => {
    const { code } = await startLogin('alice');
    await rejects(M().authWithOAuth2Code('oidc', code, 'x'.repeat(43), REDIRECT), 400, TOKEN_FAILED);
  });

  test('a code from another auth-methods call (its verifier does not match) -> 400', async () => {
    const { code } = await startLogin('alice');
    const other = (await M().listAuthMethods()).oauth2.providers.find((p) => p.name === 'oidc');
    await rejects(M().authWithOAuth2Code('oidc', code, other.codeVerifier, REDIRECT), 400, TOKEN_FAILED);
  });

  test('a reused code -> 400', async () => {
    const { info, code } = await startLogin('alice');
    await M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT);
    await rejects(M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT), 400, TOKEN_FAILED);
  });

  test('a made-up code -> 400', async () => {
    const info = (await M().listAuthMethods()).oauth2.providers.find((p) => p.name === 'oidc');
    await rejects(M().authWithOAuth2Code('oidc', 'not-a-code', info.codeVerifier, REDIRECT), 400, TOKEN_FAILED);
  });

  test('a redirectURL other than the one sent to the provider -> 400', async () => {
    const { info, code } = await startLogin('alice');
    await rejects(M().authWithOAuth2Code('oidc', code, info.codeVerifier, 'http://127.0.0.1:9/elsewhere'), 400, TOKEN_FAILED);
  });

  test('unknown provider name -> 400 validation_invalid_provider', async () => {
    const err = await rejects(M().authWithOAuth2Code('github', 'x', 'y', REDIRECT), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'An error occurred while loading the submitted data.', {
        provider: fieldErr('validation_invalid_provider', 'Provider with name github is missing or is not enabled.', { name: 'github' }),
      }),
    );
  });

  test('empty body -> provider and code required (redirectURL is not)', async () => {
    const r = await srv.api('POST', '/api/collections/members/auth-with-oauth2', { body: {} });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json,
      errBody(400, 'An error occurred while loading the submitted data.', {
        code: fieldErr('validation_required', 'Cannot be blank.'),
        provider: fieldErr('validation_required', 'Cannot be blank.'),
      }),
    );
  });

  test('oauth2 disabled -> 403', async () => {
    await rejects(
      srv.client().collection('users').authWithOAuth2Code('oidc', 'x', 'y', REDIRECT),
      403,
      errBody(403, 'The collection is not configured to allow OAuth2 authentication.'),
    );
  });

  test('not an auth collection -> 404; missing collection -> 404', async () => {
    let r = await srv.api('POST', '/api/collections/_externalAuths/auth-with-oauth2', { body: {} });
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, errBody(404, 'Missing or invalid auth collection context.'));
    r = await srv.api('POST', '/api/collections/nope_nope/auth-with-oauth2', { body: {} });
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, errBody(404, 'Missing or invalid collection context.'));
  });

  test('createRule null: OAuth2 sign-up -> 403, while linked records still log in', async () => {
    const u = await newIdpUser('norule');
    await srv.pb.collections.update('members', { createRule: null });
    try {
      const { info, code } = await startLogin(u.sub);
      await rejects(
        M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT),
        403,
        errBody(403, 'Only superusers can perform this action.'),
      );
      const res = (await oauthLogin('alice')).res;
      assert.equal(res.meta.isNew, false);
    } finally {
      await srv.pb.collections.update('members', { createRule: '' });
    }
  });

  test('authRule null or not satisfied -> 403 (after the provider exchange)', async () => {
    const FORBIDDEN = errBody(403, "The request doesn't satisfy the collection requirements to authenticate.");
    try {
      await srv.pb.collections.update('members', { authRule: null });
      let { info, code } = await startLogin('alice');
      await rejects(M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT), 403, FORBIDDEN);

      await srv.pb.collections.update('members', { authRule: 'verified = false' });
      ({ info, code } = await startLogin('alice'));
      await rejects(M().authWithOAuth2Code('oidc', code, info.codeVerifier, REDIRECT), 403, FORBIDDEN);
    } finally {
      await srv.pb.collections.update('members', { authRule: '' });
    }
    assert.equal((await oauthLogin('alice')).res.meta.isNew, false);
  });
});


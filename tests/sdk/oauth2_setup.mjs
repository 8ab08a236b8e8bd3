// Shared setup of the OAuth2 SDK tests (auth_oauth2*.test.mjs): a real
// OpenID Connect provider process (oidc.mjs), a server with a `members` auth
// collection wired to it, and helpers for the code flow.
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { useServer } from './harness.mjs';
import { useOidcProvider, authorize } from './oidc.mjs';

export const ALICE = {
  sub: 'alice',
  email: 'alice@example.test',
  email_verified: true,
  name: 'Alice Liddell',
  preferred_username: 'alice_w',
  picture: 'https://img.example.test/alice.png',
};
export const CLIENT_ID = 'cairn-client';
export const CLIENT_SECRET = 'cairn-client-secret';
export const REDIRECT = 'http://127.0.0.1:9/oauth-callback';
export const MAPPED = { id: 'extId', name: 'name', username: 'username', avatarURL: 'avatar' };
export const s256 = (verifier) => crypto.createHash('sha256').update(verifier).digest('base64url');

/** Starts the provider and the server for one test file; returns the helpers. */
export function useOAuthServer() {
  const ctx = {};
  const idp = useOidcProvider({ users: [ALICE] });
  ctx.idp = idp;

  /** The oauth2 provider options as PocketBase stores them (no clientSecret). */
  function providerConfig(name, over = {}) {
    return {
      name,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      authURL: idp.authURL,
      tokenURL: idp.tokenURL,
      userInfoURL: idp.userInfoURL,
      ...over,
    };
  }

  const srv = useServer(async (s) => {
    await idp.ready();
    const c = await s.pb.collections.create({
      name: 'members',
      type: 'auth',
      listRule: 'id = @request.auth.id',
      viewRule: 'id = @request.auth.id',
      createRule: '',
      updateRule: 'id = @request.auth.id',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'username', type: 'text' },
        { name: 'avatar', type: 'url' },
        { name: 'extId', type: 'text' },
      ],
      indexes: ["CREATE UNIQUE INDEX idx_members_username ON members (username) WHERE username != ''"],
      oauth2: {
        enabled: true,
        providers: [
          providerConfig('oidc', { displayName: 'Mock IdP', pkce: true }),
          providerConfig('oidc2', { pkce: false }),
          providerConfig('oidc3'), // pkce omitted -> null -> the provider default (on)
        ],
        mappedFields: MAPPED,
      },
    });
    ctx.membersId = c.id;
  });

  const M = (pb = srv.client()) => pb.collection('members');
  let subSeq = 0;
  /** A fresh provider user (unique sub/email) with a verified email. */
  async function newIdpUser(prefix, claims = {}) {
    subSeq += 1;
    const sub = `${prefix}-${subSeq}`;
    const all = { email: `${sub}@example.test`, email_verified: true, name: `${prefix} ${subSeq}`, ...claims };
    await idp.setUser(sub, all);
    return { sub, ...all };
  }

  /** auth-methods -> headless authorize at the provider; returns {info, code, state}. */
  async function startLogin(sub, { collection = 'members', provider = 'oidc', redirectURL = REDIRECT } = {}) {
    const methods = await srv.client().collection(collection).listAuthMethods();
    const info = methods.oauth2.providers.find((p) => p.name === provider);
    assert.ok(info, `provider ${provider} listed`);
    const { code, state } = await authorize(info.authURL, redirectURL, sub);
    assert.ok(code, 'the provider issued a code');
    assert.equal(state, info.state, 'the provider echoes the state');
    return { info, code };
  }

  /** The full code flow through the SDK; returns {res, pb, code, info}. */
  async function oauthLogin(sub, { pb = srv.client(), collection = 'members', provider = 'oidc', createData, verifier } = {}) {
    const { info, code } = await startLogin(sub, { collection, provider });
    const res = await pb.collection(collection).authWithOAuth2Code(provider, code, verifier ?? info.codeVerifier, REDIRECT, createData);
    return { res, pb, code, info };
  }

  async function externalAuthsOf(recordId) {
    return srv.pb.collection('_externalAuths').getFullList({ filter: srv.pb.filter('recordRef = {:id}', { id: recordId }) });
  }


  Object.assign(ctx, { srv, providerConfig, M, newIdpUser, startLogin, oauthLogin, externalAuthsOf });
  return ctx;
}

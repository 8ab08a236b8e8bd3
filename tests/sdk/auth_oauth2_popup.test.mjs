// OAuth2's popup flow against a real OpenID Connect provider process: the
// SDK's authWithOAuth2({provider}) through /api/realtime + /api/oauth2-redirect.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EventSource } from 'eventsource';
import { useServer, test, describe, rejects, errBody, fieldErr, jwtPayload, ID_RE, DATE_RE, uniqueName, ON_POSTGRES } from './harness.mjs';
import { authorize } from './oidc.mjs';

// the SDK's realtime service (used by authWithOAuth2's popup flow) needs a global EventSource
globalThis.EventSource ??= EventSource;

import { ALICE, CLIENT_ID, CLIENT_SECRET, REDIRECT, MAPPED, s256, useOAuthServer } from './oauth2_setup.mjs';

const ctx = useOAuthServer();
const { srv, idp, providerConfig, M, newIdpUser, startLogin, oauthLogin, externalAuthsOf } = ctx;

// ---- the realtime ("popup") flow ----

const REDIRECT_SUCCESS = '../_/#/auth/oauth2-redirect-success';
const REDIRECT_FAILURE = '../_/#/auth/oauth2-redirect-failure';

/** GET (or POST) /api/oauth2-redirect of `base` (default: this file's server) without following; returns {status, location, text}. */
async function hitRedirect(query = '', init = {}, base = srv.url) {
  const r = await fetch(`${base}/api/oauth2-redirect${query}`, { redirect: 'manual', ...init });
  return { status: r.status, location: r.headers.get('location'), text: await r.text() };
}

/** A raw SSE client of /api/realtime: resolves once PB_CONNECT arrived; collects @oauth2 messages. */
async function realtimeClient() {
  const es = new EventSource(`${srv.url}/api/realtime`);
  const messages = [];
  const connect = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no PB_CONNECT within 10s')), 10_000);
    es.addEventListener('PB_CONNECT', (e) => {
      clearTimeout(timer);
      resolve({ data: JSON.parse(e.data), id: e.lastEventId });
    });
  });
  es.addEventListener('@oauth2', (e) => messages.push({ data: JSON.parse(e.data), id: e.lastEventId }));
  const clientId = connect.id;
  const subscribe = async () => {
    const r = await srv.api('POST', '/api/realtime', { body: { clientId, subscriptions: ['@oauth2'] } });
    assert.equal(r.status, 204);
  };
  return { es, clientId, connect, messages, subscribe };
}

async function waitFor(pred, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('authWithOAuth2 popup flow (/api/realtime + /api/oauth2-redirect)', () => {
  test('the SDK flow: urlCallback gets the authURL with state = realtime client id; redirect -> 307 success', async () => {
    const pb = srv.client();
    let seen;
    const res = await M(pb).authWithOAuth2({
      provider: 'oidc',
      urlCallback: async (url) => {
        const u = new URL(url);
        const { code, location } = await authorize(url, null, 'alice');
        // The SDK may settle on the realtime message before this request
        // returns: keep the promise and await it after the flow.
        seen = { u, code, location, redirect: hitRedirect(new URL(location).search) };
        await seen.redirect;
      },
    });
    const { u, location } = seen;
    const redirect = await seen.redirect;
    assert.equal(`${u.origin}${u.pathname}`, idp.authURL);
    assert.equal(u.searchParams.get('redirect_uri'), `${srv.url}/api/oauth2-redirect`);
    assert.equal(u.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.match(u.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(u.searchParams.get('state'), /^[A-Za-z0-9]{40}$/, 'state = the realtime client id');
    assert.ok(location.startsWith(`${srv.url}/api/oauth2-redirect?`));
    assert.deepEqual(redirect, { status: 307, location: REDIRECT_SUCCESS, text: '' });

    // This file's server is fresh: alice signs up through the popup flow.
    assert.equal(res.meta.isNew, true);
    assert.equal(res.record.email, ALICE.email);
    assert.equal(pb.authStore.record.id, res.record.id);
    assert.equal(pb.authStore.isValid, true);
  });

  test('the provider redirecting with an error: the SDK rejects, the redirect answers 307 failure', async () => {
    let redirect;
    const err = await rejects(
      M().authWithOAuth2({
        provider: 'oidc',
        urlCallback: async (url) => {
          const state = new URL(url).searchParams.get('state');
          redirect = hitRedirect(`?state=${state}&error=access_denied`); // awaited below: the SDK rejects on the message
          await redirect;
        },
      }),
      0,
    );
    redirect = await redirect;
    assert.equal(err.originalError?.message, 'OAuth2 redirect error or missing code: access_denied');
    assert.deepEqual(redirect, { status: 307, location: REDIRECT_FAILURE, text: '' });
  });

  test('/api/oauth2-redirect without a matching realtime client -> failure redirect (307 GET, 303 POST)', async () => {
    assert.deepEqual(await hitRedirect(''), { status: 307, location: REDIRECT_FAILURE, text: '' });
    assert.deepEqual(await hitRedirect('?state=nope&code=abc'), { status: 307, location: REDIRECT_FAILURE, text: '' });
    assert.deepEqual(await hitRedirect('?state=nope&error=access_denied'), { status: 307, location: REDIRECT_FAILURE, text: '' });
    const post = await hitRedirect('', { method: 'POST', body: new URLSearchParams({ state: 'nope', code: 'abc' }) });
    assert.deepEqual(post, { status: 303, location: REDIRECT_FAILURE, text: '' });
  });

  test('raw: a subscribed client gets an @oauth2 message {state, code[, error]}; one message per subscription', async () => {
    const rt = await realtimeClient();
    try {
      assert.match(rt.clientId, /^[A-Za-z0-9]{40}$/);
      assert.deepEqual(rt.connect.data, { clientId: rt.clientId });

      // not subscribed yet -> failure, nothing sent
      assert.deepEqual(await hitRedirect(`?state=${rt.clientId}&code=early`), { status: 307, location: REDIRECT_FAILURE, text: '' });

      await rt.subscribe();
      assert.deepEqual(await hitRedirect(`?state=${rt.clientId}&code=abc`), { status: 307, location: REDIRECT_SUCCESS, text: '' });
      await waitFor(() => rt.messages.length === 1, 'the @oauth2 message');
      assert.deepEqual(rt.messages[0], { data: { state: rt.clientId, code: 'abc' }, id: rt.clientId });

      // the redirect unsubscribed the client
      assert.deepEqual(await hitRedirect(`?state=${rt.clientId}&code=def`), { status: 307, location: REDIRECT_FAILURE, text: '' });

      // error: still forwarded, but the redirect is a failure
      await rt.subscribe();
      assert.deepEqual(await hitRedirect(`?state=${rt.clientId}&error=boom`), { status: 307, location: REDIRECT_FAILURE, text: '' });
      await waitFor(() => rt.messages.length === 2, 'the error message');
      assert.deepEqual(rt.messages[1].data, { state: rt.clientId, code: '', error: 'boom' });

      // no code: forwarded, failure
      await rt.subscribe();
      assert.deepEqual(await hitRedirect(`?state=${rt.clientId}`), { status: 307, location: REDIRECT_FAILURE, text: '' });
      await waitFor(() => rt.messages.length === 3, 'the no-code message');
      assert.deepEqual(rt.messages[2].data, { state: rt.clientId, code: '' });

      // POST (response_mode=form_post), form or JSON body -> 303
      await rt.subscribe();
      const form = await hitRedirect('', { method: 'POST', body: new URLSearchParams({ state: rt.clientId, code: 'viaform' }) });
      assert.deepEqual(form, { status: 303, location: REDIRECT_SUCCESS, text: '' });
      await rt.subscribe();
      const json = await hitRedirect('', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: rt.clientId, code: 'viajson' }),
      });
      assert.deepEqual(json, { status: 303, location: REDIRECT_SUCCESS, text: '' });
      await waitFor(() => rt.messages.length === 5, 'the POST messages');
      assert.deepEqual(
        rt.messages.slice(3).map((m) => m.data),
        [
          { state: rt.clientId, code: 'viaform' },
          { state: rt.clientId, code: 'viajson' },
        ],
      );
    } finally {
      rt.es.close();
    }
  });
});

// Several nodes on one PostgreSQL database (docs/scaling.md): the provider's
// redirect may land on another node than the one holding the SDK's realtime
// stream; the message still reaches the client, with the same answers.
describe('the popup flow across two nodes', { skip: ON_POSTGRES ? false : 'needs SDK_STORE=postgres' }, () => {
  let b;
  const hitB = (query, init = {}) => hitRedirect(query, init, b.url);

  test('node B starts', async () => {
    b = await srv.peer();
  });

  test('the SDK signs in on A while the provider redirects to B', async () => {
    const pb = srv.client();
    let redirect;
    const res = await M(pb).authWithOAuth2({
      provider: 'oidc',
      urlCallback: async (url) => {
        const { location } = await authorize(url, null, 'alice');
        redirect = hitB(new URL(location).search);
        await redirect;
      },
    });
    assert.deepEqual(await redirect, { status: 307, location: REDIRECT_SUCCESS, text: '' });
    assert.equal(res.record.email, ALICE.email);
    assert.equal(pb.authStore.isValid, true);
  });

  test('raw: B answers as A would (failure before the subscription, one message per subscription)', async () => {
    const rt = await realtimeClient();
    try {
      assert.deepEqual(await hitB(`?state=${rt.clientId}&code=early`), { status: 307, location: REDIRECT_FAILURE, text: '' });
      await rt.subscribe(); // through A, which holds the stream
      assert.deepEqual(await hitB(`?state=${rt.clientId}&code=abc`), { status: 307, location: REDIRECT_SUCCESS, text: '' });
      await waitFor(() => rt.messages.length === 1, 'the @oauth2 message through B');
      assert.deepEqual(rt.messages[0], { data: { state: rt.clientId, code: 'abc' }, id: rt.clientId });
      assert.deepEqual(await hitB(`?state=${rt.clientId}&code=again`), { status: 307, location: REDIRECT_FAILURE, text: '' });

      // subscribed through B this time, the redirect on A, then on B
      const viaB = await fetch(`${b.url}/api/realtime`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: rt.clientId, subscriptions: ['@oauth2'] }),
      });
      assert.equal(viaB.status, 204);
      const post = await hitB('', { method: 'POST', body: new URLSearchParams({ state: rt.clientId, code: 'viaform' }) });
      assert.deepEqual(post, { status: 303, location: REDIRECT_SUCCESS, text: '' });
      await waitFor(() => rt.messages.length === 2, 'the second message');
      assert.deepEqual(rt.messages[1].data, { state: rt.clientId, code: 'viaform' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rt.messages.length, 2, 'nothing twice');
    } finally {
      rt.es.close();
    }
  });

  test('a redirect for a client no node holds fails on B', async () => {
    assert.deepEqual(await hitB('?state=nope&code=abc'), { status: 307, location: REDIRECT_FAILURE, text: '' });
  });

  test('node B stops', async () => {
    await b.stop();
  });
});

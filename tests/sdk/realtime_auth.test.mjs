// Realtime and auth: what auth-collection events reveal (email, emailVisibility,
// hidden fields) per subscriber, and how a realtime client's auth evolves: bound by
// the first subscription POST, kept (not re-sent) by the SDK on authStore changes,
// refreshed when the auth record is updated, dropped (-> guest) when its tokenKey
// changes or the record is deleted.
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';
import { waitFor, sleep, collect, sorted, settleCount, closeAll, postSubs } from './realtime_fixtures.mjs';

const PW = 'user-pass-123';
const AUTH_MISMATCH = errBody(403, "The current and the previous request authorization don't match.");

let owner; // members clients
let other;
let manager;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'members',
    type: 'auth',
    listRule: '',
    viewRule: '',
    manageRule: "@request.auth.role = 'manager'",
    fields: [
      { name: 'role', type: 'text' },
      { name: 'note', type: 'text', hidden: true },
    ],
  });
  owner = await s.userClient('members');
  other = await s.userClient('members');
  manager = await s.userClient('members');
  await s.pb.collection('members').update(manager.authStore.record.id, { role: 'manager' });
  await s.pb.collections.update('users', { listRule: "@request.auth.name = 'vip'", viewRule: null });
  const col = (name, listRule) => s.pb.collections.create({ name, listRule, viewRule: listRule, fields: [{ name: 'title', type: 'text' }] });
  await col('au_members_only', "@request.auth.id != ''");
  await col('au_guests_only', "@request.auth.id = ''");
  await col('au_vip', "@request.auth.name = 'vip'");
});

const C = (name) => srv.pb.collection(name);
const clone = (c) => srv.client(c.authStore.token, c.authStore.record);

/** A new logged-in users client (for tests that change or delete the user). */
async function freshUser() {
  return srv.userClient('users');
}

describe('auth collection events', () => {
  test('email only for the owner, a manager (manageRule) and superusers; hidden fields only for superusers', async () => {
    const actors = { owner: clone(owner), other: clone(other), manager: clone(manager), guest: srv.client(), superuser: clone(srv.pb) };
    const id = owner.authStore.record.id;
    try {
      const got = {};
      for (const [a, c] of Object.entries(actors)) got[a] = (await collect(c, 'members', '*', { fields: 'id,email,emailVisibility,note,role,tokenKey,password' })).events;
      await C('members').update(id, { role: 'r1', note: 'secret', emailVisibility: false });
      for (const a of Object.keys(actors)) await settleCount(got[a], 1, `${a} event`, 0);
      const email = owner.authStore.record.email;
      const base = { id, emailVisibility: false, role: 'r1' };
      assert.deepEqual(
        Object.fromEntries(Object.entries(got).map(([a, ev]) => [a, ev[0].record])),
        {
          owner: { ...base, email },
          other: base,
          manager: { ...base, email },
          guest: base,
          superuser: { ...base, email, note: 'secret' },
        },
      );
      // without `fields`: the same record the actor would get from the REST API
      const full = {};
      for (const [a, c] of Object.entries(actors)) full[a] = (await collect(c, 'members', id)).events;
      await C('members').update(id, { role: 'r2', emailVisibility: true });
      for (const a of Object.keys(actors)) await settleCount(full[a], 1, `${a} event`, 0);
      for (const [a, c] of Object.entries(actors)) {
        const rest = await c.collection('members').getOne(id);
        assert.deepEqual(full[a][0], { action: 'update', record: rest }, a);
        assert.equal(full[a][0].record.email, email, `${a}: emailVisibility = true shows the email`);
      }
    } finally {
      await closeAll(...Object.values(actors));
    }
  });
});

describe('auth changes of a realtime client', () => {
  test('SDK: authStore.save() keeps the connection and sends nothing; the old auth stays bound; a new subscribe -> 403', async () => {
    const pb = clone(owner);
    const posts = [];
    pb.beforeSend = (url, options) => {
      if (url.endsWith('/api/realtime')) posts.push(options.headers.Authorization ?? '');
      return { url, options };
    };
    try {
      const { events } = await collect(pb, 'au_members_only');
      const clientId = pb.realtime.clientId;
      assert.deepEqual(posts, [owner.authStore.token]);
      pb.authStore.save(other.authStore.token, other.authStore.record);
      await C('au_members_only').create({ title: 'm1' });
      await settleCount(events, 1, 'event');
      assert.equal(pb.realtime.clientId, clientId, 'no reconnect');
      assert.equal(posts.length, 1, 'no re-submit on auth change');

      const err = await rejects(collect(pb, 'au_guests_only'), 403, AUTH_MISMATCH);
      assert.equal(err.url, `${srv.url}/api/realtime`);
      assert.deepEqual(posts, [owner.authStore.token, other.authStore.token]);
      pb.authStore.clear();
      await rejects(collect(pb, 'au_guests_only', 'x'), 403, AUTH_MISMATCH);
      // the server kept the previous subscriptions and auth
      await C('au_guests_only').create({ title: 'g1' });
      await C('au_members_only').create({ title: 'm2' });
      await settleCount(events, 2, 'events');
      assert.deepEqual(sorted(events), ['create:m1', 'create:m2']);
      assert.equal(pb.realtime.clientId, clientId);
    } finally {
      await closeAll(pb);
    }
  });

  test('SDK: a guest that logs in stays a guest for realtime until its next subscription POST', async () => {
    const pb = srv.client();
    try {
      const guests = await collect(pb, 'au_guests_only');
      const members = await collect(pb, 'au_members_only');
      await pb.collection('members').authWithPassword(owner.authStore.record.email, PW);
      await C('au_guests_only').create({ title: 'g1' });
      await C('au_members_only').create({ title: 'm1' });
      await settleCount(guests.events, 1, 'guest event');
      assert.equal(members.events.length, 0);
      await collect(pb, 'au_vip'); // POSTs the whole list again, now with the token
      await C('au_guests_only').create({ title: 'g2' });
      await C('au_members_only').create({ title: 'm2' });
      await settleCount(members.events, 1, 'member event');
      assert.deepEqual(sorted(guests.events), ['create:g1']);
      assert.deepEqual(sorted(members.events), ['create:m2']);
    } finally {
      await closeAll(pb);
    }
  });

  test('an update of the auth record is seen by the rules at once (no re-subscribe)', async () => {
    const u = await freshUser();
    const id = u.authStore.record.id;
    try {
      const { events } = await collect(u, 'au_vip');
      await C('au_vip').create({ title: 'v1' });
      await srv.pb.collection('users').update(id, { name: 'vip' });
      await C('au_vip').create({ title: 'v2' });
      await settleCount(events, 1, 'event');
      await srv.pb.collection('users').update(id, { name: 'plain' });
      await C('au_vip').create({ title: 'v3' });
      await C('au_members_only').create({ title: 'sentinel' });
      await sleep(300);
      assert.deepEqual(sorted(events), ['create:v2']);
    } finally {
      await closeAll(u);
    }
  });

  test('a tokenKey change (password change) turns the client into a guest; the old token can no longer re-subscribe as the user', async () => {
    const u = await freshUser();
    const id = u.authStore.record.id;
    const oldToken = u.authStore.token;
    try {
      const members = await collect(u, 'au_members_only');
      const guests = await collect(u, 'au_guests_only');
      const clientId = u.realtime.clientId;
      // a change that keeps the tokenKey keeps the auth
      await srv.pb.collection('users').update(id, { verified: true });
      assert.deepEqual((await postSubs(srv.url, { clientId, subscriptions: [] })).json, AUTH_MISMATCH, 'still bound');
      await C('au_members_only').create({ title: 'm1' });
      await settleCount(members.events, 1, 'member event');

      await srv.pb.collection('users').update(id, { password: 'changed-pass-1', passwordConfirm: 'changed-pass-1' });
      await C('au_members_only').create({ title: 'm2' });
      await C('au_guests_only').create({ title: 'g1' });
      await settleCount(guests.events, 1, 'guest event');
      assert.deepEqual(sorted(members.events), ['create:m1']);
      assert.equal(u.realtime.clientId, clientId, 'the connection stays open');
      // the old token is invalid now -> the POST is a guest's, which the unbound client accepts
      const r = await postSubs(srv.url, { clientId, subscriptions: ['au_members_only/*'] }, { token: oldToken });
      assert.equal(r.status, 204);
      assert.equal((await postSubs(srv.url, { clientId, subscriptions: ['au_members_only/*'] })).status, 204, 'still unbound');
      const fresh = srv.client();
      await fresh.collection('users').authWithPassword(u.authStore.record.email, 'changed-pass-1');
      assert.equal((await postSubs(srv.url, { clientId, subscriptions: ['au_members_only/*'] }, { token: fresh.authStore.token })).status, 204);
      assert.deepEqual((await postSubs(srv.url, { clientId, subscriptions: [] })).json, AUTH_MISMATCH, 'bound again');
    } finally {
      await closeAll(u);
    }
  });

  test('deleting the auth record turns its realtime clients into guests', async () => {
    const u = await freshUser();
    try {
      const members = await collect(u, 'au_members_only');
      const guests = await collect(u, 'au_guests_only');
      await C('au_members_only').create({ title: 'm1' });
      await settleCount(members.events, 1, 'member event');
      await srv.pb.collection('users').delete(u.authStore.record.id);
      await C('au_members_only').create({ title: 'm2' });
      await C('au_guests_only').create({ title: 'g1' });
      await settleCount(guests.events, 1, 'guest event');
      assert.deepEqual(sorted(members.events), ['create:m1']);
      assert.equal((await postSubs(srv.url, { clientId: u.realtime.clientId, subscriptions: [] })).status, 204, 'guest POST accepted');
    } finally {
      await closeAll(u);
    }
  });
});

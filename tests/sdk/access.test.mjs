// Access control through the official SDK: roles, named policies, field-level
// read/write rules and API keys. Cairn-only (PocketBase has none of it): every
// describe is skipped when SDK_TARGET=pocketbase, and the setup, which creates
// Cairn's system records, does nothing there. The full actor x action matrix
// lives in tests/api/access.rs; these are the common paths as an app sees them.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, cairnOnly, IS_POCKETBASE, USERS_ID } from './harness.mjs';
import { PUBLIC_RULES } from './fixtures.mjs';
import { collect, settleCount, closeAll } from './realtime_fixtures.mjs';

const STAFF = "@request.auth.roles ?= 'staff'";
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const ONLY_SUPERUSERS = errBody(403, 'Only superusers can perform this action.');
const KEY_INVALID = errBody(401, 'The API key is invalid, revoked or expired.');
const BAD_FILTER = errBody(400, 'Something went wrong while processing your request.');
const forbidden = (...fields) =>
  errBody(
    403,
    'You are not allowed to write some of the submitted fields.',
    Object.fromEntries(fields.map((f) => [f, fieldErr('validation_field_forbidden', 'You are not allowed to write this field.')])),
  );

// `articles` (public rules): `secret` is readable, `status` writable, by staff only.
const A1 = 'article00000001';
const A2 = 'article00000002';
const ARTICLES = {
  [A1]: { title: 'first', secret: 's1', status: 'draft' },
  [A2]: { title: 'second', secret: 's2', status: 'published' },
};
const C1 = 'comment00000001'; // a comment on A1
/** List options selecting A1 and A2 (fresh each time: the SDK rewrites options objects). */
const onlySeeded = () => ({ sort: 'id', filter: `id = '${A1}' || id = '${A2}'` });

let alice; // plain users (logged-in SDK clients)
let carol;
let bob; // holds the role `staff`
let articlesCol;
let commentsCol;
const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  alice = await s.userClient();
  carol = await s.userClient();
  bob = await s.userClient();
  const staff = await s.pb.collection('_roles').create({ name: 'staff' });
  await s.pb.collection('_roleAssignments').create({ role: staff.id, collectionRef: 'users', recordRef: bob.authStore.record.id });
  articlesCol = await s.pb.collections.create({
    name: 'articles',
    ...PUBLIC_RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'secret', type: 'text', readRule: STAFF },
      { name: 'status', type: 'select', values: ['draft', 'published'], maxSelect: 1, writeRule: STAFF },
    ],
  });
  commentsCol = await s.pb.collections.create({
    name: 'comments',
    ...PUBLIC_RULES,
    fields: [
      { name: 'text', type: 'text' },
      { name: 'article', type: 'relation', collectionId: articlesCol.id, maxSelect: 1 },
    ],
  });
  for (const [id, a] of Object.entries(ARTICLES)) await s.pb.collection('articles').create({ id, ...a });
  await s.pb.collection('comments').create({ id: C1, text: 'nice', article: A1 });
});

/** An article as the API answers it; `secret` only when `shown`. */
function article(id, shown, data = ARTICLES[id]) {
  const { secret, ...rest } = data;
  return { collectionId: articlesCol.id, collectionName: 'articles', id, ...rest, ...(shown ? { secret } : {}) };
}

/** A comment on A1 as the API answers it, with `expand.article` when given. */
function comment(id, text, expandedArticle) {
  const c = { collectionId: commentsCol.id, collectionName: 'comments', id, text, article: A1 };
  return expandedArticle ? { ...c, expand: { article: expandedArticle } } : c;
}

/** [who, SDK client, reads `secret`] for each kind of reader. */
const readers = () => [
  ['guest', srv.client(), false],
  ['carol', carol, false],
  ['bob (staff)', bob, true],
  ['superuser', srv.pb, true],
];

/** A fresh client of the same identity (its own realtime connection). */
const twin = (c) => srv.client(c.authStore.token, c.authStore.record);

describe('roles', { skip: cairnOnly }, () => {
  test('create a role and assign it: a rule using it takes effect on the next request, no new login', async () => {
    const rule = "@request.auth.roles ?= 'auditor'";
    await srv.pb.collections.create({ name: 'audit', listRule: rule, viewRule: rule, fields: [{ name: 'what', type: 'text' }] });
    const entry = await srv.pb.collection('audit').create({ what: 'login' });
    const carolId = carol.authStore.record.id;
    const token = carol.authStore.token;
    assert.equal((await carol.collection('audit').getList()).totalItems, 0);
    await rejects(carol.collection('audit').getOne(entry.id), 404, NOT_FOUND);

    const role = await srv.pb.collection('_roles').create({ name: 'auditor', description: 'reads the audit log' });
    assert.deepEqual([role.collectionName, role.name, role.description], ['_roles', 'auditor', 'reads the audit log']);
    const grant = await srv.pb.collection('_roleAssignments').create({ role: role.id, collectionRef: 'users', recordRef: carolId });
    assert.deepEqual([grant.role, grant.collectionRef, grant.recordRef], [role.id, USERS_ID, carolId], 'collectionRef stored as the id');

    assert.deepEqual((await carol.collection('audit').getList()).items, [entry]);
    assert.deepEqual(await carol.collection('audit').getOne(entry.id), entry);
    assert.equal(carol.authStore.token, token, 'no new login');
    assert.equal((await alice.collection('audit').getList()).totalItems, 0, 'only the assigned user');

    // The same role twice: refused. Revoked: gone on the next request.
    const err = await rejects(srv.pb.collection('_roleAssignments').create({ role: role.id, collectionRef: USERS_ID, recordRef: carolId }), 400);
    assert.equal(err.response.data.role?.code, 'validation_not_unique', JSON.stringify(err.response));
    await srv.pb.collection('_roleAssignments').delete(grant.id);
    assert.equal((await carol.collection('audit').getList()).totalItems, 0);
    await rejects(carol.collection('audit').getOne(entry.id), 404, NOT_FOUND);
  });

  test('roles and assignments are superuser-only by default', async () => {
    await rejects(bob.collection('_roles').getList(), 403, ONLY_SUPERUSERS);
    await rejects(bob.collection('_roleAssignments').create({ role: 'x', collectionRef: 'users', recordRef: 'y' }), 403, ONLY_SUPERUSERS);
    await rejects(srv.client().collection('_policies').getList(), 403, ONLY_SUPERUSERS);
  });
});

describe('named policies', { skip: cairnOnly }, () => {
  let policy;
  const labels = async (c, name) => (await c.collection(name).getFullList({ sort: 'label' })).map((r) => r.label);
  const seen = async (c) => [await labels(c, 'pol_a'), await labels(c, 'pol_b')];

  test('one policy used by two collections: editing it changes both on the next request', async () => {
    policy = await srv.pb.collection('_policies').create({ name: 'shown', rule: 'visible = true', description: 'rows marked visible' });
    for (const name of ['pol_a', 'pol_b']) {
      await srv.pb.collections.create({
        name,
        listRule: '@policy.shown',
        viewRule: '@policy.shown',
        fields: [
          { name: 'label', type: 'text' },
          { name: 'visible', type: 'bool' },
        ],
      });
      await srv.pb.collection(name).create({ label: 'on', visible: true });
      await srv.pb.collection(name).create({ label: 'off', visible: false });
    }
    const guest = srv.client();
    assert.deepEqual(await seen(guest), [['on'], ['on']]);

    await srv.pb.collection('_policies').update(policy.id, { rule: 'visible = false' });
    assert.deepEqual(await seen(guest), [['off'], ['off']]);
    const on = await srv.pb.collection('pol_b').getFirstListItem("label = 'on'");
    await rejects(guest.collection('pol_b').getOne(on.id), 404, NOT_FOUND);

    await srv.pb.collection('_policies').update(policy.id, { rule: `visible = true || ${STAFF}` });
    assert.deepEqual(await seen(guest), [['on'], ['on']]);
    assert.deepEqual(await seen(bob), [['off', 'on'], ['off', 'on']]);
  });

  test('a policy in use cannot be deleted: 400 naming every place that uses it', async () => {
    const err = await rejects(srv.pb.collection('_policies').delete(policy.id), 400);
    assert.equal(err.response.message, 'The policy is in use and cannot be deleted.');
    assert.equal(err.response.data.name?.code, 'validation_policy_in_use', JSON.stringify(err.response));
    const m = /^In use by: (.*)\.$/.exec(err.response.data.name.message);
    assert.ok(m, err.response.data.name.message);
    assert.deepEqual(m[1].split(', ').sort(), ['pol_a.listRule', 'pol_a.viewRule', 'pol_b.listRule', 'pol_b.viewRule']);
    assert.equal((await srv.pb.collection('_policies').getOne(policy.id)).name, 'shown');
  });

  test('saving a policy: unknown references and cycles are refused with the field code', async () => {
    const P = srv.pb.collection('_policies');
    let err = await rejects(P.create({ name: 'dangling', rule: '@policy.nope' }), 400);
    assert.equal(err.response.message, 'Failed to create record.');
    assert.deepEqual(Object.keys(err.response.data), ['rule']);
    assert.equal(err.response.data.rule.code, 'validation_unknown_policy');
    const wrapper = await P.create({ name: 'shown_or_mine', rule: '@policy.shown || @request.auth.id != ""' });
    err = await rejects(P.update(policy.id, { rule: '@policy.shown_or_mine' }), 400);
    assert.equal(err.response.message, 'Failed to update record.');
    assert.equal(err.response.data.rule?.code, 'validation_policy_cycle', JSON.stringify(err.response));
    assert.match(err.response.data.rule.message, /^Policy cycle: .*shown.* -> .*shown.*\.$/);
    await P.delete(wrapper.id);
  });
});

describe('field rules', { skip: cairnOnly }, () => {
  test('a read rule hides the field in getList and getOne; staff and superusers see it', async () => {
    for (const [who, c, shown] of readers()) {
      const page = await c.collection('articles').getList(1, 30, onlySeeded());
      const items = [article(A1, shown), article(A2, shown)];
      assert.deepEqual(page, { page: 1, perPage: 30, totalItems: 2, totalPages: 1, items }, who);
      assert.deepEqual(await c.collection('articles').getOne(A2), article(A2, shown), who);
    }
  });

  test('filtering by it: only when its rule (request-only here) holds for the caller', async () => {
    const filter = "secret = 's1'";
    await rejects(carol.collection('articles').getList(1, 30, { filter }), 400, BAD_FILTER);
    await rejects(srv.client().collection('articles').getList(1, 30, { sort: '-secret' }), 400, BAD_FILTER);
    assert.deepEqual((await bob.collection('articles').getList(1, 30, { filter })).items, [article(A1, true)]);
    assert.deepEqual((await srv.pb.collection('articles').getList(1, 30, { filter })).items, [article(A1, true)]);
  });

  test('and in expanded records', async () => {
    for (const [who, c, shown] of readers()) {
      const one = await c.collection('comments').getOne(C1, { expand: 'article' });
      assert.deepEqual(one, comment(C1, 'nice', article(A1, shown)), who);
      const page = await c.collection('comments').getList(1, 30, { filter: `id = '${C1}'`, expand: 'article' });
      assert.deepEqual(page.items, [comment(C1, 'nice', article(A1, shown))], who);
    }
  });

  test('and in batch results (the hidden field is still written)', async () => {
    await srv.pb.settings.update({ batch: { enabled: true } });
    try {
      const cases = [
        ['carol', carol, false, 'article00000003'],
        ['bob (staff)', bob, true, 'article00000004'],
      ];
      for (const [who, c, shown, id] of cases) {
        const cid = id.replace('article', 'comment');
        const b = c.createBatch();
        b.collection('articles').create({ id, title: 'batched', secret: 'sb' });
        b.collection('articles').update(id, { title: 'batched2' });
        b.collection('comments').create({ id: cid, text: 'via batch', article: A1 }, { expand: 'article' });
        const art = (title) => article(id, shown, { title, secret: 'sb', status: '' });
        assert.deepEqual(
          await b.send(),
          [
            { status: 200, body: art('batched') },
            { status: 200, body: art('batched2') },
            { status: 200, body: comment(cid, 'via batch', article(A1, shown)) },
          ],
          who,
        );
        assert.equal((await srv.pb.collection('articles').getOne(id)).secret, 'sb', `${who}: written`);
      }
    } finally {
      await srv.pb.settings.update({ batch: { enabled: false } });
    }
  });

  test('and in realtime events, on list and record topics', async () => {
    const id = 'article00000005';
    const data = { title: 'live', secret: 's5', status: 'draft' };
    // each subscriber on its own connection
    const subs = readers().map(([who, c, shown]) => [who, c.authStore.token ? twin(c) : srv.client(), shown]);
    try {
      const got = [];
      for (const [who, c, shown] of subs) got.push([who, shown, await collect(c, 'articles'), await collect(c, 'articles', id)]);
      await srv.pb.collection('articles').create({ id, ...data });
      for (const [who, shown, all, one] of got) {
        await settleCount(all.events, 1, `${who}: articles/*`);
        await settleCount(one.events, 1, `${who}: articles/${id}`);
        const want = [{ action: 'create', record: article(id, shown, data) }];
        assert.deepEqual(all.events, want, who);
        assert.deepEqual(one.events, want, who);
      }
    } finally {
      await closeAll(...subs.map(([, c]) => c));
    }
  });

  test('a realtime filter on it works where the rule holds, and yields nothing elsewhere', async () => {
    const id = 'article00000017';
    const opts = { filter: "secret = 's7'" };
    const staff = twin(bob);
    const other = twin(carol);
    try {
      const seen = await collect(staff, 'articles', '*', opts);
      const none = await collect(other, 'articles', '*', opts);
      await srv.pb.collection('articles').create({ id, title: 'filtered', secret: 's7', status: 'draft' });
      await srv.pb.collection('articles').create({ id: 'article00000018', title: 'not it', secret: 'zz', status: 'draft' });
      await settleCount(seen.events, 1, 'staff: filtered events');
      assert.equal(seen.events[0].record.id, id);
      assert.equal(seen.events[0].record.secret, 's7');
      assert.deepEqual(none.events, [], 'a subscriber who may not read the field gets nothing');
    } finally {
      await closeAll(staff, other);
    }
  });

  test('a write rule: 403 naming the field, nothing written (JSON and multipart); staff may write it', async () => {
    const id = 'article00000006';
    const r = await srv.pb.collection('articles').create({ id, title: 'w', secret: 'x', status: 'draft' });
    const A = carol.collection('articles');
    await rejects(A.update(id, { title: 'changed', status: 'published' }), 403, forbidden('status'));
    const form = new FormData();
    form.append('title', 'changed');
    form.append('status', 'published');
    await rejects(A.update(id, form), 403, forbidden('status'));
    await rejects(A.create({ title: 'never', status: 'draft' }), 403, forbidden('status'));
    assert.deepEqual(await srv.pb.collection('articles').getOne(id), r);
    assert.equal((await srv.pb.collection('articles').getList(1, 1, { filter: "title = 'never'" })).totalItems, 0);

    // Fields without a write rule stay writable; staff may set the status.
    assert.deepEqual(await A.update(id, { title: 'changed' }), article(id, false, { title: 'changed', secret: 'x', status: 'draft' }));
    const published = await bob.collection('articles').update(id, { status: 'published' });
    assert.deepEqual(published, article(id, true, { title: 'changed', secret: 'x', status: 'published' }));
  });
});

describe('API keys', { skip: cairnOnly }, () => {
  let key;
  let keyRecord;
  /** A client that sends the API key as its token. */
  const keyClient = () => {
    const pb = srv.client();
    pb.authStore.save(key, null);
    return pb;
  };

  test('created by a superuser: the key is in the create answer only', async () => {
    const bobId = bob.authStore.record.id;
    keyRecord = await srv.pb.collection('_apiKeys').create({ name: 'ci', collectionRef: 'users', recordRef: bobId });
    key = keyRecord.key;
    assert.match(key, /^cairn_[A-Za-z0-9]{40}$/);
    const { key: _once, ...stored } = keyRecord;
    assert.deepEqual(Object.keys(stored).sort(), ['collectionId', 'collectionName', 'collectionRef', 'created', 'expires', 'id', 'lastUsed', 'name', 'prefix', 'recordRef', 'updated']);
    assert.deepEqual(
      [stored.collectionName, stored.name, stored.collectionRef, stored.recordRef, stored.expires, stored.lastUsed, stored.prefix],
      ['_apiKeys', 'ci', USERS_ID, bobId, '', '', key.slice(0, 12)],
    );
    assert.deepEqual(await srv.pb.collection('_apiKeys').getOne(keyRecord.id), stored);
    for (const item of await srv.pb.collection('_apiKeys').getFullList()) {
      assert.ok(!('key' in item) && !('keyHash' in item), JSON.stringify(item));
    }
    await rejects(bob.collection('_apiKeys').getList(), 403, ONLY_SUPERUSERS);
  });

  test('pb.authStore.save(key, null): requests act as the bound user, with its roles and field rules', async () => {
    const pb = keyClient();
    assert.deepEqual((await pb.collection('articles').getList(1, 30, onlySeeded())).items, [article(A1, true), article(A2, true)]);
    const id = 'article00000007';
    const data = { title: 'k', secret: 'x', status: 'draft' };
    await srv.pb.collection('articles').create({ id, ...data });
    const updated = await pb.collection('articles').update(id, { status: 'published' });
    assert.deepEqual(updated, article(id, true, { ...data, status: 'published' }));
    await rejects(pb.collection('_apiKeys').getList(), 403, ONLY_SUPERUSERS);
    await rejects(pb.collection('users').authRefresh(), 403);

    // Realtime subscriptions made with the key act as the bound user too.
    const rt = 'article00000008';
    const sub = await collect(pb, 'articles', rt);
    try {
      await srv.pb.collection('articles').create({ id: rt, ...data });
      await settleCount(sub.events, 1, 'event');
      assert.deepEqual(sub.events, [{ action: 'create', record: article(rt, true, data) }]);
    } finally {
      await closeAll(pb);
    }
  });

  test('a revoked key answers 401 on the next request, with no fall-back to a guest', async () => {
    const pb = keyClient();
    assert.equal((await pb.collection('articles').getOne(A1)).secret, 's1');
    await srv.pb.collection('_apiKeys').delete(keyRecord.id);
    await rejects(pb.collection('articles').getOne(A1), 401, KEY_INVALID);
    await rejects(pb.collection('articles').getList(), 401, KEY_INVALID);
    await rejects(pb.collection('comments').create({ text: 'x' }), 401, KEY_INVALID);
    assert.deepEqual(await srv.client().collection('articles').getOne(A1), article(A1, false));
  });
});

// Records: API rule expressions (list/view/create/update/delete).
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, USERS_ID } from './harness.mjs';

const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const CREATE_FAILED = errBody(400, 'Failed to create record.');

const OWNER_RULE = 'owner = @request.auth.id';
let owner; // logged-in users client
let other; // another logged-in users client
let ownerId;
let otherId;
const srv = useServer(async (s) => {
  owner = await s.userClient();
  other = await s.userClient();
  ownerId = owner.authStore.record.id;
  otherId = other.authStore.record.id;
});

/** The SDK client of an actor: guest, owner, other, superuser. */
function as(actor) {
  return { guest: srv.client(), owner, other, superuser: srv.pb }[actor];
}

const sortedTitles = (items) => items.map((x) => x.title).sort();

/** Create a collection (superuser), returning it. */
async function collection(name, rules, fields) {
  return srv.pb.collections.create({ name, ...rules, fields });
}

describe('owner rule matrix: owner = @request.auth.id', () => {
  const ACTORS = ['guest', 'owner', 'other', 'superuser'];
  let mine; // owned by `owner`
  let theirs; // owned by `other`
  const N = (actor) => as(actor).collection('notes');

  test('setup', async () => {
    await collection(
      'notes',
      {
        listRule: OWNER_RULE,
        viewRule: OWNER_RULE,
        createRule: "@request.auth.id != '' && @request.body.owner = @request.auth.id",
        updateRule: OWNER_RULE,
        deleteRule: OWNER_RULE,
      },
      [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
      ],
    );
    mine = await srv.pb.collection('notes').create({ title: 'mine', owner: ownerId });
    theirs = await srv.pb.collection('notes').create({ title: 'theirs', owner: otherId });
    await srv.pb.collection('notes').create({ title: 'mine 2', owner: ownerId });
  });

  const LIST = { guest: [], owner: ['mine', 'mine 2'], other: ['theirs'], superuser: ['mine', 'mine 2', 'theirs'] };
  for (const actor of ACTORS) {
    test(`${actor}: list filters silently; totals count only visible rows`, async () => {
      const l = await N(actor).getList(1, 30);
      assert.deepEqual(sortedTitles(l.items), LIST[actor]);
      assert.equal(l.totalItems, LIST[actor].length);
      assert.equal(l.totalPages, LIST[actor].length ? 1 : 0);
      const p1 = await N(actor).getList(1, 1);
      assert.equal(p1.totalItems, LIST[actor].length);
      assert.equal(p1.totalPages, LIST[actor].length);
      // a user filter is AND-ed with the rule
      const f = await N(actor).getList(1, 30, { filter: "title = 'theirs'" });
      assert.deepEqual(sortedTitles(f.items), LIST[actor].includes('theirs') ? ['theirs'] : []);
      // an OR in the filter cannot widen the rule
      const o = await N(actor).getList(1, 30, { filter: "title = 'theirs' || id != ''" });
      assert.deepEqual(sortedTitles(o.items), LIST[actor]);
      assert.equal(o.totalItems, LIST[actor].length);
    });
  }

  const CAN = { guest: false, owner: true, other: false, superuser: true };
  for (const actor of ACTORS) {
    test(`${actor}: view -> ${CAN[actor] ? 200 : 404}`, async () => {
      if (CAN[actor]) {
        assert.equal((await N(actor).getOne(mine.id)).title, 'mine');
      } else {
        await rejects(N(actor).getOne(mine.id), 404, NOT_FOUND);
      }
    });
  }

  for (const actor of ACTORS) {
    test(`${actor}: create owned by the owner -> ${CAN[actor] ? 200 : '400'}`, async () => {
      const title = `created by ${actor}`;
      if (CAN[actor]) {
        const r = await N(actor).create({ title, owner: ownerId });
        assert.equal(r.title, title);
        assert.equal(r.owner, ownerId);
        await srv.pb.collection('notes').delete(r.id);
      } else {
        await rejects(N(actor).create({ title, owner: ownerId }), 400, CREATE_FAILED);
        const l = await srv.pb.collection('notes').getList(1, 30, { filter: `title = '${title}'` });
        assert.equal(l.totalItems, 0, 'nothing stored');
      }
    });
  }

  test('create: the owner cannot create a record owned by someone else, nor without an owner', async () => {
    await rejects(owner.collection('notes').create({ title: 'x', owner: otherId }), 400, CREATE_FAILED);
    await rejects(owner.collection('notes').create({ title: 'x' }), 400, CREATE_FAILED);
    await rejects(srv.client().collection('notes').create({ title: 'x' }), 400, CREATE_FAILED);
    const r = await other.collection('notes').create({ title: 'x', owner: otherId });
    await srv.pb.collection('notes').delete(r.id);
  });

  for (const actor of ACTORS) {
    test(`${actor}: update -> ${CAN[actor] ? 200 : 404}`, async () => {
      if (CAN[actor]) {
        const r = await N(actor).update(mine.id, { title: `mine (${actor})` });
        assert.equal(r.title, `mine (${actor})`);
        await srv.pb.collection('notes').update(mine.id, { title: 'mine' });
      } else {
        await rejects(N(actor).update(mine.id, { title: 'hacked' }), 404, NOT_FOUND);
        assert.equal((await srv.pb.collection('notes').getOne(mine.id)).title, 'mine', 'unchanged');
      }
    });
  }

  test('update/delete of a missing id by a user -> 404', async () => {
    await rejects(owner.collection('notes').update('nonexistent12345', { title: 'x' }), 404, NOT_FOUND);
    await rejects(owner.collection('notes').delete('nonexistent12345'), 404, NOT_FOUND);
  });

  for (const actor of ACTORS) {
    test(`${actor}: delete -> ${CAN[actor] ? 204 : 404}`, async () => {
      const victim = await srv.pb.collection('notes').create({ title: 'victim', owner: ownerId });
      if (CAN[actor]) {
        assert.equal(await N(actor).delete(victim.id), true);
        await rejects(srv.pb.collection('notes').getOne(victim.id), 404, NOT_FOUND);
      } else {
        await rejects(N(actor).delete(victim.id), 404, NOT_FOUND);
        assert.equal((await srv.pb.collection('notes').getOne(victim.id)).title, 'victim', 'not deleted');
        await srv.pb.collection('notes').delete(victim.id);
      }
    });
  }

  test("other's record: the owner gets 404 on view/update/delete", async () => {
    await rejects(owner.collection('notes').getOne(theirs.id), 404, NOT_FOUND);
    await rejects(owner.collection('notes').update(theirs.id, { title: 'x' }), 404, NOT_FOUND);
    await rejects(owner.collection('notes').delete(theirs.id), 404, NOT_FOUND);
    assert.equal((await other.collection('notes').getOne(theirs.id)).title, 'theirs');
  });
});

describe('empty values in rules', () => {
  test('for a guest, owner = @request.auth.id matches records without an owner', async () => {
    // PocketBase: null and '' compare equal, and a guest's @request.auth.id is ''
    await collection('loose_notes', { listRule: OWNER_RULE, viewRule: OWNER_RULE }, [
      { name: 'title', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
    ]);
    const orphan = await srv.pb.collection('loose_notes').create({ title: 'orphan' });
    await srv.pb.collection('loose_notes').create({ title: 'owned', owner: ownerId });
    assert.deepEqual(sortedTitles((await srv.client().collection('loose_notes').getList()).items), ['orphan']);
    assert.equal((await srv.client().collection('loose_notes').getOne(orphan.id)).title, 'orphan');
    assert.deepEqual(sortedTitles((await owner.collection('loose_notes').getList()).items), ['owned']);
    await rejects(owner.collection('loose_notes').getOne(orphan.id), 404, NOT_FOUND);
  });

  test('createRule @request.body.owner = @request.auth.id lets a guest create without an owner', async () => {
    // PocketBase: both sides are empty for a guest that sends no owner
    await collection(
      'guest_create',
      { createRule: '@request.body.owner = @request.auth.id' },
      [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
      ],
    );
    const G = srv.client().collection('guest_create');
    const r = await G.create({ title: 'anon' });
    assert.equal(r.owner, '');
    await rejects(G.create({ title: 'x', owner: ownerId }), 400, CREATE_FAILED);
    assert.equal((await owner.collection('guest_create').create({ title: 'o', owner: ownerId })).owner, ownerId);
    await rejects(owner.collection('guest_create').create({ title: 'o' }), 400, CREATE_FAILED);
  });
});

describe('create rules', () => {
  test('create responses return the record even if the creator cannot view it', async () => {
    await collection(
      'drop_box',
      { listRule: OWNER_RULE, viewRule: OWNER_RULE, createRule: "@request.auth.id != ''" },
      [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
      ],
    );
    const r = await owner.collection('drop_box').create({ title: 'for other', owner: otherId });
    assert.deepEqual(Object.keys(r).sort(), ['collectionId', 'collectionName', 'id', 'owner', 'title']);
    assert.equal(r.title, 'for other');
    assert.equal(r.owner, otherId);
    await rejects(owner.collection('drop_box').getOne(r.id), 404, NOT_FOUND);
    assert.equal((await owner.collection('drop_box').getList()).totalItems, 0);
    assert.equal((await other.collection('drop_box').getOne(r.id)).title, 'for other');
  });

  test('a createRule on record fields sees the submitted values', async () => {
    await collection('guarded', { createRule: "title != 'forbidden' && count > 0", listRule: '' }, [
      { name: 'title', type: 'text' },
      { name: 'count', type: 'number' },
    ]);
    const G = srv.client().collection('guarded');
    assert.equal((await G.create({ title: 'ok', count: 1 })).title, 'ok');
    await rejects(G.create({ title: 'forbidden', count: 1 }), 400, CREATE_FAILED);
    await rejects(G.create({ title: 'ok' }), 400, CREATE_FAILED);
    assert.deepEqual(sortedTitles((await G.getList()).items), ['ok']);
  });

  test('a createRule with @request.auth fields', async () => {
    await collection('for_users', { createRule: "@request.auth.collectionName = 'users' && @request.auth.verified = false" }, [
      { name: 'title', type: 'text' },
    ]);
    await rejects(srv.client().collection('for_users').create({ title: 'g' }), 400, CREATE_FAILED);
    assert.equal((await owner.collection('for_users').create({ title: 'u' })).title, 'u');
  });
});

describe('update rules', () => {
  let doc;
  test('setup', async () => {
    await collection(
      'docs',
      {
        listRule: '',
        viewRule: '',
        updateRule: `${OWNER_RULE} && @request.body.title:isset = false && @request.body.status:changed = false`,
      },
      [
        { name: 'title', type: 'text' },
        { name: 'body', type: 'text' },
        { name: 'status', type: 'select', values: ['draft', 'published'], maxSelect: 1 },
        { name: 'owner', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
      ],
    );
    doc = await srv.pb.collection('docs').create({ title: 't', body: 'b', status: 'draft', owner: ownerId });
  });

  test('@request.body.title:isset = false: sending title -> 404, other fields -> 200', async () => {
    const D = owner.collection('docs');
    await rejects(D.update(doc.id, { title: 'new' }), 404, NOT_FOUND);
    // even sending the same value counts as "set"
    await rejects(D.update(doc.id, { title: 't', body: 'x' }), 404, NOT_FOUND);
    assert.equal((await D.update(doc.id, { body: 'b2' })).body, 'b2');
    assert.equal((await srv.pb.collection('docs').getOne(doc.id)).title, 't');
  });

  test(':changed: the same value is allowed, a different one -> 404', async () => {
    const D = owner.collection('docs');
    assert.equal((await D.update(doc.id, { status: 'draft', body: 'b3' })).body, 'b3');
    await rejects(D.update(doc.id, { status: 'published' }), 404, NOT_FOUND);
    assert.equal((await srv.pb.collection('docs').getOne(doc.id)).status, 'draft');
  });

  test('the rule still requires the owner', async () => {
    await rejects(other.collection('docs').update(doc.id, { body: 'x' }), 404, NOT_FOUND);
    await rejects(srv.client().collection('docs').update(doc.id, { body: 'x' }), 404, NOT_FOUND);
    assert.equal((await srv.pb.collection('docs').update(doc.id, { title: 'su', status: 'published' })).title, 'su');
  });

  test('the updateRule is evaluated against the stored record', async () => {
    await collection('drafts', { updateRule: "status = 'draft'" }, [
      { name: 'title', type: 'text' },
      { name: 'status', type: 'text' },
    ]);
    const d = await srv.pb.collection('drafts').create({ title: 'a', status: 'draft' });
    const G = srv.client().collection('drafts');
    // stored status is 'draft': allowed, although the new status is not
    assert.equal((await G.update(d.id, { status: 'published' })).status, 'published');
    // stored status is now 'published'
    await rejects(G.update(d.id, { status: 'draft' }), 404, NOT_FOUND);
    assert.equal((await srv.pb.collection('drafts').getOne(d.id)).status, 'published');
  });

  test('@request.body values in an updateRule', async () => {
    await collection('counters', { updateRule: '@request.body.n > n && @request.body.n <= 20' }, [{ name: 'n', type: 'number' }]);
    const c = await srv.pb.collection('counters').create({ n: 5 });
    const G = srv.client().collection('counters');
    assert.equal((await G.update(c.id, { n: 7 })).n, 7);
    await rejects(G.update(c.id, { n: 6 }), 404, NOT_FOUND);
    await rejects(G.update(c.id, { n: 30 }), 404, NOT_FOUND);
    assert.equal((await srv.pb.collection('counters').getOne(c.id)).n, 7);
  });
});

describe('@request.query and @request.headers', () => {
  let rec;
  test('setup', async () => {
    await collection(
      'gated',
      {
        listRule: "@request.query.key = 'open'",
        viewRule: "@request.headers.x_token = 'secret'",
        deleteRule: "@request.headers.x_token = 'secret' && @request.query.really = 'yes'",
      },
      [{ name: 'title', type: 'text' }],
    );
    rec = await srv.pb.collection('gated').create({ title: 'g' });
  });

  test('@request.query.x', async () => {
    const G = srv.client().collection('gated');
    assert.equal((await G.getList(1, 30, { query: { key: 'open' } })).totalItems, 1);
    assert.equal((await G.getList(1, 30, { query: { key: 'closed' } })).totalItems, 0);
    assert.equal((await G.getList()).totalItems, 0);
    const raw = await srv.api('GET', '/api/collections/gated/records?key=open');
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.json.items.map((x) => x.title), ['g']);
  });

  test('@request.headers.x_token (lower-case, - becomes _)', async () => {
    const G = srv.client().collection('gated');
    assert.equal((await G.getOne(rec.id, { headers: { 'X-Token': 'secret' } })).title, 'g');
    await rejects(G.getOne(rec.id, { headers: { 'X-Token': 'wrong' } }), 404, NOT_FOUND);
    await rejects(G.getOne(rec.id), 404, NOT_FOUND);
    const raw = await srv.api('GET', `/api/collections/gated/records/${rec.id}`, { headers: { 'x-token': 'secret' } });
    assert.equal(raw.status, 200);
    assert.equal(raw.json.title, 'g');
  });

  test('both in a deleteRule', async () => {
    const G = srv.client().collection('gated');
    await rejects(G.delete(rec.id, { headers: { 'X-Token': 'secret' } }), 404, NOT_FOUND);
    await rejects(G.delete(rec.id, { query: { really: 'yes' } }), 404, NOT_FOUND);
    assert.equal(await G.delete(rec.id, { headers: { 'X-Token': 'secret' }, query: { really: 'yes' } }), true);
  });
});

describe('@collection team membership', () => {
  const RULE = '@collection.members.user ?= @request.auth.id && @collection.members.team ?= team';
  const teams = {};
  let both; // a third user, member of both teams
  let bothId;
  test('setup', async () => {
    both = await srv.userClient();
    bothId = both.authStore.record.id;
    const t = await collection('teams', {}, [{ name: 'name', type: 'text' }]);
    await collection('members', {}, [
      { name: 'user', type: 'relation', collectionId: USERS_ID, maxSelect: 1 },
      { name: 'team', type: 'relation', collectionId: t.id, maxSelect: 1 },
    ]);
    await collection('projects', { listRule: RULE, viewRule: RULE, updateRule: RULE, deleteRule: RULE, createRule: RULE }, [
      { name: 'title', type: 'text' },
      { name: 'team', type: 'relation', collectionId: t.id, maxSelect: 1 },
    ]);
    for (const name of ['red', 'blue', 'green']) teams[name] = (await srv.pb.collection('teams').create({ name })).id;
    const M = srv.pb.collection('members');
    await M.create({ user: ownerId, team: teams.red });
    await M.create({ user: otherId, team: teams.blue });
    await M.create({ user: bothId, team: teams.red });
    await M.create({ user: bothId, team: teams.blue });
    const P = srv.pb.collection('projects');
    for (const [title, team] of [['r1', 'red'], ['r2', 'red'], ['b1', 'blue'], ['g1', 'green']]) {
      await P.create({ title, team: teams[team] });
    }
  });

  test('list: members see their teams\' projects (the two conditions hold on the same member row)', async () => {
    const titles = async (c) => sortedTitles((await c.collection('projects').getList()).items);
    const got = {
      'owner (red)': await titles(owner),
      'other (blue)': await titles(other),
      'both (red+blue)': await titles(both),
      guest: await titles(srv.client()),
      superuser: await titles(srv.pb),
    };
    assert.deepEqual(got, {
      'owner (red)': ['r1', 'r2'],
      'other (blue)': ['b1'],
      'both (red+blue)': ['b1', 'r1', 'r2'],
      guest: [],
      superuser: ['b1', 'g1', 'r1', 'r2'],
    });
  });

  test('view / update / delete / create', async () => {
    const P = srv.pb.collection('projects');
    const b1 = await P.getFirstListItem("title = 'b1'");
    await rejects(owner.collection('projects').getOne(b1.id), 404, NOT_FOUND);
    assert.equal((await other.collection('projects').getOne(b1.id)).title, 'b1');
    await rejects(owner.collection('projects').update(b1.id, { title: 'x' }), 404, NOT_FOUND);
    assert.equal((await both.collection('projects').update(b1.id, { title: 'b1!' })).title, 'b1!');
    await rejects(owner.collection('projects').delete(b1.id), 404, NOT_FOUND);
    await rejects(owner.collection('projects').create({ title: 'nb', team: teams.blue }), 400, CREATE_FAILED);
    await rejects(owner.collection('projects').create({ title: 'ng', team: teams.green }), 400, CREATE_FAILED);
    const created = await owner.collection('projects').create({ title: 'nr', team: teams.red });
    assert.equal(created.title, 'nr');
    assert.equal(await both.collection('projects').delete(created.id), true);
  });

  test('membership changes take effect at once', async () => {
    const m = await srv.pb.collection('members').create({ user: ownerId, team: teams.green });
    assert.deepEqual(sortedTitles((await owner.collection('projects').getList()).items), ['g1', 'r1', 'r2']);
    await srv.pb.collection('members').delete(m.id);
    assert.deepEqual(sortedTitles((await owner.collection('projects').getList()).items), ['r1', 'r2']);
  });
});

describe('the default users collection', () => {
  test('a user lists and views only itself', async () => {
    const l = await owner.collection('users').getList();
    assert.deepEqual(l.items.map((x) => x.id), [ownerId]);
    assert.equal(l.totalItems, 1);
    assert.equal((await owner.collection('users').getOne(ownerId)).id, ownerId);
    await rejects(owner.collection('users').getOne(otherId), 404, NOT_FOUND);
  });

  test('a user cannot update or delete another user', async () => {
    await rejects(owner.collection('users').update(otherId, { name: 'x' }), 404, NOT_FOUND);
    await rejects(owner.collection('users').delete(otherId), 404, NOT_FOUND);
    assert.equal((await owner.collection('users').update(ownerId, { name: 'me' })).name, 'me');
  });

  test('a guest lists nothing and views nothing', async () => {
    const l = await srv.client().collection('users').getList();
    assert.deepEqual(l.items, []);
    assert.equal(l.totalItems, 0);
    await rejects(srv.client().collection('users').getOne(ownerId), 404, NOT_FOUND);
  });

  test('superusers see everyone', async () => {
    const l = await srv.pb.collection('users').getList(1, 100);
    assert.ok(l.items.some((x) => x.id === ownerId) && l.items.some((x) => x.id === otherId));
  });
});

describe('invalid rules', () => {
  const base = { type: 'base', fields: [{ name: 'title', type: 'text' }] };
  const invalid = ['nope = 1', "title = ", "(title = 'a'", "title == 'a'", '@request.nope = 1', '@collection.nope.x = 1'];
  for (const rule of invalid) {
    test(`collection create with listRule ${JSON.stringify(rule)} -> 400 validation_invalid_rule`, async () => {
      const err = await rejects(srv.pb.collections.create({ name: `bad_rule_${invalid.indexOf(rule)}`, ...base, listRule: rule }), 400);
      assert.equal(err.response.message, 'Failed to create collection.');
      assert.deepEqual(Object.keys(err.response.data), ['listRule']);
      assert.equal(err.response.data.listRule.code, 'validation_invalid_rule');
    });
  }

  test('other rule keys and collection update', async () => {
    for (const key of ['viewRule', 'createRule', 'updateRule', 'deleteRule']) {
      const err = await rejects(srv.pb.collections.create({ name: 'bad_rule_x', ...base, [key]: 'nope = 1' }), 400);
      assert.equal(err.response.data[key]?.code, 'validation_invalid_rule', key);
    }
    await srv.pb.collections.create({ name: 'good_rules', ...base, listRule: "title != ''" });
    const err = await rejects(srv.pb.collections.update('good_rules', { listRule: 'nope = 1' }), 400);
    assert.equal(err.response.message, 'Failed to update collection.');
    assert.equal(err.response.data.listRule.code, 'validation_invalid_rule');
    assert.equal((await srv.pb.collections.getOne('good_rules')).listRule, "title != ''");
  });
});

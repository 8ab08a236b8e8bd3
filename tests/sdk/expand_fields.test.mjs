// Records: the `expand` and `fields` query parameters (list, view, create, update, auth).
// Every expectation here was checked against the reference PocketBase 0.40 first;
// comments mark where PocketBase does something one might not guess.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';

const BAD_REQUEST = errBody(400, 'Something went wrong while processing your request.');
const PW = 'user-pass-123';

const ids = {};
let u1; // logged-in `users` client: owner of posts.hello, user of authors Ann and Cid
let u2; // another logged-in `users` client
let hidC; // logged-in `people` client, emailVisibility false
let visC; // logged-in `people` client, emailVisibility true

const srv = useServer(async (s) => {
  const pb = s.pb;
  // only viewRule matters for expand: listRule null must not stop it
  const vault = await pb.collections.create({ name: 'vault', ...RULES, viewRule: null, fields: [{ name: 'x', type: 'text' }] });
  const authors = await pb.collections.create({
    name: 'authors',
    ...RULES,
    listRule: null,
    fields: [
      { name: 'name', type: 'text' },
      { name: 'note', type: 'text', hidden: true },
      { name: 'user', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'vault', type: 'relation', collectionId: vault.id, maxSelect: 1 },
    ],
  });
  const secrets = await pb.collections.create({
    name: 'secrets',
    ...RULES,
    listRule: 'open = true',
    viewRule: 'open = true',
    fields: [
      { name: 'label', type: 'text' },
      { name: 'open', type: 'bool' },
    ],
  });
  const posts = await pb.collections.create({
    name: 'posts',
    ...RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'body', type: 'editor' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      { name: 'coauthors', type: 'relation', collectionId: authors.id, maxSelect: 5 },
      { name: 'secret', type: 'relation', collectionId: secrets.id, maxSelect: 1 },
      { name: 'secrets', type: 'relation', collectionId: secrets.id, maxSelect: 5 },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'vault', type: 'relation', collectionId: vault.id, maxSelect: 1 },
      { name: 'hush', type: 'text', hidden: true },
    ],
  });
  await pb.collections.create({
    name: 'comments',
    ...RULES,
    viewRule: 'visible = true',
    fields: [
      { name: 'text', type: 'text' },
      { name: 'visible', type: 'bool' },
      { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 },
    ],
  });
  const nodes = await pb.collections.create({ name: 'nodes', ...RULES, fields: [{ name: 'n', type: 'number' }] });
  await pb.collections.update('nodes', {
    fields: [...nodes.fields, { name: 'parent', type: 'relation', collectionId: nodes.id, maxSelect: 1 }],
  });
  const people = await pb.collections.create({
    name: 'people',
    type: 'auth',
    ...RULES,
    fields: [
      { name: 'name', type: 'text' },
      { name: 'secret', type: 'text', hidden: true },
      { name: 'fav', type: 'relation', collectionId: authors.id, maxSelect: 1 },
    ],
  });
  await pb.collections.create({
    name: 'cards',
    ...RULES,
    fields: [
      { name: 'who', type: 'relation', collectionId: people.id, maxSelect: 3 },
      { name: 'memo', type: 'text', hidden: true },
    ],
  });
  await pb.collections.create({
    name: 'docs',
    ...RULES,
    fields: [
      { name: 'k', type: 'number' },
      { name: 'e', type: 'editor' },
      { name: 'num', type: 'number' },
      { name: 'j', type: 'json' },
    ],
  });

  // users
  for (const [key, email] of [['u1', 'u1@example.com'], ['u2', 'u2@example.com']]) {
    ids[key] = (await pb.collection('users').create({ email, emailVisibility: false, password: PW, passwordConfirm: PW })).id;
  }
  u1 = s.client();
  await u1.collection('users').authWithPassword('u1@example.com', PW);
  u2 = s.client();
  await u2.collection('users').authWithPassword('u2@example.com', PW);

  ids.v1 = (await pb.collection('vault').create({ x: 'v1' })).id;
  const A = pb.collection('authors');
  ids.Ann = (await A.create({ name: 'Ann', note: 'n-ann', user: ids.u1, vault: ids.v1 })).id;
  ids.Bob = (await A.create({ name: 'Bob', note: 'n-bob' })).id;
  ids.Cid = (await A.create({ name: 'Cid', note: 'n-cid', user: ids.u1 })).id;
  ids.open = (await pb.collection('secrets').create({ label: 'open', open: true })).id;
  ids.closed = (await pb.collection('secrets').create({ label: 'closed', open: false })).id;

  const P = pb.collection('posts');
  ids.hello = (
    await P.create({
      title: 'hello', body: '<p>Hello   <b>big</b>\n world</p>', author: ids.Ann, coauthors: [ids.Cid, ids.Ann, ids.Bob],
      secret: ids.closed, secrets: [ids.closed, ids.open], owner: ids.u1, vault: ids.v1, hush: 'h',
    })
  ).id;
  ids.empty = (await P.create({ title: 'empty' })).id;
  ids.shared = (await P.create({ title: 'shared', author: ids.Ann, coauthors: [ids.Bob], secret: ids.open, secrets: [ids.open] })).id;

  const C = pb.collection('comments');
  ids.c1 = (await C.create({ text: 'c1', visible: true, post: ids.hello })).id;
  ids.c2 = (await C.create({ text: 'c2', visible: false, post: ids.hello })).id;
  ids.c3 = (await C.create({ text: 'c3', visible: true, post: ids.hello })).id;

  ids.chain = [];
  let parent = '';
  for (let n = 0; n < 9; n++) {
    parent = (await pb.collection('nodes').create({ n, parent })).id;
    ids.chain.push(parent);
  }

  const pp = 'people-pass-123';
  const mk = (email, vis, name, secret) =>
    pb.collection('people').create({ email, emailVisibility: vis, name, secret, fav: ids.Ann, password: pp, passwordConfirm: pp });
  ids.hid = (await mk('hid@example.com', false, 'Hid', 's-hid')).id;
  ids.vis = (await mk('vis@example.com', true, 'Vis', 's-vis')).id;
  hidC = s.client();
  await hidC.collection('people').authWithPassword('hid@example.com', pp);
  visC = s.client();
  await visC.collection('people').authWithPassword('vis@example.com', pp);
  ids.card = (await pb.collection('cards').create({ who: [ids.hid, ids.vis], memo: 'm' })).id;
});

const guest = () => srv.client();
/** A record as the given client sees it through a plain view (no expand). */
const view = (coll, id, client = guest()) => client.collection(coll).getOne(id);
/** GET a path as a guest (or with a token); asserts 200 and returns the JSON. */
async function get200(p, token) {
  const r = await srv.api('GET', p, { token });
  assert.equal(r.status, 200, `${p}: ${r.text}`);
  return r.json;
}
const enc = encodeURIComponent;
const postUrl = (id, q) => `/api/collections/posts/records/${id}?${q}`;

describe('expand: shapes', () => {
  test('a single relation expands to the record object, as the requester would view it', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'author' });
    const ann = await view('authors', ids.Ann);
    assert.deepEqual(r.expand, { author: ann });
    assert.deepEqual(Object.keys(ann).sort(), ['collectionId', 'collectionName', 'id', 'name', 'user', 'vault']);
    // the record's own fields are unchanged
    const { expand, ...rest } = r;
    assert.deepEqual(rest, await view('posts', ids.hello));
  });

  test('a multi relation expands to an array in the stored id order', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'coauthors' });
    assert.deepEqual(r.coauthors, [ids.Cid, ids.Ann, ids.Bob]);
    assert.deepEqual(r.expand, {
      coauthors: [await view('authors', ids.Cid), await view('authors', ids.Ann), await view('authors', ids.Bob)],
    });
  });

  test('a multi relation holding one id is still an array', async () => {
    const r = await guest().collection('posts').getOne(ids.shared, { expand: 'coauthors' });
    assert.deepEqual(r.expand, { coauthors: [await view('authors', ids.Bob)] });
  });

  test('several paths at once (a,b), spaces and trailing dots/commas tolerated', async () => {
    const want = {
      author: await view('authors', ids.Ann),
      coauthors: [await view('authors', ids.Cid), await view('authors', ids.Ann), await view('authors', ids.Bob)],
    };
    assert.deepEqual((await guest().collection('posts').getOne(ids.hello, { expand: 'author,coauthors' })).expand, want);
    assert.deepEqual((await get200(postUrl(ids.hello, `expand=${enc(' author , coauthors. ,,')}`))).expand, want);
    // the same path twice is expanded once
    assert.deepEqual((await get200(postUrl(ids.hello, 'expand=author,author'))).expand, { author: want.author });
  });

  test('list: every item is expanded; items sharing a target each get it', async () => {
    const l = await guest().collection('posts').getList(1, 30, { expand: 'author,coauthors', sort: 'title' });
    assert.deepEqual(
      l.items.map((x) => x.title),
      ['empty', 'hello', 'shared'],
    );
    const [empty, hello, shared] = l.items;
    const ann = await view('authors', ids.Ann);
    const bob = await view('authors', ids.Bob);
    assert.deepEqual(empty.expand, {});
    assert.deepEqual(hello.expand, { author: ann, coauthors: [await view('authors', ids.Cid), ann, bob] });
    assert.deepEqual(shared.expand, { author: ann, coauthors: [bob] });
    assert.deepEqual([l.page, l.perPage, l.totalItems, l.totalPages], [1, 30, 3, 1]);
  });

  test('without expand (or with an empty one) there is no expand key', async () => {
    assert.equal('expand' in (await guest().collection('posts').getOne(ids.hello)), false);
    assert.equal('expand' in (await get200(postUrl(ids.hello, 'expand='))), false);
    const l = await get200('/api/collections/posts/records?expand=');
    assert.ok(l.items.every((x) => !('expand' in x)));
  });

  test('a requested, valid relation with nothing to expand gives expand: {} (not absent)', async () => {
    const r = await guest().collection('posts').getOne(ids.empty, { expand: 'author,coauthors,comments_via_post' });
    assert.deepEqual(r.author, '');
    assert.deepEqual(r.coauthors, []);
    assert.deepEqual(r.expand, {});
  });
});

describe('expand: unknown and invalid paths', () => {
  test('unknown names and non-relation fields are ignored (200, no expand key)', async () => {
    for (const e of ['nope', 'title', 'body', 'id', 'comments_via_nope', 'nope_via_post', 'comments_via_text', 'authors_via_user']) {
      const r = await get200(postUrl(ids.hello, `expand=${enc(e)}`));
      assert.equal('expand' in r, false, e);
    }
    // also for a record without relation values: an invalid path never sets expand
    assert.equal('expand' in (await get200(postUrl(ids.empty, 'expand=nope'))), false);
  });

  test('an unknown path next to a valid one leaves the valid one expanded', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'nope,author' });
    assert.deepEqual(r.expand, { author: await view('authors', ids.Ann) });
  });

  test('PocketBase: a bad nested segment drops the whole path, and a path that prefixes another is merged into it', async () => {
    // author.nope fails as a whole: not even `author` is expanded
    assert.equal('expand' in (await get200(postUrl(ids.hello, 'expand=author.nope'))), false);
    // `author` is covered by `author.nope` and dropped with it
    assert.equal('expand' in (await get200(postUrl(ids.hello, 'expand=author,author.nope'))), false);
    // other paths are unaffected
    const r = await get200(postUrl(ids.hello, 'expand=author.nope,coauthors'));
    assert.deepEqual(Object.keys(r.expand), ['coauthors']);
  });
});

describe('expand: nested paths', () => {
  test('a.b: nested expand lives in the expanded record', async () => {
    const r = await u1.collection('posts').getOne(ids.hello, { expand: 'author.user' });
    const ann = await view('authors', ids.Ann, u1);
    assert.deepEqual(r.expand, { author: { ...ann, expand: { user: await view('users', ids.u1, u1) } } });
    assert.equal(r.expand.author.expand.user.email, 'u1@example.com'); // own record: email shown
  });

  test('a.b where b is not viewable or empty: the level-1 record gets expand: {}', async () => {
    // guests may not view users (default viewRule id = @request.auth.id)
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'author.user' });
    assert.deepEqual(r.expand, { author: { ...(await view('authors', ids.Ann)), expand: {} } });
    const m = await u1.collection('posts').getOne(ids.hello, { expand: 'coauthors.user' });
    const me = await view('users', ids.u1, u1);
    assert.deepEqual(m.expand.coauthors.map((x) => x.expand), [{ user: me }, { user: me }, {}]);
  });

  test('a.b and a.c merge into one expanded a', async () => {
    const r = await u1.collection('posts').getOne(ids.hello, { expand: 'author.user,author.posts_via_author' });
    assert.deepEqual(Object.keys(r.expand), ['author']);
    assert.deepEqual(r.expand.author.expand.user.id, ids.u1);
    assert.deepEqual(
      r.expand.author.expand.posts_via_author.map((x) => x.id),
      [ids.hello, ids.shared],
    );
  });

  test('a.b next to a: the prefix path is covered, a still appears with its nested b', async () => {
    const r = await u1.collection('posts').getOne(ids.hello, { expand: 'author,author.user' });
    assert.deepEqual(r.expand.author.expand, { user: await view('users', ids.u1, u1) });
  });

  const nodeChain = async (fromIndex, levels) => {
    // expected nesting: chain[i] expanded `levels` times through parent
    const recs = await Promise.all(ids.chain.map((id) => view('nodes', id)));
    let inner = null;
    for (let k = fromIndex - levels; k <= fromIndex; k++) {
      inner = inner ? { ...recs[k], expand: { parent: inner } } : { ...recs[k] };
    }
    return inner;
  };

  test('6 levels deep are expanded; the innermost record has no expand key', async () => {
    const six = Array(6).fill('parent').join('.');
    const r = await guest().collection('nodes').getOne(ids.chain[8], { expand: six });
    assert.deepEqual(r, await nodeChain(8, 6));
    let cur = r;
    for (let i = 0; i < 6; i++) cur = cur.expand.parent;
    assert.equal(cur.n, 2);
    assert.equal('expand' in cur, false);
  });

  test('PocketBase: a 7th level is silently not expanded (200, same result as 6 levels)', async () => {
    const seven = Array(7).fill('parent').join('.');
    const eight = Array(8).fill('parent').join('.');
    const want = await nodeChain(8, 6);
    assert.deepEqual(await guest().collection('nodes').getOne(ids.chain[8], { expand: seven }), want);
    assert.deepEqual(await guest().collection('nodes').getOne(ids.chain[8], { expand: eight }), want);
  });

  test('nested expand on a list', async () => {
    const l = await guest().collection('nodes').getList(1, 3, { expand: 'parent.parent', sort: 'n' });
    assert.deepEqual(l.items.map((x) => x.n), [0, 1, 2]);
    assert.deepEqual(l.items[0].expand, {});
    assert.deepEqual(l.items[1].expand, { parent: { ...(await view('nodes', ids.chain[0])), expand: {} } });
    assert.deepEqual(l.items[2], await nodeChain(2, 2));
  });
});

describe('expand: back-relations', () => {
  test('COLL_via_FIELD gives an array of the referencing records (insertion order), filtered by their viewRule', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'comments_via_post' });
    // c2 is not viewable (comments.viewRule = visible = true)
    assert.deepEqual(r.expand, { comments_via_post: [await view('comments', ids.c1), await view('comments', ids.c3)] });
    const su = await srv.pb.collection('posts').getOne(ids.hello, { expand: 'comments_via_post' });
    assert.deepEqual(su.expand.comments_via_post.map((x) => x.text), ['c1', 'c2', 'c3']);
    // no key named after the back-relation appears outside expand
    assert.equal('comments_via_post' in r, false);
  });

  test('back-relation with no referencing records -> expand: {}', async () => {
    const r = await guest().collection('posts').getOne(ids.shared, { expand: 'comments_via_post' });
    assert.deepEqual(r.expand, {});
  });

  test('back-relation through a multi relation, one match is still an array', async () => {
    const bob = await guest().collection('authors').getOne(ids.Bob, { expand: 'posts_via_coauthors' });
    assert.deepEqual(bob.expand, { posts_via_coauthors: [await view('posts', ids.hello), await view('posts', ids.shared)] });
    const cid = await guest().collection('authors').getOne(ids.Cid, { expand: 'posts_via_coauthors' });
    assert.deepEqual(cid.expand, { posts_via_coauthors: [await view('posts', ids.hello)] });
  });

  test('back-relation then forward relation', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'comments_via_post.post' });
    const hello = await view('posts', ids.hello);
    assert.deepEqual(
      r.expand.comments_via_post.map((c) => c.expand),
      [{ post: hello }, { post: hello }],
    );
  });
});

describe('expand: access rules', () => {
  test('single relation to a record the requester may not view is silently dropped', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'secret,author' });
    assert.deepEqual(Object.keys(r.expand), ['author']);
    assert.equal(r.secret, ids.closed); // the id itself stays
    // only the dropped relation requested -> expand: {}
    assert.deepEqual((await guest().collection('posts').getOne(ids.hello, { expand: 'secret' })).expand, {});
    const ok = await guest().collection('posts').getOne(ids.shared, { expand: 'secret' });
    assert.deepEqual(ok.expand, { secret: await view('secrets', ids.open) });
  });

  test('multi relation keeps only the viewable records, in stored order', async () => {
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'secrets' });
    assert.deepEqual(r.secrets, [ids.closed, ids.open]);
    assert.deepEqual(r.expand, { secrets: [await view('secrets', ids.open)] });
    const su = await srv.pb.collection('posts').getOne(ids.hello, { expand: 'secrets' });
    assert.deepEqual(su.expand.secrets.map((x) => x.label), ['closed', 'open']);
  });

  test('rules see the requester: users.viewRule lets only the owner expand their own user', async () => {
    assert.deepEqual((await guest().collection('posts').getOne(ids.hello, { expand: 'owner' })).expand, {});
    assert.deepEqual((await u2.collection('posts').getOne(ids.hello, { expand: 'owner' })).expand, {});
    assert.deepEqual((await u1.collection('posts').getOne(ids.hello, { expand: 'owner' })).expand, { owner: await view('users', ids.u1, u1) });
  });

  test('target listRule null does not matter, only viewRule', async () => {
    // authors.listRule is null, viewRule ""
    await rejects(guest().collection('authors').getList(), 403);
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'author' });
    assert.equal(r.expand.author.id, ids.Ann);
  });

  test('PocketBase: a target with viewRule null fails the whole path: no expand key at all, not even {}', async () => {
    for (const id of [ids.hello, ids.empty]) {
      assert.equal('expand' in (await guest().collection('posts').getOne(id, { expand: 'vault' })), false);
      assert.equal('expand' in (await u1.collection('posts').getOne(id, { expand: 'vault' })), false);
    }
    // other paths still work
    const r = await guest().collection('posts').getOne(ids.hello, { expand: 'vault,author' });
    assert.deepEqual(Object.keys(r.expand), ['author']);
    // nested: the failure propagates up and drops author too
    assert.equal('expand' in (await guest().collection('posts').getOne(ids.hello, { expand: 'author.vault' })), false);
    // superusers expand everything
    const su = await srv.pb.collection('posts').getOne(ids.hello, { expand: 'vault,author.vault' });
    assert.equal(su.expand.vault.x, 'v1');
    assert.equal(su.expand.author.expand.vault.x, 'v1');
  });

  test('list: dropped relations per item', async () => {
    const l = await guest().collection('posts').getList(1, 30, { expand: 'secret,secrets', sort: 'title' });
    const open = await view('secrets', ids.open);
    assert.deepEqual(
      l.items.map((x) => x.expand),
      [{}, { secrets: [open] }, { secret: open, secrets: [open] }],
    );
  });

  test('expand of a relation whose target was deleted: the id is pulled, nothing expands', async () => {
    const A = srv.pb.collection('authors');
    const gone = (await A.create({ name: 'Gone' })).id;
    const p = await srv.pb.collection('posts').create({ title: 'orphan', author: gone, coauthors: [gone, ids.Bob] });
    await A.delete(gone);
    const r = await guest().collection('posts').getOne(p.id, { expand: 'author,coauthors' });
    assert.equal(r.author, '');
    assert.deepEqual(r.coauthors, [ids.Bob]);
    assert.deepEqual(r.expand, { coauthors: [await view('authors', ids.Bob)] });
    await srv.pb.collection('posts').delete(p.id);
  });
});

describe('expand: auth records and hidden fields', () => {
  test('expanded auth records hide email when emailVisibility is false, except for the owner and superusers', async () => {
    const emails = async (client) => {
      const r = await client.collection('cards').getOne(ids.card, { expand: 'who' });
      return r.expand.who.map((x) => [x.name, 'email' in x ? x.email : null]);
    };
    assert.deepEqual(await emails(guest()), [['Hid', null], ['Vis', 'vis@example.com']]);
    assert.deepEqual(await emails(visC), [['Hid', null], ['Vis', 'vis@example.com']]);
    assert.deepEqual(await emails(hidC), [['Hid', 'hid@example.com'], ['Vis', 'vis@example.com']]);
    assert.deepEqual(await emails(srv.pb), [['Hid', 'hid@example.com'], ['Vis', 'vis@example.com']]);
    // and the expanded record equals a plain view by the same requester
    const g = await guest().collection('cards').getOne(ids.card, { expand: 'who' });
    assert.deepEqual(g.expand.who, [await view('people', ids.hid), await view('people', ids.vis)]);
    assert.deepEqual(Object.keys(g.expand.who[0]).sort(), ['collectionId', 'collectionName', 'emailVisibility', 'fav', 'id', 'name', 'verified']);
  });

  test('hidden fields of expanded records: absent for everyone but superusers', async () => {
    for (const c of [guest(), u1, hidC]) {
      const r = await c.collection('posts').getOne(ids.hello, { expand: 'author,coauthors' });
      assert.equal('note' in r.expand.author, false);
      assert.ok(r.expand.coauthors.every((x) => !('note' in x)));
      assert.equal('hush' in r, false);
      const card = await c.collection('cards').getOne(ids.card, { expand: 'who' });
      assert.ok(card.expand.who.every((x) => !('secret' in x)));
      assert.equal('memo' in card, false);
    }
    // superusers see hidden fields, also in expanded records
    const su = await srv.pb.collection('posts').getOne(ids.hello, { expand: 'author,coauthors' });
    assert.equal(su.expand.author.note, 'n-ann');
    assert.deepEqual(su.expand.coauthors.map((x) => x.note), ['n-cid', 'n-ann', 'n-bob']);
    assert.equal(su.hush, 'h');
    const card = await srv.pb.collection('cards').getOne(ids.card, { expand: 'who' });
    assert.deepEqual(card.expand.who.map((x) => x.secret), ['s-hid', 's-vis']);
  });

  test('password and tokenKey never appear in expanded auth records (even for superusers)', async () => {
    const card = await srv.pb.collection('cards').getOne(ids.card, { expand: 'who' });
    for (const w of card.expand.who) {
      assert.equal('password' in w, false);
      assert.equal('tokenKey' in w, false);
    }
  });
});

describe('expand: create, update and auth responses', () => {
  test('create and update accept expand (and fields) as query params; viewRule still applies', async () => {
    const P = guest().collection('posts');
    const c = await P.create({ title: 'made', author: ids.Ann, secrets: [ids.closed, ids.open] }, { expand: 'author,secrets' });
    assert.deepEqual(c.expand, { author: await view('authors', ids.Ann), secrets: [await view('secrets', ids.open)] });
    const u = await P.update(c.id, { coauthors: [ids.Bob, ids.Cid] }, { expand: 'coauthors', fields: 'id,expand.coauthors.name' });
    assert.deepEqual(u, { id: c.id, expand: { coauthors: [{ name: 'Bob' }, { name: 'Cid' }] } });
    const f = await P.create({ title: 'made2' }, { fields: 'title' });
    assert.deepEqual(f, { title: 'made2' });
    await srv.pb.collection('posts').delete(c.id);
    await srv.pb.collection('posts').delete((await srv.pb.collection('posts').getFirstListItem("title = 'made2'")).id);
  });

  test('create response of a multi relation keeps the submitted order in expand', async () => {
    const c = await srv.api('POST', `/api/collections/cards/records?expand=who&fields=${enc('expand.who.name')}`, {
      body: { who: [ids.vis, ids.hid] },
    });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.json, { expand: { who: [{ name: 'Vis' }, { name: 'Hid' }] } });
  });

  test('auth-with-password expands the returned record; fields uses the record. prefix', async () => {
    const c = guest();
    const a = await c.collection('people').authWithPassword('vis@example.com', 'people-pass-123', { expand: 'fav' });
    assert.deepEqual(a.record.expand, { fav: await view('authors', ids.Ann) });
    const r = await srv.api('POST', `/api/collections/people/auth-with-password?expand=fav&fields=${enc('token,record.name,record.expand.fav.name')}`, {
      body: { identity: 'vis@example.com', password: 'people-pass-123' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['record', 'token']);
    assert.deepEqual(r.json.record, { name: 'Vis', expand: { fav: { name: 'Ann' } } });
  });
});

describe('fields', () => {
  test('fields=id,title on list items; the envelope is untouched', async () => {
    const l = await guest().collection('posts').getList(1, 2, { fields: 'id,title', sort: 'title' });
    assert.deepEqual(l, {
      page: 1,
      perPage: 2,
      totalItems: 3,
      totalPages: 2,
      items: [
        { id: ids.empty, title: 'empty' },
        { id: ids.hello, title: 'hello' },
      ],
    });
    // envelope names in fields neither select nor drop envelope keys
    const r = await get200(`/api/collections/posts/records?perPage=1&sort=title&fields=${enc('page,totalItems,items,id')}`);
    assert.deepEqual(r, { page: 1, perPage: 1, totalItems: 3, totalPages: 3, items: [{ id: ids.empty }] });
  });

  test('unknown names are ignored; only unknown names gives empty items', async () => {
    const l = await get200(`/api/collections/posts/records?sort=title&fields=${enc('nope,title,x.y')}`);
    assert.deepEqual(l.items, [{ title: 'empty' }, { title: 'hello' }, { title: 'shared' }]);
    const e = await get200(`/api/collections/posts/records?sort=title&fields=nope`);
    assert.deepEqual(e.items, [{}, {}, {}]);
    assert.equal(e.totalItems, 3);
  });

  test('empty fields = everything; spaces around names are trimmed', async () => {
    const all = await get200(postUrl(ids.hello, ''));
    assert.deepEqual(await get200(postUrl(ids.hello, 'fields=')), all);
    assert.deepEqual(await get200(postUrl(ids.hello, `fields=${enc(' id , title ')}`)), { id: ids.hello, title: 'hello' });
  });

  test('* selects every field (including expand) at its level', async () => {
    const all = await guest().collection('posts').getOne(ids.hello, { expand: 'author' });
    assert.deepEqual(await guest().collection('posts').getOne(ids.hello, { expand: 'author', fields: '*' }), all);
    // on a list too
    const l = await guest().collection('posts').getList(1, 30, { fields: '*', sort: 'title' });
    assert.deepEqual(l, await guest().collection('posts').getList(1, 30, { sort: 'title' }));
  });

  test('fields on single view', async () => {
    assert.deepEqual(await guest().collection('posts').getOne(ids.hello, { fields: 'title,coauthors' }), {
      title: 'hello',
      coauthors: [ids.Cid, ids.Ann, ids.Bob],
    });
  });

  test('hidden fields cannot be selected by non-superusers', async () => {
    assert.deepEqual(await guest().collection('posts').getOne(ids.hello, { fields: 'id,hush' }), { id: ids.hello });
    assert.deepEqual(await srv.pb.collection('posts').getOne(ids.hello, { fields: 'id,hush' }), { id: ids.hello, hush: 'h' });
    const c = await guest().collection('cards').getOne(ids.card, { expand: 'who', fields: 'memo,expand.who.email,expand.who.secret' });
    // Hid's email is hidden (emailVisibility false): that array entry is an empty object
    assert.deepEqual(c, { expand: { who: [{}, { email: 'vis@example.com' }] } });
  });

  test('expand.rel.field and expand.rel.* select inside expanded records', async () => {
    const C = guest().collection('posts');
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author,coauthors', fields: 'title,expand.author.name,expand.coauthors.name' }), {
      title: 'hello',
      expand: { author: { name: 'Ann' }, coauthors: [{ name: 'Cid' }, { name: 'Ann' }, { name: 'Bob' }] },
    });
    const ann = await view('authors', ids.Ann);
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author', fields: 'title,expand.author.*' }), { title: 'hello', expand: { author: ann } });
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author', fields: 'expand.author' }), { expand: { author: ann } });
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author', fields: 'expand' }), { expand: { author: ann } });
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author', fields: 'expand.*' }), { expand: { author: ann } });
  });

  test('expand is left out when fields does not name it', async () => {
    assert.deepEqual(await guest().collection('posts').getOne(ids.hello, { expand: 'author,coauthors', fields: 'id,title' }), {
      id: ids.hello,
      title: 'hello',
    });
  });

  test('expand.* paths without expand param, or naming unknown keys', async () => {
    const C = guest().collection('posts');
    // nothing expanded -> no expand key
    assert.deepEqual(await C.getOne(ids.hello, { fields: 'id,expand.author.name' }), { id: ids.hello });
    // unknown key inside an expanded record -> an empty object; unknown relation -> nothing
    assert.deepEqual(await C.getOne(ids.hello, { expand: 'author', fields: 'title,expand.author.nope,expand.nope.x' }), {
      title: 'hello',
      expand: { author: {} },
    });
    // expand: {} is kept as {} when selected
    assert.deepEqual(await C.getOne(ids.empty, { expand: 'author', fields: 'id,expand.author.name' }), { id: ids.empty, expand: {} });
  });

  test('nested expand fields: expand.a.expand.b.field', async () => {
    const r = await u1.collection('posts').getOne(ids.hello, {
      expand: 'author.user',
      fields: 'expand.author.name,expand.author.expand.user.email',
    });
    assert.deepEqual(r, { expand: { author: { name: 'Ann', expand: { user: { email: 'u1@example.com' } } } } });
    const g = await guest().collection('posts').getOne(ids.hello, {
      expand: 'author.user',
      fields: 'expand.author.name,expand.author.expand.user.email',
    });
    assert.deepEqual(g, { expand: { author: { name: 'Ann', expand: {} } } });
  });

  test('fields applies to every list item including expand', async () => {
    const l = await guest().collection('posts').getList(1, 30, { expand: 'author', fields: 'title,expand.author.name', sort: 'title' });
    assert.deepEqual(l.items, [
      { title: 'empty', expand: {} },
      { title: 'hello', expand: { author: { name: 'Ann' } } },
      { title: 'shared', expand: { author: { name: 'Ann' } } },
    ]);
    assert.deepEqual([l.page, l.perPage, l.totalItems, l.totalPages], [1, 30, 3, 1]);
  });

  test('JSON field sub-keys can be selected (fields=j.a)', async () => {
    const D = srv.pb.collection('docs');
    const d = await D.create({ k: 1000, j: { a: 1, b: { c: 2 } } });
    assert.deepEqual(await D.getOne(d.id, { fields: 'j.a' }), { j: { a: 1 } });
    assert.deepEqual(await D.getOne(d.id, { fields: 'j.b.c,k' }), { j: { b: { c: 2 } }, k: 1000 });
    await D.delete(d.id);
  });

  test('a repeated name: the last occurrence wins', async () => {
    const C = guest().collection('posts');
    assert.deepEqual(await C.getOne(ids.hello, { fields: 'body:excerpt(3),body' }), { body: '<p>Hello   <b>big</b>\n world</p>' });
    assert.deepEqual(await C.getOne(ids.hello, { fields: 'body,body:excerpt(3)' }), { body: 'Hel' });
  });
});

describe('fields: excerpt', () => {
  // [input, excerpt(10), excerpt(10,true)]
  const CASES = [
    ['<p>Hello   <b>big</b>\n world</p>', 'Hello big', 'Hello big...'], // truncated at a space: trimmed, then "..."
    ['short', 'short', 'short'],
    ['0123456789', '0123456789', '0123456789'], // exactly max: no "..."
    ['01234567890', '0123456789', '0123456789...'],
    ['<p>one</p><p>two</p><div>three</div>four<span>five</span>', 'one two th', 'one two th...'], // block tags separate words
    ['  lead   and\ttab\n\nnl  ', 'lead and t', 'lead and t...'],
    ['<script>alert(1)</script><style>p{}</style>vis&amp;ible &lt;x&gt;', 'vis&ible <', 'vis&ible <...'], // script/style dropped, entities decoded
    ['héllo wörld ünïcode ✓✓✓', 'héllo wörl', 'héllo wörl...'], // counts characters, not bytes
    ['abcdefghi jklmno', 'abcdefghi', 'abcdefghi...'],
    ['<br>a<br/>b<hr>c', 'ab c', 'ab c'], // PocketBase: <br> is inline (no space), <hr> is a block
    ['<ul><li>x</li><li>y</li></ul>', 'x y', 'x y'],
    ['<p>a</p>  <p>b</p>', 'a b', 'a b'],
    ['a <!-- c --> b', 'a b', 'a b'],
    ['<textarea>t</textarea>q', 'q', 'q'], // textarea content dropped too
    ['<p>x <i>y</i> z</p>', 'x y z', 'x y z'],
    ['<b>abcde</b>fghijk', 'abcdefghij', 'abcdefghij...'], // inline tags join
    ['<a href="#">link</a>text <img src=a>!!', 'linktext !', 'linktext !...'], // <a>, <img> inline
    ['<h1>T</h1><section>s</section>', 'T s', 'T s'],
    ['a\r\n\fb', 'a b', 'a b'],
    ['&nbsp;&nbsp;x', 'x', 'x'], // nbsp trimmed at the ends ...
    ['a\u00a0\u00a0b c d e f g', 'a\u00a0\u00a0b c d e', 'a\u00a0\u00a0b c d e...'], // ... but not collapsed inside
    ['<p></p>', '', ''],
    ['', '', ''],
  ];

  let docIds;
  const docs = () => srv.pb.collection('docs');
  const setup = async () => {
    if (docIds) return;
    docIds = [];
    for (const [k, [e]] of CASES.entries()) docIds.push((await docs().create({ k, e, num: 1234567, j: 'str <b>ing</b> json value' })).id);
  };
  const run = async (fields) => {
    await setup();
    const l = await guest().collection('docs').getList(1, 100, { fields: `k,${fields}`, sort: 'k', filter: 'k < 100' });
    assert.equal(l.items.length, CASES.length);
    return l.items;
  };

  test('excerpt(10): strips HTML, collapses whitespace, trims, no "..."', async () => {
    const items = await run('e:excerpt(10)');
    const bad = items.filter((x) => x.e !== CASES[x.k][1]).map((x) => `${JSON.stringify(CASES[x.k][0])} -> ${JSON.stringify(x.e)}, want ${JSON.stringify(CASES[x.k][1])}`);
    assert.deepEqual(bad, []);
  });

  test('excerpt(10,true): adds "..." only when truncated', async () => {
    const items = await run('e:excerpt(10,true)');
    const bad = items.filter((x) => x.e !== CASES[x.k][2]).map((x) => `${JSON.stringify(CASES[x.k][0])} -> ${JSON.stringify(x.e)}, want ${JSON.stringify(CASES[x.k][2])}`);
    assert.deepEqual(bad, []);
  });

  test('the second argument: spaces allowed; 1 means true; false/0/other words mean false', async () => {
    await setup();
    const one = async (f) => (await guest().collection('docs').getOne(docIds[0], { fields: f })).e;
    assert.equal(await one('e:excerpt(5, true)'), 'Hello...');
    assert.equal(await one('e:excerpt( 5 )'), 'Hello');
    assert.equal(await one('e:excerpt(5,1)'), 'Hello...');
    assert.equal(await one('e:excerpt(5,false)'), 'Hello');
    assert.equal(await one('e:excerpt(5,0)'), 'Hello');
    assert.equal(await one('e:excerpt(5,yes)'), 'Hello');
    assert.equal(await one('e:excerpt(2.5)'), 'He'); // PocketBase truncates a fractional max
  });

  test('excerpt leaves non-string values alone; JSON string values are excerpted', async () => {
    await setup();
    const r = await guest().collection('docs').getOne(docIds[0], { fields: 'num:excerpt(3),j:excerpt(5,true)' });
    assert.deepEqual(r, { num: 1234567, j: 'str i...' });
    const d = await docs().create({ k: 500, j: { k: '<b>x</b>' } });
    assert.deepEqual(await guest().collection('docs').getOne(d.id, { fields: 'j:excerpt(1)' }), { j: { k: '<b>x</b>' } });
    await docs().delete(d.id);
  });

  test('excerpt on an unknown field is ignored; on an expanded field it works', async () => {
    await setup();
    assert.deepEqual(await guest().collection('docs').getOne(docIds[0], { fields: 'nope:excerpt(3)' }), {});
    assert.deepEqual(
      await guest().collection('posts').getOne(ids.hello, { expand: 'author', fields: 'title:excerpt(2,true),expand.author.name:excerpt(2,true)' }),
      { title: 'he...', expand: { author: { name: 'An...' } } },
    );
  });

  test('invalid modifiers -> 400 with the generic body', async () => {
    await setup();
    for (const f of ['e:excerpt(0)', 'e:excerpt(-1)', 'e:excerpt()', 'e:excerpt(a)', 'e:excerpt(5,true,1)', 'e:EXCERPT(3)', 'e:nope(3)']) {
      await rejects(guest().collection('docs').getList(1, 5, { fields: f }), 400, BAD_REQUEST);
      await rejects(guest().collection('docs').getOne(docIds[0], { fields: f }), 400, BAD_REQUEST);
    }
  });
});

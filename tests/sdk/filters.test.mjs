// Records: the `filter` list parameter (PocketBase's filter language).
// Every expectation here was checked against the reference PocketBase first.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';

const BAD_REQUEST = errBody(400, 'Something went wrong while processing your request.');
const ONLY_SU_REQUEST = errBody(403, 'Only superusers can filter by @request.');
const ONLY_SU_COLLECTION = errBody(403, 'Only superusers can filter by @collection.');

const ALL = ['alpha', 'beta', 'delta', 'epsilon', 'gamma'];
const WORDS = ["O'Brien", 'say "hi"', 'back\\slash', '100%', 'a_b', 'axb', 'Plain', "x' OR '1'='1"];

const ids = {};
let user; // a logged-in `users` client (not a superuser)
let hidUser; // a logged-in `people` client whose emailVisibility is false
const srv = useServer(async (s) => {
  const pb = s.pb;
  const authors = await pb.collections.create({ name: 'authors', ...RULES, fields: [{ name: 'name', type: 'text' }] });
  const posts = await pb.collections.create({
    name: 'posts',
    ...RULES,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'subtitle', type: 'text' },
      { name: 'views', type: 'number' },
      { name: 'published', type: 'bool' },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 4 },
      { name: 'category', type: 'select', values: ['x', 'y', 'z'], maxSelect: 1 },
      { name: 'meta', type: 'json' },
      { name: 'when', type: 'date' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      { name: 'coauthors', type: 'relation', collectionId: authors.id, maxSelect: 5 },
      { name: 'secret', type: 'text', hidden: true },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  await pb.collections.create({
    name: 'comments',
    ...RULES,
    fields: [
      { name: 'body', type: 'text' },
      { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 },
    ],
  });
  await pb.collections.create({ name: 'words', ...RULES, fields: [{ name: 'w', type: 'text' }] });
  await pb.collections.create({
    name: 'people',
    type: 'auth',
    ...RULES,
    fields: [{ name: 'name', type: 'text' }],
  });

  for (const name of ['Alice', 'Bob', 'Carol']) ids[name] = (await pb.collection('authors').create({ name })).id;
  const { Alice, Bob, Carol } = ids;
  const P = pb.collection('posts');
  ids.alpha = (
    await P.create({
      title: 'alpha', subtitle: 'Hello World', views: 10, published: true, tags: ['a', 'b'], category: 'x',
      meta: { a: [1, 2], b: { c: 'deep' } }, when: '2001-02-03 04:05:06.000Z', author: Alice, coauthors: [Alice, Bob], secret: 's1',
    })
  ).id;
  ids.beta = (
    await P.create({
      title: 'beta', subtitle: '', views: 20, published: false, tags: ['b'], category: 'y',
      meta: { a: [3] }, when: '2999-01-01 00:00:00.000Z', author: Bob, coauthors: [Bob], secret: 's2',
    })
  ).id;
  ids.gamma = (await P.create({ title: 'gamma', subtitle: 'hello', views: 0, published: false, tags: [], meta: null })).id;
  ids.delta = (
    await P.create({
      title: 'delta', subtitle: 'HELLO there', views: -5.5, published: true, tags: ['a', 'c', 'd'], category: 'x',
      meta: { a: [1], s: 'str' }, author: Carol, coauthors: [Alice, Carol],
    })
  ).id;
  ids.epsilon = (
    await P.create({
      title: 'epsilon', subtitle: 'bye', views: 100, published: true, tags: ['a'], category: 'z',
      meta: {}, author: Alice, coauthors: [Alice],
    })
  ).id;
  const C = pb.collection('comments');
  await C.create({ body: 'nice', post: ids.alpha });
  await C.create({ body: 'meh', post: ids.alpha });
  await C.create({ body: 'nice', post: ids.beta });
  await C.create({ body: 'bad', post: ids.delta });
  for (const w of WORDS) await pb.collection('words').create({ w });

  const pw = 'people-pass-123';
  await pb.collection('people').create({ email: 'vis@example.com', emailVisibility: true, name: 'Vis', password: pw, passwordConfirm: pw });
  await pb.collection('people').create({ email: 'hid@example.com', emailVisibility: false, name: 'Hid', password: pw, passwordConfirm: pw });
  hidUser = s.client();
  await hidUser.collection('people').authWithPassword('hid@example.com', pw);
  user = await s.userClient();
});

/** The sorted values of `key` of the items matching `filter` (asserting totalItems agrees). */
async function match(filter, { coll = 'posts', key = 'title', client = srv.client() } = {}) {
  const l = await client.collection(coll).getList(1, 100, { filter });
  assert.equal(l.totalItems, l.items.length, `totalItems for ${filter}`);
  return l.items.map((x) => x[key]).sort();
}

/**
 * Assert a table of [filter, expected titles] on posts (or another collection);
 * reports every mismatching row at once.
 */
async function table(rows, opts) {
  const bad = [];
  for (const [filter, expected] of rows) {
    let got;
    try {
      got = await match(filter, opts);
    } catch (e) {
      got = `HTTP ${e.status} ${JSON.stringify(e.response ?? e.message)}`;
    }
    const want = [...expected].sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${filter}\n    expected ${JSON.stringify(want)}\n    actual   ${JSON.stringify(got)}`);
  }
  assert.ok(bad.length === 0, `${bad.length} of ${rows.length} filters differ:\n  ${bad.join('\n  ')}`);
}

describe('operators on plain fields', () => {
  test('number: = != > >= < <=', async () => {
    await table([
      ['views = 10', ['alpha']],
      ['views != 10', ['beta', 'gamma', 'delta', 'epsilon']],
      ['views > 10', ['beta', 'epsilon']],
      ['views >= 10', ['alpha', 'beta', 'epsilon']],
      ['views < 0', ['delta']],
      ['views <= 0', ['gamma', 'delta']],
      ['views = -5.5', ['delta']],
      ['views = 10.0', ['alpha']],
      ['views > -6 && views < 1', ['gamma', 'delta']],
    ]);
  });

  test('text: = != > ~ !~', async () => {
    await table([
      ["title = 'alpha'", ['alpha']],
      ['title = "alpha"', ['alpha']],
      ["title != 'alpha'", ['beta', 'gamma', 'delta', 'epsilon']],
      ["title > 'delta'", ['epsilon', 'gamma']],
      ["title <= 'beta'", ['alpha', 'beta']],
      ["title ~ 'ta'", ['beta', 'delta']],
      ["title !~ 'a'", ['epsilon']],
      ["title = 'ALPHA'", []],
      ["subtitle ~ 'HELLO'", ['alpha', 'gamma', 'delta']],
      ["subtitle !~ 'hello'", ['beta', 'epsilon']],
    ]);
  });

  test('any-of operators on a single-value field behave like the plain ones', async () => {
    await table([
      ['views ?= 10', ['alpha']],
      ['views ?!= 10', ['beta', 'gamma', 'delta', 'epsilon']],
      ['views ?> 10', ['beta', 'epsilon']],
      ['views ?>= 10', ['alpha', 'beta', 'epsilon']],
      ['views ?< 0', ['delta']],
      ['views ?<= 0', ['gamma', 'delta']],
      ["title ?~ 'ta'", ['beta', 'delta']],
      ["title ?!~ 'a'", ['epsilon']],
      ["category ?= 'x'", ['alpha', 'delta']],
    ]);
  });

  test('bool literals', async () => {
    await table([
      ['published = true', ['alpha', 'delta', 'epsilon']],
      ['published = false', ['beta', 'gamma']],
      ['published != true', ['beta', 'gamma']],
      ['published = true && views > 50', ['epsilon']],
    ]);
  });

  test('single select and id', async () => {
    await table([
      ["category = 'x'", ['alpha', 'delta']],
      ["category != 'x'", ['beta', 'gamma', 'epsilon']],
      [`id = '${ids.beta}'`, ['beta']],
      [`id != '${ids.beta}' && id != '${ids.gamma}'`, ['alpha', 'delta', 'epsilon']],
    ]);
  });
});

describe('null and empty values', () => {
  test("null and '' are the same for text, select and relation fields", async () => {
    await table([
      ["subtitle = ''", ['beta']],
      ['subtitle = null', ['beta']],
      ["subtitle != ''", ['alpha', 'gamma', 'delta', 'epsilon']],
      ['subtitle != null', ['alpha', 'gamma', 'delta', 'epsilon']],
      ['category = null', ['gamma']],
      ["category = ''", ['gamma']],
      ['author = null', ['gamma']],
      ["author != ''", ['alpha', 'beta', 'delta', 'epsilon']],
      ["when = ''", ['gamma', 'delta', 'epsilon']],
      ['when != null', ['alpha', 'beta']],
    ]);
  });

  test('a number 0 is not null; a json null is', async () => {
    await table([
      ['views = null', []],
      ['views != null', ALL],
      ['meta = null', ['gamma']],
      ['meta != null', ['alpha', 'beta', 'delta', 'epsilon']],
    ]);
  });

  test('literal vs literal comparisons are allowed', async () => {
    await table([
      ['1 = 1', ALL],
      ["'a' = 'b'", []],
      ["null = ''", ALL],
      // a double-quoted token is a string literal, not a column name
      ['"title" = \'alpha\'', []],
    ]);
  });
});

describe('string literals, escapes and ~', () => {
  const W = (rows) => table(rows, { coll: 'words', key: 'w' });

  test('quotes and escapes', async () => {
    await W([
      ["w = 'O\\'Brien'", ["O'Brien"]],
      ['w = "O\'Brien"', ["O'Brien"]],
      ['w = "say \\"hi\\""', ['say "hi"']],
      ["w = 'say \"hi\"'", ['say "hi"']],
      ["w = 'Plain'", ['Plain']],
      ["w = 'plain'", []],
      // PocketBase: a doubled backslash and a lone one before another char both give one backslash
      ["w = 'back\\\\slash'", ['back\\slash']],
      ["w = 'back\\slash'", ['back\\slash']],
    ]);
  });

  test('~ is a case-insensitive contains with auto-wrapping', async () => {
    await W([
      ["w ~ 'lai'", ['Plain']],
      ["w ~ 'LAI'", ['Plain']],
      ["w ~ 'back'", ['back\\slash']],
      // _ is escaped when auto-wrapping: no single-char wildcard
      ["w ~ 'a_b'", ['a_b']],
      ["w !~ 'a'", ["O'Brien", '100%', "x' OR '1'='1"]],
    ]);
  });

  test('an explicit % disables the auto-wrapping', async () => {
    await W([
      ["w ~ 'pla%'", ['Plain']],
      ["w ~ 'lai%'", []],
      ["w ~ '%lain'", ['Plain']],
      ["w ~ 'a%b'", ['a_b', 'axb']],
      ["w ~ '100%'", ['100%']],
      ["w !~ '%a%'", ["O'Brien", '100%', "x' OR '1'='1"]],
      // an escaped % is a literal one (and the value is still auto-wrapped)
      ["w ~ '0\\%'", ['100%']],
    ]);
  });
});

describe('&&, || and parentheses', () => {
  test('&& binds tighter than ||', async () => {
    await table([
      ["title = 'alpha' || title = 'beta' && views > 100", ['alpha']],
      ["title = 'beta' && views > 100 || title = 'alpha'", ['alpha']],
      ["(title = 'alpha' || title = 'beta') && views > 15", ['beta']],
      ["title = 'alpha' || (title = 'beta' && views > 15)", ['alpha', 'beta']],
      ["((views > 0) && (published = true || title = 'beta'))", ['alpha', 'beta', 'epsilon']],
      ["published = true && (views < 0 || views > 50) || title = 'gamma'", ['delta', 'epsilon', 'gamma']],
    ]);
  });

  test('whitespace and newlines are insignificant', async () => {
    await table([["  title='alpha'\n||\ttitle  =  'beta'  ", ['alpha', 'beta']]]);
  });
});

describe('multi-value fields', () => {
  test('compared directly, the stored JSON array is compared (not the elements)', async () => {
    await table([
      ["tags = 'b'", []],
      // PocketBase: even ?= compares the whole stored value
      ["tags ?= 'b'", []],
      ['tags = \'["b"]\'', ['beta']],
    ]);
  });

  test(':each with ?= is any-of, with = all-of', async () => {
    await table([
      ["tags:each ?= 'b'", ['alpha', 'beta']],
      ["tags:each ?= 'd'", ['delta']],
      ["tags:each = 'a'", ['epsilon']],
      ["tags:each = 'b'", ['beta']],
      // PocketBase: an empty array counts as "some element differs"
      ["tags:each ?!= 'a'", ['alpha', 'beta', 'delta', 'gamma']],
      ["tags:each ?~ 'C'", ['delta']],
    ]);
  });

  test(':each on a multiple relation (the ids)', async () => {
    await table([
      [`coauthors:each ?= '${ids.Alice}'`, ['alpha', 'delta', 'epsilon']],
      [`coauthors:each = '${ids.Alice}'`, ['epsilon']],
    ]);
  });

  test(':length', async () => {
    await table([
      ['tags:length = 2', ['alpha']],
      ['tags:length = 0', ['gamma']],
      ['tags:length > 1', ['alpha', 'delta']],
      ['tags:length >= 1 && tags:length < 3', ['alpha', 'beta', 'epsilon']],
      ['coauthors:length = 2', ['alpha', 'delta']],
      ['coauthors:length = 0', ['gamma']],
    ]);
  });
});

describe(':lower', () => {
  test('lower-cases the field before comparing', async () => {
    await table([
      ["subtitle:lower = 'hello world'", ['alpha']],
      ["subtitle = 'hello world'", []],
      ["subtitle:lower = 'hello'", ['gamma']],
      ["subtitle:lower = 'hello there'", ['delta']],
      ["title:lower = 'ALPHA'", []],
      ["subtitle:lower != 'hello'", ['alpha', 'beta', 'delta', 'epsilon']],
    ]);
  });
});

describe('relations', () => {
  test('single relation traversal', async () => {
    await table([
      ["author.name = 'Alice'", ['alpha', 'epsilon']],
      ["author.name != 'Alice'", ['beta', 'delta', 'gamma']],
      ["author.name ~ 'o'", ['beta', 'delta']],
      [`author.id = '${ids.Bob}'`, ['beta']],
      [`author = '${ids.Bob}'`, ['beta']],
      ["author.name = 'Alice' && views > 50", ['epsilon']],
    ]);
  });

  test('nested traversal from another collection', async () => {
    await table(
      [
        ["post.author.name = 'Alice'", ['meh', 'nice']],
        ["post.title = 'beta'", ['nice']],
        ["post.author.name = 'Carol'", ['bad']],
      ],
      { coll: 'comments', key: 'body' },
    );
  });

  test('through a multiple relation: plain operators are all-of, ? operators any-of', async () => {
    await table([
      ["coauthors.name = 'Alice'", ['epsilon']],
      ["coauthors.name ?= 'Alice'", ['alpha', 'delta', 'epsilon']],
      ["coauthors.name ?= 'Bob'", ['alpha', 'beta']],
      ["coauthors.name ?~ 'ar'", ['delta']],
      ["coauthors.name ~ 'o'", ['beta']],
    ]);
  });

  test('all-of != through a multiple relation includes records with no related rows', async () => {
    await table([
      ["coauthors.name != 'Alice'", ['beta', 'gamma']],
      ["coauthors.name != 'Bob'", ['delta', 'epsilon', 'gamma']],
    ]);
  });

  test('any-of ?!= through a multiple relation', async () => {
    // PocketBase: a record with no related rows counts as "some row differs"
    await table([["coauthors.name ?!= 'Alice'", ['alpha', 'beta', 'delta', 'gamma']]]);
  });

  test('back-relations: COLL_via_FIELD', async () => {
    await table([
      ["comments_via_post.body ?= 'nice'", ['alpha', 'beta']],
      ["comments_via_post.body ?= 'bad'", ['delta']],
      ["comments_via_post.body = 'nice'", ['beta']],
      ["comments_via_post.body ?!= 'nice'", ['alpha', 'delta', 'epsilon', 'gamma']],
    ]);
  });

  test('back-relation :length is rejected', async () => {
    await rejects(srv.client().collection('posts').getList(1, 30, { filter: 'comments_via_post:length > 0' }), 400, BAD_REQUEST);
  });
});

describe('JSON paths', () => {
  test('meta.a.0, nested keys, missing keys', async () => {
    await table([
      ['meta.a.0 = 1', ['alpha', 'delta']],
      ['meta.a.1 = 2', ['alpha']],
      ['meta.a.0 > 1', ['beta']],
      ["meta.b.c = 'deep'", ['alpha']],
      ["meta.s ~ 'st'", ['delta']],
      ["meta.s = 'str' || meta.a.0 = 3", ['beta', 'delta']],
      ['meta.nope = null', ALL],
      ['meta.a.5 != null', []],
    ]);
  });
});

describe('datetime macros', () => {
  test('@now, @todayStart, @todayEnd, @yesterday, @tomorrow, month/year bounds', async () => {
    await table([
      ['created <= @now', ALL],
      ['created > @now', []],
      ['created >= @todayStart && created <= @todayEnd', ALL],
      ['created < @yesterday', []],
      ['created < @tomorrow', ALL],
      ['created >= @monthStart && created <= @monthEnd', ALL],
      ['created >= @yearStart && created <= @yearEnd', ALL],
      ['updated >= created', ALL],
    ]);
  });

  test('numeric macros', async () => {
    const now = new Date();
    await table([
      [`@year = ${now.getUTCFullYear()}`, ALL],
      ['@year < 2000', []],
      ['@month >= 1 && @month <= 12 && @day >= 1 && @weekday >= 0 && @hour >= 0 && @minute >= 0 && @second >= 0', ALL],
    ]);
  });

  test('date fields compare as strings ("" sorts before any date)', async () => {
    await table([
      ['when > @now', ['beta']],
      // PocketBase: an empty date is "" and thus < any date
      ['when < @now', ['alpha', 'delta', 'epsilon', 'gamma']],
      ["when != '' && when < @now", ['alpha']],
      ["when = '2001-02-03 04:05:06.000Z'", ['alpha']],
      ["when > '2001-01-01' && when < '2002-01-01'", ['alpha']],
    ]);
  });
});

describe('invalid filters -> 400', () => {
  const cases = [
    'nope = 1',
    'author.nope = 1',
    "title = ",
    "title 'alpha'",
    "(title = 'alpha'",
    "title = 'alpha')",
    "((title = 'alpha') || (views > 1)",
    "title == 'alpha'",
    "title = 'alpha",
    "&& title = 'alpha'",
    "title = 'alpha' &&",
    "title = 'alpha' || || views > 1",
    'title:nope = 1',
    'title ~~ 1',
  ];
  for (const filter of cases) {
    test(`400 for ${JSON.stringify(filter)}`, async () => {
      await rejects(srv.client().collection('posts').getList(1, 30, { filter }), 400, BAD_REQUEST);
    });
  }

  test('the same filters are 400 for superusers too', async () => {
    for (const filter of ['nope = 1', "(title = 'alpha'", 'title = ']) {
      await rejects(srv.pb.collection('posts').getList(1, 30, { filter }), 400, BAD_REQUEST);
    }
  });
});

describe('@request / @collection in filter', () => {
  // PocketBase checks the raw `filter` (and `sort`) text for "@collection." first, then "@request.".
  const FORBIDDEN = [
    ['filter', "@request.auth.id != ''", ONLY_SU_REQUEST],
    ['filter', "title = 'alpha' || @request.method = 'GET'", ONLY_SU_REQUEST],
    ['filter', "@collection.authors.name ?= 'Alice'", ONLY_SU_COLLECTION],
    ['filter', "@collection.authors.name ?= @request.auth.id", ONLY_SU_COLLECTION],
    // a plain substring check: also inside string literals
    ['filter', "title = '@request.x'", ONLY_SU_REQUEST],
    ['filter', "title = '@collection.x'", ONLY_SU_COLLECTION],
    // ... and also in `sort`
    ['sort', '@request.auth.id', ONLY_SU_REQUEST],
  ];
  for (const who of ['guest', 'user', 'auth record of another collection']) {
    test(`${who}: @request / @collection in filter or sort -> 403`, async () => {
      const client = { guest: srv.client(), user, 'auth record of another collection': hidUser }[who];
      const bad = [];
      for (const [param, value, body] of FORBIDDEN) {
        const r = await srv.api('GET', `/api/collections/posts/records?${param}=${encodeURIComponent(value)}`, { token: client.authStore.token });
        if (r.status !== body.status || JSON.stringify(r.json) !== JSON.stringify(body)) {
          bad.push(`${param}=${value}\n    expected ${JSON.stringify(body)}\n    actual   ${r.status} ${r.text}`);
        }
      }
      assert.ok(bad.length === 0, `${bad.length} of ${FORBIDDEN.length} differ:\n  ${bad.join('\n  ')}`);
    });
  }

  test('the SDK surfaces the 403', async () => {
    await rejects(srv.client().collection('posts').getList(1, 30, { filter: "@request.auth.id != ''" }), 403, ONLY_SU_REQUEST);
  });

  test('superusers may use them', async () => {
    const su = { client: srv.pb };
    await table(
      [
        ["@request.auth.id != ''", ALL],
        ["@request.auth.collectionName = '_superusers' && title = 'beta'", ['beta']],
        ["@request.method = 'GET' && views > 50", ['epsilon']],
        ["@collection.authors.name ?= 'Alice'", ALL],
        ["@collection.authors.name ?= 'Nobody'", []],
        ["@collection.comments.post ?= id && @collection.comments.body ?= 'nice'", ['alpha', 'beta']],
        ["@collection.comments:c.post ?= id && @collection.comments:c.body ?= 'bad'", ['delta']],
      ],
      su,
    );
  });
});

describe('hidden fields and emails', () => {
  test('hidden fields are not filterable by guests or users (400)', async () => {
    await rejects(srv.client().collection('posts').getList(1, 30, { filter: "secret = 's1'" }), 400, BAD_REQUEST);
    await rejects(user.collection('posts').getList(1, 30, { filter: "secret != ''" }), 400, BAD_REQUEST);
  });

  test('superusers can filter by hidden fields', async () => {
    await table(
      [
        ["secret = 's1'", ['alpha']],
        ["secret != ''", ['alpha', 'beta']],
      ],
      { client: srv.pb },
    );
  });

  test('guests only match emails of records with emailVisibility = true', async () => {
    const G = { coll: 'people', key: 'name' };
    await table(
      [
        ["email = 'vis@example.com'", ['Vis']],
        ["email = 'hid@example.com'", []],
        ["email ~ 'example.com'", ['Vis']],
        ["name = 'Hid'", ['Hid']],
      ],
      G,
    );
  });

  test('the owner of a hidden email cannot match it either; superusers can', async () => {
    await table([["email = 'hid@example.com'", []]], { coll: 'people', key: 'name', client: hidUser });
    await table(
      [
        ["email = 'hid@example.com'", ['Hid']],
        ["email ~ 'example.com'", ['Hid', 'Vis']],
      ],
      { coll: 'people', key: 'name', client: srv.pb },
    );
  });

  test('a hidden email never matches, not even with != or as empty; other OR-ed conditions still do', async () => {
    await table(
      [
        ["email != 'vis@example.com'", []],
        ["email != 'x@example.com'", ['Vis']],
        ["email = ''", []],
        ["email:lower = 'hid@example.com'", []],
        ["email = 'nobody@example.com' || name = 'Hid'", ['Hid']],
      ],
      { coll: 'people', key: 'name' },
    );
  });
});

describe('injection attempts are harmless', () => {
  test('SQL in string values is just a value', async () => {
    await table([
      ['title = "x\' OR 1=1 --"', []],
      ["title = 'x\\' OR 1=1 --'", []],
      ["title = 'alpha\" OR \"1\"=\"1'", []],
      ['title ~ "%\' OR \'1\'=\'1"', []],
    ]);
    await table([['w = "x\' OR \'1\'=\'1"', ["x' OR '1'='1"]]], { coll: 'words', key: 'w' });
  });

  test('SQL after or in place of an expression -> 400', async () => {
    const P = srv.client().collection('posts');
    for (const filter of [
      "title = 'a'; DROP TABLE posts",
      "title = 'a'; DROP TABLE posts; --",
      "title = 'a' OR 1=1",
      "title = 'it''s'",
      "title = 'a' -- comment",
      'title; DROP TABLE posts = 1',
      'posts.title = 1',
      "title) OR (1=1",
      "title = 'a' UNION SELECT * FROM _superusers",
      "json_extract(meta, '$.a') = 1",
      '`title` = 1',
      '[title] = 1',
    ]) {
      await rejects(P.getList(1, 30, { filter }), 400, BAD_REQUEST);
    }
  });

  test('the data is intact afterwards', async () => {
    assert.deepEqual(await match('', { client: srv.pb }), ALL);
    assert.equal((await srv.pb.collection('words').getList()).totalItems, WORDS.length);
    assert.equal((await srv.pb.collection('comments').getList()).totalItems, 4);
    const names = (await srv.pb.collections.getFullList()).map((c) => c.name);
    for (const n of ['posts', 'comments', 'words', 'authors', 'people', 'users', '_superusers']) assert.ok(names.includes(n), n);
  });
});

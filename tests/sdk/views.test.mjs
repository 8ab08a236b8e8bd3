// View collections (`type: "view"` + `viewQuery`): field inference, records
// (list/view/filter/sort/expand/fields), rules, read-only records, invalid queries.
// Every expectation here was checked against the reference PocketBase 0.40 first;
// comments mark where PocketBase does something one might not guess.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { useServer, test, describe, rejects, errBody, DATE_RE, ON_POSTGRES } from './harness.mjs';
import { PUBLIC_RULES as RULES } from './fixtures.mjs';

const ONLY_SUPERUSERS = errBody(403, 'Only superusers can perform this action.');
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const UNSUPPORTED = errBody(400, 'Unsupported collection type.');
const CREATE_FAILED = 'Failed to create collection.';
const REQUIRED = { code: 'validation_required', message: 'Cannot be blank.' };
const MUST_BE_BLANK = { code: 'validation_nil', message: 'Must be blank.' };

/** PocketBase's generated field id: type + crc32(name). */
const fieldId = (type, name) => `${type}${zlib.crc32(name)}`;
const CLONE_RE = /^_clone_[A-Za-z0-9]{4}$/;

// Field JSON as PocketBase serializes it (all keys).
const ID_FIELD = {
  autogeneratePattern: '',
  help: '',
  hidden: false,
  id: 'text3208210256',
  max: 0,
  min: 0,
  name: 'id',
  pattern: '^[a-z0-9]+$',
  presentable: false,
  primaryKey: true,
  required: true,
  system: true,
  type: 'text',
};
const base = { help: '', hidden: false, presentable: false, required: false, system: false };
const textF = (name, id, extra = {}) => ({ ...base, autogeneratePattern: '', id, max: 0, min: 0, name, pattern: '', primaryKey: false, type: 'text', ...extra });
const numberF = (name, id, onlyInt) => ({ ...base, id, max: null, min: null, name, onlyInt, type: 'number' });
const jsonF = (name, id, maxSize) => ({ ...base, id, maxSize, name, type: 'json' });
const boolF = (name, id) => ({ ...base, id, name, type: 'bool' });
const relationF = (name, id, collectionId) => ({ ...base, cascadeDelete: false, collectionId, id, maxSelect: 1, minSelect: 0, name, type: 'relation' });
/** An inferred field that is not a clone: id = type + crc32(name). */
const gen = (make, type, name, ...args) => make(name, fieldId(type, name), ...args);
/** A clone of a source field gets a random `_clone_XXXX` id; compare as CLONE. */
const CLONE = '_clone_';

/** Replace `_clone_XXXX` ids by CLONE (after checking their shape). */
function normFields(fields) {
  return fields.map((f) => {
    if (typeof f.id === 'string' && f.id.startsWith('_clone_')) {
      assert.match(f.id, CLONE_RE);
      return { ...f, id: CLONE };
    }
    return f;
  });
}

let authors;
let posts;
let user; // logged-in users client
const ANN = 'annannannannann';
const BOB = 'bobbobbobbobbob';
const CID = 'cidcidcidcidcid';
const P1 = 'p1p1p1p1p1p1p1p';
const P2 = 'p2p2p2p2p2p2p2p';
const P3 = 'p3p3p3p3p3p3p3p';
const P4 = 'p4p4p4p4p4p4p4p';

// post_view: a join with plain columns, a relation, a text from the other side,
// an expression (json) and a literal (json)
const POST_VIEW_QUERY =
  "SELECT p.id, p.title, p.views, p.author, a.name AS author_name, (p.views*2) AS doubled, 'x' AS lit " +
  'FROM posts p LEFT JOIN authors a ON a.id = p.author';
// stats: an aggregate per author; `a.id AS author` becomes a relation to authors
const STATS_QUERY =
  'SELECT a.id, a.name, COUNT(p.id) AS posts, TOTAL(p.views) AS total_views, MAX(p.views) AS best, a.id AS author ' +
  'FROM authors a LEFT JOIN posts p ON p.author = a.id GROUP BY a.id';

const srv = useServer(async (s) => {
  const pb = s.pb;
  authors = await pb.collections.create({
    name: 'authors',
    ...RULES,
    fields: [
      { name: 'name', type: 'text' },
      { name: 'age', type: 'number' },
      { name: 'active', type: 'bool' },
      { name: 'meta', type: 'json' },
      { name: 'email', type: 'email' },
    ],
  });
  posts = await pb.collections.create({
    name: 'posts',
    ...RULES,
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'views', type: 'number' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      { name: 'tags', type: 'select', values: ['a', 'b'], maxSelect: 2 },
      { name: 'created', type: 'autodate', onCreate: true },
    ],
  });
  await pb.collection('authors').create({ id: ANN, name: 'Ann', age: 30, active: true, meta: { k: 1 }, email: 'ann@example.com' });
  await pb.collection('authors').create({ id: BOB, name: 'Bob', age: 40 });
  await pb.collection('authors').create({ id: CID, name: 'Cid', age: 50 });
  await pb.collection('posts').create({ id: P1, title: 'First', views: 10, author: ANN, tags: ['a'] });
  await pb.collection('posts').create({ id: P2, title: 'Second', views: 5, author: BOB });
  await pb.collection('posts').create({ id: P3, title: 'Third', views: 7 });
  await pb.collection('posts').create({ id: P4, title: 'Fourth', views: 1, author: ANN });
  await pb.collections.create({ name: 'post_view', type: 'view', listRule: '', viewRule: '', viewQuery: POST_VIEW_QUERY });
  await pb.collections.create({ name: 'stats', type: 'view', listRule: '', viewRule: '', viewQuery: STATS_QUERY });
  user = await s.userClient();
});

const V = (name) => srv.client().collection(name);

describe('view collection schema', () => {
  test('create a view joining two collections: the inferred fields', async () => {
    const viewQuery =
      'SELECT p.id, p.title, p.views, p.tags, p.author, p.created, a.id AS writer, a.name AS author_name, ' +
      'a.age, a.active, a.meta, a.email, (p.views*2) AS doubled, COUNT(p.id) AS cnt, TOTAL(p.views) AS tot, ' +
      'SUM(p.views) AS sm, CAST(p.views AS REAL) AS vr, CAST(p.views AS INTEGER) AS vi, CAST(p.views AS NUMERIC) AS vn, ' +
      "CAST(p.views AS TEXT) AS vt, CAST(1 AS BOOLEAN) AS vb, 'lit' AS lit, 42 AS num " +
      'FROM posts p LEFT JOIN authors a ON a.id = p.author GROUP BY p.id, a.id';
    const c = await srv.pb.collections.create({ name: 'inferred', type: 'view', listRule: '', viewRule: '', viewQuery });
    assert.deepEqual(Object.keys(c).sort(), [
      'created', 'createRule', 'deleteRule', 'fields', 'id', 'indexes', 'listRule', 'name', 'system', 'type', 'updated', 'updateRule', 'viewQuery', 'viewRule',
    ].sort());
    assert.equal(c.type, 'view');
    assert.equal(c.viewQuery, viewQuery);
    assert.deepEqual(c.indexes, []);
    assert.equal(c.system, false);
    assert.deepEqual([c.listRule, c.viewRule, c.createRule, c.updateRule, c.deleteRule], ['', '', null, null, null]);
    assert.match(c.created, DATE_RE);
    assert.deepEqual(normFields(c.fields), [
      // `id` is always a plain text primary key (not a relation), fixed id
      ID_FIELD,
      // a column of a collection is a clone of the source field, with its options (title is required)
      textF('title', CLONE, { required: true }),
      numberF('views', CLONE, false),
      { ...base, id: CLONE, maxSelect: 2, name: 'tags', type: 'select', values: ['a', 'b'] },
      relationF('author', CLONE, authors.id),
      { hidden: false, id: CLONE, name: 'created', onCreate: true, onUpdate: false, presentable: false, system: false, type: 'autodate' },
      // another collection's id becomes a single relation to it (generated id, not a clone)
      gen(relationF, 'relation', 'writer', authors.id),
      textF('author_name', CLONE),
      numberF('age', CLONE, false),
      boolF('active', CLONE),
      jsonF('meta', CLONE, 0), // the clone keeps the source's maxSize 0
      { ...base, exceptDomains: [], id: CLONE, name: 'email', onlyDomains: [], type: 'email' },
      // any other expression is json with maxSize 1
      gen(jsonF, 'json', 'doubled', 1),
      // COUNT( -> integer number; TOTAL( -> number
      gen(numberF, 'number', 'cnt', true),
      gen(numberF, 'number', 'tot', false),
      // SUM( is not recognized: json
      gen(jsonF, 'json', 'sm', 1),
      // CAST(... AS REAL/INTEGER/NUMERIC/TEXT/BOOLEAN)
      gen(numberF, 'number', 'vr', false),
      gen(numberF, 'number', 'vi', true),
      gen(numberF, 'number', 'vn', false),
      gen(textF, 'text', 'vt'),
      gen(boolF, 'bool', 'vb'),
      // literals are json too
      gen(jsonF, 'json', 'lit', 1),
      gen(jsonF, 'json', 'num', 1),
    ]);
    const again = await srv.pb.collections.getOne('inferred');
    assert.deepEqual(again, c);
    // the inferred types shape the record values
    const r = await V('inferred').getOne(P1);
    assert.deepEqual({ ...r, created: 'X' }, {
      collectionId: c.id,
      collectionName: 'inferred',
      id: P1,
      title: 'First',
      views: 10,
      tags: ['a'],
      author: ANN,
      created: 'X',
      writer: ANN,
      author_name: 'Ann',
      age: 30,
      active: true,
      meta: { k: 1 },
      email: 'ann@example.com',
      doubled: 20,
      cnt: 1,
      tot: 10,
      sm: 10,
      vr: 10,
      vi: 10,
      vn: 10,
      vt: '10',
      vb: true,
      lit: 'lit',
      num: 42,
    });
    assert.match(r.created, DATE_RE);
    // missing LEFT JOIN side: text -> "", number -> 0, bool -> false, json -> null, relation -> ""
    const r3 = await V('inferred').getOne(P3);
    assert.deepEqual(
      [r3.writer, r3.author_name, r3.age, r3.active, r3.meta, r3.email, r3.author],
      ['', '', 0, false, null, '', ''],
    );
  });

  test('aggregate view: field types and values', async () => {
    const c = await srv.pb.collections.getOne('stats');
    assert.deepEqual(normFields(c.fields), [
      ID_FIELD,
      textF('name', CLONE),
      gen(numberF, 'number', 'posts', true),
      gen(numberF, 'number', 'total_views', false),
      gen(jsonF, 'json', 'best', 1), // MAX( is not recognized: json
      gen(relationF, 'relation', 'author', authors.id),
    ]);
    const list = await V('stats').getList(1, 30, { sort: '-posts,name' });
    assert.deepEqual(
      list.items.map(({ id, name, posts: n, total_views, best, author }) => ({ id, name, posts: n, total_views, best, author })),
      [
        { id: ANN, name: 'Ann', posts: 2, total_views: 11, best: 10, author: ANN },
        { id: BOB, name: 'Bob', posts: 1, total_views: 5, best: 5, author: BOB },
        { id: CID, name: 'Cid', posts: 0, total_views: 0, best: null, author: CID },
      ],
    );
  });

  test('fields sent by the client are ignored; they are re-inferred when viewQuery changes', async () => {
    const c = await srv.pb.collections.create({
      name: 'refields',
      type: 'view',
      viewQuery: 'SELECT id, name FROM authors',
      fields: [{ name: 'bogus', type: 'bool' }],
    });
    assert.deepEqual(normFields(c.fields), [ID_FIELD, textF('name', CLONE)]);
    assert.deepEqual([c.listRule, c.viewRule], [null, null]);
    const u = await srv.pb.collections.update('refields', { fields: [{ name: 'zzz', type: 'text' }] });
    assert.deepEqual(normFields(u.fields), [ID_FIELD, textF('name', CLONE)]);
    const q = await srv.pb.collections.update('refields', { viewQuery: 'SELECT id, name AS label, age FROM authors' });
    assert.deepEqual(normFields(q.fields), [ID_FIELD, textF('label', CLONE), numberF('age', CLONE, false)]);
    const list = await srv.pb.collection('refields').getList(1, 1, { sort: 'id' });
    assert.deepEqual(list.items, [{ collectionId: c.id, collectionName: 'refields', id: ANN, label: 'Ann', age: 30 }]);
    await srv.pb.collections.delete('refields');
  });

  test('create/update/delete rules must be null, and indexes are not supported', async () => {
    const err = await rejects(
      srv.pb.collections.create({ name: 'v_rules', type: 'view', viewQuery: 'SELECT id FROM authors', createRule: '', updateRule: '', deleteRule: 'id != ""' }),
      400,
    );
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { createRule: MUST_BE_BLANK, updateRule: MUST_BE_BLANK, deleteRule: MUST_BE_BLANK }));
    await rejects(
      srv.pb.collections.update('post_view', { createRule: '' }),
      400,
      errBody(400, 'Failed to update collection.', { createRule: MUST_BE_BLANK }),
    );
    await rejects(
      srv.pb.collections.update('post_view', { indexes: ['CREATE INDEX idx_pv ON post_view (title)'] }),
      400,
      errBody(400, 'Failed to update collection.', {
        indexes: { code: 'validation_indexes_not_supported', message: "View collections don't support indexes." },
      }),
    );
    await rejects(
      srv.pb.collections.update('post_view', { type: 'base' }),
      400,
      errBody(400, 'Failed to update collection.', {
        type: { code: 'validation_collection_type_change', message: 'Collection type cannot be changed.' },
      }),
    );
    await rejects(srv.pb.collections.getOne('v_rules'), 404);
  });

  test('an id made with ROW_NUMBER() is served as a string', async () => {
    await srv.pb.collections.create({ name: 'numbered', type: 'view', listRule: '', viewQuery: 'SELECT (ROW_NUMBER() OVER()) AS id, title FROM posts' });
    const list = await V('numbered').getList(1, 30, { sort: 'title' });
    assert.equal(list.totalItems, 4);
    for (const it of list.items) assert.match(it.id, /^[1-4]$/);
    assert.deepEqual(
      list.items.map((x) => x.title),
      ['First', 'Fourth', 'Second', 'Third'],
    );
    await srv.pb.collections.delete('numbered');
  });

  test('a view can select from another view; case, trailing ";" and aliases without AS are fine', async () => {
    const c = await srv.pb.collections.create({
      name: 'vov',
      type: 'view',
      listRule: '',
      viewQuery: 'select s.id, s.posts n from stats s where s.posts > 0;',
    });
    assert.deepEqual(normFields(c.fields), [ID_FIELD, numberF('n', CLONE, true)]);
    const list = await V('vov').getList(1, 30, { sort: 'id' });
    assert.deepEqual(
      list.items.map(({ id, n }) => [id, n]),
      [
        [ANN, 2],
        [BOB, 1],
      ],
    );
    await srv.pb.collections.delete('vov');
  });
});

describe('invalid view queries -> 400 data.viewQuery', () => {
  const GENERIC_SQL = /^Invalid query - .+/;
  const cases = [
    [
      'missing id column',
      'SELECT title FROM posts',
      {
        fields: { code: 'validation_missing_primary_key', message: 'Missing or invalid "id" PK field.' },
        viewQuery: 'Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don\'t have one).',
      },
    ],
    ['not a SELECT (DELETE)', 'DELETE FROM posts', { viewQuery: GENERIC_SQL }],
    ['INSERT', "INSERT INTO posts (id, title) VALUES ('zzzzzzzzzzzzzzz', 'y')", { viewQuery: GENERIC_SQL }],
    ['UPDATE', "UPDATE posts SET title = 'hacked'", { viewQuery: GENERIC_SQL }],
    ['DROP TABLE', 'DROP TABLE posts', { viewQuery: GENERIC_SQL }],
    ['CREATE TABLE', 'CREATE TABLE zzz (id TEXT)', { viewQuery: GENERIC_SQL }],
    ['ATTACH', "ATTACH DATABASE 'x.db' AS x", { viewQuery: GENERIC_SQL }],
    ['PRAGMA', 'PRAGMA table_info(posts)', { viewQuery: GENERIC_SQL }],
    ['multiple statements', 'SELECT id FROM posts; SELECT id FROM authors', { viewQuery: 'Invalid query - multiple statements are not supported.' }],
    ['a SELECT followed by a write', 'SELECT id FROM posts; DROP TABLE posts', { viewQuery: 'Invalid query - multiple statements are not supported.' }],
    ['unknown table', 'SELECT id FROM nope', { viewQuery: /^Invalid query - .*(no such table: (main\.)?nope|relation "nope" does not exist)/ }],
    ['unknown column', 'SELECT id, nope FROM posts', { viewQuery: /^Invalid query - .*(no such column: nope|column "nope" does not exist)/ }],
    ['garbage', 'invalid', { viewQuery: GENERIC_SQL }],
    [
      'wildcard',
      'SELECT * FROM posts',
      { viewQuery: 'Invalid query - wildcard columns (*) are not supported - manually type the collection field names you want the view query to have.' },
    ],
    [
      'table wildcard',
      'SELECT p.* FROM posts p',
      { viewQuery: 'Invalid query - wildcard columns (*) are not supported - manually type the collection field names you want the view query to have.' },
    ],
  ];
  let seq = 0;
  for (const [label, viewQuery, expect] of cases) {
    test(`${label} -> validation_invalid_view_query`, async () => {
      const name = `bad_view_${++seq}`;
      const r = await srv.su('POST', '/api/collections', { body: { name, type: 'view', viewQuery } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.message, CREATE_FAILED);
      assert.equal(r.json.status, 400);
      assert.deepEqual(Object.keys(r.json.data).sort(), ['fields', 'viewQuery']);
      // no field could be inferred: `fields` is reported as blank next to the query error
      assert.deepEqual(r.json.data.fields, expect.fields ?? REQUIRED);
      const vq = r.json.data.viewQuery;
      assert.deepEqual(Object.keys(vq).sort(), ['code', 'message']);
      assert.equal(vq.code, 'validation_invalid_view_query');
      if (expect.viewQuery instanceof RegExp) assert.match(vq.message, expect.viewQuery);
      else assert.equal(vq.message, expect.viewQuery);
      // nothing was created, nothing was written
      assert.equal((await srv.su('GET', `/api/collections/${name}`)).status, 404);
      assert.equal((await srv.pb.collection('posts').getList(1, 1)).totalItems, 4);
      assert.equal((await srv.pb.collection('posts').getOne(P1)).title, 'First');
    });
  }

  test('empty or missing viewQuery -> validation_required', async () => {
    for (const body of [{ name: 'no_query', type: 'view', viewQuery: '' }, { name: 'no_query', type: 'view' }]) {
      const r = await srv.su('POST', '/api/collections', { body });
      assert.deepEqual([r.status, r.json], [400, errBody(400, CREATE_FAILED, { fields: REQUIRED, viewQuery: REQUIRED })]);
    }
  });

  test('an invalid viewQuery on update keeps the old view', async () => {
    const r = await srv.su('PATCH', '/api/collections/post_view', { body: { viewQuery: 'SELECT title FROM posts' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, 'Failed to update collection.');
    assert.equal(r.json.data.viewQuery.code, 'validation_invalid_view_query');
    const c = await srv.pb.collections.getOne('post_view');
    assert.equal(c.viewQuery, POST_VIEW_QUERY);
    assert.equal((await V('post_view').getOne(P1)).title, 'First');
  });
});

describe('view records', () => {
  const pv = (id, title, views, author, author_name) => ({
    collectionId: undefined, // filled in below
    collectionName: 'post_view',
    id,
    title,
    views,
    author,
    author_name,
    doubled: views * 2,
    lit: 'x',
  });
  let pvId;
  const row = (...a) => ({ ...pv(...a), collectionId: pvId });
  const ROWS = () => ({
    [P1]: row(P1, 'First', 10, ANN, 'Ann'),
    [P2]: row(P2, 'Second', 5, BOB, 'Bob'),
    [P3]: row(P3, 'Third', 7, '', ''),
    [P4]: row(P4, 'Fourth', 1, ANN, 'Ann'),
  });

  test('list (sorted) and view one', async () => {
    pvId = (await srv.pb.collections.getOne('post_view')).id;
    const R = ROWS();
    const list = await V('post_view').getList(1, 30, { sort: '-views' });
    assert.deepEqual(list, { page: 1, perPage: 30, totalItems: 4, totalPages: 1, items: [R[P1], R[P3], R[P2], R[P4]] });
    assert.deepEqual(await V('post_view').getOne(P3), R[P3]);
    await rejects(V('post_view').getOne('nonexistent1234'), 404, NOT_FOUND);
  });

  test('filter on text, number, expression and relation columns', async () => {
    const R = ROWS();
    const f = async (filter, sort = 'id') => (await V('post_view').getList(1, 30, { filter, sort })).items;
    assert.deepEqual(await f("author_name = 'Ann'"), [R[P1], R[P4]]);
    assert.deepEqual(await f('doubled > 12 && lit = "x"'), [R[P1], R[P3]]);
    assert.deepEqual(await f('author = ""'), [R[P3]]);
    assert.deepEqual(await f('title ~ "ir"'), [R[P1], R[P3]]);
    // through the relation inferred from p.author
    assert.deepEqual(await f('author.age >= 40'), [R[P2]]);
    const stats = await V('stats').getList(1, 30, { filter: 'author.age >= 40 && posts = 0', fields: 'id' });
    assert.deepEqual(stats.items, [{ id: CID }]);
  });

  test('sort on several keys, on expressions and descending', async () => {
    const ids = async (sort) => (await V('post_view').getList(1, 30, { sort, fields: 'id' })).items.map((x) => x.id);
    assert.deepEqual(await ids('author_name,-views'), [P3, P1, P4, P2]);
    assert.deepEqual(await ids('-doubled'), [P1, P3, P2, P4]);
    assert.deepEqual(await ids('title'), [P1, P4, P2, P3]);
    const best = await V('stats').getList(1, 30, { sort: 'best', fields: 'id,best' });
    assert.deepEqual(best.items, [{ id: CID, best: null }, { id: BOB, best: 5 }, { id: ANN, best: 10 }]);
  });

  test('expand relations (cloned and inferred from another collection id) and fields', async () => {
    const annRec = { collectionId: authors.id, collectionName: 'authors', id: ANN, name: 'Ann', age: 30, active: true, meta: { k: 1 }, email: 'ann@example.com' };
    const one = await V('post_view').getOne(P1, { expand: 'author' });
    assert.deepEqual(one, { ...ROWS()[P1], expand: { author: annRec } });
    // an empty relation gives expand: {} (as for base collections)
    assert.deepEqual(await V('post_view').getOne(P3, { expand: 'author' }), { ...ROWS()[P3], expand: {} });
    const st = await V('stats').getOne(ANN, { expand: 'author', fields: 'id,posts,expand.author.name' });
    assert.deepEqual(st, { id: ANN, posts: 2, expand: { author: { name: 'Ann' } } });
    const list = await V('post_view').getList(1, 2, { sort: 'id', fields: 'id,doubled,author_name' });
    assert.deepEqual(list, { page: 1, perPage: 2, totalItems: 4, totalPages: 2, items: [{ id: P1, doubled: 20, author_name: 'Ann' }, { id: P2, doubled: 10, author_name: 'Bob' }] });
  });

  test('the view follows the underlying records (create, update, delete)', async () => {
    const P5 = 'p5p5p5p5p5p5p5p';
    await srv.pb.collection('posts').create({ id: P5, title: 'Fifth', views: 3, author: CID });
    assert.deepEqual(await V('post_view').getOne(P5), row(P5, 'Fifth', 3, CID, 'Cid'));
    assert.deepEqual(
      (({ posts: n, total_views }) => [n, total_views])(await V('stats').getOne(CID)),
      [1, 3],
    );
    await srv.pb.collection('authors').update(CID, { name: 'Cyd' });
    await srv.pb.collection('posts').update(P5, { views: 4 });
    assert.deepEqual(await V('post_view').getOne(P5), row(P5, 'Fifth', 4, CID, 'Cyd'));
    await srv.pb.collection('posts').delete(P5);
    await rejects(V('post_view').getOne(P5), 404, NOT_FOUND);
    assert.equal((await V('stats').getOne(CID)).posts, 0);
    await srv.pb.collection('authors').update(CID, { name: 'Cid' });
    // a new author appears in the aggregate at once
    await srv.pb.collection('authors').create({ id: 'dandandandandan', name: 'Dan' });
    const dan = await V('stats').getOne('dandandandandan');
    assert.deepEqual([dan.name, dan.posts, dan.total_views, dan.best, dan.author], ['Dan', 0, 0, null, 'dandandandandan']);
    await srv.pb.collection('authors').delete('dandandandandan');
    assert.equal((await V('post_view').getList()).totalItems, 4);
  });
});

describe('rules on views', () => {
  test('listRule/viewRule null -> 403 for guests and users; superusers see everything', async () => {
    await srv.pb.collections.create({ name: 'closed_view', type: 'view', viewQuery: 'SELECT id, name FROM authors' });
    for (const c of [srv.client(), user]) {
      await rejects(c.collection('closed_view').getList(), 403, ONLY_SUPERUSERS);
      await rejects(c.collection('closed_view').getOne(ANN), 403, ONLY_SUPERUSERS);
    }
    assert.equal((await srv.pb.collection('closed_view').getList()).totalItems, 3);
    assert.equal((await srv.pb.collection('closed_view').getOne(ANN)).name, 'Ann');
  });

  test('listRule "" with viewRule null: list works, view one is 403', async () => {
    await srv.pb.collections.update('closed_view', { listRule: '' });
    assert.equal((await V('closed_view').getList()).totalItems, 3);
    await rejects(V('closed_view').getOne(ANN), 403, ONLY_SUPERUSERS);
    await srv.pb.collections.update('closed_view', { viewRule: '' });
    assert.equal((await V('closed_view').getOne(ANN)).name, 'Ann');
  });

  test('expression rules filter the list silently and hide single records (404)', async () => {
    await srv.pb.collections.update('closed_view', { listRule: 'name != "Bob"', viewRule: 'name != "Bob"' });
    const list = await V('closed_view').getList(1, 30, { sort: 'id', fields: 'id' });
    assert.deepEqual(list.items, [{ id: ANN }, { id: CID }]);
    await rejects(V('closed_view').getOne(BOB), 404, NOT_FOUND);
    assert.equal((await srv.pb.collection('closed_view').getOne(BOB)).name, 'Bob');
  });

  test('@request.auth rules: guests get an empty list, users the records', async () => {
    await srv.pb.collections.update('closed_view', { listRule: '@request.auth.id != ""', viewRule: '@request.auth.id != ""' });
    assert.deepEqual(await V('closed_view').getList(), { page: 1, perPage: 30, totalItems: 0, totalPages: 0, items: [] });
    await rejects(V('closed_view').getOne(ANN), 404, NOT_FOUND);
    assert.equal((await user.collection('closed_view').getList()).totalItems, 3);
    assert.equal((await user.collection('closed_view').getOne(ANN)).name, 'Ann');
  });

  test('a rule on a field that the new viewQuery drops is rejected', async () => {
    await srv.pb.collections.update('closed_view', { listRule: 'name != ""', viewRule: null });
    const r = await srv.su('PATCH', '/api/collections/closed_view', { body: { viewQuery: 'SELECT id FROM authors' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, 'Failed to update collection.');
    assert.deepEqual(Object.keys(r.json.data), ['listRule']);
    assert.equal(r.json.data.listRule.code, 'validation_invalid_rule');
    await srv.pb.collections.delete('closed_view');
  });
});

describe('view records are read-only', () => {
  test('create/update/delete -> 400 "Unsupported collection type." for everyone, even for a missing id', async () => {
    const before = await srv.pb.collection('posts').getFullList({ sort: 'id' });
    for (const c of [srv.client(), user, srv.pb]) {
      const col = c.collection('post_view');
      await rejects(col.create({ id: 'newnewnewnewnew', title: 'x' }), 400, UNSUPPORTED);
      await rejects(col.update(P1, { title: 'x' }), 400, UNSUPPORTED);
      await rejects(col.update('nonexistent1234', { title: 'x' }), 400, UNSUPPORTED);
      await rejects(col.delete(P1), 400, UNSUPPORTED);
      await rejects(col.delete('nonexistent1234'), 400, UNSUPPORTED);
    }
    // also when the view's (null) write rules would answer 403 for a guest
    await srv.pb.collections.create({ name: 'ro_closed', type: 'view', viewQuery: 'SELECT id, title FROM posts' });
    await rejects(V('ro_closed').create({ title: 'x' }), 400, UNSUPPORTED);
    await srv.pb.collections.delete('ro_closed');
    assert.deepEqual(await srv.pb.collection('posts').getFullList({ sort: 'id' }), before);
    assert.deepEqual((await V('post_view').getOne(P1)).title, 'First');
  });

  test('truncate -> 400', async () => {
    const r = await srv.su('DELETE', '/api/collections/post_view/truncate');
    assert.deepEqual(
      [r.status, r.json],
      [400, errBody(400, "View collections cannot be truncated since they don't store their own records.")],
    );
    assert.equal((await V('post_view').getList()).totalItems, 4);
  });

  // PostgreSQL refuses to drop a column a view reads (SQLite would leave
  // the view broken until its query is fixed): the change is refused.
  test('on PostgreSQL, removing a field a view reads is refused with the reason', { skip: !ON_POSTGRES }, async () => {
    const dep = await srv.pb.collections.create({ name: 'dep', fields: [{ name: 'x', type: 'text' }, { name: 'y', type: 'text' }] });
    await srv.pb.collection('dep').create({ id: 'depdepdepdepdep', x: 'kept', y: 'also' });
    await srv.pb.collections.create({ name: 'dep_view', type: 'view', viewQuery: 'SELECT id, x FROM dep' });
    const r = await srv.su('PATCH', `/api/collections/${dep.id}`, { body: { fields: dep.fields.filter((f) => f.name !== 'x') } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, 'Failed to update collection.');
    assert.equal(r.json.data.fields.code, 'validation_view_dependency');
    assert.match(r.json.data.fields.message, /depend/);
    assert.equal((await srv.pb.collection('dep_view').getOne('depdepdepdepdep')).x, 'kept');
    // A field the view does not read can go.
    const ok = await srv.su('PATCH', `/api/collections/${dep.id}`, { body: { fields: dep.fields.filter((f) => f.name !== 'y') } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await srv.pb.collection('dep').getOne('depdepdepdepdep')).x, 'kept');
  });

  test('a collection used by a view cannot be deleted; deleting the view is fine', async () => {
    const solo = await srv.pb.collections.create({ name: 'solo', fields: [{ name: 'x', type: 'text' }] });
    await srv.pb.collection('solo').create({ id: 'solosolosolosol', x: 'y' });
    await srv.pb.collections.create({ name: 'solo_view', type: 'view', viewQuery: 'SELECT id, x FROM solo' });
    await rejects(srv.pb.collections.delete('solo'), 400, errBody(400, 'Failed to delete collection.'));
    assert.equal((await srv.pb.collections.getOne('solo')).id, solo.id);
    assert.equal(await srv.pb.collections.delete('solo_view'), true);
    await rejects(srv.pb.collections.getOne('solo_view'), 404);
    assert.equal((await srv.pb.collection('solo').getOne('solosolosolosol')).x, 'y');
    assert.equal(await srv.pb.collections.delete('solo'), true);
  });
});

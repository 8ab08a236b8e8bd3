// Filters, sorts and rules: Cairn against the reference PocketBase, side by
// side on the same records (POSTGRES.md behaviour 9). Each case runs on both
// servers and the ordered ids, totalItems and the status must be identical.
// With SDK_STORE=postgres Cairn runs on PostgreSQL, else on SQLite, so the
// one table checks both of Cairn's stores against PocketBase's SQLite
// semantics: case-insensitive `~`, NULL ordering, text-vs-number comparisons,
// JSON scalars vs arrays, datetimes, `@rowid`, `@random`, `strftime`,
// `geoDistance`. No expected results are written here: PocketBase is the
// oracle. The data is in filters_differential_fixtures.mjs; differences not
// fixed yet are listed in KNOWN (node:test `todo`). DIFF_DUMP=1 prints each
// differing case compactly (ids shortened to their number).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientResponseError } from 'pocketbase';
import { Server, ON_POSTGRES, newClient } from './harness.mjs';
import { startServer } from './ecosystem_fixtures.mjs';
import { ITEMS, ITEM_IDS, PASSWORD, TAGS, USERS, seed } from './filters_differential_fixtures.mjs';

const [T1] = TAGS.map((t) => t.id);

// [name, query]; query: filter, sort, page (1), perPage (200).
const FILTERS = [
  // `~` / `!~`: case-insensitive, auto-wrapped unless the operand has `%`, `_` literal.
  ['~ lower', { filter: 'name ~ "alpha"' }],
  ['~ upper', { filter: 'name ~ "ALPHA"' }],
  ['!~', { filter: 'name !~ "alpha"' }],
  ['~ ASCII of a mixed word', { filter: 'name ~ "ZET"' }],
  ['~ underscore is literal', { filter: 'name ~ "a_b"' }],
  ['~ underscore alone', { filter: 'name ~ "_"' }],
  ['~ percent, not wrapped', { filter: 'name ~ "50%"' }],
  ['~ leading percent', { filter: 'name ~ "%b"' }],
  ['~ percent inside', { filter: 'name ~ "a%b"' }],
  ['!~ trailing percent', { filter: 'name !~ "a%"' }],
  ['~ a digit in text', { filter: 'name ~ 10' }],
  ['~ on a number field', { filter: 'n ~ "1"' }],
  ['~ on a json path', { filter: 'meta.a ~ "x"' }],
  ['~ on a whole json value', { filter: 'meta ~ "arr"' }],
  ['~ on a multi select (all of)', { filter: 'labels ~ "re"' }],
  ['?~ on a relation name', { filter: 'tags.name ?~ "te"' }],
  ['~ on a relation name (all of)', { filter: 'tags.name ~ "te"' }],
  ['~ non-ASCII exact case', { filter: 'name ~ "é"' }],
  ['~ empty operand', { filter: 'name ~ ""' }],
  [':lower = ', { filter: 'name:lower = "zeta"' }],
  // any-of / all-of over arrays and relations
  ['?= on a multi select', { filter: 'labels ?= "red"' }],
  ['= on a multi select (all of)', { filter: 'labels = "red"' }],
  ['!= on a multi select', { filter: 'labels != "red"' }],
  ['?!= on a multi select', { filter: 'labels ?!= "red"' }],
  ['?= on a relation id', { filter: `tags ?= "${T1}"` }],
  ['?= on a relation name', { filter: 'tags.name ?= "Tee"' }],
  ['= on a relation name (all of)', { filter: 'tags.name = "Tee"' }],
  [':length of a multi select', { filter: 'labels:length = 2' }],
  [':length > 0', { filter: 'labels:length > 0' }],
  [':length of a relation', { filter: 'tags:length = 0' }],
  [':each =', { filter: 'labels:each = "red"' }],
  [':each ?~', { filter: 'labels:each ?~ "e"' }],
  ['?= through a single relation', { filter: 'owner.email ?= "ann@example.com"' }],
  // empty values and null
  ['json path = null', { filter: 'meta.a = null' }],
  ['json path != null', { filter: 'meta.a != null' }],
  ['json path [] = null', { filter: 'meta.b = null' }],
  ['json path {} != null', { filter: 'meta.c != null' }],
  ['json path = ""', { filter: 'meta.a = ""' }],
  ['json = null', { filter: 'meta = null' }],
  ['json != null', { filter: 'meta != null' }],
  ['empty relation', { filter: 'owner = ""' }],
  ['relation field of an empty relation', { filter: 'owner.email = null' }],
  ['empty multi select = ""', { filter: 'labels = ""' }],
  ['empty multi select = null', { filter: 'labels = null' }],
  ['non-empty multi relation', { filter: 'tags != ""' }],
  ['empty date', { filter: 'day = ""' }],
  ['non-empty date', { filter: 'day != ""' }],
  ['empty text = null', { filter: 'name = null' }],
  ['empty text = ""', { filter: 'name = ""' }],
  ['number = null (zero)', { filter: 'n = null' }],
  ['bool = null (false)', { filter: 'flag = null' }],
  // text vs number, bools, JSON scalars
  ['text > number', { filter: 'name > 9' }],
  ['text = number', { filter: 'name = 10' }],
  ['text = numeric string', { filter: 'name = "10"' }],
  ['literal text > number', { filter: "'10' > 9 && n > 50" }],
  ['number > numeric string', { filter: 'n > "9"' }],
  ['number = numeric string', { filter: 'n = "10"' }],
  ['text < number field', { filter: 'name < n' }],
  ['text > "Z"', { filter: 'name > "Z"' }],
  ['text < "a"', { filter: 'name < "a"' }],
  ['decimal', { filter: 'n = 1.5' }],
  ['range', { filter: 'n >= -1 && n < 1' }],
  ['bool = true', { filter: 'flag = true' }],
  ['bool = 1', { filter: 'flag = 1' }],
  ['bool = "true"', { filter: 'flag = "true"' }],
  ['bool != false', { filter: 'flag != false' }],
  ['json number = 1', { filter: 'meta.a = 1' }],
  ['json number = "1"', { filter: 'meta.a = "1"' }],
  ['json > 0', { filter: 'meta.a > 0' }],
  ['json scalar number', { filter: 'meta = 5' }],
  ['json scalar string', { filter: 'meta = "str"' }],
  ['json scalar string of digits', { filter: 'meta = 10' }],
  ['json scalar true', { filter: 'meta = true' }],
  ['json array index', { filter: 'meta.arr.0 = 1' }],
  ['json array index text', { filter: 'meta.arr.0 = "x"' }],
  ['json array index >', { filter: 'meta.arr.1 > 1' }],
  ['json index of a top-level array', { filter: 'meta.2 = 3' }],
  ['json nested object', { filter: 'meta.o.b = 2' }],
  ['json path :length', { filter: 'meta.arr:length = 3' }],
  ['json path ~ on a case-folded letter', { filter: 'meta.a ~ "X" && meta.a != "x"' }],
  // datetimes
  ['date > date-only string', { filter: 'day > "2024-03-05"' }],
  ['date >= full string', { filter: 'day >= "2024-03-05 00:00:00.000Z"' }],
  ['date = full string', { filter: 'day = "2024-03-05 00:00:00.000Z"' }],
  ['date < @now', { filter: 'day < @now' }],
  ['date > @now', { filter: 'day > @now' }],
  ['date >= @todayStart', { filter: 'day >= @todayStart' }],
  ['date < @yearStart', { filter: 'day < @yearStart' }],
  ['date ~ month', { filter: 'day ~ "2024-03"' }],
  ['created >= 2024', { filter: 'created >= "2024-01-01 00:00:00.000Z"' }],
  ['created > @now', { filter: 'created > @now' }],
  ['created >= @todayStart', { filter: 'created >= @todayStart' }],
  ['created > date field', { filter: 'created > day' }],
  ['@year', { filter: '@year > 2023 && n > 50' }],
  // strftime
  ['strftime %Y-%m', { filter: "strftime('%Y-%m', day) = '2024-03'" }],
  ['strftime %Y', { filter: "strftime('%Y', day) = '2024'" }],
  ['strftime %Y-%m-%d', { filter: "strftime('%Y-%m-%d', day) = '2024-03-05'" }],
  ['strftime %H:%M', { filter: "strftime('%H:%M', day) = '10:20'" }],
  ['strftime %d > text', { filter: "strftime('%d', day) > '15'" }],
  ['strftime %w', { filter: "strftime('%w', day) = '2'" }],
  ['strftime %j', { filter: "strftime('%j', day) = '065'" }],
  ['strftime %m-%d %H:%M:%S', { filter: "strftime('%m-%d %H:%M:%S', day) = '03-31 23:00:00'" }],
  ['strftime of an empty date', { filter: "strftime('%Y', day) = null" }],
  ['strftime with +1 day', { filter: "strftime('%Y-%m-%d', day, '+1 day') = '2024-03-06'" }],
  ['strftime start of month', { filter: "strftime('%Y-%m-%d', day, 'start of month') = '2024-03-01'" }],
  ['strftime of created vs @now', { filter: "strftime('%Y-%m', created) = strftime('%Y-%m', @now)" }],
  // geoDistance
  ['geoDistance < 200 km', { filter: 'geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 200' }],
  ['geoDistance < 1 km', { filter: 'geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 1' }],
  ['geoDistance > 1500 km', { filter: 'geoDistance(loc.lon, loc.lat, 23.32, 42.69) > 1500' }],
  ['geoDistance of the zero point', { filter: 'geoDistance(loc.lon, loc.lat, 0, 0) < 1' }],
  ['geoDistance between rows', { filter: 'geoDistance(loc.lon, loc.lat, 2.35, 48.85) < 400' }],
  // @rowid
  ['@rowid filter', { filter: '@rowid > 3' }],
];

const SORTS = [
  ['sort text', { sort: 'name' }],
  ['sort -text', { sort: '-name' }],
  ['sort number (ties)', { sort: 'n' }],
  ['sort -number (ties)', { sort: '-n' }],
  ['sort number, -text', { sort: 'n,-name' }],
  ['sort bool (ties)', { sort: 'flag' }],
  ['sort -bool, text', { sort: '-flag,name' }],
  ['sort json path (NULLs)', { sort: 'meta.a' }],
  ['sort -json path (NULLs)', { sort: '-meta.a' }],
  ['sort json (mixed types)', { sort: 'meta' }],
  ['sort date (empty)', { sort: 'day' }],
  ['sort -date (empty)', { sort: '-day' }],
  ['sort relation field (NULLs)', { sort: 'owner.email' }],
  ['sort -relation field (NULLs)', { sort: '-owner.email' }],
  ['sort multi select', { sort: 'labels' }],
  ['sort @rowid', { sort: '@rowid' }],
  ['sort -@rowid', { sort: '-@rowid' }],
  ['sort @rowid, filtered', { sort: '-@rowid', filter: 'flag = true' }],
  ['sort geoPoint distance', { sort: 'geoDistance(loc.lon, loc.lat, 23.32, 42.69)' }],
  ['sort :length', { sort: '-labels:length' }],
  ['page 2 of ties', { sort: 'n', page: 2, perPage: 4 }],
  ['page 3 of -text', { sort: '-name', page: 3, perPage: 5 }],
  ['no sort', {}],
];

// Rules set on `items`, checked as a signed-in user on list and view.
const RULES = [
  'owner = @request.auth.id',
  '@request.auth.id != "" && labels ?= "red"',
  'owner.email ~ "ann@"',
  'tags.name ?~ "te" || owner = @request.auth.id',
  '@request.auth.name = owner.name && n > 0',
  '@collection.tags.name ?= "Tee" && day ~ "2024"',
  'meta.a != null && @request.auth.email ~ "example.com"',
];

// Differences that stand, by case name: reported as node:test `todo`
// (shown, not failing) on the store named; remove an entry once it passes.
// The two on both stores are Cairn's choice (docs/filters.md); the one on
// PostgreSQL is jsonb's key order (docs/scaling.md).
const KNOWN = {
  'empty multi select = null': { both: 'Cairn counts `[]` as null; PocketBase matches `[]` with neither = null nor = ""' },
  'json path :length': { both: 'PocketBase gives no rows for `:length` on a JSON path; Cairn counts the array' },
  'sort json (mixed types)': { postgres: 'jsonb orders an object\'s keys by length: {"arr":…,"o":…} sorts as {"o":…,"arr":…}' },
};

/** node:test options of a case: `todo` while a known difference stands. */
function known(name) {
  const k = KNOWN[name];
  const why = k && (k.both ?? (ON_POSTGRES ? k.postgres : k.sqlite));
  return why ? { todo: why } : {};
}

let sides; // { cairn, pocketbase }: each { pb, user, stop }

async function side(kind) {
  let srv;
  if (kind === 'cairn') {
    srv = new Server();
    await srv.start();
  } else {
    srv = await startServer('pocketbase');
  }
  await seed(srv.pb);
  const user = newClient(srv.url);
  await user.collection('users').authWithPassword(USERS[0].email, PASSWORD);
  return { pb: srv.pb, user, stop: () => srv.stop() };
}

/** What a list request returns, reduced to what must match. */
async function list(pb, { filter = '', sort = '', page = 1, perPage = 200 }) {
  try {
    const r = await pb.collection('items').getList(page, perPage, { filter, sort, fields: 'id' });
    return { status: 200, ids: r.items.map((i) => i.id), total: r.totalItems };
  } catch (err) {
    if (err instanceof ClientResponseError) return { status: err.status };
    throw err;
  }
}

async function view(pb, id) {
  try {
    await pb.collection('items').getOne(id, { fields: 'id' });
    return 200;
  } catch (err) {
    if (err instanceof ClientResponseError) return err.status;
    throw err;
  }
}

async function same(name, query, client = 'pb') {
  const [got, want] = await Promise.all([list(sides.cairn[client], query), list(sides.pocketbase[client], query)]);
  const short = (w) => JSON.stringify(w.status === 200 ? [w.total, w.ids.map((i) => +i.slice(2))] : w);
  if (process.env.DIFF_DUMP && short(got) !== short(want)) console.log('DIFF', name, 'cairn', short(got), 'pb', short(want));
  assert.deepEqual(got, want, `${name}: ${JSON.stringify(query)} on Cairn (${ON_POSTGRES ? 'PostgreSQL' : 'SQLite'}) vs PocketBase`);
  return want;
}

before(async () => {
  const [cairn, pocketbase] = await Promise.all([side('cairn'), side('pocketbase')]);
  sides = { cairn, pocketbase };
});
after(async () => {
  if (sides) await Promise.all([sides.cairn.stop(), sides.pocketbase.stop()]);
});

describe('filters give the same records as PocketBase', () => {
  for (const [name, query] of FILTERS) {
    test(name, known(name), () => same(name, { ...query, sort: query.sort ?? 'id' }));
  }
  test('the table matches something: most filters select some but not all records', async () => {
    let proper = 0;
    for (const [, query] of FILTERS) {
      const r = await list(sides.pocketbase.pb, query);
      if (r.status === 200 && r.total > 0 && r.total < ITEM_IDS.length) proper += 1;
    }
    assert.ok(proper >= FILTERS.length * 0.7, `${proper} of ${FILTERS.length}`);
  });
});

describe("where Cairn differs from PocketBase by choice (docs/filters.md), Cairn's answer", () => {
  const ids = (pred) => ITEMS.filter(pred).map((r) => r.id).sort();
  test('`:length` on a JSON path counts the array', async () => {
    const got = await list(sides.cairn.pb, { filter: 'meta.arr:length = 3', sort: 'id' });
    assert.deepEqual(got.ids, ids((r) => Array.isArray(r.meta?.arr) && r.meta.arr.length === 3));
    const none = await list(sides.cairn.pb, { filter: 'meta.arr:length = 0', sort: 'id' });
    assert.deepEqual(none.ids, ids((r) => Array.isArray(r.meta?.arr) && r.meta.arr.length === 0));
  });
  test('`= null` on a multi-valued field matches the empty ones (`= ""` matches none, as in PocketBase)', async () => {
    const want = ids((r) => r.labels.length === 0);
    assert.ok(want.length > 0 && want.length < ITEMS.length);
    assert.deepEqual((await list(sides.cairn.pb, { filter: 'labels = null', sort: 'id' })).ids, want);
    assert.deepEqual((await list(sides.cairn.pb, { filter: 'labels:length = 0', sort: 'id' })).ids, want);
    assert.deepEqual((await list(sides.cairn.pb, { filter: 'labels = ""', sort: 'id' })).ids, []);
  });
});

describe('sorts give the same order as PocketBase', () => {
  for (const [name, query] of SORTS) test(name, known(name), () => same(name, query));

  test('sort @random: the same records, status 200, and the order changes', async () => {
    const orders = new Set();
    for (let i = 0; i < 5; i++) {
      const got = await list(sides.cairn.pb, { sort: '@random' });
      assert.equal(got.status, 200);
      assert.deepEqual([...got.ids].sort(), [...ITEM_IDS].sort());
      orders.add(got.ids.join());
    }
    const want = await list(sides.pocketbase.pb, { sort: '@random', filter: 'flag = true' });
    const got = await list(sides.cairn.pb, { sort: '@random', filter: 'flag = true' });
    assert.deepEqual([...got.ids].sort(), [...want.ids].sort());
    assert.equal(got.total, want.total);
    assert.ok(orders.size > 1, `five @random sorts of ${ITEM_IDS.length} records all had one order`);
  });
});

describe('list and view rules give the same records as PocketBase to a signed-in user', () => {
  for (const rule of RULES) {
    test(rule, known(rule), async () => {
      await Promise.all(
        Object.values(sides).map((s) => s.pb.collections.update('items', { listRule: rule, viewRule: rule })),
      );
      await same(`listRule ${rule}`, { sort: 'id' }, 'user');
      await same(`listRule ${rule} + filter`, { sort: '-n,id', filter: 'labels:length > 0' }, 'user');
      const views = async (s) => Promise.all(ITEM_IDS.map((id) => view(s.user, id)));
      const [got, want] = await Promise.all([views(sides.cairn), views(sides.pocketbase)]);
      assert.deepEqual(got, want, `viewRule ${rule}: statuses of every id`);
    });
  }
});

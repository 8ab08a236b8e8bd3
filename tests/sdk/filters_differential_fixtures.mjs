// The data of filters_differential.test.mjs: one schema and one set of
// records (explicit ids), created the same way on Cairn and on the reference
// PocketBase, chosen for the values where SQLite's and PostgreSQL's semantics
// part (docs/scaling.md, POSTGRES.md §4.1): empty and missing values, mixed
// case and non-ASCII text, `%` and `_` in text, numbers in text, JSON
// scalars, arrays, objects and null, dates with and without a time, and
// equal sort keys (the order of ties is part of what is compared).

export const PASSWORD = 'Passw0rd-diff-1';

const id = (prefix, i) => `${prefix}${String(i).padStart(15 - prefix.length, '0')}`;

export const USERS = [
  { id: id('us', 1), email: 'ann@example.com', name: 'Ann' },
  { id: id('us', 2), email: 'bob@example.org', name: 'Bob' },
];
const [u1, u2] = USERS.map((u) => u.id);

export const TAGS = [
  { id: id('tg', 1), name: 'Tee' },
  { id: id('tg', 2), name: 'tea' },
  { id: id('tg', 3), name: 'Über' },
];
const [t1, t2, t3] = TAGS.map((t) => t.id);

const SOFIA = { lon: 23.32, lat: 42.69 };
const PLOVDIV = { lon: 24.75, lat: 42.14 }; // ~130 km from Sofia
const LONDON = { lon: -0.12, lat: 51.5 };
const PARIS = { lon: 2.35, lat: 48.85 };

// name, n, flag, meta, day, labels, tags, owner, loc (omitted: the field's zero value)
const ROWS = [
  ['Alpha', 10, true, { a: 1, arr: [1, 2, 3] }, '2024-03-05 10:20:30.000Z', ['red'], [t1], u1, SOFIA],
  ['alpha', 9, false, { a: '1' }, '2024-03-05', ['red', 'blue'], [t1, t2], u2, PLOVDIV],
  ['ÉCOLE', 100, true, { a: 'x', arr: ['x', 'y'] }, '2024-02-29 23:59:59.999Z', [], [], '', LONDON],
  ['école', 0, false, null, '', ['green'], [t3], u1],
  ['50% off', 1.5, true, [1, 2, 3], '2023-12-31 23:59:59.000Z', ['blue'], [t2], u2, PARIS],
  ['a_b', -1, false, 'str', '2024-03-15', ['red', 'green'], [t1, t3], u1],
  ['ab', 10, true, 5, '2025-01-01 12:00:00.000Z', [], [t2], ''],
  ['10', 0, false, { a: null }, '', ['green'], [], u2],
  ['9', 9, true, true, '2024-03-31 23:00:00.000Z', ['red'], [t3], u1, SOFIA],
  ['', 0, false, undefined, '', [], [], ''],
  ['100', 100, false, { arr: [10, 20], o: { b: 2 } }, '2024-03-31 23:00:00.000Z', ['blue', 'green'], [t1], u2],
  ['Ärger', 1.5, true, { a: 2 }, '2024-03-05 10:20:30.000Z', ['red'], [t2, t3], u1, PLOVDIV],
  ['zeta', 10, false, [], '2024-04-01 00:00:00.000Z', [], [], u2],
  ['apple pie', 0, true, { arr: [] }, '', ['blue'], [t1], ''],
  ['Zeta', -1, false, { a: 'X' }, '2024-03-05 00:00:00.000Z', ['green', 'red'], [t3], u1, LONDON],
  ['a%b', 2, true, '10', '2024-12-31 23:59:59.999Z', ['red'], [], u2],
  ['empties', 3, true, { a: '', b: [], c: {} }, '', [], [], ''],
];

export const ITEMS = ROWS.map(([name, n, flag, meta, day, labels, tags, owner, loc], i) => {
  const rec = { id: id('it', i + 1), name, n, flag, day, labels, tags, owner };
  if (meta !== undefined) rec.meta = meta;
  if (loc) rec.loc = loc;
  return rec;
});
export const ITEM_IDS = ITEMS.map((r) => r.id);

/** Create the schema and records on one server (superuser client `pb`). */
export async function seed(pb) {
  for (const u of USERS) {
    await pb.collection('users').create({ ...u, password: PASSWORD, passwordConfirm: PASSWORD, verified: true });
  }
  const tags = await pb.collections.create({
    name: 'tags',
    listRule: '',
    viewRule: '',
    fields: [{ name: 'name', type: 'text' }],
  });
  for (const t of TAGS) await pb.collection('tags').create(t);
  const users = await pb.collections.getOne('users');
  await pb.collections.create({
    name: 'items',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'name', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'flag', type: 'bool' },
      { name: 'meta', type: 'json' },
      { name: 'day', type: 'date' },
      { name: 'labels', type: 'select', values: ['red', 'green', 'blue'], maxSelect: 3 },
      { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 5 },
      { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
      { name: 'loc', type: 'geoPoint' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  for (const r of ITEMS) await pb.collection('items').create(r);
}

// Collections shared by the record test files.

export const PUBLIC_RULES = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };

/**
 * A public base collection with one field of every type (file: metadata only).
 * `owner`/`readers` point at the default `users` collection.
 */
export async function createKitchen(pb, name = 'kitchen') {
  return pb.collections.create({
    name,
    type: 'base',
    ...PUBLIC_RULES,
    fields: [
      { name: 'title', type: 'text', required: true, min: 2, max: 20, pattern: '^[A-Za-z ]+$' },
      { name: 'body', type: 'editor', maxSize: 1000 },
      { name: 'count', type: 'number', min: -5, max: 100, onlyInt: true },
      { name: 'flag', type: 'bool' },
      { name: 'mail', type: 'email', onlyDomains: ['example.com'] },
      { name: 'site', type: 'url', exceptDomains: ['bad.com'] },
      { name: 'when', type: 'date', min: '2000-01-01 00:00:00.000Z', max: '2100-01-01 00:00:00.000Z' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      { name: 'color', type: 'select', values: ['red', 'green', 'blue'], maxSelect: 1 },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 3 },
      { name: 'meta', type: 'json', maxSize: 2000 },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'readers', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 3 },
      { name: 'doc', type: 'file', maxSelect: 2, maxSize: 1000 },
      { name: 'secret', type: 'password', min: 6 },
      { name: 'loc', type: 'geoPoint' },
      { name: 'note', type: 'text', hidden: true },
    ],
  });
}

/** A public collection of unconstrained fields, for coercion tests. */
export async function createLoose(pb, name = 'loose') {
  return pb.collections.create({
    name,
    type: 'base',
    ...PUBLIC_RULES,
    fields: [
      { name: 't', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'b', type: 'bool' },
      { name: 'j', type: 'json' },
      { name: 'd', type: 'date' },
      { name: 's', type: 'select', values: ['a', 'b', 'c'], maxSelect: 1 },
      { name: 'm', type: 'select', values: ['a', 'b', 'c', 'd', 'e'], maxSelect: 5 },
      { name: 'e', type: 'editor' },
      { name: 'g', type: 'geoPoint' },
    ],
  });
}

/** Create `n` users and return their ids. */
export async function createUsers(pb, n, prefix = 'user') {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const email = `${prefix}${i}_${Math.random().toString(36).slice(2, 8)}@example.com`;
    const r = await pb.collection('users').create({ email, password: 'user-pass-123', passwordConfirm: 'user-pass-123' });
    ids.push(r.id);
  }
  return ids;
}

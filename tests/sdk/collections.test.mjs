// Collections API (superuser only): list, view, scaffolds, create with every field
// type and its options, names, field definitions. Schema changes: collections_schema.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import {
  useServer,
  test,
  describe,
  rejects,
  errBody,
  fieldErr,
  SUPERUSERS_ID,
  USERS_ID,
  DATE_RE,
  ON_POSTGRES,
} from './harness.mjs';

const srv = useServer();
const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const CREATE_FAILED = 'Failed to create collection.';

const BASE_KEYS = [
  'createRule',
  'created',
  'deleteRule',
  'fields',
  'id',
  'indexes',
  'listRule',
  'name',
  'system',
  'type',
  'updateRule',
  'updated',
  'viewRule',
];
const AUTH_EXTRA_KEYS = [
  'authAlert',
  'authRule',
  'authToken',
  'confirmEmailChangeTemplate',
  'emailChangeToken',
  'fileToken',
  'manageRule',
  'mfa',
  'oauth2',
  'otp',
  'passwordAuth',
  'passwordResetToken',
  'resetPasswordTemplate',
  'verificationTemplate',
  'verificationToken',
];

/** PocketBase's generated field id: type + crc32(name). */
const fieldId = (type, name) => `${type}${zlib.crc32(name)}`;

const ID_FIELD = {
  autogeneratePattern: '[a-z0-9]{15}',
  help: '',
  hidden: false,
  id: 'text3208210256',
  max: 15,
  min: 15,
  name: 'id',
  pattern: '^[a-z0-9]+$',
  presentable: false,
  primaryKey: true,
  required: true,
  system: true,
  type: 'text',
};

const AUTH_SYSTEM_FIELDS = [
  {
    cost: 0,
    help: '',
    hidden: true,
    id: 'password901924565',
    max: 0,
    min: 8,
    name: 'password',
    pattern: '',
    presentable: false,
    required: true,
    system: true,
    type: 'password',
  },
  {
    autogeneratePattern: '[a-zA-Z0-9]{50}',
    help: '',
    hidden: true,
    id: 'text2504183744',
    max: 60,
    min: 30,
    name: 'tokenKey',
    pattern: '',
    presentable: false,
    primaryKey: false,
    required: true,
    system: true,
    type: 'text',
  },
  {
    exceptDomains: [],
    help: '',
    hidden: false,
    id: 'email3885137012',
    name: 'email',
    onlyDomains: [],
    presentable: false,
    required: true,
    system: true,
    type: 'email',
  },
  {
    help: '',
    hidden: false,
    id: 'bool1547992806',
    name: 'emailVisibility',
    presentable: false,
    required: false,
    system: true,
    type: 'bool',
  },
  {
    help: '',
    hidden: false,
    id: 'bool256245529',
    name: 'verified',
    presentable: false,
    required: false,
    system: true,
    type: 'bool',
  },
];

/** Every field type with non-default options, as submitted. */
function everyFieldInput(relCollectionId) {
  return [
    { name: 'title', type: 'text', required: true, min: 2, max: 20, pattern: '^[A-Za-z ]+$', presentable: true },
    { name: 'body', type: 'editor', convertURLs: true, maxSize: 1000 },
    { name: 'count', type: 'number', min: -5, max: 100, onlyInt: true },
    { name: 'flag', type: 'bool', help: 'a flag' },
    { name: 'mail', type: 'email', onlyDomains: ['example.com'] },
    { name: 'site', type: 'url', exceptDomains: ['bad.com'] },
    { name: 'when', type: 'date', min: '2000-01-01 00:00:00.000Z', max: '2100-01-01 00:00:00.000Z' },
    { name: 'created', type: 'autodate', onCreate: true },
    { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    { name: 'color', type: 'select', values: ['red', 'green', 'blue'], maxSelect: 1 },
    { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 3 },
    { name: 'meta', type: 'json', maxSize: 2000 },
    { name: 'owner', type: 'relation', collectionId: relCollectionId, maxSelect: 1, cascadeDelete: true },
    { name: 'readers', type: 'relation', collectionId: relCollectionId, maxSelect: 5, minSelect: 1 },
    { name: 'doc', type: 'file', maxSelect: 2, maxSize: 1000, mimeTypes: ['text/plain'], thumbs: ['100x100'], protected: true },
    { name: 'secret', type: 'password', min: 6, hidden: true },
    { name: 'loc', type: 'geoPoint' },
  ];
}

/** What PocketBase answers for everyFieldInput (full option objects). */
function everyFieldExpected(relCollectionId) {
  const common = (type, name, extra = {}) => ({
    help: '',
    hidden: false,
    id: fieldId(type, name),
    name,
    presentable: false,
    required: false,
    system: false,
    type,
    ...extra,
  });
  return [
    common('text', 'title', {
      autogeneratePattern: '',
      max: 20,
      min: 2,
      pattern: '^[A-Za-z ]+$',
      presentable: true,
      primaryKey: false,
      required: true,
    }),
    common('editor', 'body', { convertURLs: true, maxSize: 1000 }),
    common('number', 'count', { max: 100, min: -5, onlyInt: true }),
    common('bool', 'flag', { help: 'a flag' }),
    common('email', 'mail', { exceptDomains: [], onlyDomains: ['example.com'] }),
    common('url', 'site', { exceptDomains: ['bad.com'], onlyDomains: [] }),
    common('date', 'when', { max: '2100-01-01 00:00:00.000Z', min: '2000-01-01 00:00:00.000Z' }),
    // autodate fields have no help/required
    { hidden: false, id: fieldId('autodate', 'created'), name: 'created', onCreate: true, onUpdate: false, presentable: false, system: false, type: 'autodate' },
    { hidden: false, id: fieldId('autodate', 'updated'), name: 'updated', onCreate: true, onUpdate: true, presentable: false, system: false, type: 'autodate' },
    common('select', 'color', { maxSelect: 1, values: ['red', 'green', 'blue'] }),
    common('select', 'tags', { maxSelect: 3, values: ['a', 'b', 'c', 'd'] }),
    common('json', 'meta', { maxSize: 2000 }),
    common('relation', 'owner', { cascadeDelete: true, collectionId: relCollectionId, maxSelect: 1, minSelect: 0 }),
    common('relation', 'readers', { cascadeDelete: false, collectionId: relCollectionId, maxSelect: 5, minSelect: 1 }),
    common('file', 'doc', {
      maxSelect: 2,
      maxSize: 1000,
      mimeTypes: ['text/plain'],
      protected: true,
      thumbs: ['100x100'],
    }),
    common('password', 'secret', { cost: 0, hidden: true, max: 0, min: 6, pattern: '' }),
    common('geoPoint', 'loc'),
  ];
}

const byName = (fields) => Object.fromEntries(fields.map((f) => [f.name, f]));

describe('list and view', () => {
  test('list includes the system collections with fixed ids', async () => {
    const list = await srv.pb.collections.getList(1, 100);
    assert.deepEqual(Object.keys(list).sort(), ['items', 'page', 'perPage', 'totalItems', 'totalPages']);
    const names = list.items.map((c) => c.name);
    for (const n of ['_superusers', 'users', '_mfas', '_otps', '_externalAuths', '_authOrigins']) {
      assert.ok(names.includes(n), `missing ${n} in ${names}`);
    }
    const su = list.items.find((c) => c.name === '_superusers');
    assert.equal(su.id, SUPERUSERS_ID);
    assert.equal(su.type, 'auth');
    assert.equal(su.system, true);
    const users = list.items.find((c) => c.name === 'users');
    assert.equal(users.id, USERS_ID);
    assert.equal(users.type, 'auth');
    assert.equal(users.system, false);
    assert.deepEqual(Object.keys(users).sort(), [...BASE_KEYS, ...AUTH_EXTRA_KEYS].sort());
  });

  test('the default users collection: fields, rules and indexes', async () => {
    const users = await srv.pb.collections.getOne('users');
    assert.deepEqual(
      users.fields.map((f) => f.name),
      ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified', 'name', 'avatar', 'created', 'updated'],
    );
    assert.deepEqual(users.fields[0], ID_FIELD);
    assert.deepEqual(users.fields.slice(1, 6), AUTH_SYSTEM_FIELDS);
    assert.equal(users.listRule, 'id = @request.auth.id');
    assert.equal(users.createRule, '');
    assert.equal(users.manageRule, null);
    assert.deepEqual(users.passwordAuth, { enabled: true, identityFields: ['email'] });
    assert.deepEqual(users.indexes, [
      'CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)',
      "CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''",
    ]);
  });

  test('list paging envelope', async () => {
    const all = await srv.pb.collections.getFullList();
    const page = await srv.pb.collections.getList(1, 2);
    assert.equal(page.page, 1);
    assert.equal(page.perPage, 2);
    assert.equal(page.items.length, 2);
    assert.equal(page.totalItems, all.length);
    assert.equal(page.totalPages, Math.ceil(all.length / 2));
  });

  test('view by name and by id return the same collection', async () => {
    const byNameRes = await srv.pb.collections.getOne('_superusers');
    const byIdRes = await srv.pb.collections.getOne(SUPERUSERS_ID);
    assert.deepEqual(byNameRes, byIdRes);
    assert.equal(byNameRes.id, SUPERUSERS_ID);
    assert.equal(byNameRes.name, '_superusers');
    assert.equal(byNameRes.authToken.duration, 86400);
  });

  test('view, update, delete and truncate of an unknown collection -> 404', async () => {
    await rejects(srv.pb.collections.getOne('nope'), 404, NOT_FOUND);
    await rejects(srv.pb.collections.update('nope', { listRule: '' }), 404, NOT_FOUND);
    await rejects(srv.pb.collections.delete('nope'), 404, NOT_FOUND);
    await rejects(srv.pb.collections.truncate('nope'), 404, NOT_FOUND);
  });
});

describe('scaffolds', () => {
  test('GET /api/collections/meta/scaffolds has base, auth and view templates', async () => {
    const s = await srv.pb.collections.getScaffolds();
    assert.deepEqual(Object.keys(s).sort(), ['auth', 'base', 'view']);
    assert.deepEqual(s.base, {
      id: '',
      listRule: null,
      viewRule: null,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      name: '',
      type: 'base',
      fields: [ID_FIELD],
      indexes: [],
      created: '',
      updated: '',
      system: false,
    });
    assert.equal(s.auth.type, 'auth');
    assert.deepEqual(s.auth.fields, [ID_FIELD, ...AUTH_SYSTEM_FIELDS]);
    assert.equal(s.auth.indexes.length, 2);
    assert.equal(s.auth.authRule, '');
    assert.equal(s.auth.manageRule, null);
    assert.deepEqual(s.auth.passwordAuth, { enabled: true, identityFields: ['email'] });
    assert.deepEqual(s.auth.authToken, { duration: 432000 });
    assert.equal(s.view.type, 'view');
    assert.deepEqual(s.view.fields, []);
    assert.equal(s.view.viewQuery, '');
  });
});

describe('create', () => {
  test('base collection with every field type and its options', async () => {
    const c = await srv.pb.collections.create({
      name: 'kitchen',
      type: 'base',
      listRule: '',
      viewRule: '',
      createRule: null,
      fields: everyFieldInput(USERS_ID),
    });
    assert.deepEqual(Object.keys(c).sort(), BASE_KEYS);
    assert.match(c.id, /^pbc_\d+$/);
    assert.equal(c.name, 'kitchen');
    assert.equal(c.type, 'base');
    assert.equal(c.system, false);
    assert.equal(c.listRule, '');
    assert.equal(c.viewRule, '');
    assert.equal(c.createRule, null);
    assert.equal(c.updateRule, null);
    assert.equal(c.deleteRule, null);
    assert.deepEqual(c.indexes, []);
    assert.match(c.created, DATE_RE);
    assert.match(c.updated, DATE_RE);
    assert.deepEqual(c.fields, [ID_FIELD, ...everyFieldExpected(USERS_ID)]);
    // and it reads back identically
    assert.deepEqual(await srv.pb.collections.getOne(c.id), c);
  });

  test('auth collection with every field type: system auth fields appended after custom ones', async () => {
    const c = await srv.pb.collections.create({
      name: 'members',
      type: 'auth',
      fields: everyFieldInput(USERS_ID),
    });
    assert.deepEqual(Object.keys(c).sort(), [...BASE_KEYS, ...AUTH_EXTRA_KEYS].sort());
    assert.equal(c.type, 'auth');
    assert.deepEqual(c.fields, [ID_FIELD, ...everyFieldExpected(USERS_ID), ...AUTH_SYSTEM_FIELDS]);
    assert.deepEqual(c.indexes, [
      `CREATE UNIQUE INDEX \`idx_tokenKey_${c.id}\` ON \`members\` (\`tokenKey\`)`,
      `CREATE UNIQUE INDEX \`idx_email_${c.id}\` ON \`members\` (\`email\`) WHERE \`email\` != ''`,
    ]);
    assert.equal(c.authRule, '');
    assert.equal(c.manageRule, null);
    assert.deepEqual(c.passwordAuth, { enabled: true, identityFields: ['email'] });
    assert.deepEqual(c.authToken, { duration: 432000 });
    assert.equal(c.oauth2.enabled, false);
    assert.equal(c.otp.enabled, false);
    assert.equal(c.mfa.enabled, false);
  });

  test('minimal create: type defaults to base, unset options get their defaults', async () => {
    const c = await srv.pb.collections.create({
      name: 'defaults',
      fields: [
        { name: 't', type: 'text' },
        { name: 'n', type: 'number' },
        { name: 's', type: 'select', values: ['x', 'y'] },
        { name: 'f', type: 'file' },
        { name: 'd', type: 'date' },
        { name: 'j', type: 'json' },
        { name: 'p', type: 'password' },
      ],
    });
    assert.equal(c.type, 'base');
    for (const r of ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule']) assert.equal(c[r], null, r);
    const f = byName(c.fields);
    assert.deepEqual(f.t, {
      autogeneratePattern: '',
      help: '',
      hidden: false,
      id: fieldId('text', 't'),
      max: 0,
      min: 0,
      name: 't',
      pattern: '',
      presentable: false,
      primaryKey: false,
      required: false,
      system: false,
      type: 'text',
    });
    assert.equal(f.n.min, null);
    assert.equal(f.n.max, null);
    assert.equal(f.n.onlyInt, false);
    assert.equal(f.s.maxSelect, 0);
    assert.deepEqual(
      [f.f.maxSelect, f.f.maxSize, f.f.mimeTypes, f.f.thumbs, f.f.protected],
      [0, 0, [], [], false],
    );
    assert.deepEqual([f.d.min, f.d.max], ['', '']);
    assert.equal(f.j.maxSize, 0);
    assert.equal(f.p.hidden, false);
    assert.equal(f.p.min, 0);
  });

  test('custom field ids are kept; custom collection ids are validated', async () => {
    const c = await srv.pb.collections.create({ id: 'mycollid123', name: 'custom_ids', fields: [{ id: 'myfieldid', name: 't', type: 'text' }] });
    assert.equal(c.id, 'mycollid123');
    assert.equal(c.fields[1].id, 'myfieldid');
    let err = await rejects(srv.pb.collections.create({ id: 'a b', name: 'custom_ids2' }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { id: fieldErr('validation_match_invalid', 'Must be in a valid format.') }));
    err = await rejects(srv.pb.collections.create({ id: 'mycollid123', name: 'custom_ids3' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, { id: fieldErr('validation_invalid_or_existing_id', 'The model id is invalid or already exists.') }),
    );
  });

  test('unknown collection type -> validation_in_invalid', async () => {
    const err = await rejects(srv.pb.collections.create({ name: 'weird', type: 'weird' }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { type: fieldErr('validation_in_invalid', 'Must be a valid value.') }));
  });

  test('unknown field type -> 400 invalid formatting', async () => {
    const err = await rejects(srv.pb.collections.create({ name: 'bft', fields: [{ name: 'a', type: 'nope' }] }), 400);
    assert.deepEqual(err.response, errBody(400, 'Failed to load the submitted data due to invalid formatting.'));
    await rejects(srv.pb.collections.getOne('bft'), 404);
  });
});

describe('collection names', () => {
  const invalid = [
    ['a"b', 'validation_match_invalid', 'Must be in a valid format.'],
    ["a'b", 'validation_match_invalid', 'Must be in a valid format.'],
    ['a`b', 'validation_match_invalid', 'Must be in a valid format.'],
    ['a b', 'validation_match_invalid', 'Must be in a valid format.'],
    ['a-b', 'validation_match_invalid', 'Must be in a valid format.'],
    ['x;drop', 'validation_match_invalid', 'Must be in a valid format.'],
    ['ünï', 'validation_match_invalid', 'Must be in a valid format.'],
    ['', 'validation_required', 'Cannot be blank.'],
  ];
  for (const [name, code, message] of invalid) {
    test(`invalid name ${JSON.stringify(name)} -> ${code}`, async () => {
      const err = await rejects(srv.pb.collections.create({ name, type: 'base' }), 400);
      assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { name: fieldErr(code, message) }));
    });
  }

  test('name longer than 255 -> validation_length_out_of_range; 255 is fine (63 on PostgreSQL)', async () => {
    const err = await rejects(srv.pb.collections.create({ name: 'x'.repeat(256) }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, {
        name: fieldErr('validation_length_out_of_range', 'The length must be between 1 and 255.', { max: 255, min: 1 }),
      }),
    );
    // PostgreSQL keeps names of up to 63 bytes (docs/scaling.md; collections_schema "long names").
    const longest = ON_POSTGRES ? 63 : 255;
    const ok = await srv.pb.collections.create({ name: 'y'.repeat(longest), createRule: '', listRule: '', fields: [{ name: 'v', type: 'text' }] });
    const rec = await srv.client().collection(ok.name).create({ v: 'long' });
    assert.equal((await srv.client().collection(ok.name).getList()).items[0].id, rec.id);
  });

  test('duplicate name (case-insensitive) -> validation_collection_name_exists', async () => {
    await srv.pb.collections.create({ name: 'dupname' });
    for (const name of ['dupname', 'DupName', 'USERS']) {
      const err = await rejects(srv.pb.collections.create({ name }), 400);
      assert.deepEqual(
        err.response,
        errBody(400, CREATE_FAILED, {
          name: fieldErr('validation_collection_name_exists', 'Collection name must be unique (case insensitive).'),
        }),
        name,
      );
    }
  });

  test('leading underscore and digit are allowed', async () => {
    for (const name of ['_private_stuff', '1abc']) {
      const c = await srv.pb.collections.create({ name, fields: [{ name: 'v', type: 'text' }] });
      assert.equal(c.name, name);
      assert.equal((await srv.pb.collection(name).create({ v: 'ok' })).v, 'ok');
    }
  });

  for (const kw of ['select', 'order', 'group', 'table', 'where']) {
    test(`a collection named with the SQL keyword "${kw}" is accepted and fully usable`, async () => {
      const c = await srv.pb.collections.create({
        name: kw,
        type: 'base',
        listRule: '',
        viewRule: '',
        createRule: '',
        updateRule: '',
        deleteRule: '',
        // field names that are keywords as well
        fields: [
          { name: 'from', type: 'text' },
          { name: 'order', type: 'number' },
          { name: 'index', type: 'bool' },
        ],
        indexes: [`CREATE UNIQUE INDEX idx_${kw}_from ON \`${kw}\` (\`from\`)`],
      });
      assert.equal(c.name, kw);
      const col = srv.client().collection(kw);
      const a = await col.create({ from: 'a', order: 2, index: true });
      const b = await col.create({ from: 'b', order: 1 });
      assert.deepEqual((await col.getList(1, 10, { sort: 'order' })).items.map((r) => r.from), ['b', 'a']);
      assert.equal((await col.getOne(a.id)).index, true);
      assert.equal((await col.update(b.id, { 'order+': 5 })).order, 6);
      const dup = await rejects(col.create({ from: 'a' }), 400);
      assert.equal(dup.response.data.from.code, 'validation_not_unique');
      await col.delete(a.id);
      assert.equal((await col.getList()).totalItems, 1);
      await srv.pb.collections.truncate(kw);
      assert.equal((await col.getList()).totalItems, 0);
      const renamed = await srv.pb.collections.update(kw, { name: `${kw}_renamed` });
      assert.equal(renamed.name, `${kw}_renamed`);
      await srv.pb.collections.delete(renamed.id);
      await rejects(srv.pb.collections.getOne(c.id), 404);
    });
  }
});

describe('field definitions', () => {
  test('field names differing only in case -> validation_duplicated_field_name', async () => {
    const err = await rejects(
      srv.pb.collections.create({ name: 'dupf', fields: [{ name: 'v', type: 'text' }, { name: 'V', type: 'number' }] }),
      400,
    );
    // field indexes count the implicit id field at 0
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, {
        fields: {
          2: { name: fieldErr('validation_duplicated_field_name', 'Duplicated or invalid field name V.', { fieldName: 'V' }) },
        },
      }),
    );
    await rejects(srv.pb.collections.getOne('dupf'), 404);
  });

  test('exactly repeated field names: the last definition wins (PocketBase quirk)', async () => {
    // PocketBase merges fields by name, keeping the first one's id but the last one's type.
    const c = await srv.pb.collections.create({
      name: 'dupexact',
      fields: [{ name: 'v', type: 'text' }, { name: 'v', type: 'number' }],
    });
    assert.deepEqual(c.fields.map((f) => [f.name, f.type]), [['id', 'text'], ['v', 'number']]);
    assert.equal((await srv.pb.collection('dupexact').create({ v: '7' })).v, 7);
  });

  test('a field named "id" of another type -> duplicated field name', async () => {
    const err = await rejects(srv.pb.collections.create({ name: 'fid', fields: [{ name: 'id', type: 'number' }] }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, {
        fields: { 1: { name: fieldErr('validation_duplicated_field_name', 'Duplicated or invalid field name id.', { fieldName: 'id' }) } },
      }),
    );
  });

  test('reserved and malformed field names', async () => {
    const err = await rejects(
      srv.pb.collections.create({
        name: 'badfields',
        fields: [
          { name: 'collectionId', type: 'text' },
          { name: 'expand', type: 'text' },
          { name: 'a b', type: 'text' },
          { name: '', type: 'text' },
          { name: 'x"y', type: 'text' },
        ],
      }),
      400,
    );
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, {
        fields: {
          1: { name: fieldErr('validation_not_in_invalid', 'Must not be in list.') },
          2: { name: fieldErr('validation_not_in_invalid', 'Must not be in list.') },
          3: { name: fieldErr('validation_match_invalid', 'Must be in a valid format.') },
          4: { name: fieldErr('validation_required', 'Cannot be blank.') },
          5: { name: fieldErr('validation_match_invalid', 'Must be in a valid format.') },
        },
      }),
    );
  });

  const optionCases = [
    [
      'text min > max',
      { name: 't', type: 'text', min: 10, max: 5 },
      { max: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 10.', { threshold: 10 }) },
    ],
    [
      'text negative min',
      { name: 't', type: 'text', min: -1 },
      { min: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 0.', { threshold: 0 }) },
    ],
    [
      'number min > max',
      { name: 'n', type: 'number', min: 10, max: 5 },
      { max: fieldErr('validation_min_number_constraint', 'Must be greater or equal than 10.', { min: 10 }) },
    ],
    ['select without values', { name: 's', type: 'select' }, { values: fieldErr('validation_required', 'Cannot be blank.') }],
    [
      'select maxSelect > number of values',
      { name: 's', type: 'select', values: ['a'], maxSelect: 3 },
      { maxSelect: fieldErr('validation_max_less_equal_than_required', 'Must be no greater than 1.', { threshold: 1 }) },
    ],
    ['relation without collectionId', { name: 'r', type: 'relation' }, { collectionId: fieldErr('validation_required', 'Cannot be blank.') }],
    [
      'relation to a missing collection',
      { name: 'r', type: 'relation', collectionId: 'nope' },
      { collectionId: fieldErr('validation_field_relation_missing_collection', "The relation collection doesn't exist.") },
    ],
    [
      'relation by collection name (ids only)',
      { name: 'r', type: 'relation', collectionId: 'users' },
      { collectionId: fieldErr('validation_field_relation_missing_collection', "The relation collection doesn't exist.") },
    ],
    [
      'relation minSelect > maxSelect',
      { name: 'r', type: 'relation', collectionId: USERS_ID, minSelect: 3, maxSelect: 2 },
      { maxSelect: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 3.', { threshold: 3 }) },
    ],
    [
      'autodate with neither onCreate nor onUpdate',
      { name: 'a', type: 'autodate' },
      {
        onCreate: fieldErr('validation_required', 'Either onCreate or onUpdate must be enabled.'),
        onUpdate: fieldErr('validation_required', 'Either onCreate or onUpdate must be enabled.'),
      },
    ],
    [
      'email with both onlyDomains and exceptDomains',
      { name: 'e', type: 'email', onlyDomains: ['a.com'], exceptDomains: ['b.com'] },
      { exceptDomains: fieldErr('validation_empty', 'Must be blank.'), onlyDomains: fieldErr('validation_empty', 'Must be blank.') },
    ],
    [
      'email with an invalid domain',
      { name: 'e', type: 'email', onlyDomains: ['not a domain'] },
      { onlyDomains: { 0: fieldErr('validation_is_domain', 'Must be a valid domain.') } },
    ],
    [
      'json negative maxSize',
      { name: 'j', type: 'json', maxSize: -1 },
      { maxSize: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 0.', { threshold: 0 }) },
    ],
    [
      'file thumb with a bad format',
      { name: 'f', type: 'file', thumbs: ['abc'] },
      { thumbs: { 0: fieldErr('validation_match_invalid', 'Must be in a valid format.') } },
    ],
  ];
  for (const [label, field, errors] of optionCases) {
    test(`field options: ${label}`, async () => {
      const name = `opt_${label.replace(/\W+/g, '_')}`;
      const err = await rejects(srv.pb.collections.create({ name, fields: [field] }), 400);
      assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { fields: { 1: errors } }));
      await rejects(srv.pb.collections.getOne(name), 404);
    });
  }

  test('field options: invalid text pattern -> validation_invalid_regex', async () => {
    const err = await rejects(srv.pb.collections.create({ name: 'badregex', fields: [{ name: 't', type: 'text', pattern: '(' }] }), 400);
    // the message carries the regex engine's own text; only the code is compared
    assert.equal(err.response.message, CREATE_FAILED);
    assert.equal(err.response.data.fields[1].pattern.code, 'validation_invalid_regex');
  });
});

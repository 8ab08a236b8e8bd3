// Records: PocketBase's coercion rules, per-type validation codes, required, custom ids.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr, assertCodes, ID_RE } from './harness.mjs';
import { createKitchen, createLoose, PUBLIC_RULES } from './fixtures.mjs';

const srv = useServer(async (s) => {
  await createKitchen(s.pb);
  await createLoose(s.pb);
});
const K = () => srv.pb.collection('kitchen');
const L = () => srv.pb.collection('loose');
const CREATE_FAILED = 'Failed to create record.';

/** Create a loose record with {field: input} and return the stored value. */
async function coerce(field, input) {
  const r = await L().create({ [field]: input });
  return r[field];
}

describe('coercion (no errors)', () => {
  const cases = {
    n: [
      ['12', 12],
      ['1.5e1', 15],
      ['+5', 5],
      ['.5', 0.5],
      ['-0', -0], // PocketBase answers -0 (negative zero survives)
      ['abc', 0],
      ['', 0],
      [null, 0],
      [true, 1],
      [false, 0],
      [' 7 ', 0],
      ['0x10', 0],
      [[3], 0],
      [{}, 0],
      [-2.25, -2.25],
    ],
    b: [
      ['true', true],
      ['TRUE', true],
      ['1', true],
      [1, true],
      [2, true],
      ['false', false],
      ['0', false],
      [0, false],
      ['yes', false],
      ['', false],
      [null, false],
    ],
    t: [
      [123, '123'],
      [1.5, '1.5'],
      [true, 'true'],
      [null, ''],
      ['  spaced  ', '  spaced  '], // not trimmed
      [['x', 'y'], ''],
      [{ a: 1 }, ''],
    ],
    j: [
      ['{"a":1}', { a: 1 }],
      ['[1,2]', [1, 2]],
      ['123', 123],
      ['"s"', 's'],
      ['null', null],
      ['true', true],
      ['abc', 'abc'], // not valid JSON: stored as a string
      ['', ''],
      [null, null],
      [5, 5],
      [false, false],
      [{ deep: { list: [1, { x: 'y' }] } }, { deep: { list: [1, { x: 'y' }] } }],
    ],
    m: [
      [['a', 'a', 'b'], ['a', 'b']], // multi select dedupes
      ['a', ['a']],
      ['', []],
      [null, []],
      [[], []],
    ],
    s: [
      [['a', 'b'], 'b'], // an array to a single select keeps the last item
      [['c', 'a'], 'a'],
      ['b', 'b'],
      ['', ''],
      [null, ''],
    ],
    e: [
      [123, '123'],
      ['<b>x</b>', '<b>x</b>'],
    ],
    g: [
      ['{"lon":1,"lat":2}', { lon: 1, lat: 2 }],
      [{ lat: 5 }, { lon: 0, lat: 5 }],
      [{ lon: 1, lat: 2, extra: 3 }, { lon: 1, lat: 2 }],
      [{ lon: '3', lat: '4' }, { lon: 0, lat: 0 }],
      ['abc', { lon: 0, lat: 0 }],
      [null, { lon: 0, lat: 0 }],
    ],
  };
  for (const [field, list] of Object.entries(cases)) {
    for (const [input, expected] of list) {
      test(`${field}: ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, async () => {
        assert.deepEqual(await coerce(field, input), expected);
      });
    }
  }

  test('number: NaN/Infinity strings -> validation_not_a_number', async () => {
    for (const v of ['NaN', 'Infinity']) {
      const err = await rejects(L().create({ n: v }), 400);
      assert.deepEqual(
        err.response,
        errBody(400, CREATE_FAILED, { n: fieldErr('validation_not_a_number', 'The submitted number is not properly formatted.') }),
      );
    }
  });
});

describe('dates', () => {
  const inputs = [
    ['2024-05-06', '2024-05-06 00:00:00.000Z'],
    ['2024-05-06 07:08:09', '2024-05-06 07:08:09.000Z'],
    ['2024-05-06T07:08:09', '2024-05-06 07:08:09.000Z'],
    ['2024-05-06T07:08:09Z', '2024-05-06 07:08:09.000Z'],
    ['2024-05-06 07:08:09.123Z', '2024-05-06 07:08:09.123Z'],
    ['2024-05-06 07:08:09.123456Z', '2024-05-06 07:08:09.123Z'],
    ['2024-05-06T07:08:09.123+02:00', '2024-05-06 05:08:09.123Z'],
    ['2024-05-06T07:08:09-05:30', '2024-05-06 12:38:09.000Z'],
    ['2024-05-06 07:08:09 +0200', '2024-05-06 05:08:09.000Z'],
    // unparseable or empty input becomes an empty date, not an error
    ['', ''],
    [null, ''],
    ['nope', ''],
    ['2024-13-45', ''],
    ['2024-02-30', ''],
    ['2024-05-06 07:08', ''],
    [1700000000, ''],
  ];
  for (const [input, expected] of inputs) {
    test(`date ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, async () => {
      assert.equal(await coerce('d', input), expected);
    });
  }

  test('date min/max -> validation_min/max_greater/less_equal_than_required', async () => {
    let err = await rejects(K().create({ title: 'Ab', when: '1999-01-01' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, {
        when: fieldErr('validation_min_greater_equal_than_required', 'Must be no less than 2000-01-01 00:00:00 +0000 UTC.', {
          threshold: '2000-01-01T00:00:00Z',
        }),
      }),
    );
    err = await rejects(K().create({ title: 'Ab', when: '2200-01-01' }), 400);
    assert.equal(err.response.data.when.code, 'validation_max_less_equal_than_required');
  });
});

describe('validation codes per field type', () => {
  const v = (code, message, params) => fieldErr(code, message, params);
  const cases = [
    ['text required', {}, { title: v('validation_required', 'Cannot be blank.') }],
    ['text min', { title: 'x' }, { title: v('validation_min_text_constraint', 'Must be at least 2 character(s).', { min: 2 }) }],
    [
      'text max',
      { title: 'abcabcabcabcabcabcabcabc' },
      { title: v('validation_max_text_constraint', 'Must be no more than 20 character(s).', { max: 20 }) },
    ],
    ['text pattern', { title: 'abc1' }, { title: v('validation_invalid_format', 'Invalid value format.') }],
    ['number onlyInt', { title: 'Ab', count: 1.5 }, { count: v('validation_only_int_constraint', 'Decimal numbers are not allowed.') }],
    ['number max', { title: 'Ab', count: 101 }, { count: v('validation_max_number_constraint', 'Must be less or equal than 100.', { max: 100 }) }],
    ['number min', { title: 'Ab', count: -6 }, { count: v('validation_min_number_constraint', 'Must be greater or equal than -5.', { min: -5 }) }],
    ['email format', { title: 'Ab', mail: 'nope' }, { mail: v('validation_is_email', 'Must be a valid email address.') }],
    ['email onlyDomains', { title: 'Ab', mail: 'a@other.com' }, { mail: v('validation_email_domain_not_allowed', 'Email domain is not allowed.') }],
    ['url format', { title: 'Ab', site: 'nope' }, { site: v('validation_invalid_url', 'Must be a valid url.') }],
    ['url exceptDomains', { title: 'Ab', site: 'https://bad.com/x' }, { site: v('validation_url_domain_not_allowed', 'Url domain is not allowed.') }],
    ['select unknown value', { title: 'Ab', color: 'purple' }, { color: v('validation_invalid_value', 'Invalid value purple.', { value: 'purple' }) }],
    ['multi select unknown value', { title: 'Ab', tags: ['a', 'z'] }, { tags: v('validation_invalid_value', 'Invalid value z.', { value: 'z' }) }],
    ['multi select comma string is one value', { title: 'Ab', tags: 'a,b' }, { tags: v('validation_invalid_value', 'Invalid value a,b.', { value: 'a,b' }) }],
    [
      'multi select maxSelect',
      { title: 'Ab', tags: ['a', 'b', 'c', 'd'] },
      { tags: v('validation_too_many_values', 'Select no more than 3.', { maxSelect: 3 }) },
    ],
    [
      'relation multi maxSelect',
      { title: 'Ab', readers: ['aaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaa2', 'aaaaaaaaaaaaaa3', 'aaaaaaaaaaaaaa4'] },
      { readers: v('validation_too_many_values', 'Select no more than 3.', { maxSelect: 3 }) },
    ],
    [
      'json maxSize',
      { title: 'Ab', meta: 'x'.repeat(3000) },
      { meta: v('validation_json_size_limit', 'The maximum allowed JSON size is 2000 bytes.', { maxSize: 2000 }) },
    ],
    [
      'editor maxSize (bytes, not characters)',
      { title: 'Ab', body: 'é'.repeat(501) },
      { body: v('validation_content_size_limit', 'The maximum allowed content size is 1000 bytes.', { maxSize: 1000 }) },
    ],
    ['password min', { title: 'Ab', secret: '123' }, { secret: v('validation_min_text_constraint', 'Must be at least 6 character(s).') }],
    [
      'geoPoint longitude',
      { title: 'Ab', loc: { lon: 200, lat: 0 } },
      { loc: v('validation_invalid_longitude', 'Longitude must be between -180 and 180 degrees.') },
    ],
    [
      'geoPoint latitude',
      { title: 'Ab', loc: { lon: 0, lat: -91 } },
      { loc: v('validation_invalid_latitude', 'Latitude must be between -90 and 90 degrees.') },
    ],
  ];
  for (const [label, input, data] of cases) {
    test(label, async () => {
      const before = (await K().getList(1, 1)).totalItems;
      const err = await rejects(K().create(input), 400);
      assert.deepEqual(err.response, errBody(400, CREATE_FAILED, data));
      assert.equal((await K().getList(1, 1)).totalItems, before, 'nothing stored');
    });
  }

  test('url: a bare host without scheme is accepted as is (PocketBase quirk)', async () => {
    assert.equal((await K().create({ title: 'Ab', site: 'example.com' })).site, 'example.com');
    assert.equal((await K().create({ title: 'Ab', site: 'ftp://files.example.org/x' })).site, 'ftp://files.example.org/x');
  });

  test('all errors of one request are reported together', async () => {
    const err = await rejects(
      K().create({ title: 'x', count: 1.5, mail: 'nope', site: 'nope', color: 'purple', tags: ['z'], secret: '1', loc: { lon: 500, lat: 0 } }),
      400,
    );
    assertCodes(err, {
      title: 'validation_min_text_constraint',
      count: 'validation_only_int_constraint',
      mail: 'validation_is_email',
      site: 'validation_invalid_url',
      color: 'validation_invalid_value',
      tags: 'validation_invalid_value',
      secret: 'validation_min_text_constraint',
      loc: 'validation_invalid_longitude',
    });
  });

  test('text max 0 means the 5000 character default', async () => {
    assert.equal((await L().create({ t: 'x'.repeat(5000) })).t.length, 5000);
    const err = await rejects(L().create({ t: 'x'.repeat(5001) }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, CREATE_FAILED, { t: fieldErr('validation_max_text_constraint', 'Must be no more than 5000 character(s).', { max: 5000 }) }),
    );
  });

  test('validation applies on update too', async () => {
    const r = await K().create({ title: 'Ok' });
    const err = await rejects(K().update(r.id, { count: 101, mail: 'x' }), 400);
    assert.equal(err.response.message, 'Failed to update record.');
    assertCodes(err, { count: 'validation_max_number_constraint', mail: 'validation_is_email' });
  });
});

describe('required treats zero values as blank', () => {
  test('every type: zero value -> validation_required; non-zero passes', async () => {
    await srv.pb.collections.create({
      name: 'req',
      ...PUBLIC_RULES,
      fields: [
        { name: 't', type: 'text', required: true },
        { name: 'b', type: 'bool', required: true },
        { name: 'n', type: 'number', required: true },
        { name: 's', type: 'select', values: ['a', 'b'], maxSelect: 2, required: true },
        { name: 'j', type: 'json', required: true },
        { name: 'd', type: 'date', required: true },
        { name: 'g', type: 'geoPoint', required: true },
        { name: 'e', type: 'email', required: true },
        { name: 'u', type: 'url', required: true },
        { name: 'ed', type: 'editor', required: true },
        { name: 'r', type: 'relation', collectionId: '_pb_users_auth_', required: true },
      ],
    });
    const R = srv.pb.collection('req');
    const blank = 'validation_required';
    let err = await rejects(R.create({ t: '', b: false, n: 0, s: [], j: null, d: '', g: { lon: 0, lat: 0 }, e: '', u: '', ed: '', r: '' }), 400);
    assertCodes(err, { t: blank, b: blank, n: blank, s: blank, j: blank, d: blank, g: blank, e: blank, u: blank, ed: blank, r: blank });
    assert.deepEqual(err.response.data.b, fieldErr('validation_required', 'Cannot be blank.'));

    const user = await srv.pb.collection('users').create({ email: 'req@example.com', password: 'user-pass-123', passwordConfirm: 'user-pass-123' });
    const ok = { t: 'x', b: true, n: -1, s: ['a'], j: 0, d: '2020-01-01', g: { lon: 0, lat: 1 }, e: 'a@b.co', u: 'https://x.y', ed: 'x', r: user.id };
    const r = await R.create(ok);
    assert.equal(r.j, 0, 'json 0 is not blank');
    // json: null, "", [] and {} are blank; false is not
    for (const j of [[], {}, '']) {
      err = await rejects(R.create({ ...ok, j }), 400);
      assertCodes(err, { j: blank }, `json ${JSON.stringify(j)}`);
    }
    assert.equal((await R.create({ ...ok, j: false })).j, false);
  });
});

describe('custom ids', () => {
  test('a valid 15-char [a-z0-9] id is used as is', async () => {
    const r = await K().create({ id: 'abcdefghij12345', title: 'Ab' });
    assert.equal(r.id, 'abcdefghij12345');
    assert.equal((await K().getOne('abcdefghij12345')).title, 'Ab');
  });

  test('an empty id is generated', async () => {
    assert.match((await K().create({ id: '', title: 'Ab' })).id, ID_RE);
  });

  test('a numeric id is coerced to text', async () => {
    assert.equal((await K().create({ id: 123456789012345, title: 'Ab' })).id, '123456789012345');
  });

  const bad = [
    ['short', fieldErr('validation_min_text_constraint', 'Must be at least 15 character(s).', { min: 15 })],
    ['abcdefghij123456', fieldErr('validation_max_text_constraint', 'Must be no more than 15 character(s).', { max: 15 })],
    ['ABCDEFGHIJ12345', fieldErr('validation_invalid_format', 'Invalid value format.')],
    ['abcdefghij-1234', fieldErr('validation_invalid_format', 'Invalid value format.')],
    ["abcdefghij'1234", fieldErr('validation_invalid_format', 'Invalid value format.')],
  ];
  for (const [id, e] of bad) {
    test(`invalid id ${JSON.stringify(id)} -> ${e.code}`, async () => {
      const err = await rejects(K().create({ id, title: 'Ab' }), 400);
      assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { id: e }));
    });
  }

  test('a duplicate id -> validation_not_unique', async () => {
    await K().create({ id: 'dupdupdupdup123', title: 'Ab' });
    const err = await rejects(K().create({ id: 'dupdupdupdup123', title: 'Cd' }), 400);
    assert.deepEqual(err.response, errBody(400, CREATE_FAILED, { id: fieldErr('validation_not_unique', 'Value must be unique.') }));
    assert.equal((await K().getOne('dupdupdupdup123')).title, 'Ab');
  });

  test('changing the id on update -> validation_pk_change; the same id is fine', async () => {
    const r = await K().create({ id: 'pkchangepk12345', title: 'Ab' });
    const err = await rejects(K().update(r.id, { id: 'zzzzzzzzzzzzzzz' }), 400);
    assert.deepEqual(
      err.response,
      errBody(400, 'Failed to update record.', { id: fieldErr('validation_pk_change', 'The record primary key cannot be changed.') }),
    );
    await rejects(K().getOne('zzzzzzzzzzzzzzz'), 404);
    assert.equal((await K().update(r.id, { id: r.id, title: 'Cd' })).title, 'Cd');
  });
});

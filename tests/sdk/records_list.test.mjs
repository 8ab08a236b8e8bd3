// Records list: page, perPage, skipTotal, sort, getFullList.
// (getFirstListItem needs `filter`, which belongs to a later issue.)
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';

const TOTAL = 7;
const srv = useServer(async (s) => {
  await s.pb.collections.create({
    name: 'nums',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'n', type: 'number' },
      { name: 'g', type: 'text' },
      { name: 'created', type: 'autodate', onCreate: true },
    ],
  });
  for (let i = 0; i < TOTAL; i++) {
    await s.pb.collection('nums').create({ n: i, g: i % 2 ? 'odd' : 'even' });
    await new Promise((r) => setTimeout(r, 3)); // distinct `created` values
  }
});
const N = () => srv.client().collection('nums');
const BAD_REQUEST = errBody(400, 'Something went wrong while processing your request.');

const envelope = (l) => ({ page: l.page, perPage: l.perPage, totalItems: l.totalItems, totalPages: l.totalPages, n: l.items.map((x) => x.n) });

async function rawList(query) {
  return srv.api('GET', `/api/collections/nums/records?${query}`);
}

describe('paging', () => {
  test('default: page 1, perPage 30, in insertion order', async () => {
    assert.deepEqual(envelope(await N().getList()), { page: 1, perPage: 30, totalItems: TOTAL, totalPages: 1, n: [0, 1, 2, 3, 4, 5, 6] });
  });

  test('pages of 3', async () => {
    assert.deepEqual(envelope(await N().getList(1, 3)), { page: 1, perPage: 3, totalItems: 7, totalPages: 3, n: [0, 1, 2] });
    assert.deepEqual(envelope(await N().getList(2, 3)), { page: 2, perPage: 3, totalItems: 7, totalPages: 3, n: [3, 4, 5] });
    assert.deepEqual(envelope(await N().getList(3, 3)), { page: 3, perPage: 3, totalItems: 7, totalPages: 3, n: [6] });
  });

  test('a page past the end -> 200 with []', async () => {
    assert.deepEqual(envelope(await N().getList(9, 3)), { page: 9, perPage: 3, totalItems: 7, totalPages: 3, n: [] });
  });

  test('page < 1 is page 1', async () => {
    for (const q of ['page=0', 'page=-2', 'page=']) {
      const r = await rawList(`${q}&perPage=3`);
      assert.equal(r.status, 200, q);
      assert.equal(r.json.page, 1, q);
      assert.deepEqual(r.json.items.map((x) => x.n), [0, 1, 2], q);
    }
  });

  test('perPage <= 0 (or empty) is 30', async () => {
    for (const q of ['perPage=0', 'perPage=-5', 'perPage=']) {
      const r = await rawList(q);
      assert.equal(r.status, 200, q);
      assert.equal(r.json.perPage, 30, q);
      assert.equal(r.json.items.length, TOTAL, q);
    }
    assert.equal((await N().getList(1, 0)).perPage, 30);
  });

  test('perPage above 1000 is capped at 1000', async () => {
    const l = await N().getList(1, 5000);
    assert.equal(l.perPage, 1000);
    assert.equal(l.items.length, TOTAL);
  });

  test('non-numeric or fractional page/perPage -> 400', async () => {
    for (const q of ['page=abc', 'perPage=abc', 'page=1.5', 'perPage=2.5', 'page=99999999999999999999']) {
      const r = await rawList(q);
      assert.equal(r.status, 400, q);
      assert.deepEqual(r.json, BAD_REQUEST, q);
    }
  });

  test('skipTotal -> totalItems and totalPages are -1', async () => {
    const l = await N().getList(1, 3, { skipTotal: true });
    assert.deepEqual(envelope(l), { page: 1, perPage: 3, totalItems: -1, totalPages: -1, n: [0, 1, 2] });
    for (const q of ['skipTotal=1', 'skipTotal=true']) {
      const r = await rawList(`${q}&perPage=2&page=2`);
      assert.equal(r.status, 200);
      assert.deepEqual([r.json.totalItems, r.json.totalPages, r.json.items.map((x) => x.n)], [-1, -1, [2, 3]], q);
    }
    for (const q of ['skipTotal=0', 'skipTotal=false']) {
      const r = await rawList(q);
      assert.equal(r.json.totalItems, TOTAL, q);
    }
    const bad = await rawList('skipTotal=abc');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, BAD_REQUEST);
  });
});

describe('sort', () => {
  test('-n descending, +n / n ascending', async () => {
    assert.deepEqual((await N().getList(1, 30, { sort: '-n' })).items.map((x) => x.n), [6, 5, 4, 3, 2, 1, 0]);
    assert.deepEqual((await N().getList(1, 30, { sort: '+n' })).items.map((x) => x.n), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await N().getList(1, 30, { sort: 'n' })).items.map((x) => x.n), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('-created', async () => {
    assert.deepEqual((await N().getList(1, 30, { sort: '-created' })).items.map((x) => x.n), [6, 5, 4, 3, 2, 1, 0]);
  });

  test('multiple keys: g,-n', async () => {
    assert.deepEqual((await N().getList(1, 30, { sort: 'g,-n' })).items.map((x) => x.n), [6, 4, 2, 0, 5, 3, 1]);
    assert.deepEqual((await N().getList(1, 30, { sort: '-g,n' })).items.map((x) => x.n), [1, 3, 5, 0, 2, 4, 6]);
  });

  test('sorting applies before paging', async () => {
    assert.deepEqual((await N().getList(2, 3, { sort: '-n' })).items.map((x) => x.n), [3, 2, 1]);
  });

  test('sort by id works', async () => {
    const items = (await N().getList(1, 30, { sort: 'id' })).items;
    const ids = items.map((x) => x.id);
    assert.deepEqual(ids, [...ids].sort());
  });

  test('an empty sort is the default order', async () => {
    assert.deepEqual((await N().getList(1, 30, { sort: '' })).items.map((x) => x.n), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('@random returns every record once', async () => {
    const got = (await N().getList(1, 30, { sort: '@random' })).items.map((x) => x.n);
    assert.deepEqual([...got].sort(), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('unknown or malformed sort fields -> 400', async () => {
    for (const sort of ['nope', '-nope', 'n,nope', 'n desc', 'n,,g', '-', 'collectionId']) {
      const r = await rawList(`sort=${encodeURIComponent(sort)}`);
      assert.equal(r.status, 400, sort);
      assert.deepEqual(r.json, BAD_REQUEST, sort);
    }
    await rejects(N().getList(1, 30, { sort: 'nope' }), 400, BAD_REQUEST);
  });

  test('-created on a collection without a created field -> 400', async () => {
    await srv.pb.collections.create({ name: 'nocreated', listRule: '', fields: [{ name: 't', type: 'text' }] });
    await rejects(srv.client().collection('nocreated').getList(1, 30, { sort: '-created' }), 400, BAD_REQUEST);
  });
});

describe('getFirstListItem', () => {
  // filters are a later issue: only the empty filter (= no filter) is used here
  test("getFirstListItem('') returns the first record (sort applies)", async () => {
    assert.equal((await N().getFirstListItem('')).n, 0);
    assert.equal((await N().getFirstListItem('', { sort: '-n' })).n, 6);
  });

  test("getFirstListItem('') on an empty collection -> 404 (the SDK's, from an empty page)", async () => {
    await srv.pb.collections.create({ name: 'nothing', listRule: '' });
    await rejects(srv.client().collection('nothing').getFirstListItem(''), 404);
  });
});

describe('getFullList', () => {
  test('collects every page (batch smaller than the total)', async () => {
    const all = await N().getFullList({ batch: 2 });
    assert.deepEqual(all.map((x) => x.n), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('with sort', async () => {
    const all = await N().getFullList({ sort: '-n', batch: 3 });
    assert.deepEqual(all.map((x) => x.n), [6, 5, 4, 3, 2, 1, 0]);
  });

  test('default batch', async () => {
    assert.equal((await N().getFullList()).length, TOTAL);
  });

  test('more records than one 1000-record page', async () => {
    await srv.pb.collections.create({ name: 'many', listRule: '', fields: [{ name: 'i', type: 'number' }] });
    const M = srv.pb.collection('many');
    const total = 1205;
    const chunk = 50;
    for (let i = 0; i < total; i += chunk) {
      await Promise.all(Array.from({ length: Math.min(chunk, total - i) }, (_, k) => M.create({ i: i + k })));
    }
    const page = await srv.client().collection('many').getList(1, 1000);
    assert.equal(page.items.length, 1000);
    assert.equal(page.totalItems, total);
    assert.equal(page.totalPages, 2);
    const all = await srv.client().collection('many').getFullList({ sort: 'i' });
    assert.equal(all.length, total);
    assert.deepEqual(all.map((x) => x.i), Array.from({ length: total }, (_, k) => k));
  });
});

// Records: deleting referenced records (cascade delete, relation pull, required relations).
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody, fieldErr } from './harness.mjs';

const NOT_FOUND = errBody(404, "The requested resource wasn't found.");
const REQUIRED_REF = errBody(
  400,
  'Failed to delete record. Make sure that the record is not part of a required relation reference.',
);

let authorsId;
let booksId;
const srv = useServer(async (s) => {
  authorsId = (await s.pb.collections.create({ name: 'authors', fields: [{ name: 'name', type: 'text' }] })).id;
  booksId = (
    await s.pb.collections.create({
      name: 'books',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collectionId: authorsId, maxSelect: 1, cascadeDelete: true },
        { name: 'coauthors', type: 'relation', collectionId: authorsId, maxSelect: 3 },
        { name: 'cm', type: 'relation', collectionId: authorsId, maxSelect: 3, cascadeDelete: true },
        { name: 'editor', type: 'relation', collectionId: authorsId, maxSelect: 1 },
        { name: 'reviewers', type: 'relation', collectionId: authorsId, maxSelect: 3, required: true },
      ],
    })
  ).id;
  await s.pb.collections.create({
    name: 'chapters',
    fields: [
      { name: 'book', type: 'relation', collectionId: booksId, maxSelect: 1, cascadeDelete: true },
      { name: 'n', type: 'number' },
    ],
  });
});
const A = () => srv.pb.collection('authors');
const B = () => srv.pb.collection('books');
const C = () => srv.pb.collection('chapters');
const author = async (name) => (await A().create({ name })).id;

describe('relation values', () => {
  test('an array sent to a single relation keeps the last id', async () => {
    const [a1, a2, r] = [await author('a1'), await author('a2'), await author('r')];
    const b = await B().create({ title: 'x', editor: [a1, a2], reviewers: [r] });
    assert.equal(b.editor, a2);
  });

  test('duplicate ids in a multi relation collapse', async () => {
    const [a1, r] = [await author('a1'), await author('r')];
    const b = await B().create({ title: 'x', coauthors: [a1, a1], reviewers: [r, r] });
    assert.deepEqual(b.coauthors, [a1]);
    assert.deepEqual(b.reviewers, [r]);
  });

  test('required relation missing -> validation_required', async () => {
    const err = await rejects(B().create({ title: 'x' }), 400);
    assert.deepEqual(err.response, errBody(400, 'Failed to create record.', { reviewers: fieldErr('validation_required', 'Cannot be blank.') }));
  });
});

describe('deleting a referenced record', () => {
  test('cascadeDelete on a single relation deletes the referencing record, recursively', async () => {
    const [a, r] = [await author('a'), await author('r')];
    const b = await B().create({ title: 'cascade', author: a, reviewers: [r] });
    const ch1 = await C().create({ book: b.id, n: 1 });
    const ch2 = await C().create({ book: b.id, n: 2 });
    assert.equal(await A().delete(a), true);
    await rejects(B().getOne(b.id), 404, NOT_FOUND);
    await rejects(C().getOne(ch1.id), 404, NOT_FOUND);
    await rejects(C().getOne(ch2.id), 404, NOT_FOUND);
    assert.ok(await A().getOne(r), 'unrelated records stay');
  });

  test('cascadeDelete on a multi relation with other ids left only pulls the id', async () => {
    const [a1, a2, r] = [await author('a1'), await author('a2'), await author('r')];
    const b = await B().create({ title: 'cascade multi', cm: [a1, a2], reviewers: [r] });
    await A().delete(a1);
    assert.deepEqual((await B().getOne(b.id)).cm, [a2]);
  });

  test('without cascadeDelete the id is pulled from single and multi relations', async () => {
    const [a1, a2, e, r] = [await author('a1'), await author('a2'), await author('e'), await author('r')];
    const b = await B().create({ title: 'pull', coauthors: [a1, a2], editor: e, reviewers: [r] });
    const before = await B().getOne(b.id);
    await A().delete(a1);
    await A().delete(e);
    const after = await B().getOne(b.id);
    assert.deepEqual(after.coauthors, [a2]);
    assert.equal(after.editor, '');
    assert.equal(after.title, 'pull');
    assert.deepEqual(after.reviewers, [r]);
    assert.ok(after.id === before.id);
  });

  test('a required multi relation loses an id while others remain', async () => {
    const [r1, r2] = [await author('r1'), await author('r2')];
    const b = await B().create({ title: 'req multi', reviewers: [r1, r2] });
    await A().delete(r1);
    assert.deepEqual((await B().getOne(b.id)).reviewers, [r2]);
  });

  test('deleting the last id of a required relation -> 400, nothing deleted', async () => {
    const [a, r] = [await author('a'), await author('r')];
    const b = await B().create({ title: 'req', coauthors: [a], reviewers: [r] });
    await rejects(A().delete(r), 400, REQUIRED_REF);
    assert.ok(await A().getOne(r));
    const still = await B().getOne(b.id);
    assert.deepEqual(still.reviewers, [r]);
    assert.deepEqual(still.coauthors, [a]);
  });

  test('a failing cascade leaves everything as it was', async () => {
    // deleting `a` cascades to book b, whose chapter cascades fine, but another
    // book that requires `a` as its only reviewer blocks the whole delete
    const a = await author('a');
    const b = await B().create({ title: 'cascaded', author: a, reviewers: [await author('r')] });
    const ch = await C().create({ book: b.id });
    const blocker = await B().create({ title: 'blocker', reviewers: [a] });
    await rejects(A().delete(a), 400, REQUIRED_REF);
    assert.ok(await A().getOne(a));
    assert.ok(await B().getOne(b.id));
    assert.ok(await C().getOne(ch.id));
    assert.deepEqual((await B().getOne(blocker.id)).reviewers, [a]);
  });

  test('self-referencing cascade deletes the whole chain', async () => {
    const sc = await srv.pb.collections.create({ name: 'tree', fields: [{ name: 't', type: 'text' }] });
    await srv.pb.collections.update('tree', {
      fields: [...sc.fields, { name: 'parent', type: 'relation', collectionId: sc.id, maxSelect: 1, cascadeDelete: true }],
    });
    const T = srv.pb.collection('tree');
    const root = await T.create({ t: 'root' });
    const kid = await T.create({ t: 'kid', parent: root.id });
    await T.create({ t: 'grandkid', parent: kid.id });
    const other = await T.create({ t: 'other' });
    await T.delete(root.id);
    assert.deepEqual((await T.getFullList()).map((r) => r.id), [other.id]);
  });
});

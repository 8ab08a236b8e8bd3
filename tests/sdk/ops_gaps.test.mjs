// Small conformance gaps (issue 13): `filter` and `sort` on the collections
// list, and the CORS preflight status. Validated against PocketBase 0.40.6.
import assert from 'node:assert/strict';
import { useServer, test, describe, rejects, errBody } from './harness.mjs';

const srv = useServer();

describe('collections list filter and sort', () => {
  test('filter by name/type/system, sort by name', async () => {
    const got = await srv.pb.collections.getList(1, 30, { filter: "name ~ 'user'", sort: '-name' });
    assert.deepEqual(got.items.map((c) => [c.name, c.type]), [['users', 'auth'], ['_superusers', 'auth']]);
    assert.equal(got.totalItems, 2);
    const sys = await srv.pb.collections.getFullList({ filter: 'system = true', sort: 'name' });
    assert.ok(sys.every((c) => c.system === true));
    assert.ok(sys.some((c) => c.name === '_superusers'));
    const asc = sys.map((c) => c.name);
    assert.deepEqual(asc, [...asc].sort());
    const users = await srv.pb.collections.getFullList({ filter: "type = 'auth' && system = false" });
    assert.deepEqual(users.map((c) => c.name), ['users']);
  });

  test('unknown fields, rules and bad syntax answer 400', async () => {
    const bad = errBody(400, 'Something went wrong while processing your request.');
    await rejects(srv.pb.collections.getList(1, 30, { filter: 'bogus = 1' }), 400, bad);
    await rejects(srv.pb.collections.getList(1, 30, { filter: 'listRule = null' }), 400, bad);
    await rejects(srv.pb.collections.getList(1, 30, { filter: "name = 'x" }), 400, bad);
    await rejects(srv.pb.collections.getList(1, 30, { sort: 'bogus' }), 400, bad);
    const r = await srv.pb.collections.getList(1, 2, { sort: '@random' });
    assert.equal(r.items.length, 2);
  });
});

describe('CORS', () => {
  test('a preflight answers 204 with the allow headers', async () => {
    const r = await fetch(`${srv.url}/api/health`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.equal(await r.text(), '');
  });
});

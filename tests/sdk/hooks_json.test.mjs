// `e.json`'s body, byte for byte as PocketBase 0.40.6 writes it (Cairn
// writes it in Rust at the call: src/plugins/json_text.rs):
//  - strings escaped as PocketBase escapes them (no HTML escaping, U+2028
//    as it is, control characters as \u00XX), unicode as UTF-8;
//  - numbers as JavaScript prints them, -0 as "-0";
//  - arrays in order, nested objects; a property holding `undefined` is null;
//  - records as their public export with the keys sorted (hidden fields,
//    `hide()`, an auth record's password, token key and hidden email left
//    out), alone, in arrays and nested;
//  - the body is the value at the call: a change made after e.json does not show.
// A plain object with several keys is compared parsed: PocketBase writes its
// keys in a Go map's order, which changes from call to call.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, describe, SUPERUSER_EMAIL } from './harness.mjs';

const RECORD = 'jsonrecord00001';

const MIGRATION = `
migrate((app) => {
  const c = new Collection({ name: "jsondocs", listRule: "", viewRule: "",
    fields: [
      { name: "title", type: "text" },
      { name: "author", type: "text" },
      { name: "zeta", type: "number" },
      { name: "body", type: "text" },
      { name: "secret", type: "text", hidden: true },
      { name: "meta", type: "json" },
      { name: "flags", type: "select", maxSelect: 3, values: ["a", "b", "c"] },
    ] })
  app.save(c)
  const r = new Record(app.findCollectionByNameOrId("jsondocs"))
  r.set("id", "${RECORD}")
  r.set("title", "Caf\\u00e9 <b>&</b> \\"q\\" \\u2028 \\ud83d\\ude00")
  r.set("author", "ann")
  r.set("zeta", 1.5)
  r.set("body", "line1\\nline2\\ttab")
  r.set("secret", "s3cret")
  r.set("meta", { a: [1, { b: null }], c: "x" })
  r.set("flags", ["a", "c"])
  app.save(r)
})
`;

const HOOKS = `
routerAdd("GET", "/api/json/scalars", (e) => e.json(200, [
  "<a>&'\\"\\u2028\\u2029\\u0001\\u001f\\u007f \\u00e9 \\ud83d\\ude00 \\\\ / \\b\\f\\n\\r\\t",
  1, 1.5, 1e-7, 123456789012345680000, 0.1 + 0.2, 2 ** 53, 2 ** 53 + 2, -5, 1e300, 1e21, 1e-6,
  5e-324, -0, 3.0, -1.25e-10, null, true, false, [], {}, [[1, [2]]], { a: { b: [1] } }, [undefined],
]))
routerAdd("GET", "/api/json/string", (e) => e.json(200, "x<y"))
routerAdd("GET", "/api/json/number", (e) => e.json(200, 12.5))
routerAdd("GET", "/api/json/undefined", (e) => e.json(200, undefined))
routerAdd("GET", "/api/json/undefined-prop", (e) => e.json(200, { u: undefined }))
routerAdd("GET", "/api/json/key", (e) => e.json(200, { "\\u00e9\\n\\"k": { "<": 1 } }))
routerAdd("GET", "/api/json/object", (e) => e.json(200, { b: 1, a: [true, "x"], n: { z: 1, y: { x: [] } }, "10": 1 }))
routerAdd("GET", "/api/json/getter", (e) => e.json(200, [{ get g() { return 5 } }]))
routerAdd("GET", "/api/json/class", (e) => { class P { constructor() { this.x = 1 } }; return e.json(200, [new P()]) })
routerAdd("GET", "/api/json/after", (e) => { const o = { a: [1] }; e.json(200, o); o.a.push(2) })
routerAdd("GET", "/api/json/record/{id}", (e) => e.json(200, $app.findRecordById("jsondocs", e.request.pathValue("id"))))
routerAdd("GET", "/api/json/records/{id}", (e) => {
  const r = $app.findRecordById("jsondocs", e.request.pathValue("id"))
  const h = $app.findRecordById("jsondocs", e.request.pathValue("id")).hide("body", "meta")
  return e.json(200, [r, { r: r }, [h]])
})
routerAdd("GET", "/api/json/stringify/{id}", (e) => e.string(200, JSON.stringify({ r: $app.findRecordById("jsondocs", e.request.pathValue("id")) })))
routerAdd("GET", "/api/json/superuser", (e) => e.json(200, { su: $app.findAuthRecordByEmail("_superusers", "${SUPERUSER_EMAIL}") }))
routerAdd("GET", "/api/json/changed/{id}", (e) => {
  const r = $app.findRecordById("jsondocs", e.request.pathValue("id"))
  r.set("author", "bob")
  r.set("zeta", -0.25)
  return e.json(200, r)
})
`;

const srv = useServer(async (s) => {
  await fsp.mkdir(path.join(s.root, 'pb_migrations'), { recursive: true });
  await fsp.mkdir(path.join(s.root, 'pb_hooks'), { recursive: true });
  await fsp.writeFile(path.join(s.root, 'pb_migrations', '1_jsondocs.js'), MIGRATION);
  await fsp.writeFile(path.join(s.root, 'pb_hooks', 'json.pb.js'), HOOKS);
  await s.restart();
});

const body = async (p) => {
  const r = await srv.api('GET', p);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json');
  return r.text;
};

// The record as PocketBase exports it: its keys sorted, hidden fields out.
const exported = (rec, drop = []) => {
  const out = {};
  for (const k of Object.keys(rec).filter((k) => !drop.includes(k)).sort()) out[k] = rec[k];
  return JSON.stringify(out);
};

describe('e.json', () => {
  test('strings, unicode, numbers, arrays and nested objects byte for byte', async () => {
    assert.equal(await body('/api/json/scalars'),
      '["<a>&\'\\"\u2028\u2029\\u0001\\u001f\u007f é 😀 \\\\ / \\b\\f\\n\\r\\t",' +
      '1,1.5,1e-7,123456789012345680000,0.30000000000000004,9007199254740992,9007199254740994,-5,' +
      '1e+300,1e+21,0.000001,5e-324,-0,3,-1.25e-10,null,true,false,[],{},[[1,[2]]],{"a":{"b":[1]}},[null]]');
    assert.equal(await body('/api/json/string'), '"x<y"');
    assert.equal(await body('/api/json/number'), '12.5');
    assert.equal(await body('/api/json/undefined'), 'null');
    assert.equal(await body('/api/json/undefined-prop'), '{"u":null}');
    assert.equal(await body('/api/json/key'), '{"é\\n\\"k":{"<":1}}');
    assert.equal(await body('/api/json/getter'), '[{"g":5}]');
    assert.equal(await body('/api/json/class'), '[{"x":1}]');
  });

  test('a plain object with several keys', async () => {
    const text = await body('/api/json/object');
    assert.deepEqual(JSON.parse(text), { b: 1, a: [true, 'x'], n: { z: 1, y: { x: [] } }, 10: 1 });
    assert.equal(text.length, '{"b":1,"a":[true,"x"],"n":{"z":1,"y":{"x":[]}},"10":1}'.length);
  });

  test('the body is the value at the call', async () => {
    assert.equal(await body('/api/json/after'), '{"a":[1]}');
  });

  test('a record: its public export with the keys sorted', async () => {
    const rec = await srv.pb.collection('jsondocs').getOne(RECORD);
    assert.equal(rec.secret, 's3cret'); // a superuser sees hidden fields
    const text = await body(`/api/json/record/${RECORD}`);
    assert.equal(text, exported(rec, ['secret']));
    assert.match(text, /^\{"author":"ann","body":"line1\\nline2\\ttab","collectionId":/);
    assert.ok(text.includes('"title":"Café <b>&</b> \\"q\\" \u2028 😀"'), text);
  });

  test('records in arrays and objects; hide() leaves fields out', async () => {
    const rec = await srv.pb.collection('jsondocs').getOne(RECORD);
    const one = exported(rec, ['secret']);
    assert.equal(await body(`/api/json/records/${RECORD}`),
      `[${one},{"r":${one}},[${exported(rec, ['body', 'meta', 'secret'])}]]`);
  });

  test('JSON.stringify writes a record the same way', async () => {
    const rec = await srv.pb.collection('jsondocs').getOne(RECORD);
    const r = await srv.api('GET', `/api/json/stringify/${RECORD}`);
    assert.equal(r.text, `{"r":${exported(rec, ['secret'])}}`);
  });

  test('an auth record: no password or token key, no email unless visible', async () => {
    const su = await srv.pb.collection('_superusers').getFirstListItem(`email = "${SUPERUSER_EMAIL}"`);
    assert.equal(su.emailVisibility, false);
    assert.equal(await body('/api/json/superuser'), `{"su":${exported(su, ['email'])}}`);
  });

  test('a record changed in the handler', async () => {
    const rec = await srv.pb.collection('jsondocs').getOne(RECORD);
    assert.equal(await body(`/api/json/changed/${RECORD}`),
      exported({ ...rec, author: 'bob', zeta: -0.25 }, ['secret']));
  });
});

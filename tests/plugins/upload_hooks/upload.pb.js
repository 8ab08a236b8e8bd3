/// <reference path="../pb_data/types.d.ts" />
// e.findUploadedFiles(field) in record create and update request hooks
// (tests/sdk/hooks_uploads.test.mjs): the request's new uploads under that
// form key, as PocketBase's filesystem.File values.

onRecordCreateRequest((e) => {
  const seen = require(`${__hooks}/lib/seen.js`);
  const t = e.record.getString("title");
  $app.store().set("create:" + t, { doc: seen(e, "doc"), other: seen(e, "other") });
  if (t === "too-big") {
    for (const f of e.findUploadedFiles("doc")) {
      if (f.size > 10) throw new BadRequestError("file too large: " + f.originalName);
    }
  }
  e.next();
}, "uh_docs");

onRecordUpdateRequest((e) => {
  const seen = require(`${__hooks}/lib/seen.js`);
  const t = e.record.getString("title");
  $app.store().set("update:" + t, { doc: seen(e, "doc"), plus: seen(e, "doc+") });
  e.next();
}, "uh_docs");

routerAdd("GET", "/api/uh/store/{key}", (e) => {
  const k = e.request.pathValue("key");
  return e.json(200, { has: $app.store().has(k), value: $app.store().get(k) });
});

// A custom route: PocketBase finds the files; Cairn does not support it yet
// and says so.
routerAdd("POST", "/api/uh/route", (e) => {
  const seen = require(`${__hooks}/lib/seen.js`);
  return e.json(200, seen(e, "doc"));
});

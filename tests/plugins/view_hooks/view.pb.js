/// <reference path="../pb_data/types.d.ts" />
// onRecordViewRequest around GET /api/collections/{c}/records/{id}
// (tests/sdk/hooks_view.test.mjs).

onRecordViewRequest((e) => {
  const t = e.record.getString("title");
  $app.store().set("view:" + t, e.auth ? e.auth.email() : "guest");
  if (t === "hide") return;
  if (t === "custom") return e.json(200, { v: 1 });
  if (t === "secret") throw new ForbiddenError("not this one");
  if (t === "shaped") {
    e.record.set("title", "shaped by the hook");
    e.record.hide("note");
  }
  e.next();
}, "vh_items");

routerAdd("GET", "/api/vh/store/{key}", (e) => {
  const k = e.request.pathValue("key");
  return e.json(200, { has: $app.store().has(k), value: $app.store().get(k) });
});

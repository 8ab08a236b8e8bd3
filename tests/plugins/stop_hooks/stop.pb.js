/// <reference path="../pb_data/types.d.ts" />
// Handlers that do not call e.next() (tests/sdk/hooks_stop.test.mjs): a
// request hook answers with what it wrote (or 200 and an empty body), a
// model hook lets the API answer as if it had written. Nothing is written.

onRecordCreateRequest((e) => {
  const t = e.record.getString("title");
  if (t === "no-next") return;
  if (t === "json") return e.json(201, { custom: true });
  if (t === "text") return e.string(202, "hi");
  e.next();
}, "st_items");
onRecordCreate((e) => { if (e.record.getString("title") === "model-no-next") return; e.next(); }, "st_items");
onRecordUpdateRequest((e) => { if (e.record.getString("title") === "no-next") return; e.next(); }, "st_items");
onRecordUpdate((e) => { if (e.record.getString("title") === "model-no-next") return; e.next(); }, "st_items");
onRecordDeleteRequest((e) => { if (e.record.getString("title") === "keep") return; e.next(); }, "st_items");
onRecordDelete((e) => { if (e.record.getString("title") === "keep-model") return; e.next(); }, "st_items");
onRecordAfterCreateSuccess((e) => { $app.store().set("after:" + e.record.getString("title"), true); e.next(); }, "st_items");

onBatchRequest((e) => { if (e.batch.length === 3) return; e.next(); });

onCollectionCreateRequest((e) => { if (e.collection.name === "st_nonext") return; e.next(); });
onCollectionCreate((e) => { if (e.collection.name === "st_nonext_model") return; e.next(); });
onCollectionAfterCreateSuccess((e) => { $app.store().set("cafter:" + e.collection.name, true); e.next(); });
onCollectionDeleteRequest((e) => { if (e.collection.name === "st_keep") return e.json(409, { kept: true }); e.next(); });
onCollectionDelete((e) => { if (e.collection.name === "st_keep_model") return; e.next(); });

routerAdd("GET", "/api/st/mw", (e) => e.json(200, { handler: true }), (e) => { /* does not call e.next() */ });
routerAdd("GET", "/api/st/store/{key}", (e) => {
  const k = e.request.pathValue("key");
  return e.json(200, { has: $app.store().has(k) });
});

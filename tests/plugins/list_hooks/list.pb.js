/// <reference path="../pb_data/types.d.ts" />
// onRecordsListRequest around GET /api/collections/{c}/records
// (tests/sdk/hooks_list.test.mjs). The test picks a branch with ?mode=.

onRecordsListRequest((e) => {
  const mode = e.requestInfo().query["mode"] || "";
  $app.store().set("list:" + mode, { n: e.records.length, auth: e.auth ? e.auth.email() : "guest", collection: e.collection.name });
  if (mode === "info") {
    const r = e.result;
    return e.json(200, {
      n: e.records.length, first: e.records[0].getString("title"), keys: Object.keys(r).sort(),
      page: r.page, perPage: r.perPage, totalItems: r.totalItems, totalPages: r.totalPages,
      sameArray: r.items === e.records, sameRecords: r.items.every((x, i) => x === e.records[i]),
      json: JSON.parse(JSON.stringify(r)).items.map((x) => x.title),
    });
  }
  if (mode === "set") { e.records[0].set("title", "changed"); e.records[1].hide("note"); }
  if (mode === "reassign") e.records = e.records.slice(1);
  if (mode === "items") e.result.items = [e.records[2]];
  if (mode === "plain") e.result.items = [{ x: 1 }];
  if (mode === "total") { e.result.totalItems = 99; e.result.page = 7; }
  if (mode === "stop") return;
  if (mode === "throw") throw new BadRequestError("no list");
  if (mode === "custom") return e.json(201, { custom: true });
  if (mode === "after") { e.next(); e.records[0].set("title", "after"); return; }
  e.next();
}, "lh_items");

routerAdd("GET", "/api/lh/store/{key}", (e) => {
  const k = e.request.pathValue("key");
  return e.json(200, { has: $app.store().has(k), value: $app.store().get(k) });
});

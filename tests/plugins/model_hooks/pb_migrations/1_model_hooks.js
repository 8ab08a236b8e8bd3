/// <reference path="../pb_data/types.d.ts" />
// Creates the collections of the model-hook tests and seeds one record:
// the save fires the record hooks of pb_hooks/model.pb.js.
migrate((app) => {
  const open = { listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "" };
  app.save(new Collection(Object.assign({ name: "mh_items", type: "base",
    fields: [{ name: "title", type: "text", required: true }, { name: "note", type: "text" }] }, open)));
  app.save(new Collection(Object.assign({ name: "mh_log", type: "base",
    fields: [{ name: "msg", type: "text" }, { name: "n", type: "number" }] }, open)));
  const r = new Record(app.findCollectionByNameOrId("mh_items"));
  r.set("title", "seed");
  app.save(r);
  const l = new Record(app.findCollectionByNameOrId("mh_log"));
  l.set("msg", "migration end");
  l.set("n", app.countRecords("mh_log") + 1);
  app.save(l);
}, (app) => {});

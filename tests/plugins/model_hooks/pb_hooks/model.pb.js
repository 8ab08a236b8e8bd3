/// <reference path="../pb_data/types.d.ts" />
// Record hooks around $app.save / $app.delete (in routes and migrations)
// and the REST endpoints, PocketBase's order: onRecordCreate → validate →
// execute → write, then after-success or after-error.

function note(e, s) { e.record.set("note", e.record.getString("note") + s); }
function log(msg) {
  const l = new Record($app.findCollectionByNameOrId("mh_log"));
  l.set("msg", msg);
  l.set("n", $app.countRecords("mh_log") + 1);
  $app.save(l);
}
// The migration's engine has no app store in Cairn: only routes use it.
function mark(e, key, value) {
  const t = e.record.getString("title");
  if (t !== "seed") $app.store().set(key + ":" + (t || "empty"), value);
}

onRecordCreate((e) => {
  if (e.record.getString("title") === "stop") return; // no e.next(): nothing written
  e.record.set("note", e.record.getString("note") + "[create]");
  e.next();
  if (e.record.getString("title") !== "seed") {
    $app.store().set("afterNext:" + e.record.getString("title"), e.record.isNew());
  }
  if (e.record.getString("title") === "undo") throw new BadRequestError("undo after next");
}, "mh_items");

onRecordValidate((e) => {
  if (e.record.getString("title") === "refuse") throw new BadRequestError("refused by validate");
  e.record.set("note", e.record.getString("note") + "[validate]");
  e.next();
}, "mh_items");

onRecordCreateExecute((e) => {
  e.record.set("note", e.record.getString("note") + "[execute]");
  e.next();
}, "mh_items");

onRecordAfterCreateSuccess((e) => {
  const l = new Record($app.findCollectionByNameOrId("mh_log"));
  l.set("msg", "created " + e.record.getString("title"));
  l.set("n", $app.countRecords("mh_log") + 1);
  $app.save(l);
  if (e.record.getString("title") !== "seed") $app.store().set("after:" + e.record.getString("title"), true);
  e.next();
}, "mh_items");

onRecordAfterCreateError((e) => {
  const t = e.record.getString("title");
  $app.store().set("error:" + (t || "empty"), !!e.error);
  e.next();
}, "mh_items");

onRecordUpdate((e) => {
  e.record.set("note", e.record.getString("note") + "[update]");
  e.next();
}, "mh_items");

onRecordUpdateExecute((e) => {
  e.record.set("note", e.record.getString("note") + "[uexec]");
  e.next();
}, "mh_items");

onRecordAfterUpdateSuccess((e) => {
  $app.store().set("updated:" + e.record.getString("title"), e.record.getString("note"));
  e.next();
}, "mh_items");

onRecordDelete((e) => {
  if (e.record.getString("title") === "keep") throw new BadRequestError("keep me");
  $app.store().set("deleting:" + e.record.getString("title"), true);
  e.next();
}, "mh_items");

onRecordDeleteExecute((e) => {
  $app.store().set("deleteExecute:" + e.record.getString("title"), true);
  e.next();
}, "mh_items");

onRecordAfterDeleteSuccess((e) => {
  $app.store().set("deleted:" + e.record.getString("title"), true);
  e.next();
}, "mh_items");

onRecordAfterDeleteError((e) => {
  $app.store().set("deleteError:" + e.record.getString("title"), !!e.error);
  e.next();
}, "mh_items");

routerAdd("POST", "/api/mh/save", (e) => {
  const title = e.requestInfo().body.title;
  const r = new Record($app.findCollectionByNameOrId("mh_items"));
  r.set("title", title);
  let failed = false;
  try { $app.save(r); } catch (err) { failed = true; }
  const s = $app.store();
  return e.json(200, {
    isNew: r.isNew(), note: r.getString("note"), failed: failed,
    afterNext: s.get("afterNext:" + title), after: s.has("after:" + title),
    error: s.get("error:" + (title || "empty")),
  });
});

routerAdd("POST", "/api/mh/update/{id}", (e) => {
  const r = $app.findRecordById("mh_items", e.request.pathValue("id"));
  r.set("title", e.requestInfo().body.title);
  $app.save(r);
  return e.json(200, { note: r.getString("note"), after: $app.store().get("updated:" + r.getString("title")) });
});

routerAdd("POST", "/api/mh/delete/{id}", (e) => {
  const r = $app.findRecordById("mh_items", e.request.pathValue("id"));
  const t = r.getString("title");
  let failed = false;
  try { $app.delete(r); } catch (err) { failed = true; }
  const s = $app.store();
  return e.json(200, { failed: failed, deleting: s.has("deleting:" + t), execute: s.has("deleteExecute:" + t),
    deleted: s.has("deleted:" + t), deleteError: s.get("deleteError:" + t) });
});

routerAdd("POST", "/api/mh/tx", (e) => {
  let during = null;
  $app.runInTransaction((tx) => {
    const r = new Record(tx.findCollectionByNameOrId("mh_items"));
    r.set("title", "tx");
    tx.save(r);
    during = $app.store().has("after:tx");
  });
  return e.json(200, { during: during, after: $app.store().has("after:tx") });
});

routerAdd("GET", "/api/mh/store/{key}", (e) => {
  return e.json(200, { value: $app.store().get(e.request.pathValue("key")) });
});

routerAdd("POST", "/api/mh/kv", (e) => {
  const s = $app.store();
  const b = e.requestInfo().body;
  if (b.op === "set") s.set(b.key, b.value);
  if (b.op === "remove") s.remove(b.key);
  return e.json(200, { value: s.get(b.key), has: s.has(b.key), all: Object.keys(s.getAll()).filter((k) => k.startsWith("kv")).sort() });
});

routerAdd("GET", "/api/mh/settings", (e) => {
  const s = $app.settings();
  return e.json(200, { appName: s.meta.appName, batch: s.batch.enabled });
});

routerAdd("POST", "/api/mh/settings", (e) => {
  const s = $app.settings();
  s.meta.appName = e.requestInfo().body.appName;
  $app.save(s);
  return e.json(200, { appName: $app.settings().meta.appName });
});

// Every batch: e.batch holds the sub-requests, which a handler may change.
onBatchRequest((e) => {
  for (const r of e.batch) {
    if (r.body && r.body.msg === "refuse") throw new BadRequestError("no such batch");
    if (r.body && r.body.msg) r.body.msg = r.body.msg + "!";
  }
  e.next();
});

// Collection hooks fire for the migration's app.save(collection) too: the
// field added here is part of the saved collection.
onCollectionCreate((e) => {
  e.collection.fields.add(new Field({ name: "tag", type: "text" }));
  e.next();
}, "mh_items");

/// <reference path="../pb_data/types.d.ts" />
// Record hooks and the write transaction (tests/sdk/hooks_tx.test.mjs).
// Handlers cannot see file-scope names, so each one is self-contained; they
// note what they saw in $app.store().

onRecordCreateRequest((e) => {
  const s = $app.store();
  const t = e.record.getString("title");
  if (t === "no-next") return; // stops the write
  e.next();
  // After e.next(): the record is written and visible to the hook's app.
  let seen = true;
  try { e.app.findRecordById("tx_items", e.record.id); } catch (_) { seen = false; }
  s.set("req.seen:" + t, seen);
  s.set("req.isNew:" + t, e.record.isNew());
  if (t === "req-undo") throw new BadRequestError("undo in request hook");
}, "tx_items");

onRecordCreate((e) => {
  const s = $app.store();
  const t = e.record.getString("title");
  const log = (msg) => {
    const l = new Record($app.findCollectionByNameOrId("tx_log"));
    l.set("msg", msg);
    $app.save(l);
  };
  if (t === "spin-before") { const end = Date.now() + 1100; while (Date.now() < end) { /* busy */ } }
  if (t === "log-before-undo") log("before:" + t);
  e.next();
  s.set("model.afterRan:" + t, s.has("after:" + t));
  if (t === "log-after-undo") log("after:" + t);
  if (t === "spin") { while (true) { /* past the budget */ } }
  if (["model-undo", "log-before-undo", "log-after-undo"].includes(t)) throw new BadRequestError("undo in model hook");
}, "tx_items");

onRecordAfterCreateSuccess((e) => { $app.store().set("after:" + e.record.getString("title"), true); e.next(); }, "tx_items");
onRecordAfterCreateError((e) => { $app.store().set("error:" + e.record.getString("title"), !!e.error); e.next(); }, "tx_items");

onRecordUpdate((e) => {
  e.next();
  if (e.record.getString("title") === "upd-undo") throw new BadRequestError("undo update");
}, "tx_items");

onRecordDelete((e) => {
  const t = e.record.getString("title");
  e.next();
  if (t === "del-undo") throw new BadRequestError("undo delete");
}, "tx_items");

routerAdd("GET", "/api/tx/store/{key}", (e) => {
  const s = $app.store();
  const k = e.request.pathValue("key");
  return e.json(200, { has: s.has(k), value: s.get(k) });
});

// $app.runInTransaction: two saves, a find inside, an optional throw.
routerAdd("POST", "/api/tx/run", (e) => {
  const body = e.requestInfo().body;
  const p = body.prefix;
  let seen = null, failed = false, afterDuring = null;
  try {
    $app.runInTransaction((txApp) => {
      for (const n of [1, 2]) {
        const a = new Record(txApp.findCollectionByNameOrId("tx_items"));
        a.set("title", p + "-" + n);
        txApp.save(a);
      }
      seen = txApp.findRecordsByFilter("tx_items", "title ~ {:p}", "", 0, 0, { p: p }).length;
      afterDuring = $app.store().has("after:" + p + "-1");
      if (body.fail) throw new Error("boom");
    });
  } catch (err) { failed = true; }
  const s = $app.store();
  const count = $app.findRecordsByFilter("tx_items", "title ~ {:p}", "", 0, 0, { p: p }).length;
  return e.json(200, { seen, failed, afterDuring, afterNow: s.has("after:" + p + "-1"), errorNow: s.has("error:" + p + "-1"), count });
});

// Nested runInTransaction joins the outer one.
routerAdd("POST", "/api/tx/nested", (e) => {
  const body = e.requestInfo().body;
  const save = (app, title) => {
    const a = new Record(app.findCollectionByNameOrId("tx_items"));
    a.set("title", title);
    app.save(a);
  };
  let failed = false, seen = null, settings = null;
  try {
    $app.runInTransaction((outer) => {
      save(outer, body.prefix + "-outer");
      outer.runInTransaction((inner) => save(inner, body.prefix + "-inner"));
      seen = outer.findRecordsByFilter("tx_items", "title ~ {:p}", "", 0, 0, { p: body.prefix }).length;
      if (body.settings) {
        try { $app.save($app.settings()); settings = "saved"; } catch (err) { settings = String(err.message || err); }
      }
      if (body.fail) throw new Error("boom");
    });
  } catch (err) { failed = true; }
  const count = $app.findRecordsByFilter("tx_items", "title ~ {:p}", "", 0, 0, { p: body.prefix }).length;
  return e.json(200, { failed, seen, count, settings });
});

/// <reference path="../pb_data/types.d.ts" />
// Collection hooks around the collections API (tests/sdk/hooks_collections.test.mjs).

onCollectionCreateRequest((e) => {
  const s = $app.store();
  const name = e.collection.name;
  if (name === "hc_refused") throw new BadRequestError("no such collections");
  if (name === "hc_stamped") e.collection.listRule = "";
  s.set("req.before:" + name, e.collection.id || "");
  e.next();
  s.set("req.after:" + name, e.collection.id);
  s.set("req.afterSuccessRan:" + name, s.has("after:" + name));
  if (name === "hc_thrown") throw new BadRequestError("thrown after next");
});

onCollectionCreate((e) => {
  const s = $app.store();
  if (e.collection.name.startsWith("hc_model_refused")) throw new BadRequestError("refused by the model hook");
  s.set("model:" + e.collection.name, (s.get("model:" + e.collection.name) || "") + "[create]");
  e.next();
});

onCollectionValidate((e) => {
  const s = $app.store();
  s.set("model:" + e.collection.name, (s.get("model:" + e.collection.name) || "") + "[validate]");
  e.next();
});

onCollectionCreateExecute((e) => {
  const s = $app.store();
  s.set("model:" + e.collection.name, (s.get("model:" + e.collection.name) || "") + "[execute]");
  e.next();
});

onCollectionAfterCreateSuccess((e) => {
  $app.store().set("after:" + e.collection.name, true);
  e.next();
});

onCollectionAfterCreateError((e) => {
  $app.store().set("error:" + e.collection.name, !!e.error);
  e.next();
});

// Tagged: only for the collection named hc_tagged.
onCollectionAfterCreateSuccess((e) => {
  $app.store().set("tagged:" + e.collection.name, true);
  e.next();
}, "hc_tagged");

onCollectionUpdateRequest((e) => {
  if (e.collection.name === "hc_locked") throw new ForbiddenError("locked");
  e.collection.viewRule = "";
  e.next();
  $app.store().set("updated:" + e.collection.name, e.collection.viewRule);
});

onCollectionAfterUpdateSuccess((e) => {
  $app.store().set("afterUpdate:" + e.collection.name, true);
  e.next();
});

onCollectionDeleteRequest((e) => {
  if (e.collection.name === "hc_keep") throw new BadRequestError("keep me");
  e.next();
});

onCollectionAfterDeleteSuccess((e) => {
  $app.store().set("deleted:" + e.collection.name, true);
  e.next();
});

routerAdd("GET", "/api/hc/store/{key}", (e) => {
  const s = $app.store();
  const k = e.request.pathValue("key");
  return e.json(200, { has: s.has(k), value: s.get(k) });
});

onCollectionUpdate((e) => {
  const s = $app.store();
  s.set("model:" + e.collection.name, (s.get("model:" + e.collection.name) || "") + "[update]");
  e.next();
});

onCollectionDelete((e) => {
  const s = $app.store();
  s.set("model:" + e.collection.name, (s.get("model:" + e.collection.name) || "") + "[delete]");
  e.next();
});

// $app.save(collection) / $app.delete(collection) in a script run the
// model-level collection hooks (not the request hooks).
routerAdd("POST", "/api/hc/script", (e) => {
  const name = e.requestInfo().body.name;
  const c = new Collection({ name: name, type: "base", fields: [{ name: "title", type: "text" }] });
  $app.save(c);
  const created = $app.store().get("model:" + name);
  c.listRule = "";
  $app.save(c);
  const updated = $app.store().get("model:" + name);
  let refusedModel = null;
  try { $app.save(new Collection({ name: "hc_model_refused_script", type: "base" })); } catch (err) { refusedModel = String(err.message || err); }
  $app.delete(c);
  return e.json(200, { created: created, updated: updated, id: c.id, listRule: c.listRule, refusedModel: refusedModel });
});

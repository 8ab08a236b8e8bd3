/// <reference path="../pb_data/types.d.ts" />
// onRecordAuthRequest around every sign-in's answer (tests/sdk/hooks_auth.test.mjs).

onRecordAuthRequest((e) => {
  const email = e.record.email();
  $app.store().set("auth:" + email, {
    method: e.authMethod,
    token: typeof e.token === "string" && e.token.length > 20,
    meta: e.meta === undefined ? "undefined" : e.meta,
    collection: e.collection.name,
  });
  if (email === "blocked@example.com") throw new ForbiddenError("blocked by a hook");
  if (email === "stop@example.com") return;
  if (email === "custom@example.com") return e.json(200, { custom: e.authMethod });
  if (email === "shaped@example.com") {
    e.record.set("name", "changed by the hook");
    e.record.hide("verified");
  }
  e.next();
}, "ah_users");

// Untagged: sees every auth collection.
onRecordAuthRequest((e) => {
  $app.store().set("any:" + e.collection.name, e.record.email());
  e.next();
});

routerAdd("GET", "/api/ah/store/{key}", (e) => {
  const k = e.request.pathValue("key");
  return e.json(200, { has: $app.store().has(k), value: $app.store().get(k) });
});

// A custom sign-in route, as real projects write it.
routerAdd("POST", "/api/ah/login", (e) => {
  const body = e.requestInfo().body;
  const record = $app.findAuthRecordByEmail("ah_users", body.email);
  if (!record.validatePassword(body.password)) throw new BadRequestError("invalid credentials");
  return $apis.recordAuthResponse(e, record, "custom", body.meta);
});

routerAdd("GET", "/api/ah/token/{id}", (e) => {
  const record = $app.findRecordById("ah_users", e.request.pathValue("id"));
  return e.json(200, { token: record.newAuthToken() });
});

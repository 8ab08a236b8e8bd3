// pb_hooks: registration (loader engine) and dispatch (worker engines).
//
// As in PocketBase, a file's top level runs once in a loader; each handler
// is kept as its source text and compiled again in every worker, so
// handlers cannot see file-scope variables (share through require()).

let __reg = { routes: [], middlewares: [], hooks: [], crons: [] };

function __src(fn, what) {
  if (typeof fn === "function") return { src: String(fn) };
  if (fn && fn.__builtin) return { builtin: fn.__builtin, args: fn.args || [] };
  if (fn instanceof Middleware) return __src(fn.fn, what);
  throw new Error(what + ": expected a function");
}
class Middleware {
  constructor(fn, priority, id) { this.fn = fn; this.priority = priority || 0; this.id = id || ""; }
}
function routerAdd(method, path, handler, ...middlewares) {
  __reg.routes.push({
    method: String(method).toUpperCase(),
    path: String(path),
    handler: __src(handler, "routerAdd"),
    middlewares: middlewares.map((m) => __src(m, "routerAdd middleware")),
  });
}
function routerUse(...middlewares) {
  for (const m of middlewares) __reg.middlewares.push(__src(m, "routerUse"));
}
// Cron registrations are kept as an ordered list of adds and removes: the
// generation applies them across files in file order, as PocketBase's one
// scheduler does (a later file may replace or remove an earlier file's job,
// or a built-in job). A bad expression fails the file's load, as in PocketBase.
function cronAdd(id, expr, handler) {
  id = String(id);
  expr = String(expr);
  const bad = __call("cron.check", expr);
  if (bad) throw new Error("[cronAdd] failed to register cron job " + id + ": invalid cron expression " + JSON.stringify(expr) + ": " + bad);
  __reg.crons.push({ id: id, expr: expr, handler: __src(handler, "cronAdd") });
}
function cronRemove(id) { __reg.crons.push({ id: String(id), remove: true }); }

// Hooks Cairn fires; every other PocketBase on* name fails loudly.
const __supportedHooks = [
  "onRecordCreate", "onRecordUpdate", "onRecordDelete",
  "onRecordCreateRequest", "onRecordUpdateRequest", "onRecordDeleteRequest",
  "onRecordAfterCreateSuccess", "onRecordAfterUpdateSuccess", "onRecordAfterDeleteSuccess",
  "onRecordValidate", "onRecordCreateExecute", "onRecordUpdateExecute", "onRecordDeleteExecute",
  "onRecordAfterCreateError", "onRecordAfterUpdateError", "onRecordAfterDeleteError",
  "onBootstrap", "onBatchRequest", "onRecordAuthRequest", "onRecordViewRequest", "onRecordsListRequest",
  "onCollectionCreateRequest", "onCollectionUpdateRequest", "onCollectionDeleteRequest",
  "onCollectionCreate", "onCollectionUpdate", "onCollectionDelete", "onCollectionValidate",
  "onCollectionCreateExecute", "onCollectionUpdateExecute", "onCollectionDeleteExecute",
  "onCollectionAfterCreateSuccess", "onCollectionAfterUpdateSuccess", "onCollectionAfterDeleteSuccess",
  "onCollectionAfterCreateError", "onCollectionAfterUpdateError", "onCollectionAfterDeleteError",
  "onMailerSend", "onMailerRecordAuthAlertSend", "onMailerRecordPasswordResetSend",
  "onMailerRecordVerificationSend", "onMailerRecordEmailChangeSend", "onMailerRecordOTPSend",
];
for (const name of __supportedHooks) {
  globalThis[name] = (handler, ...tags) => {
    __reg.hooks.push({ name: name, tags: tags.flat().map(String), handler: __src(handler, name) });
  };
}
for (const name of [
  "onTerminate", "onSettingsReload", "onBackupCreate", "onBackupRestore", "onServe",
  "onModelValidate", "onModelCreate", "onModelCreateExecute", "onModelAfterCreateSuccess", "onModelAfterCreateError",
  "onModelUpdate", "onModelUpdateExecute", "onModelAfterUpdateSuccess", "onModelAfterUpdateError",
  "onModelDelete", "onModelDeleteExecute", "onModelAfterDeleteSuccess", "onModelAfterDeleteError",
  "onRecordEnrich",
  "onRecordAuthRefreshRequest", "onRecordAuthWithPasswordRequest",
  "onRecordAuthWithOAuth2Request", "onRecordAuthWithOTPRequest", "onRecordRequestOTPRequest",
  "onRecordRequestPasswordResetRequest", "onRecordConfirmPasswordResetRequest",
  "onRecordRequestVerificationRequest", "onRecordConfirmVerificationRequest",
  "onRecordRequestEmailChangeRequest", "onRecordConfirmEmailChangeRequest",
  "onCollectionsListRequest", "onCollectionViewRequest", "onCollectionsImportRequest",
  "onFileDownloadRequest", "onFileTokenRequest", "onRealtimeConnectRequest",
  "onRealtimeSubscribeRequest", "onRealtimeMessageSend", "onSettingsListRequest", "onSettingsUpdateRequest",
]) {
  globalThis[name] = () => __unsupported(name + "()");
}

// ---------- $apis: built-in middlewares, identified by name ----------
const $apis = {
  requireAuth(...collections) { return { __builtin: "requireAuth", args: collections }; },
  requireSuperuserAuth() { return { __builtin: "requireSuperuserAuth", args: [] }; },
  requireSuperuserOrOwnerAuth(param) { return { __builtin: "requireSuperuserOrOwnerAuth", args: [param || "id"] }; },
  requireGuestOnly() { return { __builtin: "requireGuestOnly", args: [] }; },
  skipSuccessActivityLog() { return { __builtin: "noop", args: [] }; },
  gzip() { return { __builtin: "noop", args: [] }; },
  bodyLimit() { return { __builtin: "noop", args: [] }; },
  static() { __unsupported("$apis.static"); },
  // A custom sign-in's answer, as the built-in ones: the collection's
  // authRule, onRecordAuthRequest, then {token, record, meta}.
  recordAuthResponse(e, record, method, meta) {
    const collection = record.collection();
    const a = __call("auth.answer", { collection: collection.id, id: record.id });
    const ev = __requestEvent(e.__ev || {});
    ev.collection = collection;
    ev.record = new Record(collection, null).__loadStored(a.record);
    ev.token = a.token;
    ev.meta = meta === undefined ? null : meta;
    ev.authMethod = method || "";
    if (!__chain(ev, __hookFns("onRecordAuthRequest", collection), () => {})) {
      e.__res = ev.__res || { status: 200, type: "", body: "" };
      return;
    }
    const out = { token: String(ev.token || ""), record: ev.record.publicExport() };
    if (ev.meta !== null && ev.meta !== undefined) out.meta = ev.meta;
    e.json(200, out);
  },
  enrichRecord() { __unsupported("$apis.enrichRecord"); },
  enrichRecords() { __unsupported("$apis.enrichRecords"); },
};
const __builtins = {
  noop: () => (e) => e.next(),
  requireAuth: (collections) => (e) => {
    if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
    if (collections.length && !collections.includes(e.auth.collection().name)) {
      throw new ForbiddenError("The authorized record is not allowed to perform this action.");
    }
    return e.next();
  },
  requireSuperuserAuth: () => (e) => {
    if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
    if (!e.hasSuperuserAuth()) throw new ForbiddenError("The authorized record is not allowed to perform this action.");
    return e.next();
  },
  requireSuperuserOrOwnerAuth: (param) => (e) => {
    if (!e.auth) throw new UnauthorizedError("The request requires valid record authorization token.");
    if (!e.hasSuperuserAuth() && e.auth.id !== e.request.pathValue(param)) {
      throw new ForbiddenError("The authorized record is not allowed to perform this action.");
    }
    return e.next();
  },
  requireGuestOnly: () => (e) => {
    if (e.auth) throw new BadRequestError("The request can be accessed only by guests.");
    return e.next();
  },
};

// ---------- $http ----------
const $http = {
  send(config) {
    const c = config || {};
    const body = c.body === undefined || c.body === null ? "" : (typeof c.body === "string" ? c.body : JSON.stringify(c.body));
    const r = __call("http.send", {
      url: String(c.url || ""), method: String(c.method || "GET").toUpperCase(),
      body: body, headers: c.headers || {}, timeout: Number(c.timeout || 120),
    });
    let json = null;
    try { json = JSON.parse(r.body); } catch (_) { json = null; }
    const raw = r.body;
    return { statusCode: r.statusCode, headers: r.headers, cookies: {}, json: json, body: toBytes(raw), raw: raw };
  },
};

// ---------- $template (Go html/template syntax, rendered by the host) ----------
function __templateSet(source) {
  return {
    render(data) {
      return __call("template.render", Object.assign({ data: data }, source));
    },
  };
}
const $template = {
  loadFiles(...files) { return __templateSet({ files: files.map(String) }); },
  loadString(text) { return __templateSet({ text: String(text) }); },
  loadFS() { __unsupported("$template.loadFS"); },
};

// ---------- $mails and the mailer hooks ----------
// As PocketBase: a record mail runs its onMailerRecord*Send chain, whose
// last step is the mail client's send; that runs the onMailerSend chain,
// whose last step hands the message to the host (sent before it returns).
class MailerMessage {
  constructor(d) {
    d = d || {};
    this.from = d.from || { address: "", name: "" };
    this.to = d.to || [];
    this.bcc = d.bcc || [];
    this.cc = d.cc || [];
    this.subject = d.subject || "";
    this.html = d.html || "";
    this.text = d.text || "";
    this.headers = d.headers || {};
    this.attachments = d.attachments || {};
    this.inlineAttachments = d.inlineAttachments || {};
  }
}
function __mailClient() {
  return {
    send(message) {
      const e = { app: $app, mailer: this, message: message };
      __chain(e, __compiled.hooks.filter((h) => h.name === "onMailerSend").map((h) => h.fn),
        (ev) => { __call("mailer.send", JSON.parse(JSON.stringify(ev.message))); });
    },
  };
}
function __mailerRecordChain(name, collection, record, message, meta) {
  const e = { app: $app, mailer: __mailClient(), message: new MailerMessage(message), record: record, collection: collection, meta: meta || {} };
  __chain(e, __hooksFor([name], collection).map((h) => h.fn), (ev) => ev.mailer.send(ev.message));
}
// An auth mail of the REST flows, handed over by the host (mailer.rs).
function __runMailerRecord(payload) {
  const p = JSON.parse(payload);
  const collection = new Collection(p.collection);
  __mailerRecordChain(p.name, collection, new Record(collection, null).__loadStored(p.record), p.message, p.meta);
  return "null";
}
function __mailsSend(kind, record, extra) {
  if (!record || typeof record.collection !== "function") throw new Error("$mails: expected an auth record");
  const c = __call("mails.compose", Object.assign({ kind: kind, collection: record.collection().id, id: record.id }, extra));
  __mailerRecordChain(c.hook, record.collection(), record, c.message, c.meta);
}
$mails = {
  sendRecordPasswordReset(app, record) { __mailsSend("passwordReset", record, {}); },
  sendRecordVerification(app, record) { __mailsSend("verification", record, {}); },
  sendRecordChangeEmail(app, record, newEmail) { __mailsSend("emailChange", record, { newEmail: String(newEmail || "") }); },
  sendRecordOTP(app, record, otpId, pass) { __mailsSend("otp", record, { otpId: String(otpId || ""), pass: String(pass || "") }); },
  sendRecordAuthAlert(app, record, info) { __mailsSend("authAlert", record, { info: String(info || "") }); },
};

// ---------- worker side ----------
let __compiled = { routes: [], middlewares: [], hooks: [], crons: [] };
function __fn(d) {
  if (d.builtin) {
    const make = __builtins[d.builtin];
    if (!make) __unsupported(d.builtin);
    return make(...(d.builtin === "requireAuth" ? [d.args] : d.args));
  }
  return (0, eval)("(" + d.src + ")");
}
function __install(table) {
  const t = JSON.parse(table);
  // Compiled lazily: a handler that fails to compile fails its own calls only.
  const lazy = (d) => { let f = null; return (e) => { if (!f) f = __fn(d); return f(e); }; };
  __compiled = {
    routes: t.routes.map((r) => ({ handler: lazy(r.handler), middlewares: r.middlewares.map(lazy) })),
    middlewares: t.middlewares.map(lazy),
    hooks: t.hooks.map((h) => ({ name: h.name, tags: h.tags, fn: lazy(h.handler) })),
    crons: t.crons.map((c) => ({ id: c.id, fn: lazy(c.handler) })),
  };
  // Each route's whole chain (global middlewares, its own, the handler), once.
  for (const r of __compiled.routes) r.chain = __compiled.middlewares.concat(r.middlewares, [r.handler]);
}

function __capitalize(msg) {
  msg = String(msg || "").trim();
  if (!msg) return msg;
  msg = msg[0].toUpperCase() + msg.slice(1);
  return /[.!?]$/.test(msg) ? msg : msg + ".";
}

function __authRecord(a) {
  if (!a) return null;
  return new Record(new Collection(a.collection), null).__loadStored(a.record);
}

// The request event of routes and request hooks. Methods live on the
// prototypes (built once per engine); a request carries only its own state,
// and headers, query, auth and the response helpers are made on first use.
// `ev` is what the host sent: {method, path, rawQuery, params, body, ip}
// plus either `headerText` ("name: value" lines) / `authText` (JSON) from
// the route bridge, or `headers` / `query` / `auth` objects.
function __headersOf(ev) {
  if (ev.__h) return ev.__h;
  const h = {};
  if (ev.headers) {
    for (const k of Object.keys(ev.headers)) h[k.toLowerCase()] = ev.headers[k];
  } else if (ev.headerText) {
    for (const line of ev.headerText.split("\n")) {
      const i = line.indexOf(": ");
      if (i > 0) h[line.slice(0, i)] = line.slice(i + 2);
    }
  }
  return (ev.__h = h);
}
function __queryOf(ev) {
  if (ev.__q) return ev.__q;
  return (ev.__q = ev.query || (ev.rawQuery ? __call("url.query", ev.rawQuery) : {}));
}
class __UrlQuery {
  constructor(q) { this.__q = q; }
  get(k) { const v = this.__q[k]; return v && v.length ? v[0] : ""; }
  has(k) { return k in this.__q; }
  values(k) { return this.__q[k] || []; }
}
class __HeaderView {
  constructor(ev) { this.__ev = ev; }
  get(k) { return __headersOf(this.__ev)[String(k).toLowerCase()] || ""; }
  values(k) { const v = __headersOf(this.__ev)[String(k).toLowerCase()]; return v ? [v] : []; }
}
class __URL {
  constructor(ev) { this.__ev = ev; this.path = ev.path; this.rawQuery = ev.rawQuery || ""; }
  query() { return new __UrlQuery(__queryOf(this.__ev)); }
  string() { return this.path + (this.rawQuery ? "?" + this.rawQuery : ""); }
}
class __Request {
  constructor(ev) { this.__ev = ev; }
  get method() { return this.__ev.method; }
  get remoteAddr() { return this.__ev.ip; }
  get body() { return this.__ev.body; }
  get host() { return __headersOf(this.__ev)["host"] || ""; }
  get header() { return new __HeaderView(this.__ev); }
  get url() { return this.__url || (this.__url = new __URL(this.__ev)); }
  pathValue(name) { const p = this.__ev.params; return (p && p[name]) || ""; }
  cookie(name) {
    const m = new RegExp("(?:^|;\\s*)" + name + "=([^;]*)").exec(__headersOf(this.__ev)["cookie"] || "");
    if (!m) throw new Error("http: named cookie not present");
    return { name: name, value: decodeURIComponent(m[1]) };
  }
}
class __ResponseHeader {
  constructor(e) { this.__e = e; }
  __map() { return this.__e.__headers || (this.__e.__headers = {}); }
  set(k, v) { this.__map()[k] = String(v); }
  get(k) { return this.__map()[k] || ""; }
  add(k, v) { this.__map()[k] = String(v); }
  del(k) { delete this.__map()[k]; }
}
class __Response {
  constructor(e) { this.__e = e; }
  header() { return new __ResponseHeader(this.__e); }
}
// Only `__ev` is set per request: `app` and the empty state (`__auth`,
// `__request`, `__store`, `__res`, `__headers`) are read through the
// prototype until a request sets its own.
class __RequestEvent {
  constructor(ev) { this.__ev = ev; }
  get auth() {
    if (this.__auth === undefined) {
      const ev = this.__ev;
      this.__auth = __authRecord(ev.auth !== undefined ? ev.auth : (ev.authText ? JSON.parse(ev.authText) : null));
    }
    return this.__auth;
  }
  set auth(v) { this.__auth = v; }
  get request() { return this.__request || (this.__request = new __Request(this.__ev)); }
  get response() { return new __Response(this); }
  hasSuperuserAuth() { return !!(this.auth && this.auth.isSuperuser()); }
  isTLS() { return false; }
  realIP() { return this.__ev.ip; }
  remoteIP() { return this.__ev.ip; }
  get(k) { return this.__store ? this.__store[k] : undefined; }
  set(k, v) { (this.__store || (this.__store = {}))[k] = v; }
  requestInfo() {
    const ev = this.__ev;
    let body = {};
    try { body = ev.body ? JSON.parse(ev.body) : {}; } catch (_) { body = {}; }
    const query = __queryOf(ev);
    const q = {};
    for (const k of Object.keys(query)) q[k] = query[k][0];
    const headers = __headersOf(ev);
    const h = {};
    for (const k of Object.keys(headers)) h[k.replace(/-/g, "_")] = headers[k];
    return { auth: this.auth, body: body, query: q, headers: h, method: ev.method, context: "default", hasSuperuserAuth: () => this.hasSuperuserAuth() };
  }
  bindBody(dst) {
    Object.assign(dst, this.requestInfo().body);
    return dst;
  }
  // Written at the call, in Rust, as PocketBase writes it (json_text.rs).
  json(status, data) { this.__res = { status: status, type: "application/json", body: __jsonText(data, Object.prototype, Record.prototype) }; }
  string(status, s) { this.__res = { status: status, type: "text/plain; charset=utf-8", body: String(s) }; }
  html(status, s) { this.__res = { status: status, type: "text/html; charset=utf-8", body: String(s) }; }
  xml(status, data) { this.__res = { status: status, type: "application/xml; charset=utf-8", body: String(data) }; }
  blob(status, type, bytes) { this.__res = { status: status, type: type, body: toString(bytes) }; }
  noContent(status) { this.__res = { status: status || 204, type: "", body: "" }; }
  redirect(status, url) { (this.__headers || (this.__headers = {}))["Location"] = url; this.__res = { status: status, type: "", body: "" }; }
  error(status, message, data) { return new ApiError(status, message, data); }
  badRequestError(message, data) { return new BadRequestError(message, data); }
  notFoundError(message, data) { return new NotFoundError(message, data); }
  forbiddenError(message, data) { return new ForbiddenError(message, data); }
  unauthorizedError(message, data) { return new UnauthorizedError(message, data); }
  // The request's new uploads under form key `key` (hooks/uploads.rs), as
  // PocketBase's filesystem.File values; Go's errors when there are none.
  // Only a REST create or update sets `files` (null when not multipart).
  findUploadedFiles(key) {
    const files = this.__ev.files;
    if (files === undefined) __unsupported("e.findUploadedFiles outside onRecordCreateRequest and onRecordUpdateRequest");
    if (!files) throw new Error("request Content-Type isn't multipart/form-data");
    const out = [];
    for (let i = 0; i < files.length; i++) if (files[i].key === String(key)) out.push(new __File(files[i], i));
    if (!out.length) throw new Error("http: no such file");
    return out;
  }
  next() {}
}
function __requestEvent(ev) { return new __RequestEvent(ev); }
// filesystem.File: `reader.open()` gives what toString(reader, max) and
// toBytes(reader) read (the host's `upload.read`); close() is a no-op.
class __File {
  constructor(f, i) {
    this.name = f.name;
    this.originalName = f.originalName;
    this.size = f.size;
    this.reader = { open: () => ({ __upload: i, close() {}, read() { __unsupported("reader.read"); } }) };
  }
}

// Runs `list` (functions of e) as a chain: each calls e.next() to go on.
// `e.next` is put back as it was once the chain has run: the closure and
// `e` refer to each other, a cycle only QuickJS's collector would free,
// and a request's whole event graph with it (issue 15: the collector ran
// every few requests, ~7k instructions a request).
function __chain(e, list, last) {
  let i = 0;
  let finished = false;
  const prev = e.next;
  e.next = () => {
    if (i < list.length) { const f = list[i++]; return f(e); }
    if (!finished) { finished = true; if (last) return last(e); }
  };
  try {
    e.next();
  } finally {
    e.next = prev;
  }
  return finished || (!last && i >= list.length);
}

function __errorResponse(err) {
  if (err && err.__apiError) {
    return { status: err.status, type: "application/json", body: JSON.stringify({ data: err.data || {}, message: __capitalize(err.message), status: err.status }), log: "" };
  }
  return { status: 400, type: "application/json", body: JSON.stringify({ data: {}, message: "Something went wrong while processing your request.", status: 400 }), log: String(err && err.stack ? err + "\n" + err.stack : err) };
}

// Shape ladders. QuickJS finds an object's next shape (its properties
// after one more is added) only among shapes alive now, and frees a shape
// with its last object; so when a request's objects were freed, the next
// request built every shape again, property by property (issue 15's
// benchmark: ~29 new shapes a request, ~10k instructions), even the
// intermediate ones of an object literal. One object for each prefix of
// the objects every route call makes, in the order it adds their
// properties, kept for the engine's life, keeps those shapes alive.
const __shapeLadders = [];
function __ladder(proto, keys) {
  let o = Object.create(proto);
  for (const k of keys) {
    o = Object.assign(Object.create(proto), o);
    o[k] = null;
    __shapeLadders.push(o);
  }
}
__ladder(Object.prototype, ["method", "path", "rawQuery", "params", "headerText", "body", "ip", "authText", "__h", "__q"]);
__ladder(Object.prototype, ["method", "path", "rawQuery", "params", "headerText", "body", "ip", "authText", "__q", "__h"]);
__ladder(__RequestEvent.prototype, ["__ev", "next", "__request", "__res", "headers"]);
__ladder(__RequestEvent.prototype, ["__ev", "next", "__res"]);
__ladder(__RequestEvent.prototype, ["__ev", "__request", "__res"]);
__ladder(__Request.prototype, ["__ev", "__url"]);
__ladder(Object.prototype, ["status", "type", "body"]);
__ladder(Object.prototype, ["status", "type", "body", "log"]);
__ladder(Record.prototype, ["__collection", "__data", "__original", "__persisted", "__hidden"]);
// A route call from the host (bridge.rs): `idx` in the route table and the
// request's parts; returns [status, type, body, headers, log] (an array:
// the host reads it by index, without a property name to look up).
// A route without middlewares is its handler alone, called as it is: its
// `e.next()` is the prototype's, which does nothing, as the end of
// `__chain` does; no closure, no `e.next` of its own (issue 15: ~3k
// instructions a request).
function __runRoute(idx, method, path, rawQuery, params, headerText, body, ip, authText, schema) {
  // (`__h` and `__q`, the parsed headers and query, are added when read.)
  const ev = { method: method, path: path, rawQuery: rawQuery, params: params, headerText: headerText, body: body, ip: ip, authText: authText };
  __schemaGen = schema;
  const chain = __compiled.routes[idx].chain;
  const e = new __RequestEvent(ev);
  let r;
  try {
    if (chain.length === 1) chain[0](e);
    else __chain(e, chain, null);
    r = e.__res;
  } catch (err) {
    if (err && err.message === "sql: no rows in result set") err = new NotFoundError();
    r = __errorResponse(err);
  }
  __schemaGen = -1;
  return r ? [r.status, r.type, r.body, e.__headers, r.log] : [200, "", "", e.__headers, ""];
}

function __hooksFor(names, collection) {
  return __compiled.hooks.filter((h) => names.includes(h.name) &&
    (!h.tags.length || h.tags.includes(collection.name) || h.tags.includes(collection.id)));
}

// The hooks before a REST write, in chain order: request hooks, then model hooks.
const __beforeNames = {
  create: ["onRecordCreateRequest", "onRecordCreate", "onRecordValidate", "onRecordCreateExecute"],
  update: ["onRecordUpdateRequest", "onRecordUpdate", "onRecordValidate", "onRecordUpdateExecute"],
  delete: ["onRecordDeleteRequest", "onRecordDelete", "onRecordDeleteExecute"],
};

// ---------- record hooks around $app.save / $app.delete ----------
// PocketBase's order: onRecordCreate → e.next() → onRecordValidate (unless
// saveNoValidate) → onRecordCreateExecute → the write; then
// onRecordAfterCreateSuccess, or onRecordAfterCreateError with e.error when
// the chain failed. Inside runInTransaction (and a migration) the after
// hooks wait for the outermost transaction's end: success hooks when it
// completes, error hooks (with its error) when it throws.
let __txDepth = 0;
let __txAfter = [];
function __recordNames(action) {
  const a = action[0].toUpperCase() + action.slice(1);
  return { before: "onRecord" + a, execute: "onRecord" + a + "Execute", ok: "onRecordAfter" + a + "Success", err: "onRecordAfter" + a + "Error" };
}
function __hookFns(name, collection) { return __hooksFor([name], collection).map((h) => h.fn); }
// A model's write with its hooks (`names` from __recordNames or
// __collectionNames; `ev` the event's own fields; handlers are tagged by
// `tagOf`'s name or id). After-success hooks run after the write, or when
// the outermost transaction completes; they run too when a handler did not
// call e.next() (the write is skipped), as in PocketBase 0.40.6.
function __modelWrite(names, tagOf, ev, validate, write) {
  const all = [names.before, names.execute, names.ok, names.err].concat(validate ? [validate] : []);
  if (!__hooksFor(all, tagOf).length) return write();
  const event = (extra) => Object.assign({ app: $app }, ev, extra);
  const failed = (error) => __chain(event({ error: error }), __hookFns(names.err, tagOf), () => {});
  try {
    __chain(event(), __hookFns(names.before, tagOf), (e) => {
      // Cairn validates during the write itself; the validate hooks run
      // at PocketBase's point, and a handler may throw to refuse.
      if (validate) __chain(e, __hookFns(validate, tagOf), () => {});
      __chain(e, __hookFns(names.execute, tagOf), () => write());
    });
  } catch (err) {
    failed(err);
    throw err;
  }
  const ok = () => __chain(event({ type: names.ok }), __hookFns(names.ok, tagOf), () => {});
  if (__txDepth > 0) __txAfter.push({ ok: ok, err: failed });
  else ok();
}
function __recordWrite(action, record, validate, write) {
  const collection = record.collection();
  return __modelWrite(__recordNames(action), collection, { record: record, collection: collection }, validate && "onRecordValidate", write);
}
// $app.save(collection) / $app.delete(collection), in hooks and
// migrations: onCollectionCreate (Update, Delete) → onCollectionValidate
// (not for a delete) → onCollection…Execute → the write → after-success.
function __collectionNames(action) {
  const a = action[0].toUpperCase() + action.slice(1);
  return { before: "onCollection" + a, execute: "onCollection" + a + "Execute", ok: "onCollectionAfter" + a + "Success", err: "onCollectionAfter" + a + "Error" };
}
function __collectionWrite(action, collection, validate, write) {
  return __modelWrite(__collectionNames(action), collection, { collection: collection }, validate && action !== "delete" && "onCollectionValidate", write);
}
// As the host decides (store_host collections.save): an update when a
// collection with this id exists.
function __collectionIsNew(c) {
  if (!c.id) return true;
  try { return __call("collections.find", c.id).id !== c.id; } catch (_) { return true; }
}
// runInTransaction: one write transaction on the writer (hooks/tx.rs),
// nested calls joining the outer one, as in PocketBase. Its $app calls go
// to that transaction; a throw rolls it back and is rethrown.
function __inTx(fn) {
  __call("tx.begin");
  __txDepth++;
  let out;
  try {
    out = fn();
  } catch (err) {
    __txDepth--;
    try { __call("tx.end", { commit: false }); } catch (_) { /* already rolled back */ }
    if (__txDepth === 0) __txEnd(err);
    throw err;
  }
  __txDepth--;
  try {
    __call("tx.end", { commit: true });
  } catch (err) {
    if (__txDepth === 0) __txEnd(err);
    throw err;
  }
  if (__txDepth === 0) __txEnd(null);
  return out;
}
// The outermost transaction ended: run the after hooks it held back.
function __txEnd(error) {
  const list = __txAfter;
  __txAfter = [];
  for (const a of list) { if (error) a.err(error); else a.ok(); }
}
__modelHooks = {
  save(record, validate, write) { return __recordWrite(record.isNew() ? "create" : "update", record, validate, write); },
  remove(record, del) { return __recordWrite("delete", record, false, del); },
  saveCollection(c, validate, write) { return __collectionWrite(__collectionIsNew(c) ? "create" : "update", c, validate, write); },
  removeCollection(c, del) { return __collectionWrite("delete", c, false, del); },
  tx(fn) { return __inTx(fn); },
};
// Migrations: the whole run is one transaction (the host calls these).
function __migrationTxBegin() { __txDepth++; return "null"; }
function __migrationTxEnd(error) { __txDepth = 0; __txEnd(error ? new Error(error) : null); return "null"; }

function __runRecordAfter(payload) {
  const p = JSON.parse(payload);
  const collection = new Collection(p.collection);
  const names = __recordNames(p.action);
  const name = p.error ? names.err : names.ok;
  const hooks = __hooksFor([name], collection);
  const e = { app: $app, record: new Record(collection, null).__loadStored(p.record), collection: collection };
  if (p.error) e.error = new Error(p.error);
  __chain(e, hooks.map((h) => h.fn), () => {});
  return "null";
}

// onBatchRequest: e.batch is the list of sub-requests a handler may change.
function __runBatchRequest(payload) {
  const p = JSON.parse(payload);
  const e = __requestEvent(p.event);
  e.batch = p.batch;
  try {
    const done = __chain(e, __compiled.hooks.filter((h) => h.name === "onBatchRequest").map((h) => h.fn), () => {});
    if (!done) return JSON.stringify({ stopped: true, response: __stopResponse(e, false) });
  } catch (err) {
    return JSON.stringify({ error: __errorResponse(err) });
  }
  return JSON.stringify({ batch: e.batch });
}

function __runCron(id) {
  const c = __compiled.crons.find((x) => x.id === id);
  if (c) c.fn();
  return "null";
}

function __runBootstrap() {
  const e = { app: $app };
  __chain(e, __compiled.hooks.filter((h) => h.name === "onBootstrap").map((h) => h.fn), () => {});
  return "null";
}

const $app = __makeApp();
$app.newMailClient = () => __mailClient();
__RequestEvent.prototype.app = $app;

// ---------- require (CommonJS, one cache per engine) ----------
const __modules = {};
function require(p) {
  const r = __call("require.read", String(p));
  if (__modules[r.path]) return __modules[r.path].exports;
  const module = { exports: {} };
  __modules[r.path] = module;
  const fn = (0, eval)("(function (module, exports, require, __filename) {" + r.src + "\n})");
  fn(module, module.exports, require, r.path);
  return module.exports;
}

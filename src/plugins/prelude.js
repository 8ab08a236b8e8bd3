// PocketBase's JavaScript API (0.23+), written over one host function.
// Loaded into every engine before any user file. `__call(op, args)` sends
// JSON to Rust and returns its JSON answer, or throws the ApiError it sent.

function __call(op, args) {
  if (op in __schemaOps) __colCache = null;
  return __answer(__host(op, JSON.stringify(args === undefined ? null : args)));
}
// A host answer (`{ok}` or `{err}`, as JSON text).
function __answer(text) {
  const r = JSON.parse(text);
  if (r.err) {
    // As in PocketBase: a lookup miss reads "sql: no rows in result set"
    // (a 404 when uncaught in a route), a validation failure keeps its data
    // under a generic message, anything else is a plain Error whose text
    // reaches the logs, not the client.
    const data = r.err.data || {};
    if (r.err.status === 404) throw new Error("sql: no rows in result set");
    if (Object.keys(data).length) {
      const e = new ApiError(400, "Something went wrong while processing your request.", data);
      e.detail = r.err.message;
      throw e;
    }
    throw new Error(r.err.message);
  }
  return r.ok;
}

// ---------- errors ----------
class ApiError extends Error {
  constructor(status, message, data) {
    super(message || "");
    this.name = "ApiError";
    this.__apiError = true;
    this.status = status || 400;
    this.data = __plainData(data);
  }
}
function __plainData(data) {
  if (!data || typeof data !== "object") return {};
  const out = {};
  for (const k of Object.keys(data)) {
    const v = data[k];
    out[k] = v instanceof ValidationError ? { code: v.code, message: __capitalizeMsg(v.message) } : v;
  }
  return out;
}
class BadRequestError extends ApiError {
  constructor(message, data) { super(400, message || "Something went wrong while processing your request.", data); this.name = "BadRequestError"; }
}
class UnauthorizedError extends ApiError {
  constructor(message, data) { super(401, message || "The request requires valid record authorization token.", data); this.name = "UnauthorizedError"; }
}
class ForbiddenError extends ApiError {
  constructor(message, data) { super(403, message || "You are not allowed to perform this request.", data); this.name = "ForbiddenError"; }
}
class NotFoundError extends ApiError {
  constructor(message, data) { super(404, message || "The requested resource wasn't found.", data); this.name = "NotFoundError"; }
}
class TooManyRequestsError extends ApiError {
  constructor(message, data) { super(429, message || "Too Many Requests.", data); this.name = "TooManyRequestsError"; }
}
class InternalServerError extends ApiError {
  constructor(message, data) { super(500, message || "Something went wrong while processing your request.", data); this.name = "InternalServerError"; }
}
class ValidationError {
  constructor(code, message) { this.code = code; this.message = message; }
  error() { return this.message; }
}

// ---------- helpers ----------
function __isPlain(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) &&
    (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}
function __merge(dst, src) {
  for (const k of Object.keys(src)) {
    const v = src[k];
    if (__isPlain(v) && __isPlain(dst[k])) __merge(dst[k], v);
    else dst[k] = v;
  }
  return dst;
}
function unmarshal(data, dst) {
  if (typeof data === "string") data = JSON.parse(data);
  if (!dst) return data;
  if (dst instanceof Collection) {
    const d = Object.assign({}, data);
    if (d.fields !== undefined) { dst.fields = new FieldsList(d.fields); delete d.fields; }
    __merge(dst, JSON.parse(JSON.stringify(d)));
    return dst;
  }
  if (dst instanceof Record) { dst.load(data); return dst; }
  __merge(dst, data);
  return dst;
}
function toString(v, max) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (v.__upload !== undefined) return __call("upload.read", { i: v.__upload, max: max || 0 });
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) return String.fromCharCode.apply(null, v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
function toBytes(v, max) {
  if (v && v.__upload !== undefined) return __call("upload.read", { i: v.__upload, max: max || 0, bytes: true });
  const s = toString(v);
  const out = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 255);
  return out;
}
function sleep(ms) { __call("sleep", ms); }
function arrayOf(model) { const a = []; a.__model = model; return a; }
class DynamicModel { constructor(shape) { Object.assign(this, shape || {}); } }
function nullString() { return null; }
function nullInt() { return null; }
function nullFloat() { return null; }
function nullBool() { return null; }
function nullArray() { return null; }
function nullObject() { return null; }

class DateTime {
  constructor(s) { this.__v = s ? String(s) : __call("now"); }
  string() { return this.__v; }
  toString() { return this.__v; }
  toJSON() { return this.__v; }
  isZero() { return !this.__v; }
  unix() { return Math.floor(Date.parse(this.__v.replace(" ", "T")) / 1000); }
  time() { return new Date(this.__v.replace(" ", "T")); }
}

// ---------- fields and collections ----------
class Field {
  constructor(data) { Object.assign(this, data || {}); }
  getId() { return this.id; }
  getName() { return this.name; }
  setName(n) { this.name = n; }
  setId(id) { this.id = id; }
  setHidden(h) { this.hidden = h; }
  getHidden() { return !!this.hidden; }
}
function __typedField(type) {
  return class extends Field {
    constructor(data) { super(data); this.type = type; }
  };
}
const TextField = __typedField("text");
const NumberField = __typedField("number");
const BoolField = __typedField("bool");
const EmailField = __typedField("email");
const URLField = __typedField("url");
const EditorField = __typedField("editor");
const DateField = __typedField("date");
const AutodateField = __typedField("autodate");
const JSONField = __typedField("json");
const RelationField = __typedField("relation");
const SelectField = __typedField("select");
const FileField = __typedField("file");
const PasswordField = __typedField("password");
const GeoPointField = __typedField("geoPoint");

class FieldsList {
  constructor(list) {
    this.__list = [];
    for (const f of list || []) this.__list.push(f instanceof Field ? f : new Field(f));
  }
  get length() { return this.__list.length; }
  [Symbol.iterator]() { return this.__list[Symbol.iterator](); }
  __index(f) {
    return this.__list.findIndex((x) => (f.id ? x.id === f.id : x.name === f.name));
  }
  add(...fields) {
    for (const raw of fields) {
      const f = raw instanceof Field ? raw : new Field(raw);
      const i = this.__index(f);
      if (i >= 0) { if (!f.id) f.id = this.__list[i].id; this.__list[i] = f; } else this.__list.push(f);
    }
  }
  addAt(pos, ...fields) {
    if (pos < 0) return this.add(...fields);
    for (const raw of fields) {
      const f = raw instanceof Field ? raw : new Field(raw);
      const i = this.__index(f);
      if (i >= 0) { if (!f.id) f.id = this.__list[i].id; this.__list.splice(i, 1); }
      const at = Math.min(pos, this.__list.length);
      this.__list.splice(at, 0, f);
      pos = at + 1;
    }
  }
  addMarshaledJSON(json) { this.add(...(typeof json === "string" ? JSON.parse(json) : json)); }
  removeById(id) { this.__list = this.__list.filter((f) => f.id !== id); }
  removeByName(name) { this.__list = this.__list.filter((f) => f.name !== name); }
  getById(id) { return this.__list.find((f) => f.id === id) || null; }
  getByName(name) { return this.__list.find((f) => f.name === name) || null; }
  fieldNames() { return this.__list.map((f) => f.name); }
  asMap() { const m = {}; for (const f of this.__list) m[f.name] = f; return m; }
  clone() { return new FieldsList(JSON.parse(JSON.stringify(this.__list))); }
  toJSON() { return this.__list; }
}

class Collection {
  constructor(data) {
    data = Object.assign({ type: "base" }, data || {});
    const fields = data.fields;
    delete data.fields;
    Object.assign(this, JSON.parse(JSON.stringify(data)));
    this.fields = new FieldsList(fields || []);
  }
  isAuth() { return this.type === "auth"; }
  isBase() { return this.type === "base"; }
  isView() { return this.type === "view"; }
  tableName() { return "_collections"; }
  addIndex(name, unique, columns, where) {
    this.indexes = this.indexes || [];
    const sql = "CREATE " + (unique ? "UNIQUE " : "") + "INDEX `" + name + "` ON `" + this.name + "` (" + columns + ")" + (where ? " WHERE " + where : "");
    this.removeIndex(name);
    this.indexes.push(sql);
  }
  removeIndex(name) {
    this.indexes = (this.indexes || []).filter((s) => !s.includes("`" + name + "`"));
  }
  getIndex(name) { return (this.indexes || []).find((s) => s.includes("`" + name + "`")) || ""; }
  toJSON() {
    const out = {};
    for (const k of Object.keys(this)) if (!k.startsWith("__")) out[k] = this[k];
    return out;
  }
}

// ---------- records ----------
// `__original` is the record as loaded, or `null` while nothing changed
// since a load of flat values: the data is then its own snapshot, copied
// on the first change (`__snap`), so a record that is only read (most
// found records) never copies. `__hidden` is made on first `hide`.
// `new Record(c, __found)`: a stored record whose row `__hostFind` gives
// (host_find.rs), so no empty data objects made only to be replaced.
const __found = Symbol("found");
class Record {
  constructor(collection, data) {
    this.__collection = collection;
    const found = data === __found;
    this.__data = found ? null : {};
    this.__original = found ? null : {};
    this.__persisted = found;
    this.__hidden = null;
    if (data && !found) this.load(data);
  }
  __snap() { if (this.__original === null) this.__original = Object.assign({}, this.__data); }
  get id() { return this.__data.id || ""; }
  set id(v) { this.__snap(); this.__data.id = v; }
  collection() { return this.__collection; }
  tableName() { return this.__collection.name; }
  baseFilesPath() { return this.__collection.id + "/" + this.id; }
  isNew() { return !this.__persisted; }
  markAsNotNew() { this.__persisted = true; }
  load(data) { for (const k of Object.keys(data || {})) this.set(k, data[k]); }
  get(key) { const v = this.__data[key]; return v === undefined ? null : v; }
  set(key, value) {
    this.__snap();
    const m = /^([+]?)(.+?)([+-]?)$/.exec(key);
    const name = m[2];
    if (m[1] || m[3]) {
      let cur = this.__data[name];
      const isNum = typeof cur === "number";
      if (m[3] === "-" && isNum) { this.__data[name] = cur - Number(value); return; }
      if (m[3] === "+" && isNum) { this.__data[name] = cur + Number(value); return; }
      const list = Array.isArray(cur) ? cur.slice() : (cur ? [cur] : []);
      const vals = Array.isArray(value) ? value : [value];
      if (m[3] === "-") this.__data[name] = list.filter((x) => !vals.includes(x));
      else if (m[1]) this.__data[name] = vals.concat(list);
      else this.__data[name] = list.concat(vals);
      return;
    }
    this.__data[name] = value instanceof DateTime ? value.toString() : value;
  }
  getString(k) { const v = this.get(k); return v === null ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v)); }
  getInt(k) { const v = Number(this.get(k)); return Number.isFinite(v) ? Math.trunc(v) : 0; }
  getFloat(k) { const v = Number(this.get(k)); return Number.isFinite(v) ? v : 0; }
  getBool(k) { const v = this.get(k); return v === true || v === "true" || v === 1; }
  getStringSlice(k) { const v = this.get(k); return v === null ? [] : (Array.isArray(v) ? v.map(String) : [String(v)]); }
  getDateTime(k) { return new DateTime(this.getString(k)); }
  email() { return this.getString("email"); }
  setEmail(v) { this.set("email", v); }
  verified() { return this.getBool("verified"); }
  setVerified(v) { this.set("verified", !!v); }
  setPassword(p) { this.__snap(); this.__data.password = p; this.__data.passwordConfirm = p; }
  setRandomPassword() { const p = $security.randomString(30); this.setPassword(p); return p; }
  isSuperuser() { return this.__collection && this.__collection.name === "_superusers"; }
  // Auth records (plugins/hooks/auth.rs): against the stored record.
  newAuthToken() { return __call("auth.token", { collection: this.__collection.id, id: this.id }); }
  validatePassword(p) { return __call("auth.checkPassword", { collection: this.__collection.id, id: this.id, password: String(p) }); }
  original() { const r = new Record(this.__collection, this.__original || this.__data); r.__persisted = this.__persisted; return r; }
  clone() {
    const r = new Record(this.__collection, JSON.parse(JSON.stringify(this.__data)));
    r.__persisted = this.__persisted;
    r.__original = this.__original || Object.assign({}, this.__data);
    return r;
  }
  fresh() { return this.clone(); }
  hide(...names) { const h = this.__hidden || (this.__hidden = {}); for (const n of names) h[n] = true; return this; }
  unhide(...names) { if (this.__hidden) for (const n of names) delete this.__hidden[n]; return this; }
  publicExport() {
    const out = { collectionId: this.__collection.id, collectionName: this.__collection.name };
    const hidden = this.__hidden;
    for (const k in this.__data) {
      if (k === "password" || k === "passwordConfirm" || k === "tokenKey" || (hidden && hidden[k])) continue;
      out[k] = this.__data[k];
    }
    return out;
  }
  // The record as PocketBase writes it in JSON (`JSON.stringify`,
  // `toString`): without its collection's hidden fields, nor an auth
  // record's email unless `emailVisibility`, its keys sorted (PocketBase's
  // export is a Go map). `e.json` writes it so from Rust (json_text.rs).
  toJSON() {
    const c = this.__collection;
    const out = this.publicExport();
    for (const f of (c.fields && c.fields.__list) || []) if (f.hidden) delete out[f.name];
    if (c.type === "auth" && this.__data.emailVisibility !== true) delete out.email;
    const sorted = {};
    for (const k of Object.keys(out).sort()) sorted[k] = out[k];
    return sorted;
  }
  // `row` is a fresh object the caller hands over (a host answer).
  __loadStored(row) {
    const data = {};
    let nested = false;
    for (const k in row) {
      if (k === "collectionId" || k === "collectionName") continue;
      const v = row[k];
      data[k] = v;
      if (v !== null && typeof v === "object") nested = true;
    }
    return this.__loaded(data, nested);
  }
  // Flat values cannot change in place: until a `set`, the data is its own
  // snapshot. Nested ones (JSON fields) can, so they are copied now.
  // (`$app.findRecordById`'s `__hostFind` does this in Rust: host_find.rs.)
  __loaded(data, nested) {
    this.__data = data;
    this.__original = nested ? JSON.parse(JSON.stringify(data)) : null;
    this.__persisted = true;
    return this;
  }
}
// Collections found by name or id while a route runs, shared as
// PocketBase's cached collections are (`record.collection()`): valid for one
// schema generation (`__schemaGen`, set by the route bridge for the length
// of a call; -1 elsewhere) and dropped by any schema change made here.
var __schemaGen = -1;
let __colCache = null;
const __schemaOps = { "collections.save": 1, "collections.delete": 1, "collections.import": 1, "db.execute": 1 };
function __cachedCollection(nameOrId) {
  if (__schemaGen < 0) return __appFind(nameOrId);
  if (!__colCache || __colCache.gen !== __schemaGen) __colCache = { gen: __schemaGen, map: new Map() };
  let c = __colCache.map.get(nameOrId);
  if (!c) {
    c = __appFind(nameOrId);
    __colCache.map.set(nameOrId, c);
  }
  return c;
}
function __collectionOf(c) {
  if (c instanceof Collection) return c;
  if (typeof c === "string") return __cachedCollection(c);
  return new Collection(c);
}
function __appFind(nameOrId) {
  return new Collection(__call("collections.find", nameOrId));
}
function __recordFrom(c, row) { return new Record(c, null).__loadStored(row); }

// ---------- the app ----------
// Record hooks around `$app.save` / `$app.delete` / `runInTransaction`:
// engines that run pb_hooks handlers set it (hooks.js); otherwise writes
// run plainly.
let __modelHooks = null;

// `$app.settings()`: the settings object (`meta.appName`, `smtp.host`...),
// saved back with `$app.save(settings)`.
class __Settings {
  constructor(d) { Object.assign(this, d || {}); }
}

// `$app.store()`: the app's in-memory key/value store, one per process,
// shared by every handler and kept across hot reloads. Values cross
// between engines as JSON.
const __appStore = {
  get(k) { const v = __call("store.get", String(k)); return v === undefined ? null : v; },
  set(k, v) { __call("store.set", { key: String(k), value: v === undefined ? null : v }); },
  has(k) { return __call("store.has", String(k)); },
  remove(k) { __call("store.remove", String(k)); },
  removeAll() { __call("store.reset", {}); },
  reset(data) { __call("store.reset", data || {}); },
  getAll() { return __call("store.all", null); },
  values() { return Object.values(__call("store.all", null)); },
  length() { return Object.keys(__call("store.all", null)).length; },
  getOrSet(k, fn) {
    if (__appStore.has(k)) return __appStore.get(k);
    const v = fn();
    __appStore.set(k, v);
    return v;
  },
  setIfLessThanLimit(k, v, limit) { return __call("store.setIfLess", { key: String(k), value: v === undefined ? null : v, limit: Number(limit) || 0 }); },
  setFunc() { __unsupported("$app.store().setFunc"); },
};
function __makeApp() {
  const app = {
    findCollectionByNameOrId(nameOrId) { return __appFind(nameOrId); },
    findCachedCollectionByNameOrId(nameOrId) { return __cachedCollection(String(nameOrId)); },
    findAllCollections(...types) {
      return __call("collections.all", types).map((c) => new Collection(c));
    },
    importCollections(list, deleteMissing) {
      if (typeof list === "string") list = JSON.parse(list);
      __call("collections.import", { collections: JSON.parse(JSON.stringify(list)), deleteMissing: !!deleteMissing });
    },
    importCollectionsByMarshaledJSON(json, deleteMissing) { app.importCollections(json, deleteMissing); },
    save(model) { return __save(model, true); },
    saveNoValidate(model) { return __save(model, false); },
    validate(model) {
      if (model instanceof Record) __call("records.validate", __recordPayload(model));
    },
    delete(model) {
      if (model instanceof Collection) {
        const del = () => { __call("collections.delete", model.id || model.name); };
        if (__modelHooks) return __modelHooks.removeCollection(model, del);
        del();
        return;
      }
      if (model instanceof Record) {
        const del = () => { __call("records.delete", { collection: model.collection().id, id: model.id }); };
        if (__modelHooks) return __modelHooks.remove(model, del);
        del();
        return;
      }
      throw new Error("app.delete: unsupported model");
    },
    findRecordById(c, id) {
      const col = __collectionOf(c);
      const r = new Record(col, __found);
      const row = __hostFind(col.id, String(id), r); // the row, or a failure's text
      if (typeof row === "string") return __recordFrom(col, __answer(row));
      r.__data = row;
      return r;
    },
    findRecordsByIds(c, ids) {
      const col = __collectionOf(c);
      return __call("records.byIds", { collection: col.id, ids: ids }).map((r) => __recordFrom(col, r));
    },
    findRecordsByFilter(c, filter, sort, limit, offset, params) {
      const col = __collectionOf(c);
      return __call("records.filter", { collection: col.id, filter: filter || "", sort: sort || "", limit: limit || 0, offset: offset || 0, params: params || {} })
        .map((r) => __recordFrom(col, r));
    },
    findFirstRecordByFilter(c, filter, params) {
      const col = __collectionOf(c);
      const rows = __call("records.filter", { collection: col.id, filter: filter || "", sort: "", limit: 1, offset: 0, params: params || {} });
      if (!rows.length) throw new ApiError(404, "sql: no rows in result set");
      return __recordFrom(col, rows[0]);
    },
    findFirstRecordByData(c, key, value) {
      const col = __collectionOf(c);
      const rows = __call("records.filter", { collection: col.id, filter: key + " = {:v}", sort: "", limit: 1, offset: 0, params: { v: value } });
      if (!rows.length) throw new ApiError(404, "sql: no rows in result set");
      return __recordFrom(col, rows[0]);
    },
    findAllRecords(c, ...exprs) {
      if (!exprs.length) return app.findRecordsByFilter(c, "", "", 0, 0);
      return new __RecordQuery(c).where($dbx.and(...exprs)).all();
    },
    recordQuery(c) { return new __RecordQuery(c); },
    findAuthRecordByEmail(c, email) { return app.findFirstRecordByData(c, "email", email); },
    countRecords(c, ...exprs) {
      if (!exprs.length) return app.findRecordsByFilter(c, "", "", 0, 0).length;
      return new __RecordQuery(c).where($dbx.and(...exprs)).__rows().length;
    },
    runInTransaction(fn) { return __modelHooks ? __modelHooks.tx(() => fn(app)) : fn(app); },
    settings() { return new __Settings(__call("settings.get", null)); },
    store() { return __appStore; },
    db() { return __db(); },
    nonconcurrentDB() { return __db(); },
    isDev() { return false; },
    dataDir() { return __call("app.dataDir"); },
    logger() { return __logger; },
    dao() { __legacy("$app.dao()", "call the finders on $app directly, e.g. $app.findRecordById(...)"); },
  };
  // Known names are the object's own: only a missing one reaches the
  // Proxy (its prototype), which fails naming it.
  return Object.setPrototypeOf(app, new Proxy({}, {
    get(t, k, receiver) {
      if (k in t || typeof k === "symbol") return Reflect.get(t, k, receiver);
      return () => __unsupported("$app." + String(k));
    },
  }));
}
function __recordPayload(r) {
  const data = Object.assign({}, r.__data);
  return { collection: r.collection().id, id: r.__persisted ? r.id : null, data: data };
}
function __save(model, validate) {
  if (model instanceof Collection) {
    const write = () => unmarshal(__call("collections.save", model.toJSON()), model);
    if (__modelHooks) return __modelHooks.saveCollection(model, validate, write);
    write();
    return;
  }
  if (model instanceof Record) {
    const write = () => {
      const p = __recordPayload(model);
      p.validate = validate;
      model.__loadStored(__call("records.save", p));
    };
    if (__modelHooks) return __modelHooks.save(model, validate, write);
    write();
    return;
  }
  if (model instanceof __Settings) {
    const saved = __call("settings.save", JSON.parse(JSON.stringify(model)));
    for (const k of Object.keys(model)) delete model[k];
    Object.assign(model, saved);
    return;
  }
  __unsupported("saving this kind of model");
}

class __Query {
  constructor(sql) { this.sql = sql; this.params = {}; }
  bind(p) { Object.assign(this.params, p || {}); return this; }
  execute() { return __call("db.execute", { sql: this.sql, params: this.params }); }
  all(dst) {
    const rows = __call("db.query", { sql: this.sql, params: this.params });
    if (Array.isArray(dst)) { dst.length = 0; for (const r of rows) dst.push(Object.assign(dst.__model ? Object.create(Object.getPrototypeOf(dst.__model)) : {}, r)); }
    return rows;
  }
  one(dst) {
    const rows = __call("db.query", { sql: this.sql, params: this.params });
    if (!rows.length) throw new ApiError(404, "sql: no rows in result set");
    if (dst) Object.assign(dst, rows[0]);
    return rows[0];
  }
  column(dst) { const rows = this.all(); const out = rows.map((r) => r[Object.keys(r)[0]]); if (Array.isArray(dst)) dst.push(...out); return out; }
  row(...dst) { const r = this.one(); return Object.keys(r).map((k) => r[k]); }
  getText() { return this.sql; }
}
function __db() {
  return __loud({
    newQuery(sql) { return __loud(new __Query(sql), "$app.db().newQuery()"); },
    select(...cols) { return new __SelectQuery(cols); },
    insert(table, cols) { return __dbxInsert(table, cols); },
    update(table, cols, where) { return __dbxUpdate(table, cols, where); },
    delete(table, where) { return __dbxDelete(table, where); },
  }, "$app.db()");
}
const __logger = {
  __log(level, msg, kv) { __call("log", { level: level, msg: String(msg), kv: kv.map((v) => toString(v)) }); },
  debug(msg, ...kv) { this.__log("debug", msg, kv); },
  info(msg, ...kv) { this.__log("info", msg, kv); },
  warn(msg, ...kv) { this.__log("warn", msg, kv); },
  error(msg, ...kv) { this.__log("error", msg, kv); },
  with() { return this; },
  withGroup() { return this; },
};
const console = {
  log(...a) { __logger.info(a.map(toString).join(" ")); },
  info(...a) { __logger.info(a.map(toString).join(" ")); },
  debug(...a) { __logger.debug(a.map(toString).join(" ")); },
  warn(...a) { __logger.warn(a.map(toString).join(" ")); },
  error(...a) { __logger.error(a.map(toString).join(" ")); },
};

// ---------- what is not there ----------
function __unsupported(name) {
  throw new Error(name + " is not supported by Cairn's PocketBase compatibility layer (see docs/plugins.md)");
}
function __legacy(name, hint) {
  throw new Error(name + " is PocketBase < 0.23 API, which Cairn does not run; " + hint);
}
// `obj`, whose missing members fail naming themselves (not "not a function").
function __loud(obj, what) {
  return new Proxy(obj, {
    get(t, k) {
      if (k in t || typeof k === "symbol" || k === "toJSON" || k === "then") return t[k];
      return () => __unsupported(what + "." + String(k) + "()");
    },
  });
}
function __stub(name) {
  return new Proxy({}, { get(_, k) { if (typeof k === "symbol") return undefined; return () => __unsupported(name + "." + String(k)); } });
}
const $filesystem = __stub("$filesystem");
// Hook engines replace it (hooks.js); migrations keep the stub.
let $mails = __stub("$mails");
const $filepath = __stub("$filepath");
function Dao() { __legacy("new Dao()", "use $app (or the app given to migrate) directly"); }
for (const n of ["onRecordBeforeCreateRequest", "onRecordAfterCreateRequest", "onRecordBeforeUpdateRequest",
  "onRecordAfterUpdateRequest", "onRecordBeforeDeleteRequest", "onRecordAfterDeleteRequest",
  "onModelBeforeCreate", "onModelAfterCreate", "onModelBeforeUpdate", "onModelAfterUpdate",
  "onModelBeforeDelete", "onModelAfterDelete", "onBeforeBootstrap", "onAfterBootstrap", "onBeforeServe"]) {
  globalThis[n] = () => __legacy(n + "()", "see https://pocketbase.io/v023upgrade/jsvm/ for the new hook names");
}

// ---------- migrations ----------
let __migration = null;
function migrate(up, down) {
  if (typeof up === "function" && up.length === 1 && /^\s*(function\s*)?\(?\s*db\b/.test(String(up))) {
    __legacy("migrate((db) => ...)", "migrations now receive `app`; see https://pocketbase.io/v023upgrade/jsvm/");
  }
  __migration = { up: up, down: down };
}
function __runMigration(which) {
  if (!__migration) throw new Error("the file does not call migrate()");
  const fn = which === "up" ? __migration.up : __migration.down;
  if (typeof fn === "function") fn(__makeApp());
}

// PocketBase's error messages: first letter upper case, final period.
function __capitalizeMsg(msg) {
  msg = String(msg || "").trim();
  if (!msg) return msg;
  msg = msg[0].toUpperCase() + msg.slice(1);
  return /[.!?]$/.test(msg) ? msg : msg + ".";
}

// Cairn-native plugins: `definePlugin`, the `db` API, `ApiError`, and the
// entry points the host calls (`__load`, `__dispatch`). Loaded after web.js.

class ApiError extends Error {
  constructor(status, message, data) {
    super(message || "Something went wrong while processing your request.");
    this.name = "ApiError";
    this.status = Number(status) || 400;
    this.data = data || {};
  }
}

function definePlugin(def) {
  if (!def || typeof def !== "object") throw new TypeError("definePlugin: expected an object");
  return Object.assign({ __cairnPlugin: true }, def);
}

function __params(p) {
  if (p === undefined || p === null) return {};
  if (typeof p !== "object" || Array.isArray(p)) throw new TypeError("db: params must be an object for {:name} placeholders");
  return p;
}
function __queryApi(tx) {
  const extra = tx === null ? {} : { tx: tx };
  return {
    query(sql, params) { return __op("db.query", Object.assign({ sql: String(sql), params: __params(params) }, extra)); },
    exec(sql, params) { return __op("db.exec", Object.assign({ sql: String(sql), params: __params(params) }, extra)); },
  };
}
const db = Object.assign(__queryApi(null), {
  // Runs `fn(tx)` in one write transaction: committed when its promise
  // resolves, rolled back when it rejects (the error is rethrown).
  async tx(fn) {
    const id = await __op("db.begin", null);
    let out;
    try {
      out = await fn(__queryApi(id));
    } catch (err) {
      await __op("db.end", { tx: id, commit: false }).catch(() => {});
      throw err;
    }
    await __op("db.end", { tx: id, commit: true });
    return out;
  },
});

// ---------- loading ----------
let __plugin = null;
const __table = { routes: [], hooks: [], crons: [] };

function __entries(v, what) {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === "object") return Object.keys(v).map((k) => [k, v[k]]);
  throw new TypeError(what + ": expected an object or an array");
}
function __handlerOf(v, what) {
  if (typeof v === "function") return { handler: v };
  if (v && typeof v.handler === "function") return v;
  throw new TypeError(what + ": expected a function or { handler }");
}
function __describe(def) {
  for (const e of __entries(def.routes, "routes")) {
    let r;
    if (Array.isArray(e)) {
      const [key, v] = e;
      const i = key.indexOf(" ");
      r = Object.assign({}, __handlerOf(v, "route " + key), i < 0 ? { method: "*", path: key } : { method: key.slice(0, i), path: key.slice(i + 1).trim() });
    } else {
      r = __handlerOf(e, "route");
    }
    if (!r.path || !String(r.path).startsWith("/")) throw new TypeError("route: a path starting with / is required");
    __table.routes.push({ method: String(r.method || "*").toUpperCase(), path: String(r.path), handler: r.handler });
  }
  for (const [name, v] of __entries(def.hooks, "hooks")) {
    for (const h of [].concat(v)) {
      const d = __handlerOf(h, "hook " + name);
      __table.hooks.push({ name: name, collections: [].concat(d.collections || []).map(String), handler: d.handler });
    }
  }
  for (const e of __entries(def.crons, "crons")) {
    const [id, v] = Array.isArray(e) ? e : [e.id, e];
    const d = __handlerOf(v, "cron " + id);
    if (!d.schedule) throw new TypeError("cron " + id + ": a schedule is required");
    __table.crons.push({ id: String(id), schedule: String(d.schedule), handler: d.handler });
  }
  const hosts = def.allowHosts === undefined ? null : [].concat(def.allowHosts).map(String);
  return {
    name: def.name ? String(def.name) : null,
    allowHosts: hosts,
    limits: def.limits || {},
    routes: __table.routes.map((r) => ({ method: r.method, path: r.path })),
    hooks: __table.hooks.map((h) => ({ name: h.name, collections: h.collections })),
    crons: __table.crons.map((c) => ({ id: c.id, schedule: c.schedule })),
  };
}

function __load(entry) {
  import(entry).then((ns) => {
    const def = ns.default;
    if (!def || def.__cairnPlugin !== true) throw new TypeError(entry + ": the default export is not a definePlugin({...}) result");
    __plugin = def;
    __sync("loaded", __describe(def));
  }).catch((err) => {
    __sync("loadFailed", { message: String(err), stack: String((err && err.stack) || "") });
  });
}

// ---------- calls ----------
function __errorOf(err) {
  if (err instanceof ApiError) return { status: err.status, message: err.message, data: err.data, api: true };
  return { status: 500, message: String(err), stack: String((err && err.stack) || ""), api: false };
}

async function __route(p) {
  const r = __table.routes[p.idx];
  const q = p.request;
  const req = new Request(q.url, { method: q.method, headers: q.headers, body: q.method === "GET" || q.method === "HEAD" ? null : q.body });
  const url = new URL(q.url);
  const ctx = { params: q.params, auth: q.auth, query: url.searchParams, ip: q.ip, db: db };
  let out = await r.handler(req, ctx);
  if (out === undefined) out = new Response(null, { status: 204 });
  else if (!(out instanceof Response)) out = typeof out === "string" ? new Response(out) : Response.json(out);
  const headers = out.headers.__object();
  const type = headers["content-type"] || "";
  delete headers["content-type"];
  return { status: out.status, type: type, body: out.__text === null ? "" : out.__text, headers: headers };
}

async function __hook(p) {
  const e = p.event;
  for (const h of __table.hooks) {
    if (h.name !== p.name) continue;
    if (h.collections.length && !h.collections.includes(e.collection.name) && !h.collections.includes(e.collection.id)) continue;
    await h.handler(e);
  }
  return { data: e.record };
}

async function __cron(p) {
  const c = __table.crons.find((x) => x.id === p.id);
  if (c) await c.handler();
  return null;
}

function __dispatch(id, kind, payload) {
  const p = JSON.parse(payload);
  const run = { route: __route, hook: __hook, cron: __cron }[kind];
  // The handler starts now, so the host can tell which call an endless
  // loop before its first await belongs to (an interrupt cannot be caught).
  let started;
  try {
    started = Promise.resolve(run(p));
  } catch (err) {
    started = Promise.reject(err);
  }
  started.then((v) => __sync("reply", { id: id, ok: v === undefined ? null : v }),
    (err) => __sync("reply", { id: id, err: __errorOf(err) }));
}

Object.assign(globalThis, { ApiError, definePlugin, db });

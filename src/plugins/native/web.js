// The web platform subset Cairn-native plugins get: timers, TextEncoder and
// TextDecoder, URL and URLSearchParams, Headers, Request, Response, fetch,
// crypto.randomUUID / getRandomValues and console. Asynchronous work is a
// host operation: `__start(op, args)` returns an id and the host later calls
// `__settle(id, result)` from the tokio side (see instance.rs).

const __pending = new Map();
function __op(op, args) {
  const r = JSON.parse(__host("start", JSON.stringify({ op: op, args: args === undefined ? null : args })));
  if (r.err) return Promise.reject(__hostError(r.err));
  return new Promise((resolve, reject) => __pending.set(r.ok, { resolve, reject }));
}
function __hostError(e) {
  const err = new Error(e.message);
  if (e.status) err.status = e.status;
  return err;
}
function __sync(op, args) {
  const r = JSON.parse(__host(op, JSON.stringify(args === undefined ? null : args)));
  if (r.err) throw __hostError(r.err);
  return r.ok;
}
function __settle(id, text) {
  const p = __pending.get(id);
  if (!p) return;
  __pending.delete(id);
  const r = JSON.parse(text);
  if (r.err) p.reject(__hostError(r.err));
  else p.resolve(r.ok);
}

// ---------- timers ----------
const __timers = new Map();
let __timerSeq = 0;
function setTimeout(fn, ms, ...args) {
  const id = ++__timerSeq;
  __timers.set(id, true);
  __op("sleep", { ms: Math.max(0, Number(ms) || 0) }).then(() => {
    if (!__timers.delete(id)) return;
    if (typeof fn === "function") fn(...args);
  });
  return id;
}
function clearTimeout(id) { __timers.delete(id); }

// ---------- console ----------
function __fmt(args) {
  return args.map((a) => (typeof a === "string" ? a : (() => { try { return JSON.stringify(a); } catch (_) { return String(a); } })())).join(" ");
}
const console = {
  log(...a) { __sync("log", { level: "info", msg: __fmt(a) }); },
  info(...a) { __sync("log", { level: "info", msg: __fmt(a) }); },
  warn(...a) { __sync("log", { level: "warn", msg: __fmt(a) }); },
  error(...a) { __sync("log", { level: "error", msg: __fmt(a) }); },
  debug(...a) { __sync("log", { level: "debug", msg: __fmt(a) }); },
};

// ---------- text ----------
class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(s) {
    s = String(s === undefined ? "" : s);
    const out = [];
    for (const ch of s) {
      let c = ch.codePointAt(0);
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }
}
class TextDecoder {
  get encoding() { return "utf-8"; }
  decode(buf) {
    if (buf === undefined) return "";
    const b = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer || buf, buf.byteOffset || 0, buf.byteLength === undefined ? buf.length : buf.byteLength);
    let s = "";
    for (let i = 0; i < b.length;) {
      const c = b[i];
      let cp = 0xfffd, n = 1;
      if (c < 0x80) { cp = c; }
      else if (c >= 0xc2 && c < 0xe0 && i + 1 < b.length) { cp = ((c & 31) << 6) | (b[i + 1] & 63); n = 2; }
      else if (c >= 0xe0 && c < 0xf0 && i + 2 < b.length) { cp = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63); n = 3; }
      else if (c >= 0xf0 && c < 0xf5 && i + 3 < b.length) { cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63); n = 4; }
      s += String.fromCodePoint(cp);
      i += n;
    }
    return s;
  }
}

// ---------- URL ----------
function __enc(s) { return encodeURIComponent(s).replace(/%20/g, "+"); }
function __dec(s) { try { return decodeURIComponent(String(s).replace(/\+/g, " ")); } catch (_) { return String(s); } }
class URLSearchParams {
  constructor(init) {
    this.__list = [];
    if (init === undefined || init === null) return;
    if (typeof init === "string") {
      for (const part of init.replace(/^\?/, "").split("&")) {
        if (!part) continue;
        const i = part.indexOf("=");
        this.__list.push(i < 0 ? [__dec(part), ""] : [__dec(part.slice(0, i)), __dec(part.slice(i + 1))]);
      }
    } else if (Array.isArray(init)) {
      for (const [k, v] of init) this.__list.push([String(k), String(v)]);
    } else {
      for (const k of Object.keys(init)) this.__list.push([k, String(init[k])]);
    }
  }
  get(k) { const e = this.__list.find((x) => x[0] === k); return e ? e[1] : null; }
  getAll(k) { return this.__list.filter((x) => x[0] === k).map((x) => x[1]); }
  has(k) { return this.__list.some((x) => x[0] === k); }
  set(k, v) { this.delete(k); this.__list.push([String(k), String(v)]); }
  append(k, v) { this.__list.push([String(k), String(v)]); }
  delete(k) { this.__list = this.__list.filter((x) => x[0] !== k); }
  forEach(f) { for (const [k, v] of this.__list) f(v, k, this); }
  entries() { return this.__list.map((x) => [x[0], x[1]])[Symbol.iterator](); }
  keys() { return this.__list.map((x) => x[0])[Symbol.iterator](); }
  values() { return this.__list.map((x) => x[1])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.__list.map(([k, v]) => __enc(k) + "=" + __enc(v)).join("&"); }
}
class URL {
  constructor(url, base) {
    url = String(url);
    let m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:([^:@\/]*)(?::([^@\/]*))?@)?(\[[^\]]+\]|[^:\/?#]*)(?::(\d*))?([^?#]*)(\?[^#]*)?(#.*)?$/.exec(url);
    if (!m && base !== undefined) {
      const b = new URL(base);
      let path = url;
      if (url.startsWith("//")) return new URL(b.protocol + url);
      if (!url.startsWith("/")) {
        if (url.startsWith("?")) path = b.pathname + url;
        else if (url.startsWith("#")) path = b.pathname + b.search + url;
        else path = b.pathname.replace(/[^\/]*$/, "") + url;
      }
      m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:([^:@\/]*)(?::([^@\/]*))?@)?(\[[^\]]+\]|[^:\/?#]*)(?::(\d*))?([^?#]*)(\?[^#]*)?(#.*)?$/.exec(b.origin + path);
    }
    if (!m) throw new TypeError("Invalid URL: " + url);
    this.protocol = m[1].toLowerCase() + ":";
    this.username = m[2] || "";
    this.password = m[3] || "";
    this.hostname = m[4].toLowerCase();
    const defaults = { "http:": "80", "https:": "443" };
    this.port = m[5] && m[5] !== defaults[this.protocol] ? m[5] : "";
    const segs = [];
    for (const s of (m[6] || "/").split("/").slice(1)) {
      if (s === "..") segs.pop(); else if (s !== ".") segs.push(s);
    }
    this.pathname = "/" + segs.join("/");
    this.searchParams = new URLSearchParams(m[7] || "");
    this.__search = m[7] && m[7] !== "?" ? m[7] : "";
    this.hash = m[8] && m[8] !== "#" ? m[8] : "";
  }
  get host() { return this.hostname + (this.port ? ":" + this.port : ""); }
  get origin() { return this.protocol + "//" + this.host; }
  get search() { const s = this.searchParams.toString(); return s ? "?" + s : ""; }
  set search(v) { this.searchParams = new URLSearchParams(String(v)); }
  get href() { return this.origin + this.pathname + this.search + this.hash; }
  toString() { return this.href; }
  toJSON() { return this.href; }
}

// ---------- Headers, bodies, Request, Response ----------
class Headers {
  constructor(init) {
    this.__m = new Map();
    if (!init) return;
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  get(k) { const v = this.__m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
  has(k) { return this.__m.has(String(k).toLowerCase()); }
  set(k, v) { this.__m.set(String(k).toLowerCase(), String(v)); }
  append(k, v) { k = String(k).toLowerCase(); const o = this.__m.get(k); this.__m.set(k, o === undefined ? String(v) : o + ", " + v); }
  delete(k) { this.__m.delete(String(k).toLowerCase()); }
  forEach(f) { for (const [k, v] of [...this.__m.entries()].sort()) f(v, k, this); }
  entries() { return [...this.__m.entries()].sort()[Symbol.iterator](); }
  keys() { return [...this.__m.keys()].sort()[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  __object() { const o = {}; for (const [k, v] of this.__m) o[k] = v; return o; }
}
function __bodyText(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return new TextDecoder().decode(body);
  return String(body);
}
class __Body {
  __initBody(body) { this.__text = __bodyText(body); this.bodyUsed = false; }
  get body() { return this.__text; }
  async text() { this.bodyUsed = true; return this.__text === null ? "" : this.__text; }
  async json() { return JSON.parse(await this.text()); }
  async arrayBuffer() { return new TextEncoder().encode(await this.text()).buffer; }
  async bytes() { return new TextEncoder().encode(await this.text()); }
}
class Request extends __Body {
  constructor(input, init) {
    super();
    init = init || {};
    const from = input instanceof Request ? input : null;
    this.url = from ? from.url : new URL(String(input)).href;
    this.method = String(init.method || (from ? from.method : "GET")).toUpperCase();
    this.headers = new Headers(init.headers || (from ? from.headers : undefined));
    this.__initBody(init.body !== undefined ? init.body : from ? from.__text : null);
    if (init.body !== undefined && init.body !== null && typeof init.body === "string" && !this.headers.has("content-type")) {
      this.headers.set("content-type", "text/plain;charset=UTF-8");
    }
    this.signal = init.signal || null;
  }
  clone() { return new Request(this); }
}
class Response extends __Body {
  constructor(body, init) {
    super();
    init = init || {};
    this.status = init.status === undefined ? 200 : Number(init.status);
    this.statusText = init.statusText || "";
    this.headers = new Headers(init.headers);
    this.__initBody(body);
    if (typeof body === "string" && !this.headers.has("content-type")) this.headers.set("content-type", "text/plain;charset=UTF-8");
    this.url = init.url || "";
    this.type = "default";
  }
  get ok() { return this.status >= 200 && this.status < 300; }
  clone() { return new Response(this.__text, { status: this.status, statusText: this.statusText, headers: this.headers, url: this.url }); }
  static json(data, init) {
    init = Object.assign({}, init || {});
    const h = new Headers(init.headers);
    if (!h.has("content-type")) h.set("content-type", "application/json");
    init.headers = h;
    return new Response(JSON.stringify(data), init);
  }
  static redirect(url, status) { return new Response(null, { status: status || 302, headers: { location: String(url) } }); }
  static error() { return new Response(null, { status: 0 }); }
}

// ---------- fetch (the host's outbound client: private addresses refused,
// and only the plugin's allowHosts when it declares them) ----------
async function fetch(input, init) {
  const req = input instanceof Request && !init ? input : new Request(input, init);
  const r = await __op("fetch", { url: req.url, method: req.method, headers: req.headers.__object(), body: req.__text === null ? "" : req.__text });
  const headers = new Headers();
  for (const k of Object.keys(r.headers || {})) for (const v of [].concat(r.headers[k])) headers.append(k, v);
  return new Response(r.body, { status: r.statusCode, headers: headers, url: req.url });
}

// ---------- crypto ----------
const crypto = {
  getRandomValues(arr) {
    if (!ArrayBuffer.isView(arr)) throw new TypeError("getRandomValues: expected an integer typed array");
    if (arr.byteLength > 65536) throw new Error("getRandomValues: at most 65536 bytes");
    const bytes = __sync("random", { n: arr.byteLength });
    new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(bytes);
    return arr;
  },
  randomUUID() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  },
};

Object.assign(globalThis, {
  setTimeout, clearTimeout, console, TextEncoder, TextDecoder, URL, URLSearchParams,
  Headers, Request, Response, fetch, crypto,
});

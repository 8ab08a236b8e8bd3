// `$os`, `process` and `$security`: host helpers every engine has (loaded
// after prelude.js, like dbx.js).

// File reads confined to the app's directory (plugins/os.rs). As in
// PocketBase, readFile gives bytes (`toString(...)` makes the text) and
// stat / readDir give Go-shaped `FileInfo` / `DirEntry` objects.
class __FileInfo {
  constructor(d) { this.__d = d; }
  name() { return this.__d.name; }
  size() { return this.__d.size; }
  isDir() { return this.__d.isDir; }
  mode() { const d = this.__d; return { valueOf: () => d.mode, toString: () => d.modeString, string: () => d.modeString }; }
  modTime() { return new DateTime(this.__d.modTime); }
  sys() { return null; }
}
class __DirEntry {
  constructor(d) { this.__d = d; }
  name() { return this.__d.name; }
  isDir() { return this.__d.isDir; }
  type() { const t = this.__d.isDir ? "d---------" : "----------"; return { valueOf: () => (this.__d.isDir ? 2147483648 : 0), toString: () => t, string: () => t }; }
  info() { return new __FileInfo(this.__d); }
  string() { return (this.__d.isDir ? "d " : "- ") + this.__d.name + (this.__d.isDir ? "/" : ""); }
}
// The rest of Go's `os` (processes, `exit`...) fails naming itself.
function __osWrite(op, name, data, perm) {
  const d = data === undefined || data === null ? "" : (typeof data === "string" ? data : Array.from(data, (b) => Number(b) & 255));
  __call(op, { name: String(name), data: d, perm: Number(perm) || 0 });
}
const $os = __loud({
  getenv(k) { return __call("getenv", String(k)) || ""; },
  readFile(name) { return __call("os.readFile", String(name)); },
  readDir(name) { return __call("os.readDir", String(name)).map((d) => new __DirEntry(d)); },
  stat(name) { return new __FileInfo(__call("os.stat", String(name))); },
  writeFile(name, data, perm) { __osWrite("os.writeFile", name, data, perm); },
  mkdir(name, perm) { __osWrite("os.mkdir", name, null, perm); },
  mkdirAll(name, perm) { __osWrite("os.mkdirAll", name, null, perm); },
  remove(name) { __osWrite("os.remove", name); },
  removeAll(name) { __osWrite("os.removeAll", name); },
}, "$os");
const process = { env: new Proxy({}, { get(_, k) { return typeof k === "string" ? (__call("getenv", k) || undefined) : undefined; } }) };
const $security = {
  randomString(n) { return __call("security.random", { n: n }); },
  randomStringWithAlphabet(n, alphabet) { return __call("security.random", { n: n, alphabet: alphabet }); },
  pseudorandomString(n) { return __call("security.random", { n: n }); },
  pseudorandomStringWithAlphabet(n, alphabet) { return __call("security.random", { n: n, alphabet: alphabet }); },
  md5(s) { return __call("security.hash", { alg: "md5", s: String(s) }); },
  sha256(s) { return __call("security.hash", { alg: "sha256", s: String(s) }); },
  sha512(s) { return __call("security.hash", { alg: "sha512", s: String(s) }); },
  hs256(s, key) { return __call("security.hmac", { alg: "sha256", s: String(s), key: String(key) }); },
  hs512(s, key) { return __call("security.hmac", { alg: "sha512", s: String(s), key: String(key) }); },
  equal(a, b) { return __call("security.equal", { a: String(a), b: String(b) }); },
};


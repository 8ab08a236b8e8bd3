/// <reference path="../pb_data/types.d.ts" />
// $os.readFile / readDir / stat / writeFile / mkdir(All) / remove(All), $app.dataDir() and record.baseFilesPath()
// (tests/sdk/hooks_os.test.mjs). Paths as real hook files give them:
// from __hooks, or relative to the working directory.

routerAdd("GET", "/api/os/read", (e) => {
  const v = $os.readFile(__hooks + "/data/a.txt");
  const rel = $os.readFile("pb_hooks/data/seed.json");
  return e.json(200, {
    isArray: Array.isArray(v), len: v.length, first: v[0], text: toString(v),
    seed: JSON.parse(toString(rel)).seed,
  });
});

routerAdd("GET", "/api/os/fail", (e) => {
  const out = { hooks: __hooks };
  for (const [k, f] of [
    ["missing", () => $os.readFile(__hooks + "/data/nope.txt")],
    ["dir", () => $os.readFile(__hooks + "/data/sub")],
    ["stat", () => $os.stat("pb_hooks/data/nope.txt")],
    ["readDir", () => $os.readDir("pb_hooks/nope")],
  ]) {
    try { f(); out[k] = "no error"; } catch (err) { out[k] = err.message; }
  }
  return e.json(200, out);
});

routerAdd("GET", "/api/os/stat", (e) => {
  const f = $os.stat(__hooks + "/data/a.txt");
  const d = $os.stat("pb_hooks/data/sub");
  return e.json(200, {
    file: [f.name(), f.size(), f.isDir(), String(f.mode())[0], Number(f.mode()) > 0],
    dir: [d.name(), d.isDir(), String(d.mode())[0]],
    modAge: Math.abs(Date.now() / 1000 - f.modTime().unix()),
  });
});

routerAdd("GET", "/api/os/dir", (e) => {
  const list = $os.readDir(__hooks + "/data");
  return e.json(200, {
    names: list.map((x) => x.name()),
    dirs: list.map((x) => x.isDir()),
    sizes: list.map((x) => (x.isDir() ? -1 : x.info().size())),
  });
});

routerAdd("GET", "/api/os/write", (e) => {
  const out = {};
  const d = __hooks + "/out";
  $os.mkdirAll(d + "/x/y", 0o755);
  $os.writeFile(d + "/s.txt", "str", 0o644);
  $os.writeFile(d + "/b.txt", [104, 105], 0o600);
  out.read = [toString($os.readFile(d + "/s.txt")), toString($os.readFile(d + "/b.txt"))];
  out.mode = String($os.stat(d + "/b.txt").mode());
  $os.remove(d + "/s.txt");
  try { $os.stat(d + "/s.txt"); out.removed = false; } catch (_) { out.removed = true; }
  for (const [k, f] of [
    ["notEmpty", () => $os.remove(d + "/x")],
    ["missing", () => $os.remove(d + "/nope")],
    ["deep", () => $os.mkdir(d + "/p/q", 0o755)],
  ]) {
    try { f(); out[k] = "no error"; } catch (err) { out[k] = err.message.replace(__hooks, "HOOKS"); }
  }
  $os.removeAll(d);
  try { $os.stat(d); out.all = false; } catch (_) { out.all = true; }
  $os.removeAll(d);
  return e.json(200, out);
});

routerAdd("GET", "/api/os/app/{id}", (e) => {
  const r = $app.findRecordById("oh_items", e.request.pathValue("id"));
  return e.json(200, { dataDir: $app.dataDir(), files: r.baseFilesPath(), collection: r.collection().id });
});

// Cairn's sandbox: what PocketBase would read, Cairn refuses.
routerAdd("GET", "/api/os/outside", (e) => {
  const out = {};
  for (const [k, p] of [
    ["db", $app.dataDir() + "/data.db"],
    ["dotdot", __hooks + "/../../outside.txt"],
    ["etc", "/etc/hostname"],
  ]) {
    try { $os.readFile(p); out[k] = "read"; } catch (err) { out[k] = err.message; }
  }
  try { $os.writeFile($app.dataDir() + "/w.txt", "x", 0o644); out.write = "written"; } catch (err) { out.write = err.message; }
  try { $os.removeAll(__hooks + "/.."); out.removeAll = "removed"; } catch (err) { out.removeAll = err.message; }
  try { $os.cmd("ls"); out.cmd = "ran"; } catch (err) { out.cmd = err.message; }
  return e.json(200, out);
});

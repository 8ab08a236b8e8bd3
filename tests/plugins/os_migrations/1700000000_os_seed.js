/// <reference path="../pb_data/types.d.ts" />
// Seeds a collection from a JSON file beside the hooks, read with
// $os.readFile (tests/sdk/hooks_os.test.mjs).
migrate((app) => {
  const c = new Collection({ name: "oh_seed", type: "base", listRule: "", fields: [{ name: "n", type: "number" }] });
  app.save(c);
  const seed = JSON.parse(toString($os.readFile(__hooks + "/data/seed.json"))).seed;
  const names = $os.readDir(__hooks + "/data").map((d) => d.name());
  for (const n of seed) {
    const r = new Record(c);
    r.set("n", n * names.length);
    app.save(r);
  }
});

// Hot reload of Cairn-native plugins (Cairn-only): editing a plugin swaps it
// in-process with 0 failed requests from a client looping during the edit;
// an edit with an error keeps the old version and logs the error.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, describe, cairnOnly, IS_POCKETBASE } from './harness.mjs';

const plugin = (version) => `
import { label } from './lib/label.js';
let calls = 0;
export default definePlugin({
  routes: {
    'GET /api/native/version': async () => {
      await new Promise((r) => setTimeout(r, 2));
      return { v: ${version}, label: label(), calls: ++calls };
    },
  },
});
`;

const srv = useServer(async (s) => {
  if (IS_POCKETBASE) return;
  await fsp.mkdir(path.join(s.root, 'plugins', 'lib'), { recursive: true });
  await fsp.writeFile(path.join(s.root, 'plugins', 'lib', 'label.js'), "export const label = () => 'one';\n");
  await fsp.writeFile(path.join(s.root, 'plugins', 'main.js'), plugin(1));
  await s.restart();
});

const file = (...p) => path.join(srv.root, 'plugins', ...p);

describe('hot reload', { skip: cairnOnly }, () => {
  test('an edit swaps the plugin with 0 failed requests; a broken edit keeps the old one', async () => {
    let stop = false;
    const seen = new Set();
    const labels = new Set();
    let failures = 0;
    let total = 0;
    const client = (async () => {
      const end = Date.now() + 20_000;
      while (!stop && Date.now() < end && total < 20_000) {
        total++;
        try {
          const r = await fetch(`${srv.url}/api/native/version`);
          const j = await r.json();
          if (r.status !== 200) failures++;
          else {
            seen.add(j.v);
            labels.add(j.label);
          }
        } catch {
          failures++;
        }
      }
    })();
    const waitFor = async (cond) => {
      const deadline = Date.now() + 8000;
      while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return cond();
    };
    await new Promise((r) => setTimeout(r, 300));
    await fsp.writeFile(file('main.js'), plugin(2));
    assert.ok(await waitFor(() => seen.has(2)), 'the edit was not picked up');
    // An imported file changes too.
    await fsp.writeFile(file('lib', 'label.js'), "export const label = () => 'two';\n");
    assert.ok(await waitFor(() => labels.has('two')), 'the edit of an import was not picked up');
    // A syntax error, then an import that leaves the folder: both logged, old code stays.
    await fsp.writeFile(file('main.js'), plugin(3) + '\nexport const broken = (;\n');
    await new Promise((r) => setTimeout(r, 800));
    await fsp.writeFile(file('main.js'), "import x from '../outside.js';\n" + plugin(4));
    await new Promise((r) => setTimeout(r, 800));
    stop = true;
    await client;
    console.log(`hot reload: ${failures} of ${total} requests failed`);
    assert.equal(failures, 0, `${failures} of ${total} requests failed`);
    assert.ok(total > 50, `only ${total} requests`);
    assert.ok(!seen.has(3) && !seen.has(4));
    const now = await srv.api('GET', '/api/native/version');
    assert.equal(now.json.v, 2);
    assert.match(srv.log, /failed to load plugin main\.js[^\n]*SyntaxError/);
    assert.match(srv.log, /failed to load plugin main\.js[^\n]*outside the plugins directory/);
  });
});

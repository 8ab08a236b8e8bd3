// Module scope, closures and imports between files.
import { greet, bump } from './lib/util.js';

let hits = 0;
let ticks = 0;

export default definePlugin({
  routes: {
    'GET /api/native/counter': async () => ({ hits: ++hits, imported: bump() }),
    'GET /api/native/greet/{name}': async (req, ctx) => ({ greeting: greet(ctx.params.name) }),
    'GET /api/native/ticks': () => ({ ticks }),
    'GET /api/native/web': async (req, ctx) => {
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 30));
      let cleared = true;
      clearTimeout(setTimeout(() => (cleared = false), 1));
      await new Promise((r) => setTimeout(r, 10));
      const url = new URL(req.url);
      const bytes = new TextEncoder().encode('héllo');
      const h = new Headers({ 'X-One': '1' });
      h.append('x-one', '2');
      return Response.json(
        {
          waited: Date.now() - started >= 25,
          cleared,
          path: url.pathname,
          q: ctx.query.get('q'),
          bytes: bytes.length,
          text: new TextDecoder().decode(bytes),
          uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
          random: crypto.getRandomValues(new Uint8Array(8)).length,
          header: h.get('x-one'),
          method: req.method,
        },
        { status: 201, headers: { 'x-plugin': 'counter' } },
      );
    },
    'POST /api/native/echo': async (req) => {
      const body = await req.json();
      if (!body.name) throw new ApiError(400, 'name is required', { name: { code: 'validation_required', message: 'Missing required value.' } });
      return new Response(`hi ${body.name}`, { status: 200, headers: { 'content-type': 'text/plain' } });
    },
  },
  crons: {
    native_tick: { schedule: '0 0 1 1 *', handler: async () => { ticks++; } },
  },
});

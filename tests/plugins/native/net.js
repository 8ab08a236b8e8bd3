// fetch through the server's outbound client, limited to allowHosts.
export default definePlugin({
  allowHosts: ['127.0.0.1'],
  routes: {
    'GET /api/native/fetch': async (req, ctx) => {
      const r = await fetch(ctx.query.get('url'), { method: 'POST', headers: { 'x-from': 'plugin' }, body: JSON.stringify({ a: 1 }) });
      return { status: r.status, ok: r.ok, body: await r.json() };
    },
    'GET /api/native/forbidden': async (req, ctx) => {
      try {
        await fetch(ctx.query.get('url'));
        return { refused: false };
      } catch (e) {
        return { refused: true, message: e.message };
      }
    },
  },
});

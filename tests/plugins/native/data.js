// Record hooks and the transactional db API.
let created = 0;
let lastUpdate = null;

export default definePlugin({
  hooks: {
    onRecordCreate: {
      collections: ['notes'],
      handler: async (e) => {
        if (e.record.title === 'forbidden') throw new ApiError(400, 'That title is not allowed.');
        e.record.slug = String(e.record.title || '').toLowerCase().replace(/\s+/g, '-');
      },
    },
    onRecordAfterCreateSuccess: { collections: ['notes'], handler: async () => { created++; } },
    onRecordUpdate: {
      collections: ['notes'],
      handler: async (e) => {
        lastUpdate = { was: e.original.title, now: e.record.title };
        if (e.record.title) e.record.slug = String(e.record.title).toLowerCase().replace(/\s+/g, '-');
      },
    },
    onRecordDeleteRequest: {
      collections: ['notes'],
      handler: async (e) => {
        if (e.original.title === 'keep') throw new Error('kept');
      },
    },
  },
  routes: {
    'GET /api/native/created': () => ({ created, lastUpdate }),
    'DELETE /api/native/nothing': () => {},
    'POST /api/native/kv': async (req) => {
      const body = await req.json();
      await db.exec('CREATE TABLE IF NOT EXISTS native_kv (k TEXT PRIMARY KEY, v TEXT)');
      try {
        await db.tx(async (tx) => {
          await tx.exec('INSERT INTO native_kv (k, v) VALUES ({:k}, {:v})', { k: body.k, v: body.v });
          const seen = await tx.query('SELECT v FROM native_kv WHERE k = {:k}', { k: body.k });
          if (seen.length !== 1) throw new Error('the transaction does not see its own write');
          if (body.fail) throw new ApiError(409, 'rolled back on purpose');
        });
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
      const rows = await db.query('SELECT k, v FROM native_kv ORDER BY k');
      return { rows };
    },
  },
});

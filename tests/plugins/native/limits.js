// Per-plugin limits: a small time budget and heap.
export default definePlugin({
  limits: { cpuMs: 300, memoryMb: 16 },
  routes: {
    'GET /api/native/ping': () => ({ pong: true }),
    'GET /api/native/loop': async () => { while (true) {} },
    // The loop starts after an await: in a promise job, not the call's start.
    'GET /api/native/loop-after-tick': async () => { await Promise.resolve(); while (true) {} },
    'GET /api/native/loop-after-timer': async () => {
      await new Promise((r) => setTimeout(r, 5));
      while (true) {}
    },
    'GET /api/native/bomb': async () => {
      const a = [];
      while (true) a.push('x'.repeat(1 << 20) + a.length);
    },
  },
});

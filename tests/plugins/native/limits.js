// Per-plugin limits: a small time budget and heap.
export default definePlugin({
  limits: { cpuMs: 300, memoryMb: 16 },
  routes: {
    'GET /api/native/ping': () => ({ pong: true }),
    'GET /api/native/loop': async () => { while (true) {} },
    'GET /api/native/bomb': async () => {
      const a = [];
      while (true) a.push('x'.repeat(1 << 20) + a.length);
    },
  },
});

// Resumable realtime subscriptions for Cairn, on top of the official
// PocketBase JS SDK (docs/realtime.md). Events carry `seq`, their position
// in Cairn's change log; after any reconnect the server replays what this
// subscriber missed, and this helper drops anything it has already seen,
// so the callback gets every event exactly once, in commit order.
//
//   const sub = await subscribeResumable(pb, 'posts', '*', (e) => {
//     if (e.action === 'reset') return reloadEverything(); // too far behind
//     apply(e.action, e.record);
//   }, { since: savedSeq });
//   ...
//   saveSomewhere(sub.lastSeq());   // resume from here next time
//   await sub.unsubscribe();

/**
 * @param {import('pocketbase').default} pb  an SDK client
 * @param {string} collection  collection name or id
 * @param {string} topic  '*' or a record id
 * @param {(e: {action: string, record?: object, seq: number|string}) => void} callback
 * @param {{since?: number|string, query?: object, headers?: object}} [options]
 *   since: the last seq already processed (0 = everything retained;
 *   omit to start from now). A number on SQLite; on PostgreSQL a string
 *   token of fixed width, which compares in order as a string.
 */
export async function subscribeResumable(pb, collection, topic, callback, options = {}) {
  let last = options.since ?? null;
  let unsubscribe = null;
  let stopConnect = null;
  let subscribedAs = null; // the realtime connection the subscription was made on

  const handler = (e) => {
    if (e.action === 'reset') {
      // The server no longer has the events after `last`: start over.
      last = e.seq;
      callback(e);
      return;
    }
    if (last !== null && e.seq <= last) return; // replayed again: seen already
    last = e.seq;
    callback(e);
  };

  const subscribe = async () => {
    const query = { ...(options.query || {}) };
    // Without a position yet, ask for annotated events from now on.
    query.resume = last === null ? await currentSeq() : last;
    if (last === null) last = query.resume;
    const next = await pb.collection(collection).subscribe(topic, handler, { query, headers: options.headers });
    subscribedAs = pb.realtime.clientId;
    const previous = unsubscribe;
    unsubscribe = next;
    if (previous) await previous();
  };

  // The current end of the change log: a resume position of "now".
  const currentSeq = async () => {
    const r = await pb.send('/api/realtime/seq', { method: 'GET' });
    return r.seq;
  };

  await subscribe();
  // After the SDK reconnects (new PB_CONNECT), move the resume position up
  // so the server replays only what was missed.
  stopConnect = await pb.realtime.subscribe('PB_CONNECT', () => {
    if (pb.realtime.clientId !== subscribedAs) subscribe().catch(() => {});
  });

  return {
    lastSeq: () => last,
    unsubscribe: async () => {
      if (stopConnect) await stopConnect();
      if (unsubscribe) await unsubscribe();
    },
  };
}

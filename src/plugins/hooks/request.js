// Record request hooks over an answer the host built (plugins/hooks/
// request.rs), loaded after tx.js. Each returns what the handlers left,
// their own answer ({stopped}) or their error, as JSON text.

// The answer is taken when the chain's last e.next() reaches its end, as
// PocketBase writes its response there: what a handler changes after its
// e.next() does not show.
function __requestHook(p, setup, finish) {
  const e = __requestEvent(p.event);
  const collection = new Collection(p.collection);
  e.collection = collection;
  setup(e, collection);
  let out = null;
  try {
    const done = __chain(e, __hookFns(p.hook, collection), () => { out = JSON.stringify(finish(e)); });
    if (!done) return JSON.stringify({ stopped: true, response: __stopResponse(e, false) });
  } catch (err) {
    if (err && err.message === "sql: no rows in result set") err = new NotFoundError();
    return JSON.stringify({ error: __errorResponse(err) });
  }
  return out;
}

// Over one record's answer (onRecordAuthRequest, onRecordViewRequest):
// e.record and the event fields `p.fields` (token, meta, authMethod).
function __runRecordRequest(payload) {
  const p = JSON.parse(payload);
  const setup = (e, collection) => {
    e.record = new Record(collection, null).__loadStored(p.record);
    Object.assign(e, p.fields);
  };
  return __requestHook(p, setup, (e) => {
    const fields = {};
    for (const k of Object.keys(p.fields)) fields[k] = e[k] === undefined ? null : e[k];
    return { record: e.record.publicExport(), fields: fields };
  });
}

// onRecordsListRequest over a page (as PocketBase 0.40.6): e.records, the
// page's records, and e.result ({page, perPage, totalItems, totalPages,
// items}) whose items start as the same records in an array of their own.
// The answer is e.result as the handlers left it: a change to a record
// shows, so does a new e.result.items or total; a new e.records does not.
function __runRecordsList(payload) {
  const p = JSON.parse(payload);
  const setup = (e, collection) => {
    e.records = p.result.items.map((r) => new Record(collection, null).__loadStored(r));
    e.result = Object.assign({}, p.result, { items: e.records.slice() });
  };
  return __requestHook(p, setup, (e) => ({ result: e.result }));
}

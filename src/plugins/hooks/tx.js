// pb_hooks: record hook chains around a write inside the write transaction
// (loaded after hooks.js; the host side is tx.rs, write.rs and batch.rs).

// One record's chain (a REST write or a batch sub-request; `p` as the host
// built it, plugins/hooks/records.rs chain_arg): the request hooks, whose
// last e.next() enters the model hooks (onRecordCreate, Validate, Execute),
// whose last e.next() writes through the host (`tx.write`, with `extra`)
// inside the transaction (`lazy`: opened there). Code after e.next() runs
// inside it. Returns
// what happened; a handler's throw (or the write's error, marked
// __writeError) is left in `failure`.
function __recordChain(p, extra, lazy) {
  const collection = new Collection(p.collection);
  const names = __beforeNames[p.action];
  const fns = (list) => __hooksFor(list, collection)
    .sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name)).map((h) => h.fn);
  const e = __requestEvent(p.event);
  const record = new Record(collection, null);
  if (p.stored) record.__loadStored(p.stored);
  record.load(p.data || {});
  e.record = record;
  e.collection = collection;
  const r = { action: p.action, collection: collection, record: record, event: e, model: false, began: false, wrote: false, failure: null };
  const write = () => {
    if (lazy) {
      __call("tx.begin");
      r.began = true;
      __txDepth++;
    }
    try {
      const row = __call("tx.write", Object.assign({ data: record.__data }, extra));
      if (row) record.__loadStored(row);
      r.wrote = true;
    } catch (err) {
      if (err && typeof err === "object") err.__writeError = true;
      throw err;
    }
  };
  try {
    __chain(e, fns(names.slice(0, 1)), (ev) => {
      r.model = true;
      __chain(ev, fns(names.slice(1)), write);
    });
  } catch (err) {
    r.failure = err;
  }
  return r;
}

// Ends the transaction (commit unless `failure`) and runs the after hooks
// it held back; returns the failure, or the commit's.
function __endTx(failure) {
  __txDepth--;
  try {
    __call("tx.end", { commit: !failure });
  } catch (err) {
    failure = failure || err;
  }
  if (__txDepth === 0) __txEnd(failure);
  return failure;
}

// As PocketBase: once a record's model hooks ran, a failure runs its error hooks.
function __chainFailed(chains, failure) {
  for (const r of chains) {
    if (!r.model) continue;
    const n = __recordNames(r.action);
    __chain({ app: $app, record: r.record, collection: r.collection, error: failure }, __hookFns(n.err, r.collection), () => {});
  }
  if (failure.__writeError) return { writeError: true };
  if (failure.message === "sql: no rows in result set") failure = new NotFoundError();
  return { error: __errorResponse(failure) };
}

// A REST write with its hooks (plugins/hooks/write.rs). The transaction
// opens at the write (the chain's last e.next()), so code before it holds
// none. Returns {ok}, {stopped}, {writeError} (the API's own error, kept
// by the host) or {error: response}.
function __runRecordTx(payload) {
  const r = __recordChain(JSON.parse(payload), {}, true);
  let failure = r.failure;
  if (r.began) {
    const ended = __endTx(failure || (r.wrote ? null : new Error("the record was not written")));
    if (r.wrote) failure = ended;
  }
  if (failure) return JSON.stringify(__chainFailed([r], failure));
  // A model hook's stop: the API goes on as if written (`unsaved`).
  if (!r.wrote && r.model) return JSON.stringify({ ok: true, unsaved: r.action === "delete" ? null : __unsaved(r.record) });
  if (!r.wrote) return JSON.stringify({ stopped: true, response: __stopResponse(r.event, false) });
  return JSON.stringify({ ok: true });
}

// What a chain that stopped before the write answers, as PocketBase
// 0.40.6 does: when a model hook did not call e.next(), the API goes on
// as if it had written (the record or collection as the hooks left it,
// 200; 204 for a delete; the after-success hooks run); when a request
// hook did not, the response that handler wrote (`e.json(...)`), else 200
// with an empty body.
function __stopResponse(e, model, action, value) {
  let res;
  if (model && action === "delete") res = { status: 204, type: "", body: "" };
  else if (model) res = { status: 200, type: "application/json", body: JSON.stringify(value()) };
  else res = e.__res || { status: 200, type: "", body: "" };
  res.headers = e.__headers;
  return res;
}

// A record a model hook kept from being written, as the API would have
// shown it: with an id (PocketBase assigns one before the hooks run),
// without the password and hidden fields.
function __unsaved(record) {
  if (!record.id) record.id = $security.randomStringWithAlphabet(15, "abcdefghijklmnopqrstuvwxyz0123456789");
  const out = record.publicExport();
  for (const f of record.collection().fields) if (f.hidden) delete out[f.name];
  return out;
}

// A batch with its sub-requests' hooks (plugins/hooks/batch.rs): one
// transaction around every chain, in request order. `p.items[i]` is null
// for a sub-request that is no record write (written as is, or refused).
// A sub-request whose chain stopped before its write writes nothing and
// answers as a REST write would (`answered`: its index, status and body),
// and the batch goes on, as in PocketBase 0.40.6.
// Returns {ok, answered}, or {index} with {writeError} or {error}.
function __runBatchTx(payload) {
  const p = JSON.parse(payload);
  __call("tx.begin");
  __txDepth++;
  const chains = [], answered = [];
  let failure = null, index = 0;
  for (; index < p.items.length; index++) {
    const it = p.items[index];
    if (!it) {
      try { __call("tx.write", { index: index, data: null }); } catch (err) { err.__writeError = true; failure = err; break; }
      continue;
    }
    const r = __recordChain(it, { index: index });
    chains.push(r);
    if (r.failure) { failure = r.failure; break; }
    if (!r.wrote) answered.push(Object.assign(__batchAnswer(index, __stopResponse(r.event, r.model, r.action, () => __unsaved(r.record))), { model: r.model }));
  }
  failure = __endTx(failure);
  if (failure) return JSON.stringify(Object.assign(__chainFailed(chains, failure), { index: index }));
  return JSON.stringify({ ok: true, answered: answered });
}

// A response as a batch result: JSON bodies parsed, an empty body null.
function __batchAnswer(index, res) {
  let body = res.body || null;
  if (body && /json/.test(res.type)) { try { body = JSON.parse(body); } catch (_) { /* kept as text */ } }
  return { index: index, status: res.status, body: body };
}

// The collections API with its hooks (plugins/hooks/collections.rs), as in
// PocketBase: onCollection…Request → e.next() → onCollection… →
// onCollectionValidate → onCollection…Execute → e.next() → the write (no
// transaction: it commits at once), then after-success (or after-error)
// hooks, then the code after each e.next(). Returns as __runRecordTx; a
// throw in a request hook after the write is logged, not answered.
function __runCollectionHooks(payload) {
  const p = JSON.parse(payload);
  const a = p.action[0].toUpperCase() + p.action.slice(1);
  const e = __requestEvent(p.event);
  e.collection = new Collection(p.collection);
  const fns = (name) => __compiled.hooks.filter((h) => h.name === name &&
    (!h.tags.length || h.tags.includes(e.collection.name) || h.tags.includes(e.collection.id))).map((h) => h.fn);
  let wrote = false;
  const write = (ev) => {
    try {
      const out = __call("tx.write", { data: p.action === "delete" ? null : JSON.parse(JSON.stringify(ev.collection)) });
      if (out) unmarshal(out, ev.collection);
      wrote = true;
    } catch (err) {
      if (err && typeof err === "object") err.__writeError = true;
      throw err;
    }
  };
  let modelFailed = false, modelRan = false;
  const model = (ev) => {
    modelRan = true;
    try {
      __chain(ev, fns("onCollection" + a), (m) => {
        if (p.action !== "delete") __chain(m, fns("onCollectionValidate"), () => {});
        __chain(m, fns("onCollection" + a + "Execute"), write);
      });
    } catch (err) {
      modelFailed = true;
      __chain({ app: $app, collection: ev.collection, error: err }, fns("onCollectionAfter" + a + "Error"), () => {});
      throw err;
    }
    // As PocketBase, also when a model hook did not call e.next().
    __chain({ app: $app, collection: ev.collection }, fns("onCollectionAfter" + a + "Success"), () => {});
  };
  try {
    __chain(e, fns("onCollection" + a + "Request"), model);
  } catch (err) {
    // As PocketBase: once written, the response is the saved collection,
    // whatever the request hook does after e.next().
    if (wrote && !modelFailed) {
      console.error("onCollection" + a + "Request failed after e.next(): " + err);
      return JSON.stringify({ ok: true });
    }
    if (err && err.__writeError) return JSON.stringify({ writeError: true });
    if (err && err.message === "sql: no rows in result set") err = new NotFoundError();
    // PocketBase 0.40.6 wraps a model hook's error on create.
    if (modelFailed && p.action === "create") {
      err = new BadRequestError("Failed to create collection. Raw error: \n" + __capitalize(err && err.message));
    }
    return JSON.stringify({ error: __errorResponse(err) });
  }
  if (!wrote) return JSON.stringify({ stopped: true, response: __stopResponse(e, modelRan, p.action, () => e.collection) });
  return JSON.stringify({ ok: true });
}

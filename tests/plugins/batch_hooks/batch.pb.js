// Record hooks on batch requests, for tests/sdk/hooks_batch.test.mjs: the
// request and model hooks mark the titles they saw, some values are
// refused, and the after-success hooks log to the `blog` collection.
onRecordCreateRequest((e) => {
  e.record.set("title", "req:" + e.record.getString("title"))
  e.next()
}, "bposts")

onRecordCreate((e) => {
  if (e.record.getString("title").includes("forbidden")) throw new BadRequestError("title not allowed")
  e.record.set("title", e.record.getString("title") + ":model")
  e.next()
}, "bposts")

onRecordUpdateRequest((e) => {
  e.record.set("note", "updreq")
  e.next()
}, "bposts")

onRecordUpdate((e) => {
  e.record.set("title", e.record.getString("title") + ":upd")
  e.next()
}, "bposts")

onRecordDeleteRequest((e) => {
  if (e.record.getString("title").includes("keep")) throw new BadRequestError("keep me")
  e.next()
}, "bposts")

onRecordDelete((e) => {
  if (e.record.getString("title").includes("guard")) throw new BadRequestError("guarded")
  e.next()
}, "bposts")

// (Handlers cannot see file-scope names, so each logs on its own.)
onRecordAfterCreateSuccess((e) => {
  $app.save(new Record($app.findCollectionByNameOrId("blog"), { msg: "created " + e.record.getString("title") }))
  e.next()
}, "bposts")

onRecordAfterUpdateSuccess((e) => {
  $app.save(new Record($app.findCollectionByNameOrId("blog"), { msg: "updated " + e.record.getString("title") }))
  e.next()
}, "bposts")

onRecordAfterDeleteSuccess((e) => {
  $app.save(new Record($app.findCollectionByNameOrId("blog"), { msg: "deleted " + e.record.getString("title") }))
  e.next()
}, "bposts")

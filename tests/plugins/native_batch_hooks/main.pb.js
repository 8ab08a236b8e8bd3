// pb_hooks next to the native plugin tests/plugins/native/data.js: a
// request hook on `notes` batch writes that changes the title after the
// plugin's before-hooks ran, and throws after e.next() for "boom".
onRecordCreateRequest((e) => {
  e.record.set("title", e.record.get("title") + "!");
  e.next();
  if (e.record.get("title") === "boom!") {
    throw new BadRequestError("boom after the write");
  }
}, "notes");

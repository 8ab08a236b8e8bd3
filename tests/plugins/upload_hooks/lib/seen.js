// What a hook sees of the uploads under `key` (a handler cannot see its
// file's top level, so this is shared through require()).
module.exports = function seen(e, key) {
  try {
    return e.findUploadedFiles(key).map((f) => {
      const r = f.reader.open();
      let text;
      let head;
      try {
        text = toString(r);
      } finally {
        r.close();
      }
      const r2 = f.reader.open();
      try {
        head = toString(r2, 3);
      } finally {
        r2.close();
      }
      const r3 = f.reader.open();
      const first = Array.from(toBytes(r3, 2));
      r3.close();
      // a large upload (spooled to a temp file by Cairn): its length only
      if (text.length > 1000) text = text.length;
      return { name: f.name, originalName: f.originalName, size: f.size, text: text, head: head, first: first };
    });
  } catch (err) {
    return { error: String(err.message || err) };
  }
};

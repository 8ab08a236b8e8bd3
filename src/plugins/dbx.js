// $dbx and the query builders over it (`$app.db().select()`,
// `$app.recordQuery()`). Loaded into every engine right after prelude.js.

// ---------- $dbx: conditions as SQL text with bound values ----------
// Each expression renders to SQL with `{:name}` placeholders and adds its
// values to `params`; the host binds them (store/hooks_db.rs). Column names
// are checked (`name` or `table.name`) and quoted; values are never spliced.
let __dbxSeq = 0;
class __DbxExp {
  constructor(render) { this.__render = render; }
  build(params) { return this.__render(params); }
}
function __dbxBind(params, v) {
  const k = "dbx" + (__dbxSeq++);
  params[k] = v instanceof DateTime ? v.toString() : (v !== null && typeof v === "object" ? JSON.stringify(v) : (v === undefined ? null : v));
  return "{:" + k + "}";
}
function __dbxCol(name, what) {
  const s = String(name);
  if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/.test(s)) throw new Error(what + ": invalid column name " + JSON.stringify(s));
  return s.split(".").map((p) => '"' + p + '"').join(".");
}
function __dbxSql(e, params) {
  if (e === null || e === undefined || e === "") return "";
  if (e instanceof __DbxExp) return e.build(params);
  throw new Error("$dbx: expected a $dbx expression, got " + typeof e);
}
function __dbxJoin(op, exps) {
  return new __DbxExp((params) => {
    const parts = exps.map((e) => __dbxSql(e, params)).filter((s) => s !== "");
    return parts.length > 1 ? parts.map((p) => "(" + p + ")").join(" " + op + " ") : (parts[0] || "");
  });
}
function __dbxIn(not, col, values) {
  const c = __dbxCol(col, not ? "$dbx.notIn" : "$dbx.in");
  return new __DbxExp((params) => {
    if (!values.length) return not ? "" : "0=1";
    if (values.length === 1 && values[0] === null) return c + (not ? " IS NOT NULL" : " IS NULL");
    return c + (not ? " NOT IN (" : " IN (") + values.map((v) => __dbxBind(params, v)).join(", ") + ")";
  });
}
function __dbxLike(name, not, or, col, values) {
  const c = __dbxCol(col, "$dbx." + name);
  return new __DbxExp((params) => values
    .map((v) => c + (not ? " NOT LIKE " : " LIKE ") + __dbxBind(params, "%" + String(v).replace(/[\\%_]/g, (m) => "\\" + m) + "%") + " ESCAPE '\\'")
    .join(or ? " OR " : " AND "));
}
function __dbxBetween(not, col, from, to) {
  const c = __dbxCol(col, not ? "$dbx.notBetween" : "$dbx.between");
  return new __DbxExp((params) => c + (not ? " NOT BETWEEN " : " BETWEEN ") + __dbxBind(params, from) + " AND " + __dbxBind(params, to));
}
const $dbx = new Proxy({
  exp(sql, params) {
    const own = params || {};
    return new __DbxExp((p) => { Object.assign(p, own); return String(sql); });
  },
  hashExp(obj) {
    const keys = Object.keys(obj || {}).sort();
    return __dbxJoin("AND", keys.map((k) => {
      const v = obj[k];
      if (v instanceof __DbxExp) return new __DbxExp((p) => __dbxCol(k, "$dbx.hashExp") + " = (" + v.build(p) + ")");
      if (Array.isArray(v)) return __dbxIn(false, k, v);
      if (v === null || v === undefined) return new __DbxExp(() => __dbxCol(k, "$dbx.hashExp") + " IS NULL");
      return new __DbxExp((p) => __dbxCol(k, "$dbx.hashExp") + "=" + __dbxBind(p, v));
    }));
  },
  and(...exps) { return __dbxJoin("AND", exps); },
  or(...exps) { return __dbxJoin("OR", exps); },
  not(e) { return new __DbxExp((p) => { const s = __dbxSql(e, p); return s ? "NOT (" + s + ")" : ""; }); },
  in(col, ...values) { return __dbxIn(false, col, values); },
  notIn(col, ...values) { return __dbxIn(true, col, values); },
  like(col, ...values) { return __dbxLike("like", false, false, col, values); },
  notLike(col, ...values) { return __dbxLike("notLike", true, false, col, values); },
  orLike(col, ...values) { return __dbxLike("orLike", false, true, col, values); },
  orNotLike(col, ...values) { return __dbxLike("orNotLike", true, true, col, values); },
  exists(e) { return new __DbxExp((p) => "EXISTS (" + __dbxSql(e, p) + ")"); },
  notExists(e) { return new __DbxExp((p) => "NOT EXISTS (" + __dbxSql(e, p) + ")"); },
  between(col, from, to) { return __dbxBetween(false, col, from, to); },
  notBetween(col, from, to) { return __dbxBetween(true, col, from, to); },
}, {
  get(t, k) {
    if (k in t || typeof k === "symbol") return t[k];
    return () => __unsupported("$dbx." + String(k));
  },
});

// The WHERE/ORDER/LIMIT part shared by db().select() and recordQuery().
class __Conditions {
  // Returns a proxy: builder methods Cairn lacks (groupBy, join, union...)
  // fail naming themselves.
  constructor(what) {
    this.__what = what; this.__where = null; this.__order = []; this.__limit = -1; this.__offset = 0; this.__params = {};
    return __loud(this, what);
  }
  where(e) { this.__where = e || null; return this; }
  andWhere(e) { this.__where = this.__where ? $dbx.and(this.__where, e) : e; return this; }
  orWhere(e) { this.__where = this.__where ? $dbx.or(this.__where, e) : e; return this; }
  orderBy(...cols) { this.__order = []; return this.andOrderBy(...cols); }
  andOrderBy(...cols) {
    for (const c of cols) {
      for (const term of String(c).split(",")) {
        const m = /^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(?:\s+(asc|desc))?\s*$/i.exec(term);
        if (!m) throw new Error(this.__what + ".orderBy: unsupported term " + JSON.stringify(term) + " (use column names with ASC or DESC)");
        this.__order.push([m[1], !!m[2] && m[2].toLowerCase() === "desc"]);
      }
    }
    return this;
  }
  limit(n) { this.__limit = Number(n); return this; }
  offset(n) { this.__offset = Number(n) || 0; return this; }
  bind(p) { Object.assign(this.__params, p || {}); return this; }
  __whereSql() { return __dbxSql(this.__where, this.__params); }
}

// $app.db().select(...).from(...)...: plain SQL over any table.
class __SelectQuery extends __Conditions {
  constructor(cols) {
    super("$app.db().select()");
    this.__cols = (cols.length ? cols : ["*"]).flatMap((c) => String(c).split(",")).map((c) => __selectCol(c.trim()));
    this.__from = [];
  }
  from(...tables) {
    this.__from = tables.map((t) => {
      const m = /^([A-Za-z_]\w*)(?:\s+(?:as\s+)?([A-Za-z_]\w*))?$/i.exec(String(t).trim());
      if (!m) throw new Error("$app.db().from: invalid table " + JSON.stringify(String(t)));
      return '"' + m[1] + '"' + (m[2] ? ' "' + m[2] + '"' : "");
    });
    return this;
  }
  build() {
    if (!this.__from.length) throw new Error("$app.db().select(): missing from()");
    let sql = "SELECT " + this.__cols.join(", ") + " FROM " + this.__from.join(", ");
    const w = this.__whereSql();
    if (w) sql += " WHERE " + w;
    if (this.__order.length) sql += " ORDER BY " + this.__order.map((o) => __dbxCol(o[0], "orderBy") + (o[1] ? " DESC" : " ASC")).join(", ");
    if (this.__limit >= 0 || this.__offset) sql += " LIMIT " + Math.trunc(this.__limit >= 0 ? this.__limit : -1) + " OFFSET " + Math.trunc(this.__offset);
    return new __Query(sql).bind(this.__params);
  }
  all(dst) { return this.build().all(dst); }
  one(dst) { return this.build().one(dst); }
  column(dst) { return this.build().column(dst); }
  row(...dst) { return this.build().row(...dst); }
  execute() { return this.build().execute(); }
  getText() { return this.build().sql; }
}
// A select column: `*`, `t.*`, `name`, `t.name`, `fn(*)`/`fn(col)`, each
// with an optional alias. Anything else needs newQuery with SQL.
function __selectCol(c) {
  const m = /^(\*|[A-Za-z_]\w*\.\*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?|([A-Za-z_]\w*)\(\s*(\*|(?:distinct\s+)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)?\s*\))(?:\s+(?:as\s+)?([A-Za-z_]\w*))?$/i.exec(c);
  if (!m) throw new Error("$app.db().select: unsupported column " + JSON.stringify(c) + " (use newQuery with SQL)");
  let out;
  if (m[2]) {
    const arg = m[3] || "";
    const d = /^distinct\s+(.+)$/i.exec(arg);
    out = m[2] + "(" + (arg === "*" || arg === "" ? arg : (d ? "DISTINCT " + __dbxCol(d[1], "select") : __dbxCol(arg, "select"))) + ")";
  } else if (m[1] === "*" || m[1].endsWith(".*")) {
    out = m[1] === "*" ? "*" : __dbxCol(m[1].slice(0, -2), "select") + ".*";
  } else {
    out = __dbxCol(m[1], "select");
  }
  return m[4] ? out + ' AS "' + m[4] + '"' : out;
}

// $app.db().insert/update/delete: one statement on a table, values bound.
function __dbxTable(t, what) {
  const s = String(t);
  if (!/^[A-Za-z_]\w*$/.test(s)) throw new Error(what + ": invalid table name " + JSON.stringify(s));
  return '"' + s + '"';
}
function __dbxSet(cols, params, what) {
  return Object.keys(cols || {}).map((k) => [__dbxCol(k, what), __dbxBind(params, cols[k])]);
}
function __dbxInsert(table, cols) {
  const params = {};
  const set = __dbxSet(cols, params, "$app.db().insert");
  const sql = "INSERT INTO " + __dbxTable(table, "$app.db().insert") + " (" + set.map((c) => c[0]).join(", ") + ") VALUES (" + set.map((c) => c[1]).join(", ") + ")";
  return __loud(new __Query(sql).bind(params), "$app.db().insert()");
}
function __dbxUpdate(table, cols, where) {
  const params = {};
  const set = __dbxSet(cols, params, "$app.db().update");
  const w = __dbxSql(where, params);
  const sql = "UPDATE " + __dbxTable(table, "$app.db().update") + " SET " + set.map((c) => c[0] + "=" + c[1]).join(", ") + (w ? " WHERE " + w : "");
  return __loud(new __Query(sql).bind(params), "$app.db().update()");
}
function __dbxDelete(table, where) {
  const params = {};
  const w = __dbxSql(where, params);
  const sql = "DELETE FROM " + __dbxTable(table, "$app.db().delete") + (w ? " WHERE " + w : "");
  return __loud(new __Query(sql).bind(params), "$app.db().delete()");
}

// $app.recordQuery(collection): records of one collection.
class __RecordQuery extends __Conditions {
  constructor(c) { super("$app.recordQuery()"); this.__col = __collectionOf(c); }
  __rows(limit) {
    const lim = limit !== undefined ? limit : (this.__limit >= 0 ? this.__limit : -1);
    return __call("records.where", { collection: this.__col.id, sql: this.__whereSql(), params: this.__params, order: this.__order, limit: lim, offset: this.__offset });
  }
  all(dst) {
    const out = this.__rows().map((r) => __recordFrom(this.__col, r));
    if (Array.isArray(dst)) { dst.length = 0; dst.push(...out); }
    return out;
  }
  one(dst) {
    const rows = this.__rows(1);
    if (!rows.length) throw new ApiError(404, "sql: no rows in result set");
    if (dst instanceof Record) { dst.__collection = this.__col; dst.__loadStored(rows[0]); return dst; }
    return __recordFrom(this.__col, rows[0]);
  }
}

// $dbx and the query builders for tests/sdk/hooks_dbx.test.mjs, over the
// `dbxposts` collection the test creates (title, status, views).

// The titles of the records matching one $dbx case.
routerAdd("GET", "/dbx/find/{case}", (e) => {
  const s = e.request.url.query().get("s")
  const cases = {
    hash: () => [$dbx.hashExp({ status: "draft" })],
    hashMulti: () => [$dbx.hashExp({ status: ["draft", "live"], views: 5 })],
    hashNull: () => [$dbx.hashExp({ status: null })],
    two: () => [$dbx.hashExp({ status: "live" }), $dbx.exp("views > {:v}", { v: 4 })],
    andOr: () => [$dbx.or($dbx.and($dbx.exp("[[views]] > {:v}", { v: 4 }), $dbx.hashExp({ status: "live" })), $dbx.hashExp({ title: "a" }))],
    not: () => [$dbx.not($dbx.hashExp({ status: "draft" }))],
    in: () => [$dbx.in("title", "a", "c", "zz")],
    notIn: () => [$dbx.notIn("title", "a", "c")],
    like: () => [$dbx.like("title", s)],
    notLike: () => [$dbx.notLike("title", s)],
    orLike: () => [$dbx.orLike("title", "a", "c")],
    between: () => [$dbx.between("views", 2, 5)],
    notBetween: () => [$dbx.notBetween("views", 2, 5)],
    exists: () => [$dbx.exists($dbx.exp("SELECT 1 FROM dbxposts p2 WHERE p2.views > {:m}", { m: 100 }))],
    notExists: () => [$dbx.notExists($dbx.exp("SELECT 1 FROM dbxposts p2 WHERE p2.views > {:m}", { m: 100 }))],
    value: () => [$dbx.hashExp({ title: s })],
    badColumn: () => [$dbx.hashExp({ [s]: "x" })],
  }
  const records = $app.findAllRecords("dbxposts", ...cases[e.request.pathValue("case")]())
  return e.json(200, records.map((r) => r.getString("title")).sort())
})

// The query builders.
routerAdd("GET", "/dbx/query/{case}", (e) => {
  const db = $app.db()
  switch (e.request.pathValue("case")) {
    case "select": {
      const rows = arrayOf(new DynamicModel({ title: "", views: 0 }))
      db.select("title", "views").from("dbxposts").where($dbx.hashExp({ status: "live" })).orderBy("views DESC").limit(2).all(rows)
      return e.json(200, rows.map((r) => ({ title: r.title, views: r.views })))
    }
    case "count": {
      const row = new DynamicModel({ n: 0 })
      db.select("count(*) as n").from("dbxposts").where($dbx.hashExp({ status: "live" })).one(row)
      return e.json(200, { n: row.n })
    }
    case "andWhere": {
      const rows = arrayOf(new DynamicModel({ title: "" }))
      db.select("dbxposts.title").from("dbxposts").where($dbx.hashExp({ status: "live" })).andWhere($dbx.exp("views < {:max}", { max: 9 })).orWhere($dbx.hashExp({ title: "b" })).orderBy("title ASC").all(rows)
      return e.json(200, rows.map((r) => r.title))
    }
    case "quoted": {
      const rows = arrayOf(new DynamicModel({ title: "" }))
      db.newQuery("SELECT [[title]] FROM {{dbxposts}} WHERE [[views]] >= {:v} ORDER BY [[views]]").bind({ v: 5 }).all(rows)
      return e.json(200, rows.map((r) => r.title))
    }
    case "recordQuery": {
      const records = arrayOf(new Record())
      $app.recordQuery("dbxposts").where($dbx.hashExp({ status: "live" })).orderBy("views DESC").limit(2).all(records)
      return e.json(200, records.map((r) => r.getString("title")))
    }
    case "recordOne": {
      const record = new Record()
      $app.recordQuery("dbxposts").where($dbx.hashExp({ title: "c" })).limit(1).one(record)
      return e.json(200, { title: record.getString("title"), views: record.getInt("views") })
    }
    case "count2":
      return e.json(200, { n: $app.countRecords("dbxposts", $dbx.hashExp({ status: "live" })) })
    case "write": {
      db.insert("dbxlog", { id: "dbxlog000000001", msg: "it's one" }).execute()
      db.insert("dbxlog", { id: "dbxlog000000002", msg: "two" }).execute()
      db.update("dbxlog", { msg: "two!" }, $dbx.hashExp({ id: "dbxlog000000002" })).execute()
      db.delete("dbxlog", $dbx.hashExp({ msg: "it's one" })).execute()
      const rows = arrayOf(new DynamicModel({ id: "", msg: "" }))
      db.select("id", "msg").from("dbxlog").all(rows)
      return e.json(200, rows.map((r) => r.id + "=" + r.msg))
    }
    case "unknownMethod":
      try {
        db.select("title").from("dbxposts").groupBy("status").all(arrayOf(new DynamicModel({ title: "" })))
      } catch (err) {
        return e.json(200, { error: String(err) })
      }
      return e.json(200, { error: "" })
    case "unknown":
      try {
        $dbx.fancyExp("x")
      } catch (err) {
        return e.json(200, { error: String(err) })
      }
      return e.json(200, { error: "" })
  }
  throw new BadRequestError("unknown case")
})

/// <reference path="../pb_data/types.d.ts" />

// Custom routes in the styles of PocketBase's docs.
routerAdd("GET", "/api/hello/{name}", (e) => {
  const name = e.request.pathValue("name")
  const greeting = e.request.url.query().get("greeting") || "Hello"
  e.response.header().set("X-Hello", name)
  return e.json(200, { message: greeting + " " + name })
})

routerAdd("GET", "/api/me", (e) => {
  return e.json(200, { id: e.auth.id, email: e.auth.email(), superuser: e.hasSuperuserAuth() })
}, $apis.requireAuth())

routerAdd("GET", "/api/posts/{id}/summary", (e) => {
  const post = $app.findRecordById("posts", e.request.pathValue("id"))
  return e.json(200, { id: post.id, title: post.getString("title"), views: post.getInt("views") })
})

// record.collection() of a found record: the collection as it is now.
routerAdd("GET", "/api/posts/{id}/rule", (e) => {
  const post = $app.findRecordById("posts", e.request.pathValue("id"))
  return e.json(200, { viewRule: post.collection().viewRule })
})

routerAdd("POST", "/api/posts/bulk", (e) => {
  const body = e.requestInfo().body
  const posts = $app.findCollectionByNameOrId("posts")
  const ids = []
  for (const title of body.titles || []) {
    const r = new Record(posts)
    r.set("title", title)
    r.set("status", "draft")
    $app.save(r)
    ids.push(r.id)
  }
  const found = $app.findRecordsByFilter("posts", "status = {:s}", "", 0, 0, { s: "draft" })
  return e.json(201, { ids: ids, drafts: found.length })
}, $apis.requireSuperuserAuth())

routerAdd("GET", "/api/shout/{word}", (e) => {
  const util = require(`${__hooks}/lib/util.js`)
  return e.string(200, util.shout(e.request.pathValue("word")))
})

routerAdd("GET", "/api/fail/bad", (e) => {
  throw new BadRequestError("bad thing", { title: new ValidationError("invalid_title", "Invalid title") })
})

routerAdd("GET", "/api/fail/secret", (e) => {
  throw new Error("secret")
})

routerAdd("GET", "/api/fail/missing", (e) => {
  $app.findRecordById("posts", "doesnotexist123")
})

routerAdd("GET", "/api/text", (e) => e.string(201, "plain"))

// A handler is the end of its chain: its e.next() does nothing, before or
// after it writes; one that writes nothing answers 200 with no body.
routerAdd("GET", "/api/next/{word}", (e) => {
  e.next()
  e.json(200, { word: e.request.pathValue("word"), ip: e.realIP(), next: typeof e.next })
  return e.next()
})
routerAdd("GET", "/api/silent", (e) => { e.next() })

// Record hooks: set a field on create, refuse a value, notify a webhook.
onRecordCreate((e) => {
  if (!e.record.getString("slug")) {
    e.record.set("slug", e.record.getString("title").toLowerCase().replace(/[^a-z0-9]+/g, "-"))
  }
  e.next()
}, "posts")

onRecordCreateRequest((e) => {
  if (e.record.getString("title") === "forbidden") {
    throw new BadRequestError("title not allowed")
  }
  e.next()
}, "posts")

onRecordAfterCreateSuccess((e) => {
  const url = $os.getenv("HOOK_WEBHOOK_URL")
  if (url) {
    $http.send({
      url: url,
      method: "POST",
      body: JSON.stringify({ id: e.record.id, title: e.record.getString("title"), slug: e.record.getString("slug") }),
      headers: { "content-type": "application/json" },
    })
  }
  e.next()
}, "posts")

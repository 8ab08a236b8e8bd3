migrate((app) => {
  const posts = app.findCollectionByNameOrId("posts")
  for (const [i, title] of ["Hello", "World"].entries()) {
    const r = new Record(posts)
    r.set("title", title)
    r.set("slug", title.toLowerCase())
    r.set("status", "published")
    r.set("views", i * 10)
    app.save(r)
  }
  app.db().newQuery("UPDATE posts SET views = views + 1 WHERE slug = {:slug}").bind({ slug: "world" }).execute()
  // $dbx works in migrations too (a wrong answer fails the migration).
  const n = app.countRecords("posts", $dbx.hashExp({ slug: "world" }), $dbx.exp("views > {:v}", { v: 10 }))
  if (n !== 1) throw new Error("$dbx in a migration counted " + n)
}, (app) => {
  app.db().newQuery("DELETE FROM posts").execute()
})

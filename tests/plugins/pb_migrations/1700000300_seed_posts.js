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
}, (app) => {
  app.db().newQuery("DELETE FROM posts").execute()
})

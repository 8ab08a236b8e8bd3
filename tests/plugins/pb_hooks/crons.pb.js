// Cron jobs from a hook file: "hookTally" writes a post when it runs (its
// expression never fires during a test run: only triggered through the API);
// "dropped" is removed again and must not be scheduled.
cronAdd("hookTally", "0 0 1 1 *", () => {
  const posts = $app.findCollectionByNameOrId("posts")
  const r = new Record(posts)
  r.set("title", "Cron tally")
  r.set("slug", "cron-tally-" + $security.randomString(8).toLowerCase())
  r.set("status", "published")
  $app.save(r)
})

cronAdd("dropped", "*/5 * * * *", () => {})
cronRemove("dropped")

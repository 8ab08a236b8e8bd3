// Creates a collection, then fails: nothing of the batch may remain.
migrate((app) => {
  app.save(new Collection({ name: "half_done", fields: [{ name: "x", type: "text" }] }))
  throw new Error("nope")
})

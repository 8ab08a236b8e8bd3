migrate((app) => {
  const email = $os.getenv("SEED_ADMIN_EMAIL")
  if (!email) {
    return
  }
  const superusers = app.findCollectionByNameOrId("_superusers")
  const record = new Record(superusers)
  record.set("email", email)
  record.set("password", $os.getenv("SEED_ADMIN_PASSWORD"))
  app.save(record)
}, (app) => {
  try {
    const record = app.findAuthRecordByEmail("_superusers", $os.getenv("SEED_ADMIN_EMAIL"))
    app.delete(record)
  } catch {
    // already gone
  }
})

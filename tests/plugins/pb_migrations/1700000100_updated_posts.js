/// <reference path="../pb_data/types.d.ts" />
migrate((app) => {
  const collection = app.findCollectionByNameOrId("posts")

  // update collection data
  unmarshal({
    "listRule": "status = 'published'"
  }, collection)

  // add field
  collection.fields.add(new NumberField({
    name: "views",
    min: 0,
    onlyInt: true,
  }))

  collection.fields.addAt(1, new Field({
    type: "text",
    name: "slug",
    max: 100,
  }))

  collection.addIndex("idx_posts_slug", true, "`slug`", "`slug` != ''")

  return app.save(collection)
}, (app) => {
  const collection = app.findCollectionByNameOrId("posts")

  unmarshal({
    "listRule": ""
  }, collection)

  collection.fields.removeByName("views")
  collection.fields.removeByName("slug")
  collection.removeIndex("idx_posts_slug")

  return app.save(collection)
})

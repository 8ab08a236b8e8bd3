/// <reference path="../pb_data/types.d.ts" />
migrate((app) => {
  const collection = new Collection({
    type: "base",
    name: "posts",
    listRule: "",
    viewRule: "",
    createRule: "@request.auth.id != ''",
    updateRule: null,
    deleteRule: null,
    fields: [
      { name: "title", type: "text", required: true, max: 200 },
      { name: "body", type: "editor" },
      { name: "status", type: "select", maxSelect: 1, values: ["draft", "published"] },
      { name: "created", type: "autodate", onCreate: true, onUpdate: false },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
    indexes: ["CREATE INDEX `idx_posts_status` ON `posts` (`status`)"],
  });

  return app.save(collection);
}, (app) => {
  const collection = app.findCollectionByNameOrId("posts");

  return app.delete(collection);
})

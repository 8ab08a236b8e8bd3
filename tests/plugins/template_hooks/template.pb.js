// $template routes for tests/sdk/hooks_template.test.mjs: a layout with
// blocks filled by a page, and any template string with JSON data.
routerAdd("GET", "/tpl/page", (e) => {
  const html = $template.loadFiles(`${__hooks}/views/layout.html`, `${__hooks}/views/page.html`).render({
    title: "Tom & <Jerry>",
    items: [{ name: "apple", price: 2.5 }, { name: "b\"ig", price: 1000000 }],
    link: "https://x.test/a b?q=1&r=\"2\"",
    bad: "javascript:alert(1)",
    html: "<b>bold</b>",
    empty: [],
  })
  return e.html(200, html)
})

routerAdd("POST", "/tpl/string", (e) => {
  const b = e.requestInfo().body
  try {
    return e.string(200, $template.loadString(b.src).render(b.data))
  } catch (err) {
    return e.string(400, String(err))
  }
})

routerAdd("POST", "/tpl/file", (e) => {
  const b = e.requestInfo().body
  try {
    return e.string(200, $template.loadFiles(b.file).render({}))
  } catch (err) {
    return e.string(400, String(err))
  }
})

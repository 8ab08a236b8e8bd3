// Every dashboard page a signed-in superuser can reach, found rather than
// listed: start from each link of the main navigation and the collections
// sidebar, follow the dashboard links found in `main` two levels deep, one
// page per URL shape (ids and query values do not count). Used by
// dashboard_weight (page budget) and dashboard_sweep (axe and 375 px), so a
// page added to the navigation is checked without touching either.

/** A URL's shape: id-like segments (all digits, 15 lowercase letters or digits, or 8+ characters with a digit) and query values do not count. */
export function shape(u) {
  const path = u.pathname
    .split('/')
    .map((s) => (/^\d+$/.test(s) || /^[a-z0-9]{15}$/.test(s) || (s.length >= 8 && /\d/.test(s)) ? ':id' : s))
    .join('/');
  return `${path}?${[...u.searchParams.keys()].sort().join('&')}`;
}

/** Dashboard pages linked inside `scope` of the current page (GET links; no downloads, files, streams). */
export async function links(page, scope) {
  const origin = new URL(page.url()).origin;
  const hrefs = await page.locator(`${scope} a[href]:not([download])`).evaluateAll((as) => as.map((a) => a.href));
  return hrefs
    .map((h) => new URL(h))
    .filter((u) => u.origin === origin && u.pathname.startsWith('/_/'))
    .filter((u) => !/\/(download|logout|live|pick)\b|\/files\//.test(u.pathname))
    .map((u) => {
      u.hash = '';
      return u;
    });
}

/**
 * Visits every reachable page once per shape with the signed-in `page`,
 * calling `visit(url)` (which must load it: `visit` may measure the load);
 * returns Map(shape -> whatever `visit` returned).
 */
export async function crawl(page, visit, { depth = 2, max = 120 } = {}) {
  await page.goto('/_/collections');
  let level = [...(await links(page, 'nav[aria-label="Main"]')), ...(await links(page, '#sidebar'))];
  const seen = new Map();
  for (let d = 0; d <= depth && level.length; d++) {
    const next = [];
    for (const u of level) {
      const key = shape(u);
      if (seen.has(key) || seen.size >= max) continue;
      seen.set(key, await visit(u.href));
      if (d < depth) next.push(...(await links(page, 'main')));
    }
    level = next;
  }
  return seen;
}

//! `GET /api/collections`: the paged list, with PocketBase's `filter` and
//! `sort` over the `_collections` columns; Cairn's own system collections
//! are left out while they hold no records.

use serde_json::Value;

use super::Error;
use crate::schema::system;
use crate::store::Store;

/// The columns of `_collections` that `filter` and `sort` may name
/// (PocketBase's list: id, created, updated, name, system, type).
const LIST_FIELDS: crate::store::simple_list::Fields = crate::store::simple_list::Fields {
    columns: &["id", "created", "updated", "name", "system", "type"],
    json: None,
};

/// Lists collections; `filter` and `sort` use the filter language over
/// [`LIST_FIELDS`] (bad ones answer 400).
pub fn list(
    store: &Store,
    page: i64,
    per_page: i64,
    skip_total: bool,
    filter: &str,
    sort: &str,
) -> Result<Value, Error> {
    use crate::store::simple_list;
    let schema = store.schema();
    let page = page.max(1);
    let per_page = if per_page <= 0 {
        30
    } else {
        per_page.min(1000)
    };
    let bad = |_| Error::bad("Something went wrong while processing your request.");
    // `_collections` lives in the store's own database: its dialect.
    let dialect = store.schema().dialect;
    let filter = simple_list::compile_filter_in(dialect, LIST_FIELDS, filter).map_err(bad)?;
    let first = 1 + filter.as_ref().map_or(0, |f| f.params.len());
    let (order, order_params) =
        simple_list::order_by_in(dialect, LIST_FIELDS, sort, first).map_err(bad)?;
    // Cairn's own system collections show once they hold records: the empty
    // ones are left out of the listed rows (static names, never user text).
    let hidden: Vec<&'static str> = system::CAIRN_COLLECTIONS
        .iter()
        .copied()
        .filter(|name| {
            schema.get(name).is_some_and(|c| {
                c.name == *name
                    && !store
                        .read(|conn| crate::store::records::any(conn, &c))
                        .unwrap_or(true)
            })
        })
        .collect();
    let q = crate::store::collections::ListPage {
        hidden: &hidden,
        filter: filter.as_ref(),
        order: &order,
        order_params: &order_params,
        limit: per_page,
        offset: (page - 1) * per_page,
        count: !skip_total,
    };
    let (ids, total) = store
        .read(|conn| crate::store::collections::list_page(conn, &q))
        .map_err(|e| {
            tracing::debug!(error = %e, "collections list failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|id| schema.get(id))
        .map(|c| c.to_json())
        .collect();
    Ok(crate::service::page_envelope(page, per_page, total, items))
}

//! A page of a collection's records (`GET …/records`): the page query,
//! its sort, and its total.
//!
//! On PostgreSQL the `ORDER BY` is written so that an index can give the
//! order: `NULLS FIRST/LAST` (SQLite's NULL order) only where a column can
//! hold NULL, and insertion order by `_rowid`, which has an index there
//! (`ddl.rs`). The total comes from `counts.rs`; on PostgreSQL the page
//! carries its snapshot's stamp, so a total counted in that snapshot is
//! served without a query.

use super::StoreError;
use super::dialect::Dialect;
use super::records::{Row_, SortKey, Where, read_row, renumber, select_list, vals};
use super::sql::Db;
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// A listed record with its answers to the list's extra conditions.
pub type MarkedRow = (Row_, Vec<bool>);

/// One page of records plus the total (or -1 when skipped). `flags` are
/// extra conditions (each `?1`-based) answered per returned row, in order.
#[allow(clippy::too_many_arguments)]
pub fn list(
    db: &dyn Db,
    c: &Collection,
    sort: &[SortKey],
    limit: i64,
    offset: i64,
    count: bool,
    filter: Option<&Where>,
    flags: &[Where],
) -> Result<(Vec<MarkedRow>, i64), StoreError> {
    let d = db.dialect();
    let table = quote_ident(&c.name);
    let (cond, mut params) = match filter {
        Some(w) => (format!(" WHERE {}", w.sql), w.params.clone()),
        None => (String::new(), Vec::new()),
    };
    let mut cols = select_list(c).to_string();
    let mut flag_params = Vec::new();
    for w in flags {
        let sql = renumber(&w.sql, params.len() + flag_params.len());
        flag_params.extend(w.params.iter().cloned());
        cols.push_str(&format!(", (CASE WHEN ({sql}) THEN 1 ELSE 0 END)"));
    }
    let count_params = params.clone();
    params.extend(flag_params);
    let order_by = order_by(d, c, sort);
    // PostgreSQL: the page carries its snapshot's stamp, under which a
    // cached total may be served (`counts.rs`).
    let stamped = count && d == Dialect::Postgres;
    if stamped {
        // A subquery: evaluated once per statement, not once per row.
        cols.push_str(&format!(", (SELECT {})", super::counts::STAMP));
    }
    // LIMIT and OFFSET as literals (integers): bound ones make SQLite
    // re-prepare the statement on every run (docs/performance.md).
    let sql = format!("SELECT {cols} FROM {table}{cond}{order_by} LIMIT {limit} OFFSET {offset}");
    let cacheable = !c.name.starts_with('_');
    let from = format!("{table}{cond}");
    let total = if count && !stamped {
        super::counts::count(db, cacheable, &from, &count_params)?
    } else {
        -1
    };
    let fields = c.fields.len();
    let mut stamp = None;
    let rows = db.rows(&sql, &vals(&params), |r| {
        let row = read_row(c, r)?;
        let marks = (0..flags.len())
            .map(|i| r.int(fields + i).map(|v| v == 1))
            .collect::<Result<Vec<bool>, StoreError>>()?;
        if stamped && stamp.is_none() {
            stamp = Some(r.opt_text(fields + flags.len())?);
        }
        Ok((row, marks))
    })?;
    if stamped {
        let total = super::counts::count_stamped(
            db,
            cacheable,
            &from,
            &count_params,
            stamp.flatten().as_deref(),
        )?;
        return Ok((rows, total));
    }
    Ok((rows, total))
}

/// The ` ORDER BY …` of a list page (empty for an unsorted view):
/// `sort`, else insertion order; ties in insertion order too.
pub(crate) fn order_by(d: Dialect, c: &Collection, sort: &[SortKey]) -> String {
    let mut order: Vec<String> = sort
        .iter()
        .map(|k| {
            let col = match (k.expr.as_deref(), k.field.as_str()) {
                (Some(expr), _) => expr.to_owned(),
                (None, "@random") => d.random().to_owned(),
                (None, "@rowid") => d.rowid().to_owned(),
                // Multi-valued fields sort by their JSON text, as on
                // SQLite (PostgreSQL's jsonb order puts `[]` first).
                (None, name) if d == Dialect::Postgres && multiple(c, name) => {
                    format!("({}::text COLLATE \"C\")", quote_ident(name))
                }
                (None, name) => quote_ident(name),
            };
            if k.expr.is_none() && not_null(c, &k.field) {
                d.order_term_not_null(&col, k.desc)
            } else {
                d.order_term(&col, k.desc)
            }
        })
        .collect();
    let table = c.kind != crate::schema::CollectionKind::View;
    // `id` and the row id are unique: no ties after them.
    let ends_unique = sort
        .last()
        .is_some_and(|k| k.expr.is_none() && (k.field == "@rowid" || k.field == "id"));
    if table && (order.is_empty() || (d == Dialect::Postgres && !ends_unique)) {
        // SQLite returns rows with equal sort keys in insertion order (the
        // scan order); PostgreSQL's sort is not stable, so it is told.
        order.push(format!("{} ASC", d.rowid()));
    }
    if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    }
}

fn multiple(c: &Collection, field: &str) -> bool {
    c.field(field).is_some_and(|f| f.kind.is_multiple())
}

/// Whether `field` (a sort key) is a `NOT NULL` column of `c`'s table:
/// every field's column is but JSON's (`Dialect::column_def`), and so is
/// the row id; a view's columns may hold anything.
fn not_null(c: &Collection, field: &str) -> bool {
    if c.kind == crate::schema::CollectionKind::View {
        return false;
    }
    field == "@rowid"
        || c.field(field)
            .is_some_and(|f| !matches!(f.kind, crate::schema::FieldKind::Json(_)))
}

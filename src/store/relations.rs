//! Conditions the expand step combines with the target collection's view
//! rule: "the id is one of a bound list" and "the relation field points at
//! one of a bound list" (back-relations). The list is one bound JSON array
//! at placeholder `n`.

use super::dialect::Dialect;
use crate::schema::names::quote_ident;
use crate::schema::{Collection, Field};

/// `SELECT value FROM` the elements of the JSON array bound at `n`.
fn bound_list(n: usize, d: Dialect) -> String {
    format!(
        "SELECT value FROM {}",
        d.json_each(&d.placeholder(n), None, None)
    )
}

/// `c`'s id is in the JSON array bound at `n`.
pub fn id_in(c: &Collection, n: usize, d: Dialect) -> String {
    let table = quote_ident(&c.name);
    format!("{table}.\"id\" IN ({})", bound_list(n, d))
}

/// `other`'s relation field `rel` holds one of the ids in the JSON array
/// bound at `n` (any of them, for a multiple relation).
pub fn refers_to_any(other: &Collection, rel: &Field, n: usize, d: Dialect) -> String {
    let col = format!("{}.{}", quote_ident(&other.name), quote_ident(&rel.name));
    if rel.kind.is_multiple() {
        format!(
            "EXISTS (SELECT 1 FROM {} WHERE _r.value IN ({}))",
            d.json_each(&col, None, Some("_r")),
            bound_list(n, d)
        )
    } else {
        format!("{col} IN ({})", bound_list(n, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_is_unchanged() {
        let users = crate::schema::system::system_collections("")
            .into_iter()
            .find(|c| c.name == "users")
            .expect("users");
        assert_eq!(
            id_in(&users, 3, Dialect::Sqlite),
            "\"users\".\"id\" IN (SELECT value FROM json_each(?3))"
        );
        assert!(id_in(&users, 3, Dialect::Postgres).contains("$3"));
    }
}

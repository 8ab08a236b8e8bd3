//! Conditions the expand step combines with the target collection's view
//! rule: "the id is one of a bound list" and "the relation field points at
//! one of a bound list" (back-relations). The list is one bound JSON array
//! at placeholder `n`.

use crate::schema::names::quote_ident;
use crate::schema::{Collection, Field};

/// `c`'s id is in the JSON array bound at `?n`.
pub fn id_in(c: &Collection, n: usize) -> String {
    let table = quote_ident(&c.name);
    format!("{table}.\"id\" IN (SELECT value FROM json_each(?{n}))")
}

/// `other`'s relation field `rel` holds one of the ids in the JSON array
/// bound at `?n` (any of them, for a multiple relation).
pub fn refers_to_any(other: &Collection, rel: &Field, n: usize) -> String {
    let col = format!("{}.{}", quote_ident(&other.name), quote_ident(&rel.name));
    if rel.kind.is_multiple() {
        format!(
            "EXISTS (SELECT 1 FROM json_each({col}) AS _r WHERE _r.value IN (SELECT value FROM json_each(?{n})))"
        )
    } else {
        format!("{col} IN (SELECT value FROM json_each(?{n}))")
    }
}

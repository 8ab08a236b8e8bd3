//! Rows of Cairn's access-control collections that the services read or
//! touch outside the generic record path: every policy with its id (for
//! "in use by" checks) and an API key's last use.

use super::StoreError;
use super::sql::{Db, Val};

/// Every policy as (id, name, rule text), by name.
pub fn policies(db: &dyn Db) -> Result<Vec<(String, String, String)>, StoreError> {
    db.rows(
        "SELECT id, name, rule FROM _policies ORDER BY name",
        &[],
        |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
    )
}

/// Records that API key `id` was used at `now`.
pub fn touch_api_key(db: &dyn Db, id: &str, now: &str) -> Result<(), StoreError> {
    db.exec(
        "UPDATE \"_apiKeys\" SET \"lastUsed\" = ?1 WHERE \"id\" = ?2",
        &[Val::Text(now), Val::Text(id)],
    )?;
    Ok(())
}

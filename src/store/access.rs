//! Rows of Cairn's access-control collections that the services read or
//! touch outside the generic record path: every policy with its id (for
//! "in use by" checks) and an API key's last use.

use rusqlite::params;

use super::{Conn, StoreError};

/// Every policy as (id, name, rule text), by name.
pub fn policies(conn: &Conn) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, name, rule FROM _policies ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Records that API key `id` was used at `now`.
pub fn touch_api_key(conn: &Conn, id: &str, now: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE \"_apiKeys\" SET \"lastUsed\" = ?1 WHERE \"id\" = ?2",
        params![now, id],
    )?;
    Ok(())
}

//! Role names of auth records, cached per schema generation.
//!
//! Rules read `@request.auth.roles` on every request, so a request's roles
//! are looked up once and kept until role data changes: writes to `_roles`
//! or `_roleAssignments` reload the schema snapshot (new generation), and an
//! entry filled under an older generation is never used. The map is bounded
//! and cleared when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::StoreError;
use super::sql::{Db, Val};

/// Most cached records.
const CAPACITY: usize = 10_000;

type Key = (String, String);
/// Role names and the schema generation they were loaded under.
type Entry = (u64, Arc<[String]>);

/// Cached role names by (collection id, record id).
#[derive(Default)]
pub struct RoleCache {
    map: Mutex<HashMap<Key, Entry>>,
}

impl RoleCache {
    /// The cached roles if they were filled under `generation`.
    pub fn get(
        &self,
        generation: u64,
        collection_id: &str,
        record_id: &str,
    ) -> Option<Arc<[String]>> {
        let map = self.map.lock().ok()?;
        let key = (collection_id.to_owned(), record_id.to_owned());
        match map.get(&key) {
            Some((g, roles)) if *g == generation => Some(Arc::clone(roles)),
            _ => None,
        }
    }

    pub fn put(&self, generation: u64, collection_id: &str, record_id: &str, roles: Arc<[String]>) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(
                (collection_id.to_owned(), record_id.to_owned()),
                (generation, roles),
            );
        }
    }
}

/// The names of the roles assigned to one record, sorted.
pub fn load(db: &dyn Db, collection_id: &str, record_id: &str) -> Result<Vec<String>, StoreError> {
    db.rows(
        "SELECT r.\"name\" FROM \"_roleAssignments\" AS a JOIN \"_roles\" AS r ON r.\"id\" = a.\"role\" \
         WHERE a.\"collectionRef\" = ?1 AND a.\"recordRef\" = ?2 ORDER BY r.\"name\"",
        &[Val::Text(collection_id), Val::Text(record_id)],
        |r| r.text(0),
    )
}

//! Deleting files only after the commit that drops them, and the orphan
//! sweep.
//!
//! Write jobs call the `forget_*` functions (inside the transaction): they
//! queue storage keys in `_fileDeletes`. After a successful write the
//! service pokes [`poke`]; the cleaner task then deletes the queued files
//! and clears the rows. A crash in between leaves rows (processed at the
//! next start) or, for uploads stored before a job that never committed,
//! orphan files, which [`sweep_orphans`] removes once they are older than
//! the grace period. The sweep is a cron job (listed by `GET /api/crons`,
//! runnable by hand with `POST /api/crons/{id}`) rather than a timer of its
//! own, so it shows up and can be triggered like every other periodic task.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::Notify;

use super::storage::Backend;
use crate::schema::value;
use crate::schema::{Collection, FieldKind};
use crate::store::records::{self, Row_};
use crate::store::{Conn, Store, StoreError, files as queue};

/// Wakes the cleaner after a write that queued deletions has committed.
static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Most queued keys handled per round.
const ROUND: i64 = 500;
/// The cleaner looks at the queue at least this often.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// Tells the cleaner that queued deletions may have committed.
pub fn poke() {
    WAKE.notify_waiters();
}

fn key(c: &Collection, record_id: &str, name: &str) -> String {
    format!("{}/{record_id}/{name}", c.id)
}

/// Every file name a record's file fields hold.
pub fn file_names(c: &Collection, rec: &Row_) -> Vec<String> {
    let mut out = Vec::new();
    for f in &c.fields {
        if matches!(f.kind, FieldKind::File(_)) {
            out.extend(rec.get(&f.name).map(value::to_list).unwrap_or_default());
        }
    }
    out
}

/// In a write job: the files `old` held that `new` no longer names.
pub fn forget_replaced(
    conn: &Conn,
    c: &Collection,
    id: &str,
    old: &Row_,
    new: &Row_,
) -> Result<(), StoreError> {
    let kept: HashSet<String> = file_names(c, new).into_iter().collect();
    for name in file_names(c, old) {
        if !kept.contains(&name) {
            queue::queue(conn, &key(c, id, &name))?;
        }
    }
    Ok(())
}

/// In a write job: every file of a record being deleted.
pub fn forget_record(conn: &Conn, c: &Collection, id: &str, rec: &Row_) -> Result<(), StoreError> {
    for name in file_names(c, rec) {
        queue::queue(conn, &key(c, id, &name))?;
    }
    Ok(())
}

/// In a write job: a whole collection's files (the collection is dropped).
pub fn forget_collection(conn: &Conn, c: &Collection) -> Result<(), StoreError> {
    queue::queue(conn, &format!("{}/", c.id))
}

/// In a write job, before a schema change: the files of file fields that
/// `new` drops (removed, or no longer of type file).
pub fn forget_dropped_fields(
    conn: &Conn,
    old: &Collection,
    new: &Collection,
) -> Result<(), StoreError> {
    for f in &old.fields {
        if !matches!(f.kind, FieldKind::File(_)) {
            continue;
        }
        let still = new
            .fields
            .iter()
            .any(|n| n.id == f.id && matches!(n.kind, FieldKind::File(_)));
        if still {
            continue;
        }
        for (id, raw) in queue::column_values(conn, old, &f.name)? {
            let v = serde_json::from_str::<Value>(&raw).unwrap_or(Value::String(raw));
            for name in value::to_list(&v) {
                queue::queue(conn, &key(old, &id, &name))?;
            }
        }
    }
    Ok(())
}

/// Deletes one queued key: a prefix, or a file with its thumbs.
async fn delete_key(backend: &dyn Backend, key: &str) -> std::io::Result<()> {
    if key.ends_with('/') {
        return backend.delete_prefix(key).await;
    }
    if let Some((dir, name)) = key.rsplit_once('/') {
        backend
            .delete_prefix(&format!("{dir}/thumbs_{name}/"))
            .await?;
    }
    backend.delete(key).await
}

/// One round of the cleaner: deletes queued files, then clears their rows.
/// Returns how many keys it handled.
pub async fn drain_queue(store: &Store, backend: &dyn Backend) -> Result<usize, StoreError> {
    let rows = store.read(|conn| queue::pending(conn, ROUND))?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut done = Vec::with_capacity(rows.len());
    for (id, key) in &rows {
        match delete_key(backend, key).await {
            Ok(()) => done.push(*id),
            Err(e) => tracing::warn!(error = %e, key, "could not delete a file"),
        }
    }
    let n = done.len();
    store.write(move |ctx| queue::done(ctx.conn, &done)).await?;
    Ok(n)
}

/// The cleaner task: drains the queue whenever a write pokes it (and every
/// 30 s regardless), until the process ends.
pub fn start_cleaner<A: Send + Sync + 'static>(
    owner: Arc<A>,
    store: fn(&A) -> &Store,
    files: Arc<super::Files>,
) {
    tokio::spawn(async move {
        let store = store(&owner);
        loop {
            let woken = WAKE.notified();
            loop {
                match drain_queue(store, files.backend().as_ref()).await {
                    Ok(n) if n as i64 == ROUND => continue,
                    Ok(_) => break,
                    Err(StoreError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "file cleaner");
                        break;
                    }
                }
            }
            let _ = tokio::time::timeout(IDLE_POLL, woken).await;
        }
    });
}

/// Removes stored files no committed record names: uploads of writes that
/// never committed (a crash, a kill) and anything else left behind. Files
/// younger than `grace` are left alone, since a write may be storing them
/// right now. Returns how many files it deleted. Run by [`sweep`].
pub async fn sweep_orphans(
    store: &Store,
    backend: &dyn Backend,
    grace: Duration,
) -> Result<usize, StoreError> {
    let objects = backend.list("").await.map_err(StoreError::Io)?;
    let now = SystemTime::now();
    let schema = store.schema();
    let mut deleted = 0;
    let mut records_seen: std::collections::HashMap<(String, String), HashSet<String>> =
        Default::default();
    for (key, meta) in objects {
        let young = now
            .duration_since(meta.modified)
            .map(|age| age < grace)
            .unwrap_or(true);
        if young {
            continue;
        }
        let parts: Vec<&str> = key.splitn(3, '/').collect();
        let [coll, rec, rest] = parts[..] else {
            continue;
        };
        // `thumbs_<name>/<size>_<name>` belongs to `<name>`.
        let name = match rest.split_once('/') {
            Some((dir, _)) => dir.strip_prefix("thumbs_").unwrap_or(dir),
            None => rest,
        };
        // Objects outside known collections (a shared bucket) are not ours.
        let Some(c) = schema.get(coll).filter(|c| c.id == coll) else {
            continue;
        };
        let names = match records_seen.get(&(coll.to_owned(), rec.to_owned())) {
            Some(n) => n,
            None => {
                let names = store
                    .read(|conn| records::get(conn, &c, rec))?
                    .map(|r| file_names(&c, &r).into_iter().collect())
                    .unwrap_or_default();
                records_seen
                    .entry((coll.to_owned(), rec.to_owned()))
                    .or_insert(names)
            }
        };
        if !names.contains(name) {
            match backend.delete(&key).await {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(error = %e, key, "orphan sweep"),
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "orphan sweep removed files");
    }
    Ok(deleted)
}

/// One run of the sweep job (`__cairnFilesSweep__`, registered with the
/// other built-in cron jobs in `ops.rs`): orphan files, stale temp uploads
/// and expired TUS uploads.
pub async fn sweep(store: &Store, files: &super::Files) -> Result<(), String> {
    let grace = files.limits.orphan_grace;
    let swept = sweep_orphans(store, files.backend().as_ref(), grace).await;
    super::upload::sweep_tmp(&files.tmp, grace).await;
    files.tus.sweep().await;
    swept.map(|_| ()).map_err(|e| e.to_string())
}

/// The cron expression for `files_sweep_interval_secs`: the interval in
/// whole minutes (at least one), lowered to a divisor of 60 (`*/M * * * *`);
/// from one hour, whole hours lowered to a divisor of 24 (`0 */H * * *`);
/// from one day, daily at midnight UTC.
pub fn sweep_schedule(every: Duration) -> String {
    let largest_divisor = |n: u64, of: u64| (1..=n.min(of)).rev().find(|d| of.is_multiple_of(*d));
    let minutes = (every.as_secs() / 60).max(1);
    if minutes < 60 {
        match largest_divisor(minutes, 60) {
            Some(1) | None => "* * * * *".into(),
            Some(m) => format!("*/{m} * * * *"),
        }
    } else if minutes < 24 * 60 {
        match largest_divisor(minutes / 60, 24) {
            Some(1) | None => "0 * * * *".into(),
            Some(h) => format!("0 */{h} * * *"),
        }
    } else {
        "0 0 * * *".into()
    }
}

#[cfg(test)]
mod tests {
    use super::sweep_schedule;
    use std::time::Duration;

    #[test]
    fn sweep_interval_maps_to_a_cron_expression() {
        let at = |secs| sweep_schedule(Duration::from_secs(secs));
        assert_eq!(at(1), "* * * * *");
        assert_eq!(at(90), "* * * * *");
        assert_eq!(at(300), "*/5 * * * *");
        assert_eq!(at(7 * 60), "*/6 * * * *");
        assert_eq!(at(3600), "0 * * * *");
        assert_eq!(at(5 * 3600), "0 */4 * * *");
        assert_eq!(at(12 * 3600), "0 */12 * * *");
        assert_eq!(at(86400), "0 0 * * *");
        assert_eq!(at(7 * 86400), "0 0 * * *");
    }
}

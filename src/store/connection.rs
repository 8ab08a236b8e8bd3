//! The settings every SQLite connection gets (pragmas, the statement
//! cache, the SQL functions the filter language compiles to), kept apart
//! from the writer and its group commits (`pool`), which use them.

use rusqlite::Connection;
use rusqlite::config::DbConfig;

/// Prepared statements cached per connection.
pub const STATEMENT_CACHE: usize = 512;

/// Applies the pragmas every connection needs. The one place they live.
pub fn configure(conn: &Connection, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Readers keep temporary tables and sorts in memory. The writer keeps
    // them in files (cached, written only if they outgrow the cache), which
    // is what sizes a savepoint's journal: SQLite holds it in memory in one
    // 64 KiB chunk before spilling to a file, where with `MEMORY` it used
    // 1 KiB chunks, each a `malloc` (a grouped create's savepoint copied
    // ~6 pages into ~24 of them: 10 % of its instructions). Only if SQLite
    // has a directory to spill to: under a sandbox with no writable
    // temporary directory a large job would fail instead.
    let temp = if writer && temp_dir_writable() {
        "FILE"
    } else {
        "MEMORY"
    };
    conn.pragma_update(None, "temp_store", temp)?;
    // Readers read through a memory map; the writer's cache keeps the pages
    // it wrote, which after a bulk import was a whole table (16 MB of heap
    // that never went away). 4 MB holds a write burst's hot pages.
    let cache = if writer { "-4000" } else { "-16000" };
    conn.pragma_update(None, "cache_size", cache)?;
    // The writer reads only the pages it is about to change, through its
    // cache: with a map, every page a bulk write walked stayed resident
    // (counted in RSS once per connection that mapped it) for as long as
    // the server ran (docs/performance.md, "Session 14").
    let mmap = if writer { "0" } else { "268435456" };
    conn.pragma_update(None, "mmap_size", mmap)?;
    if writer {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "journal_size_limit", "67108864")?;
        // The checkpointer thread folds the WAL back; the writer only
        // checkpoints itself as a safety net if the WAL grows very large.
        conn.pragma_update(None, "wal_autocheckpoint", "20000")?;
    }
    // Plans never depend on bound values. Without this, once `ANALYZE`
    // (the daily `PRAGMA optimize`) has left STAT4 samples, binding a new
    // value to a parameter compared with an indexed column marks the
    // cached statement for a re-prepare (~85,000 instructions for the
    // webhook claim, and so for nearly every cached query and write).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    register_functions(conn)
}

/// Whether SQLite's unix VFS finds a directory for temporary files: it
/// takes the first of `SQLITE_TMPDIR`, `TMPDIR`, `/var/tmp`, `/usr/tmp`,
/// `/tmp` and the working directory that it may write and enter. A systemd
/// unit with `ProtectSystem=strict` and no `PrivateTmp=` has none.
#[cfg(target_os = "linux")]
pub fn temp_dir_writable() -> bool {
    use rustix::fs::{Access, access};
    let from_env = ["SQLITE_TMPDIR", "TMPDIR"].map(std::env::var_os);
    let fixed = ["/var/tmp", "/usr/tmp", "/tmp", "."].map(std::ffi::OsString::from);
    from_env.into_iter().flatten().chain(fixed).any(|dir| {
        std::fs::metadata(&dir).is_ok_and(|m| m.is_dir())
            && access(dir.as_os_str(), Access::WRITE_OK | Access::EXEC_OK).is_ok()
    })
}

/// Elsewhere the writer keeps temporary data in memory, as readers do.
#[cfg(not(target_os = "linux"))]
pub fn temp_dir_writable() -> bool {
    false
}

/// SQL functions the filter language compiles to. Bundled SQLite has no
/// math functions, so the distance is computed here.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "cairn_geo_distance",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let mut v = [0f64; 4];
            for (i, x) in v.iter_mut().enumerate() {
                *x = ctx.get::<Option<f64>>(i)?.unwrap_or(0.0);
            }
            Ok(geo_distance_km(v[0], v[1], v[2], v[3]))
        },
    )
}

/// Haversine distance in kilometres between two (lon, lat) points.
pub fn geo_distance_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

//! Backups: consistent snapshots of the data directory as zip files in
//! `DATA/backups/`, PocketBase's API rules and messages, and restore.
//!
//! A backup holds `data.db` and `auxiliary.db`, each written with
//! `VACUUM INTO` from a read transaction (a consistent snapshot while
//! writes go on), and the files under `storage/`.
//!
//! Restore copies the archive's databases over the live ones with SQLite's
//! online backup API, one transaction each, so the running server switches
//! from the old data to the restored data at once, with no restart; the
//! old data is kept aside in `DATA/.pre_restore/` until the restored data
//! is in place and checked, and put back if anything fails.
//!
//! With `backups.s3.enabled`, the archives live in an S3 bucket instead
//! (`remote`): they are still written and restored through a scratch file
//! in the local backups directory.
//!
//! These functions block (disk and SQLite work): callers run them on the
//! blocking pool. One backup or restore runs at a time.

pub mod archive;
pub mod remote;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value, json};

use super::Error;
use crate::schema::validate::FieldError;
use crate::service::files::s3::S3Settings;
use crate::store::logs::LogDb;
use crate::store::{Store, snapshot};

/// Prefix of scheduled backups (pruned to `backups.cronMaxKeep`).
pub const AUTO_PREFIX: &str = "@auto_pb_backup_";
/// Longest name accepted by `POST /api/backups`.
pub const MAX_NAME: usize = 150;

const BUSY: &str = "Try again later - another backup/restore operation has already been started.";

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub restores: AtomicU64,
    pub last_size: AtomicU64,
}

/// The backups of one data directory.
pub struct Backups {
    data_dir: PathBuf,
    busy: AtomicBool,
    pub stats: Stats,
    /// The bucket when `backups.s3` is enabled, with the settings it was
    /// built from.
    remote: RwLock<Option<(S3Settings, Arc<remote::Remote>)>>,
}

/// Clears the busy flag when the operation ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn field(name: &str, code: &'static str, message: &str) -> Error {
    let mut m = Map::new();
    m.insert(name.into(), FieldError::new(code, message).to_json());
    Error::invalid("An error occurred while validating the submitted data.", m)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("backup: {e}"))
}

/// A key that names a file directly inside the backups directory.
fn safe_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && !key.starts_with('.') && !key.contains(['/', '\\', '\0'])
}

fn valid_new_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        let mut m = Map::new();
        m.insert(
            "name".into(),
            FieldError::new(
                "validation_length_out_of_range",
                "The length must be between 1 and 150.",
            )
            .with_params(json!({"max": MAX_NAME, "min": 1}))
            .to_json(),
        );
        return Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            m,
        ));
    }
    let stem = name.strip_suffix(".zip").unwrap_or_default();
    let ok = !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(field(
            "name",
            "validation_match_invalid",
            "Must be in a valid format.",
        ));
    }
    Ok(())
}

/// PocketBase's generated name: `pb_backup_{app}_{YYYYMMDDhhmmss}.zip`.
pub fn generated_name(prefix: &str, app_name: &str) -> String {
    let app: String = app_name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let ts = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    format!("{prefix}{app}_{ts}.zip")
}

/// Refuses a backup operation on PostgreSQL with the same 400 as creating
/// one (an uploaded archive could never be restored there).
pub fn supported(store: &Store) -> Result<(), Error> {
    if store.is_postgres() {
        return Err(crate::store::StoreError::Unsupported(snapshot::UNSUPPORTED).into());
    }
    Ok(())
}

/// PocketBase's checks on the `backups` settings: a valid cron expression,
/// and `cronMaxKeep` of at least 1 when one is set; on PostgreSQL no
/// schedule at all (it could only fail).
pub fn settings_errors(v: &Value, postgres: bool) -> Option<Value> {
    let cron = v
        .pointer("/backups/cron")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let mut m = Map::new();
    if !cron.is_empty() && postgres {
        m.insert(
            "cron".into(),
            FieldError::new(
                "validation_not_supported",
                "Scheduled backups are not available on PostgreSQL: use pg_dump or your provider's snapshots.",
            )
            .to_json(),
        );
    } else if !cron.is_empty() {
        if super::cron::parse(cron).is_err() {
            m.insert(
                "cron".into(),
                FieldError::new(
                    "validation_invalid_cron",
                    "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.",
                )
                .to_json(),
            );
        }
        let keep = v
            .pointer("/backups/cronMaxKeep")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if keep < 1 {
            m.insert("cronMaxKeep".into(), FieldError::required().to_json());
        }
    }
    if let Some(e) = S3Settings::from_json(v.pointer("/backups/s3")).errors() {
        m.insert("s3".into(), e);
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

impl Backups {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            busy: AtomicBool::new(false),
            stats: Stats::default(),
            remote: RwLock::new(None),
        }
    }

    /// Applies the `backups.s3` settings (local storage when disabled).
    pub fn configure(&self, cfg: &S3Settings) {
        let mut cur = self.remote.write().unwrap_or_else(|e| e.into_inner());
        if !cfg.enabled {
            *cur = None;
        } else if cur.as_ref().is_none_or(|(c, _)| c != cfg) {
            match remote::Remote::new(cfg) {
                Ok(r) => *cur = Some((cfg.clone(), Arc::new(r))),
                Err(e) => {
                    tracing::error!(error = %e, "backups.s3 unusable; backups stay local");
                    *cur = None;
                }
            }
        }
    }

    /// The bucket, when backups go to S3.
    pub fn remote(&self) -> Option<Arc<remote::Remote>> {
        let cur = self.remote.read().unwrap_or_else(|e| e.into_inner());
        cur.as_ref().map(|(_, r)| Arc::clone(r))
    }

    /// Whether backup `key` exists (locally or in the bucket). Blocks.
    fn exists(&self, key: &str) -> Result<bool, Error> {
        if !safe_key(key) {
            return Ok(false);
        }
        match self.remote() {
            Some(r) => Ok(r.head(key).map_err(internal)?.is_some()),
            None => Ok(self.dir().join(key).is_file()),
        }
    }

    /// Puts a finished archive in place as `key`.
    fn put(&self, src: &Path, key: &str) -> Result<(), Error> {
        match self.remote() {
            Some(r) => r.put_file(key, src).map_err(internal),
            None => std::fs::rename(src, self.dir().join(key)).map_err(internal),
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.data_dir.join("backups")
    }

    fn start(&self) -> Result<Running<'_>, Error> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return Err(Error::bad(BUSY));
        }
        Ok(Running(&self.busy))
    }

    /// A scratch directory inside the backups directory (same filesystem,
    /// so finished files are renamed into place atomically).
    fn scratch(&self, what: &str) -> Result<PathBuf, Error> {
        let p = self
            .dir()
            .join(format!(".{what}-{}", crate::schema::names::new_record_id()));
        std::fs::create_dir_all(&p).map_err(internal)?;
        Ok(p)
    }

    /// `[{key, size, modified}]`, sorted by key. Blocks.
    pub fn list(&self) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        if let Some(r) = self.remote() {
            for (key, m) in r.list().map_err(internal)? {
                if safe_key(&key) {
                    let modified = crate::schema::datetime::format(m.modified.into());
                    out.push(json!({"key": key, "size": m.size, "modified": modified}));
                }
            }
            out.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
            return Ok(out);
        }
        let entries = match std::fs::read_dir(self.dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(internal(e)),
        };
        for e in entries.flatten() {
            let key = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() || !safe_key(&key) {
                continue;
            }
            let modified = meta
                .modified()
                .map(|t| crate::schema::datetime::format(t.into()))
                .unwrap_or_default();
            out.push(json!({"key": key, "size": meta.len(), "modified": modified}));
        }
        out.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
        Ok(out)
    }

    /// The local file of an existing backup (local storage only).
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        let p = self.dir().join(key);
        (safe_key(key) && p.is_file()).then_some(p)
    }

    /// Validates a name for a new backup (`None` = generated). Blocks.
    pub fn check_new_name(&self, name: Option<&str>, app_name: &str) -> Result<String, Error> {
        let name = match name {
            Some(n) => {
                valid_new_name(n)?;
                n.to_owned()
            }
            None => generated_name("pb_backup_", app_name),
        };
        if self.exists(&name)? {
            return Err(field(
                "name",
                "validation_backup_name_exists",
                "The backup file name is invalid or already exists.",
            ));
        }
        Ok(name)
    }

    /// Writes backup `name` (already checked). Blocks.
    pub fn create(&self, store: &Store, logs: &LogDb, name: &str) -> Result<(), Error> {
        let _running = self.start()?;
        let res = self.write_archive(store, logs, name);
        match &res {
            Ok(size) => {
                self.stats.ok.fetch_add(1, Ordering::Relaxed);
                self.stats.last_size.store(*size, Ordering::Relaxed);
                tracing::info!(backup = name, size, "backup created");
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(backup = name, error = ?e, "backup failed");
            }
        }
        res.map(|_| ())
    }

    fn write_archive(&self, store: &Store, logs: &LogDb, name: &str) -> Result<u64, Error> {
        let tmp = self.scratch("create")?;
        let run = || -> Result<u64, Error> {
            let data = tmp.join(archive::DATA_DB);
            let aux = tmp.join(archive::AUX_DB);
            store.read(|c| snapshot::vacuum_into(c, &data))?;
            logs.read(|c| snapshot::vacuum_into(c, &aux))?;
            let zip = tmp.join("archive.zip");
            archive::write(
                &zip,
                &[(archive::DATA_DB, data), (archive::AUX_DB, aux)],
                Some(&self.data_dir.join(archive::STORAGE)),
            )
            .map_err(internal)?;
            if self.exists(name)? {
                return Err(internal("a backup with this name appeared meanwhile"));
            }
            let size = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0);
            self.put(&zip, name)?;
            Ok(size)
        };
        let res = run();
        let _ = std::fs::remove_dir_all(&tmp);
        res
    }

    /// Deletes a backup. In S3, as on PocketBase 0.40.6, deleting a
    /// missing key succeeds (S3 deletes are idempotent).
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        let _running = self.start()?;
        let on_s3 = self.remote().is_some() && safe_key(key);
        if !on_s3 && !self.exists(key)? {
            return Err(Error::bad(&format!(
                "Invalid or already deleted backup file. Raw error: \n[key: {key}] not found"
            )));
        }
        self.remove(key)
    }

    fn remove(&self, key: &str) -> Result<(), Error> {
        match self.remote() {
            Some(r) => r.delete(key).map_err(internal),
            None => std::fs::remove_file(self.dir().join(key)).map_err(internal),
        }
    }

    /// A scratch file for an upload being received.
    pub fn upload_target(&self) -> Result<PathBuf, Error> {
        Ok(self.scratch("upload")?.join("file"))
    }

    /// Moves a received upload into place as `filename`. Removes `tmp`'s
    /// scratch directory either way.
    pub fn finish_upload(&self, tmp: &Path, filename: &str) -> Result<(), Error> {
        let res = (|| {
            let name = Path::new(filename)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !archive::looks_like_zip(tmp) || !safe_key(&name) {
                return Err(field(
                    "file",
                    "validation_invalid_mime_type",
                    &format!("\"{name}\" mime type must be one of: application/zip."),
                ));
            }
            if self.exists(&name)? {
                return Err(field(
                    "file",
                    "validation_backup_name_exists",
                    "Backup file with the specified name already exists.",
                ));
            }
            self.put(tmp, &name)
        })();
        if let Some(dir) = tmp.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        res
    }

    /// Deletes scheduled backups beyond the newest `keep`.
    pub fn prune_auto(&self, keep: usize) -> Result<usize, Error> {
        let mut autos: Vec<String> = self
            .list()?
            .iter()
            .filter_map(|b| b["key"].as_str().map(str::to_owned))
            .filter(|k| k.starts_with(AUTO_PREFIX))
            .collect();
        // Names end in a timestamp, so the key order is the age order.
        autos.sort();
        let drop = autos.len().saturating_sub(keep.max(1));
        for k in &autos[..drop] {
            self.remove(k)?;
        }
        Ok(drop)
    }

    /// Replaces the live data with backup `key`. Blocks. The caller then
    /// reloads what it caches (schema, settings): see `ops::after_restore`.
    pub fn restore(&self, store: &Store, logs: &LogDb, key: &str) -> Result<(), Error> {
        supported(store)?;
        if !self.exists(key)? {
            return Err(Error::bad("Missing or invalid backup file."));
        }
        let _running = self.start()?;
        let res = match self.remote() {
            None => self.swap_in(store, logs, &self.dir().join(key)),
            Some(r) => self.fetch_and_swap_in(&r, store, logs, key),
        };
        match &res {
            Ok(()) => {
                self.stats.restores.fetch_add(1, Ordering::Relaxed);
                tracing::info!(backup = key, "backup restored");
            }
            Err(e) => {
                tracing::error!(backup = key, error = ?e, "restore failed; the data was left as it was")
            }
        }
        res
    }

    /// Downloads the archive to a scratch file, then restores it.
    fn fetch_and_swap_in(
        &self,
        r: &remote::Remote,
        store: &Store,
        logs: &LogDb,
        key: &str,
    ) -> Result<(), Error> {
        let tmp = self.scratch("fetch")?;
        let zip = tmp.join("archive.zip");
        let res = r
            .download_to(key, &zip)
            .map_err(internal)
            .and_then(|()| self.swap_in(store, logs, &zip));
        let _ = std::fs::remove_dir_all(&tmp);
        res
    }

    fn swap_in(&self, store: &Store, logs: &LogDb, zip: &Path) -> Result<(), Error> {
        let new = self.scratch("restore")?;
        let aside = self.data_dir.join(".pre_restore");
        let res = (|| {
            archive::extract(zip, &new).map_err(|e| {
                tracing::warn!(error = %e, "backup archive unusable");
                Error::bad("Missing or invalid backup file.")
            })?;
            // Keep the current data aside until the restored data is in.
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::create_dir_all(&aside).map_err(internal)?;
            store.read(|c| snapshot::vacuum_into(c, &aside.join(archive::DATA_DB)))?;
            let storage = self.data_dir.join(archive::STORAGE);
            let storage_aside = aside.join(archive::STORAGE);
            if storage.exists() {
                std::fs::rename(&storage, &storage_aside).map_err(internal)?;
            }
            let put_back = || {
                if storage_aside.exists() {
                    let _ = std::fs::remove_dir_all(&storage);
                    let _ = std::fs::rename(&storage_aside, &storage);
                }
            };
            if let Err(e) = snapshot::restore_into(&new.join(archive::DATA_DB), store.path()) {
                put_back();
                return Err(e.into());
            }
            let aux = new.join(archive::AUX_DB);
            if aux.is_file()
                && let Err(e) = snapshot::restore_into(&aux, &logs.path())
            {
                tracing::warn!(error = %e, "request logs not restored");
            }
            let new_storage = new.join(archive::STORAGE);
            if new_storage.is_dir() {
                std::fs::rename(&new_storage, &storage).map_err(internal)?;
            }
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&new);
        if res.is_ok() {
            let _ = std::fs::remove_dir_all(&aside);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_new_name("ok_1-2.zip").is_ok());
        for bad in ["", "x.tar", "My.zip", "bad name.zip", ".zip", "a/b.zip"] {
            assert!(valid_new_name(bad).is_err(), "{bad}");
        }
        assert!(valid_new_name(&format!("{}.zip", "a".repeat(150))).is_err());
        assert!(generated_name("pb_backup_", "My App").starts_with("pb_backup_my_app_2"));
        assert!(!safe_key("../x.zip") && !safe_key(".hidden") && safe_key("Up 2.zip"));
    }
}

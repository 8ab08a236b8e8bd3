//! PocketBase's JavaScript migrations (`pb_migrations/*.js`).
//!
//! Files are ordered by name (plain string order, as PocketBase does). All
//! pending files run in **one** transaction on a connection of their own,
//! before the store opens: the first failure rolls everything back and names
//! the file, so a half-migrated database never serves. The transaction
//! first takes the migrations lock and only then reads which files are
//! applied, so nodes starting together on one PostgreSQL database apply
//! each file once (on SQLite the write transaction is the lock). Each file runs in a
//! fresh engine (PocketBase gives each its own VM too) whose `migrate(up,
//! down)` receives an `app` bound to that transaction.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::conn_host;
use super::runtime::{Engine, Limits};
use crate::store::{Conn, hooks_db, migrations as table};

/// Where migrations live and what a run may use.
#[derive(Debug, Clone)]
pub struct Migrations {
    /// The data directory (holding `data.db`).
    pub data_dir: PathBuf,
    /// The migrations directory (`pb_migrations` beside the data directory
    /// unless `--migrationsDir` says otherwise).
    pub dir: PathBuf,
    /// `__hooks` as seen by migration files.
    pub hooks_dir: PathBuf,
    /// The store's engine (its Debug form never shows the URL).
    pub db: crate::config::DbConfig,
}

/// PocketBase's default: `<data dir>/../<name>`.
pub fn beside(data_dir: &Path, name: &str) -> PathBuf {
    let abs = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    abs.parent()
        .map_or_else(|| PathBuf::from(name), |p| p.join(name))
}

/// A failed run, naming the file.
#[derive(Debug)]
pub struct MigrationError(pub String);

impl std::fmt::Display for MigrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<crate::store::StoreError> for MigrationError {
    /// Opening or ending the transaction failed (the driver's message).
    fn from(e: crate::store::StoreError) -> Self {
        MigrationError(hooks_db::message(&e))
    }
}

impl Migrations {
    /// Migration files (`*.js`, `*.ts`, direct children), by name.
    pub fn files(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".js") || n.ends_with(".ts"))
            .collect();
        names.sort();
        names
    }

    fn open(&self) -> Result<Rc<Conn<'static>>, MigrationError> {
        std::fs::create_dir_all(&self.data_dir).map_err(|e| MigrationError(e.to_string()))?;
        let conn =
            crate::store::open_session(&self.data_dir, self.db.postgres_url()).map_err(fail)?;
        Ok(Rc::from(conn))
    }

    /// Applies every pending file in one transaction; returns their names.
    pub fn up(&self) -> Result<Vec<String>, MigrationError> {
        let files = self.files();
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.open()?;
        let mut pending = Vec::new();
        let mut hooks = None;
        let mut engines = Vec::new();
        let done = self.in_tx(&conn, |conn| {
            table::lock(&**conn).map_err(fail)?;
            let done = table::applied(&**conn).map_err(fail)?;
            pending = files.into_iter().filter(|f| !done.contains(f)).collect();
            if pending.is_empty() {
                return Ok(());
            }
            hooks = self.hook_table(conn);
            for file in &pending {
                let engine = self
                    .run_file(conn, file, "up", hooks.as_deref())
                    .map_err(|e| {
                        MigrationError(format!("failed to apply migration {file}: {e}"))
                    })?;
                engines.push(engine);
                table::insert(&**conn, file).map_err(fail)?;
            }
            Ok(())
        });
        if hooks.is_some() {
            after_commit(&engines, done.as_ref().err());
        }
        done?;
        Ok(pending)
    }

    /// Reverts the last `n` applied files that still exist, newest first.
    pub fn down(&self, n: usize) -> Result<Vec<String>, MigrationError> {
        let conn = self.open()?;
        let known: HashSet<String> = self.files().into_iter().collect();
        let last = table::last_applied(&*conn, &known, n).map_err(fail)?;
        let hooks = self.hook_table(&conn);
        let mut engines = Vec::new();
        let done = self.in_tx(&conn, |conn| {
            table::lock(&**conn).map_err(fail)?;
            for file in &last {
                let engine = self
                    .run_file(conn, file, "down", hooks.as_deref())
                    .map_err(|e| {
                        MigrationError(format!("failed to revert migration {file}: {e}"))
                    })?;
                engines.push(engine);
                table::delete(&**conn, file).map_err(fail)?;
            }
            Ok(())
        });
        if hooks.is_some() {
            after_commit(&engines, done.as_ref().err());
        }
        done?;
        Ok(last)
    }

    /// Forgets applied rows whose file no longer exists (system rows, whose
    /// names end in `.go`, are kept).
    pub fn history_sync(&self) -> Result<usize, MigrationError> {
        let conn = self.open()?;
        let known: HashSet<String> = self.files().into_iter().collect();
        let mut n = 0;
        for f in table::applied(&*conn).map_err(fail)? {
            if !known.contains(&f) && !f.ends_with(".go") {
                table::delete(&*conn, &f).map_err(fail)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn in_tx(
        &self,
        conn: &Rc<Conn<'static>>,
        f: impl FnOnce(&Rc<Conn<'static>>) -> Result<(), MigrationError>,
    ) -> Result<(), MigrationError> {
        hooks_db::in_transaction(&**conn, || f(conn))
    }

    /// The pb_hooks handler table, when hook files register any: as in
    /// PocketBase, whose hooks are bound before migrations run, a
    /// migration's `app.save` / `app.delete` fire the record hooks.
    fn hook_table(&self, conn: &Rc<Conn<'static>>) -> Option<String> {
        super::hooks::table_for(&self.hooks_dir, conn_host::host(Rc::clone(conn)))
    }

    fn run_file(
        &self,
        conn: &Rc<Conn<'static>>,
        file: &str,
        which: &str,
        hooks: Option<&str>,
    ) -> Result<Engine, String> {
        let path = self.dir.join(file);
        let src = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let limits = Limits {
            time: std::time::Duration::from_secs(120),
            ..Limits::default()
        };
        let dir = serde_json::Value::String(self.hooks_dir.to_string_lossy().into_owned());
        // `$os` reads confined as in hooks (plugins/os.rs).
        let roots = super::os::Roots::new(&self.data_dir, &self.hooks_dir);
        let inner = conn_host::host(Rc::clone(conn));
        let host: crate::plugins::runtime::Host = Rc::new(move |op, args| {
            super::os::op(&roots, op, &args).unwrap_or_else(|| inner(op, args))
        });
        let engine = Engine::new(limits, host, &[("__hooks", dir)]).map_err(|e| e.to_string())?;
        if let Some(table) = hooks {
            // The after-success hooks wait for the commit (`after_commit`).
            engine
                .eval("hooks.js", super::hooks::pool::HOOKS_JS)
                .and_then(|_| engine.call("__install", table))
                .and_then(|_| engine.call("__migrationTxBegin", ""))
                .map_err(|e| e.to_string())?;
        }
        engine.eval(file, &src).map_err(|e| e.to_string())?;
        engine
            .eval(file, &format!("__runMigration({which:?})"))
            .map_err(|e| e.to_string())?;
        Ok(engine)
    }

    /// `migrate create NAME`: a blank file named `<unix seconds>_<name>.js`.
    pub fn create(&self, name: &str) -> Result<PathBuf, MigrationError> {
        let body = "/// <reference path=\"../pb_data/types.d.ts\" />\nmigrate((app) => {\n  // add up queries...\n}, (app) => {\n  // add down queries...\n})\n";
        super::automigrate::write_unique(&self.dir, &snake(name), body)
    }
}

impl Migrations {
    /// `migrate collections`: a snapshot of every collection that
    /// `importCollections` extends the schema with (its down does nothing).
    pub fn snapshot(&self) -> Result<PathBuf, MigrationError> {
        let conn = self.open()?;
        let all = crate::store::collections::load_all(&*conn).map_err(fail)?;
        let list: Vec<serde_json::Value> = all
            .iter()
            .map(|c| {
                let mut v = c.to_json();
                if let Some(m) = v.as_object_mut() {
                    m.remove("created");
                    m.remove("updated");
                }
                v
            })
            .collect();
        let body = super::automigrate::snapshot_js(&serde_json::Value::Array(list));
        super::automigrate::write_unique(&self.dir, "collections_snapshot", &body)
    }
}

/// The run's transaction ended: each engine runs the after hooks its
/// writes held back (success hooks, or error hooks naming `failed`), as
/// PocketBase runs them once a transaction completes.
fn after_commit(engines: &[Engine], failed: Option<&MigrationError>) {
    let error = failed.map(|e| e.0.as_str()).unwrap_or_default();
    for engine in engines {
        if let Err(e) = engine.call("__migrationTxEnd", error) {
            tracing::error!(error = %e, "a record hook after the migrations failed");
        }
    }
}

fn fail(e: crate::store::StoreError) -> MigrationError {
    MigrationError(e.to_string())
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for ch in name.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes starting together on one PostgreSQL database: each pending
    /// file is applied by exactly one of them.
    #[test]
    fn nodes_starting_together_apply_each_file_once() {
        let Some(url) = crate::store::pg::tests::fresh_pg_url() else {
            return;
        };
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("pb_migrations");
        std::fs::create_dir_all(&dir).expect("migrations dir");
        let seed = crate::store::open_session(root.path(), Some(&url)).expect("session");
        seed.batch("CREATE TABLE marks (n BIGINT)").expect("table");
        for (file, n) in [("1_a.js", 1), ("2_b.js", 2)] {
            std::fs::write(
                dir.join(file),
                format!(
                    "migrate((app) => {{ app.db().newQuery('INSERT INTO marks (n) VALUES ({{:n}})').bind({{n: {n}}}).execute() }})"
                ),
            )
            .expect("file");
        }
        let db = crate::config::DbConfig { url };
        let m = Migrations {
            data_dir: root.path().join("data"),
            dir,
            hooks_dir: root.path().join("pb_hooks"),
            db,
        };
        let applied: Vec<Vec<String>> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..3).map(|_| s.spawn(|| m.up().expect("up"))).collect();
            runs.into_iter()
                .map(|r| r.join().expect("thread"))
                .collect()
        });
        let mut all: Vec<String> = applied.into_iter().flatten().collect();
        all.sort();
        assert_eq!(all, ["1_a.js", "2_b.js"]);
        let marks = seed
            .rows("SELECT n FROM marks ORDER BY n", &[], |r| r.int(0))
            .expect("marks");
        assert_eq!(marks, [1, 2]);
    }
}

//! JavaScript extensions: PocketBase's `pb_migrations` and `pb_hooks`, and
//! Cairn's own ES-module `plugins/` (`native`), on an embedded QuickJS engine.
//!
//! - `runtime`: one engine with a time budget and a memory limit; JS calls
//!   Rust through one `__host(op, json)` function, and the PocketBase API
//!   (`Collection`, `Record`, `$app`, `$security`...) is JavaScript on top
//!   (`prelude.js`).
//! - `ops`: host operations every engine has (env, clock, log, security).
//! - `conn_host`: the `app` migrations get, bound to their transaction.
//! - `migrations`: applying and reverting `pb_migrations/*.js`.
//! - `automigrate`: API collection changes written as migration files.
//! - `template`: `$template` (Go `html/template` syntax) for hooks.
//! - `os`: `$os.readFile/readDir/stat`, confined to the app's directory.
//! - `json_text`: `e.json`'s body written from the JavaScript value in Rust.
//! - `host_find`: `$app.findRecordById`'s row loaded into its record from Rust.

pub mod automigrate;
pub mod conn_host;
pub mod hooks;
pub mod host_find;
pub mod json_text;
pub mod migrations;
pub mod native;
pub mod ops;
pub mod os;
pub mod runtime;
pub mod template;

use std::path::PathBuf;

use crate::config::Config;
use crate::store::Store;

/// The migrations directory a configuration points at.
pub fn migrations_dir(config: &Config) -> PathBuf {
    config
        .migrations_dir
        .clone()
        .unwrap_or_else(|| migrations::beside(&config.dir, "pb_migrations"))
}

/// The hooks directory a configuration points at.
pub fn hooks_dir(config: &Config) -> PathBuf {
    config
        .hooks_dir
        .clone()
        .unwrap_or_else(|| migrations::beside(&config.dir, "pb_hooks"))
}

/// The migration set of a configuration.
pub fn migrations_of(config: &Config) -> migrations::Migrations {
    migrations::Migrations {
        data_dir: config.dir.clone(),
        dir: migrations_dir(config),
        hooks_dir: std::path::absolute(hooks_dir(config)).unwrap_or_else(|_| hooks_dir(config)),
        db: config.db.clone(),
    }
}

/// After a collection change through the API: writes its migration file
/// and marks it applied. Only when automigrate is on and the migrations
/// directory exists (so a server started in a scratch directory does not
/// write files beside it). Failures are logged; the change itself stands.
pub async fn automigrate(config: &Config, store: &Store, change: automigrate::Change<'_>) {
    let dir = migrations_dir(config);
    if !config.automigrate || !dir.is_dir() {
        return;
    }
    let Some((stem, body)) = automigrate::plan(change) else {
        return;
    };
    let path = match automigrate::write_unique(&dir, &stem, &body) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "automigrate: could not write the migration file");
            return;
        }
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let res = store
        .write(move |ctx| crate::store::migrations::insert(ctx.conn, &file))
        .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "automigrate: could not mark the file applied");
        let _ = std::fs::remove_file(&path);
    }
}

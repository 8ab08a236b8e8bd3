//! SQLite storage: the only module that writes SQL text.
//!
//! `Store` owns the writer thread, the reader pool and the schema cache. The
//! schema cache is replaced only by the writer thread, right after a commit
//! that changed `_collections` and before that commit's replies go out, so a
//! client that saw "collection created" always finds it (PocketBase's cache
//! reload race cannot happen here).

pub mod access;
pub mod bootstrap;
pub mod changes;
pub mod checkpoint;
pub mod cluster;
pub mod collections;
mod connection;
pub mod console;
pub mod counts;
pub mod ddl;
pub mod dialect;
pub mod expired;
pub mod field_reads;
pub mod files;
pub mod hooks_db;
pub mod logs;
pub mod maintenance;
pub mod migrations;
pub mod pg;
pub mod pool;
pub mod preview;
mod readers;
pub mod realtime_clients;
mod record_list;
pub mod records;
pub mod relations;
pub mod resolver;
pub mod roles;
pub mod savepoint;
#[cfg(test)]
pub mod scratch;
pub mod sessions;
pub mod settings;
pub mod simple_list;
pub mod snapshot;
pub mod sql;
pub mod totp;
pub mod views;
pub mod webhooks;

#[cfg(test)]
mod boundary_tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::schema::Collection;
pub use pool::WriteCtx;

/// The connection a read or write job runs on. Code outside `store/` only
/// passes it on to `store` functions (it never runs SQL on it), so this
/// alias is the one place outside this module where the driver's type is
/// chosen; the PostgreSQL store replaces it with its transaction handle.
pub type Conn<'a> = dyn sql::Db + 'a;

/// Readers per store: two per core, at least four.
fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// Storage failures. None of these texts reach clients.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    Postgres(tokio_postgres::Error),
    Io(std::io::Error),
    Closed,
    CommitFailed,
    /// A capability the PostgreSQL store does not have yet (issue 19).
    Unsupported(&'static str),
    Corrupt(String),
    /// A collection index could not be created (e.g. duplicates under UNIQUE).
    Index {
        pos: usize,
        name: String,
        detail: String,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
            StoreError::Postgres(e) => match e.as_db_error() {
                // The driver's own text is only "db error".
                Some(d) => write!(f, "postgres: {} ({})", d.message(), d.code().code()),
                None => write!(f, "postgres: {e}"),
            },
            StoreError::Io(e) => write!(f, "io: {e}"),
            StoreError::Closed => f.write_str("store is shut down"),
            StoreError::CommitFailed => f.write_str("commit failed"),
            StoreError::Unsupported(what) => write!(f, "not supported yet: {what}"),
            StoreError::Corrupt(s) => write!(f, "corrupt data: {s}"),
            StoreError::Index { name, detail, .. } => write!(f, "index {name}: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// PostgreSQL refused to drop something another object (a view) needs;
    /// the engine's message says which.
    pub fn dependency(&self) -> Option<String> {
        let StoreError::Postgres(e) = self else {
            return None;
        };
        let db = e.as_db_error()?;
        (db.code() == &tokio_postgres::error::SqlState::DEPENDENT_OBJECTS_STILL_EXIST)
            .then(|| db.message().to_owned())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}

/// An immutable snapshot of every collection, looked up by name or id.
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Changes whenever a schema snapshot is made (after every schema change,
/// here or, on PostgreSQL, on another node): prepared statements planned
/// before it may describe tables that have changed since.
pub fn schema_generation() -> u64 {
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

#[derive(Debug, Default)]
pub struct Schema {
    pub collections: Vec<Arc<Collection>>,
    by_key: HashMap<String, usize>,
    /// Named policies (`_policies`), parsed; a text that no longer parses
    /// is left out, so rules using it deny.
    pub policies: HashMap<String, Arc<crate::filter::Expr>>,
    /// Grows with every snapshot: caches derived from access data (roles)
    /// are valid only for the generation they were filled in.
    pub generation: u64,
    /// The SQL dialect of the store the snapshot was loaded from: every
    /// resolver built over it compiles for that store.
    pub dialect: dialect::Dialect,
    /// PostgreSQL: the `_cluster` schema version it was loaded at
    /// (`load_stamped`; 0 otherwise).
    pub stamp: i64,
}

impl Schema {
    pub fn new(collections: Vec<Collection>) -> Self {
        let collections: Vec<Arc<Collection>> = collections.into_iter().map(Arc::new).collect();
        let mut by_key = HashMap::new();
        for (i, c) in collections.iter().enumerate() {
            by_key.insert(c.id.clone(), i);
            by_key.insert(c.name.to_lowercase(), i);
        }
        Self {
            collections,
            by_key,
            policies: HashMap::new(),
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dialect: dialect::Dialect::Sqlite,
            stamp: 0,
        }
    }

    /// Adds the named policies (`name -> rule text`).
    pub fn with_policies(mut self, policies: Vec<(String, String)>) -> Self {
        for (name, text) in policies {
            match crate::filter::parse(&text) {
                Ok(e) => {
                    self.policies.insert(name, Arc::new(e));
                }
                Err(e) => tracing::warn!(policy = %name, error = %e, "policy does not parse"),
            }
        }
        self
    }

    /// Loads collections and policies from the database.
    pub fn load(conn: &Conn) -> Result<Self, StoreError> {
        let collections = collections::load_all(conn)?;
        let policies = collections::load_policies(conn)?;
        let mut schema = Self::new(collections).with_policies(policies);
        schema.dialect = conn.dialect();
        Ok(schema)
    }

    /// `load` for the shared cache, outside any transaction: on PostgreSQL
    /// in one snapshot with the `_cluster` schema version it reflects
    /// (`stamp`), so a load that read older rows never replaces a newer
    /// one (two nodes' changes and this node's reloads race).
    pub fn load_stamped(conn: &Conn) -> Result<Self, StoreError> {
        if conn.postgres().is_none() {
            return Self::load(conn);
        }
        conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let loaded = Self::load(conn).and_then(|mut s| {
            s.stamp = cluster::versions(conn)?.schema;
            Ok(s)
        });
        let done = conn.batch("COMMIT");
        let schema = loaded?;
        done?;
        Ok(schema)
    }

    /// Finds a collection by id, or by name case-insensitively.
    pub fn get(&self, name_or_id: &str) -> Option<Arc<Collection>> {
        let i = self
            .by_key
            .get(name_or_id)
            .or_else(|| self.by_key.get(&name_or_id.to_lowercase()))?;
        self.collections.get(*i).cloned()
    }
}

/// Puts `fresh` in the cache unless the cache holds a later version already.
fn install(cache: &RwLock<Arc<Schema>>, fresh: Schema) {
    if let Ok(mut g) = cache.write()
        && fresh.stamp >= g.stamp
    {
        *g = Arc::new(fresh);
    }
}

/// One bootstrapped session of its own on the store's database (PostgreSQL
/// at `url`, else `data.db` in `dir`), for work done before or beside the
/// server, such as applying migrations.
pub fn open_session(dir: &Path, url: Option<&str>) -> Result<Box<Conn<'static>>, StoreError> {
    let conn: Box<Conn<'static>> = match url {
        Some(url) => Box::new(pg::PgConn::connect(url)?),
        None => Box::new(pool::open_writer(&dir.join("data.db"))?),
    };
    bootstrap::bootstrap(&*conn)?;
    Ok(conn)
}

/// What `Store::follow_cluster` found changed by another node.
#[derive(Debug, Clone, Copy, Default)]
pub struct Followed {
    pub settings: bool,
    pub webhooks: bool,
}

/// The database: writer, readers and the schema cache.
pub struct Store {
    path: PathBuf,
    writer: pool::Writer,
    /// SQLite only: folds the WAL back off the commit path.
    checkpointer: Option<checkpoint::Checkpointer>,
    readers: pool::Readers,
    schema: Arc<RwLock<Arc<Schema>>>,
    last_seq: tokio::sync::watch::Sender<i64>,
    /// PostgreSQL: moves when the change feed should be read (any node's
    /// commit, or the safety poll: `pg/wake.rs`).
    wake: Option<tokio::sync::watch::Receiver<i64>>,
    /// Counts this node's commits (the PostgreSQL waker tells other nodes).
    commits: tokio::sync::watch::Sender<i64>,
    /// PostgreSQL: the `_cluster` versions this node has loaded.
    cluster_seen: Mutex<cluster::Versions>,
    /// PostgreSQL: does this node run the periodic jobs (`pg/leader.rs`)?
    leads: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Ends the PostgreSQL background tasks when the store goes.
    alive: Arc<()>,
    roles: roles::RoleCache,
    change_hook: pool::HookSlot,
}

impl Store {
    /// Opens (creating if needed) `data.db` in `dir` and bootstraps system tables.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let path = dir.join("data.db");
        let conn = pool::open_writer(&path)?;
        bootstrap::bootstrap(&conn)?;
        let checkpointer = checkpoint::Checkpointer::start(&path)?;
        let readers = pool::Readers::sqlite(&path, reader_count());
        Self::start(
            Box::new(conn),
            None,
            readers,
            Some(checkpointer),
            dir,
            pool::Lanes::GROUPED,
        )
    }

    /// Opens the PostgreSQL database at `url` (bootstrapping its system
    /// tables); `dir` still holds what stays local to a node (request
    /// logs, local files, hooks).
    pub fn open_postgres(url: &str, dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let conn = pg::PgConn::connect(url)?;
        bootstrap::bootstrap(&conn)?;
        let opener = |url: &str| -> pool::Opener {
            let url = url.to_owned();
            Box::new(move || Ok(Box::new(pg::PgConn::connect(&url)?)))
        };
        let readers = pool::Readers::new(opener(url), reader_count());
        let seen = cluster::versions(&conn)?;
        // As many writer sessions as readers: each runs one job at a time
        // (`pool.rs`), and PostgreSQL groups their commits' WAL flushes.
        let lanes = pool::Lanes::concurrent(reader_count());
        let mut store = Self::start(Box::new(conn), Some(opener(url)), readers, None, dir, lanes)?;
        store.wake = Some(pg::wake::start(url, store.commits.subscribe()));
        store.cluster_seen = Mutex::new(seen);
        store.leads = Some(pg::leader::start(url, Arc::downgrade(&store.alive)));
        Ok(store)
    }

    fn start(
        conn: pool::Owned,
        reopen: Option<pool::Opener>,
        readers: pool::Readers,
        checkpointer: Option<checkpoint::Checkpointer>,
        dir: &Path,
        lanes: pool::Lanes,
    ) -> Result<Self, StoreError> {
        let schema = Arc::new(RwLock::new(Arc::new(Schema::load(&*conn)?)));
        let seq = changes::last_seq(&*conn)?;
        let (last_seq, _) = tokio::sync::watch::channel(seq);
        let poke = checkpointer
            .as_ref()
            .and_then(checkpoint::Checkpointer::poker);
        let cache = Arc::clone(&schema);
        let seq_tx = last_seq.clone();
        let (commits, _) = tokio::sync::watch::channel(0i64);
        let commit_tx = commits.clone();
        let after_commit: pool::AfterCommit = Arc::new(move |conn: &Conn, changed, seq| {
            counts::bump();
            if changed {
                match Schema::load_stamped(conn) {
                    Ok(s) => install(&cache, s),
                    Err(e) => tracing::error!(error = %e, "schema reload failed"),
                }
            }
            if let Some(p) = &poke {
                // Full channel = a checkpoint is already pending.
                let _ = p.try_send(());
            }
            commit_tx.send_modify(|n| *n = n.wrapping_add(1));
            if let Some(seq) = seq {
                seq_tx.send_if_modified(|cur| {
                    let changed = *cur < seq;
                    *cur = (*cur).max(seq);
                    changed
                });
            }
        });
        let change_hook = pool::HookSlot::default();
        Ok(Self {
            writer: pool::Writer::start(
                conn,
                reopen,
                after_commit,
                Arc::clone(&change_hook),
                lanes,
            ),
            change_hook,
            checkpointer,
            readers,
            path: dir.join("data.db"),
            schema,
            last_seq,
            wake: None,
            commits,
            cluster_seen: Mutex::new(cluster::Versions::default()),
            leads: None,
            alive: Arc::new(()),
            roles: roles::RoleCache::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current schema snapshot.
    pub fn schema(&self) -> Arc<Schema> {
        self.schema
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    /// The role names of an auth record (cached until role data changes).
    pub fn roles_of(&self, collection_id: &str, record_id: &str) -> Arc<[String]> {
        let generation = self.schema().generation;
        if let Some(r) = self.roles.get(generation, collection_id, record_id) {
            return r;
        }
        match self.read(|conn| roles::load(conn, collection_id, record_id)) {
            Ok(list) => {
                let list: Arc<[String]> = list.into();
                self.roles
                    .put(generation, collection_id, record_id, Arc::clone(&list));
                list
            }
            Err(e) => {
                tracing::error!(error = %e, "loading roles failed");
                Arc::from(Vec::new())
            }
        }
    }

    /// Installs the hook that runs in the transaction of every change.
    pub fn set_change_hook(&self, hook: Arc<dyn changes::ChangeHook>) {
        if let Ok(mut g) = self.change_hook.write() {
            *g = Some(hook);
        }
    }

    /// The shared schema cell, for code that runs on the writer thread
    /// (the change hook) and needs the current snapshot.
    pub fn schema_cell(&self) -> Arc<RwLock<Arc<Schema>>> {
        Arc::clone(&self.schema)
    }

    /// Subscribes to the last committed change-log sequence number.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<i64> {
        self.last_seq.subscribe()
    }

    /// Moves when the change feed may hold something new: this node's
    /// commits on SQLite; any node's, or a periodic poll, on PostgreSQL.
    pub fn wakeups(&self) -> tokio::sync::watch::Receiver<i64> {
        self.wake.clone().unwrap_or_else(|| self.changes())
    }

    /// PostgreSQL: reloads the schema when another node changed it
    /// (`cluster.rs`); says whether the settings and the webhook
    /// endpoints changed (their owners reload those). Nothing to do on
    /// SQLite.
    pub fn follow_cluster(&self) -> Result<Followed, StoreError> {
        if !self.is_postgres() {
            return Ok(Followed::default());
        }
        let now = self.read(cluster::versions)?;
        let before = match self.cluster_seen.lock() {
            Ok(mut seen) => std::mem::replace(&mut *seen, now),
            Err(_) => return Ok(Followed::default()),
        };
        if now.schema != before.schema {
            let fresh = self.read(|db| Schema::load_stamped(db))?;
            install(&self.schema, fresh);
        }
        Ok(Followed {
            settings: now.settings != before.settings,
            webhooks: now.webhooks != before.webhooks,
        })
    }

    /// Does this node run the periodic jobs? Always on SQLite; on
    /// PostgreSQL only the node holding the cluster's lock does.
    pub fn leads(&self) -> bool {
        self.leads
            .as_ref()
            .is_none_or(|l| l.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Is the data in PostgreSQL (several nodes may share it)?
    pub fn is_postgres(&self) -> bool {
        self.wake.is_some()
    }

    /// Runs a write job in the next group commit.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// [`Store::write`] at the head of the next group, without a
    /// savepoint (`pool::Writer::run_leading`): the webhook dispatcher's
    /// turns.
    pub async fn write_leading<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        self.writer.run_leading(f).await
    }

    /// Runs `f(op)` as a write job. On PostgreSQL a job that lost a
    /// deadlock or serialization conflict to another node's writes is run
    /// again with a fresh copy of `op` (`pool::Writer::run_again`); SQLite
    /// has one writer and runs it once, without copying.
    pub async fn write_op<T, R, E>(
        &self,
        op: T,
        f: for<'a, 'b> fn(T, &'a mut WriteCtx<'b>) -> Result<R, E>,
    ) -> Result<R, E>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if !self.is_postgres() {
            return self.writer.run(move |ctx| f(op, ctx)).await;
        }
        self.writer.run_again(move |ctx| f(op.clone(), ctx)).await
    }

    /// `write` for a job that can run more than once (an `Fn`): on
    /// PostgreSQL, one that lost a deadlock or serialization conflict to
    /// another node's writes runs again (`pool::Writer::run_again`).
    pub async fn write_again<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> Fn(&mut WriteCtx<'a>) -> Result<R, E> + Send + Sync + 'static,
    {
        if !self.is_postgres() {
            return self.writer.run(f).await;
        }
        self.writer.run_again(f).await
    }

    /// Runs a read on a pooled read-only connection.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&dyn sql::Db) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.readers.run(f)
    }

    /// The writer's queue depth and group sizes (metrics).
    pub fn writer_stats(&self) -> &pool::WriterStats {
        &self.writer.stats
    }

    /// Drains the writer and checkpoints the WAL.
    pub fn shutdown(&self) {
        // The writer holds the checkpointer's poke handle: stop it first.
        self.writer.shutdown();
        if let Some(c) = &self.checkpointer {
            c.shutdown();
        }
    }
}

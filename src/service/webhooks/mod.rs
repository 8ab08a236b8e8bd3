//! Webhooks: durable, signed, retried and replayable HTTP callbacks on
//! record changes (`docs/webhooks.md`, Standard Webhooks 1.0).
//!
//! - `outbox`: delivery rows written in the change's own transaction.
//! - `dispatch`: the one task that claims due rows, sends them with bounded
//!   concurrency and records every attempt; `send`: one signed request.
//! - `log`: the delivery log and its recovery actions (resend, recover,
//!   replay, test event); `endpoints`: definitions and validation.
//! - `ssrf`: the outbound address guard; `sign`: secrets and signatures;
//!   `seal`: secrets encrypted at rest.
//! - `metrics`: counters a metrics endpoint can read; `rekey`: re-sealing
//!   every secret under a new encryption key (a CLI command).
//!
//! `Webhooks` is the shared hub: configuration, the in-memory endpoint
//! snapshot the write path consults, the HTTP client and the wake-up signal.

pub mod config;
pub mod dispatch;
pub mod endpoints;
pub mod log;
pub mod metrics;
pub mod outbox;
pub mod rekey;
pub mod seal;
pub mod send;
pub mod sign;
pub mod ssrf;

use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use self::config::WebhooksConfig;
use self::endpoints::{Definition, Endpoint, OldSecret, Status};
use super::Error;
use crate::schema::datetime;
use crate::store::webhooks as db;
use crate::store::{Schema, Store, StoreError};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

type Snapshot = Arc<Vec<Arc<Endpoint>>>;

/// Shared webhook state (see the module docs).
pub struct Webhooks {
    pub config: WebhooksConfig,
    endpoints: RwLock<Snapshot>,
    schema: Arc<RwLock<Arc<Schema>>>,
    /// Wakes the dispatcher (new deliveries outside a record write, endpoint changes).
    pub wake: tokio::sync::Notify,
    /// The highest change seq the outbox queued a delivery for: commits
    /// that queued nothing do not cost the dispatcher a turn.
    pub enqueued_seq: std::sync::atomic::AtomicI64,
    pub metrics: metrics::Metrics,
    pub guard: ssrf::Guard,
    pub client: reqwest::Client,
    /// Seals signing secrets in `_webhooks` (the `--encryptionEnv` key).
    pub seal: seal::Sealer,
    started: std::sync::atomic::AtomicBool,
}

impl Webhooks {
    /// Loads the endpoints and installs the outbox hook in the store.
    pub fn open(
        config: &WebhooksConfig,
        seal: seal::Sealer,
        store: &Store,
    ) -> Result<Arc<Self>, StoreError> {
        let guard = ssrf::Guard::new(&config.allow_cidrs);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(ssrf::resolver(&guard))
            .user_agent(concat!("Cairn-Webhooks/", env!("CARGO_PKG_VERSION")))
            // Keep a connection per possible concurrent send: a smaller pool closes
            // and reopens connections on every burst.
            .pool_max_idle_per_host(config.max_in_flight.max(8))
            .build()
            .map_err(|e| StoreError::Corrupt(format!("webhook client: {e}")))?;
        let hub = Arc::new(Self {
            config: config.clone(),
            endpoints: RwLock::new(Arc::new(Vec::new())),
            schema: store.schema_cell(),
            wake: tokio::sync::Notify::new(),
            enqueued_seq: Default::default(),
            metrics: Default::default(),
            guard,
            client,
            seal,
            started: Default::default(),
        });
        hub.reload(store)?;
        store.set_change_hook(Arc::clone(&hub) as Arc<dyn crate::store::changes::ChangeHook>);
        Ok(hub)
    }

    /// The current endpoint snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.endpoints
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    pub fn schema(&self) -> Arc<Schema> {
        self.schema
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    pub fn endpoint(&self, id: &str) -> Option<Arc<Endpoint>> {
        self.snapshot().iter().find(|e| e.id == id).cloned()
    }

    /// Re-reads `_webhooks` into the snapshot (after every endpoint change).
    pub fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let rows = store.read(db::load_endpoints)?;
        let list: Vec<Arc<Endpoint>> = rows
            .iter()
            .filter_map(|r| {
                let e = Endpoint::from_row(r, &self.seal);
                match &e {
                    None => tracing::error!(webhook = %r.id, "unreadable webhook definition; skipped"),
                    Some(e) if e.secret.is_empty() => tracing::error!(
                        webhook = %r.id,
                        "webhook secret cannot be decrypted (encryption key missing or changed); requests go unsigned until it is rotated"
                    ),
                    Some(_) => {}
                }
                e.map(Arc::new)
            })
            .collect();
        if let Ok(mut g) = self.endpoints.write() {
            *g = Arc::new(list);
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Starts the dispatcher and the retention task (once).
    pub fn start<S: AsRef<Store> + Send + Sync + 'static>(self: &Arc<Self>, owner: Arc<S>) {
        if self.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        dispatch::start(Arc::clone(&owner), Arc::clone(self));
        log::spawn_retention(owner, Arc::clone(self));
    }
}

fn not_found() -> Error {
    Error::missing_record()
}

/// Every endpoint.
pub fn list(hub: &Webhooks) -> Value {
    let schema = hub.schema();
    let items: Vec<Value> = hub.snapshot().iter().map(|e| e.to_json(&schema)).collect();
    json!({"items": items, "totalItems": items.len()})
}

pub fn view(hub: &Webhooks, id: &str) -> Result<Value, Error> {
    let e = hub.endpoint(id).ok_or_else(not_found)?;
    Ok(e.to_json(&hub.schema()))
}

/// Creates an endpoint; the answer carries the secret, the only time it is shown.
pub async fn create(hub: &Webhooks, store: &Store, body: &Value) -> Result<Value, Error> {
    let mut def = Definition {
        max_in_flight: hub.config.max_in_flight_per_endpoint,
        ..Default::default()
    };
    let status = endpoints::merge(&mut def, body)?.unwrap_or(Status::Enabled);
    endpoints::validate(&mut def, &hub.schema())?;
    let now = datetime::now();
    let ep = Endpoint {
        id: crate::schema::names::new_record_id(),
        def,
        secret: sign::new_secret(),
        old_secrets: Vec::new(),
        status,
        disabled_reason: String::new(),
        disabled_at_seq: None,
        first_failure_at: None,
        created: now.clone(),
        updated: now,
        url: None,
    };
    let row = ep.to_row(&hub.seal);
    store
        .write(move |ctx| db::insert_endpoint(ctx.conn, &row))
        .await
        .map_err(internal)?;
    hub.reload(store).map_err(internal)?;
    let mut out = ep.to_json(&hub.schema());
    out["secret"] = Value::String(ep.secret.clone());
    Ok(out)
}

/// Updates settings and/or the status (`enabled`, `paused`, `disabled`).
pub async fn update(hub: &Webhooks, store: &Store, id: &str, body: &Value) -> Result<Value, Error> {
    let mut ep = (*hub.endpoint(id).ok_or_else(not_found)?).clone();
    let status = endpoints::merge(&mut ep.def, body)?;
    endpoints::validate(&mut ep.def, &hub.schema())?;
    if let Some(s) = status
        && s != ep.status
    {
        ep.status = s;
        ep.disabled_reason = if s == Status::Disabled {
            "manual".into()
        } else {
            String::new()
        };
        if s == Status::Enabled {
            ep.first_failure_at = None;
        }
    }
    ep.updated = datetime::now();
    save(hub, store, &ep).await?;
    view(hub, id)
}

async fn save(hub: &Webhooks, store: &Store, ep: &Endpoint) -> Result<(), Error> {
    let row = ep.to_row(&hub.seal);
    let disable = (ep.status == Status::Disabled).then(|| ep.id.clone());
    let found = store
        .write(move |ctx| {
            let found = db::update_endpoint(ctx.conn, &row)?;
            if let Some(id) = disable {
                db::cancel_pending(ctx.conn, &id)?;
            }
            Ok::<_, StoreError>(found)
        })
        .await
        .map_err(internal)?;
    hub.reload(store).map_err(internal)?;
    if found { Ok(()) } else { Err(not_found()) }
}

pub async fn delete(hub: &Webhooks, store: &Store, id: &str) -> Result<(), Error> {
    let id = id.to_owned();
    let found = store
        .write(move |ctx| db::delete_endpoint(ctx.conn, &id))
        .await
        .map_err(internal)?;
    hub.reload(store).map_err(internal)?;
    if found { Ok(()) } else { Err(not_found()) }
}

/// New secret; the old one keeps signing for `grace` seconds (default 24 h).
pub async fn rotate(hub: &Webhooks, store: &Store, id: &str, body: &Value) -> Result<Value, Error> {
    let grace = match body.get("grace") {
        None | Some(Value::Null) => endpoints::DEFAULT_GRACE_SECS,
        Some(v) => v
            .as_u64()
            .filter(|g| *g <= 7 * 24 * 3600)
            .ok_or_else(|| Error::bad("grace must be a number of seconds up to 7 days."))?,
    };
    let mut ep = (*hub.endpoint(id).ok_or_else(not_found)?).clone();
    let now = now_ms();
    ep.old_secrets.retain(|o| o.expires > now);
    if grace > 0 {
        ep.old_secrets.insert(
            0,
            OldSecret {
                secret: std::mem::take(&mut ep.secret),
                expires: now + grace as i64 * 1000,
            },
        );
    }
    ep.old_secrets.truncate(10);
    ep.secret = sign::new_secret();
    ep.updated = datetime::now();
    save(hub, store, &ep).await?;
    let mut out = ep.to_json(&hub.schema());
    out["secret"] = Value::String(ep.secret.clone());
    Ok(out)
}

pub(crate) fn internal(e: StoreError) -> Error {
    Error::Internal(e.to_string())
}

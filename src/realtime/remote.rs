//! Subscription requests that reached another node (several nodes on one
//! PostgreSQL database): the SDK's `POST /api/realtime` may land on any
//! node behind a load balancer, while the client's stream is held by one.
//! The receiving node checks the client's row and leaves the request in it
//! (`store/realtime_clients.rs`); the holding node's fan-out applies it
//! here before it delivers the next changes. Messages for one client (the
//! OAuth2 redirect's `@oauth2`) are handed out here too.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::app::App;
use crate::service::{Actor, Identity};
use crate::store::{realtime_clients, records};

/// The request body another node leaves: the subscriptions and who asked.
pub fn body(actor: &Actor, subscriptions: &[String]) -> String {
    let auth = actor
        .identity()
        .map(|i| json!({"collection": i.collection.id, "id": i.id()}));
    json!({"subscriptions": subscriptions, "auth": auth}).to_string()
}

/// The actor a request was made as, as this node sees the record now
/// (a record deleted meanwhile makes it a guest).
fn actor(app: &App, auth: &Value) -> Actor {
    let (Some(cid), Some(rid)) = (auth["collection"].as_str(), auth["id"].as_str()) else {
        return Actor::Guest;
    };
    let Some(c) = app.store.schema().get(cid) else {
        return Actor::Guest;
    };
    match app.store.read(|db| records::get(db, &c, rid)) {
        Ok(Some(record)) => {
            let superuser = c.name == crate::schema::system::SUPERUSERS;
            let id = Identity {
                collection: c,
                record: record.into(),
            };
            if superuser {
                Actor::Superuser(id)
            } else {
                Actor::User(id)
            }
        }
        _ => Actor::Guest,
    }
}

/// Applies the requests newer than those applied already; forgets clients
/// that are gone.
///
/// `at` is where the fan-out stands: the new subscriptions get every change
/// after it, so none that committed after the request is missed.
pub fn apply(
    app: &App,
    applied: &mut HashMap<String, i64>,
    pending: Vec<(String, i64, String)>,
    at: crate::store::changes::Pos,
) {
    applied.retain(|id, _| app.broker.get(id).is_some());
    for (id, version, text) in pending {
        if applied.get(&id).is_some_and(|v| *v >= version) {
            continue;
        }
        applied.insert(id.clone(), version);
        let Some(client) = app.broker.get(&id) else {
            continue;
        };
        let Ok(req) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let subs: Vec<String> = req["subscriptions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let who = actor(app, &req["auth"]);
        if let Err(e) = super::fanout::subscribe_from(
            app,
            &client,
            &who,
            subs,
            Some(crate::store::changes::Seen::At(at)),
        ) {
            // The same refusal a request on this node would get (403 or
            // 404 there); the other node has answered already.
            tracing::info!(client = %id, error = ?e, "realtime: a subscription request from another node was refused");
        }
    }
}

/// Sends the messages other nodes left for this node's clients, then
/// removes them (sent or not: a client that did not subscribe to the
/// topic, or has gone, would not get it on its own node either).
pub fn hand_out(app: &App, rt: &tokio::runtime::Handle, left: Vec<realtime_clients::Left>) {
    if left.is_empty() {
        return;
    }
    let mut ids = Vec::with_capacity(left.len());
    for m in left {
        if let Some(client) = app.broker.get(&m.client) {
            client.send_once(&m.topic, m.data);
        }
        ids.push(m.id);
    }
    let taken = rt.block_on(
        app.store
            .write(move |ctx| realtime_clients::taken(ctx.conn, &ids)),
    );
    if let Err(e) = taken {
        tracing::warn!(error = %e, "realtime: removing handed-out messages failed");
    }
}

//! Realtime clients: PocketBase's SSE protocol (`GET /api/realtime` opens
//! a stream whose first event `PB_CONNECT` names the client; `POST
//! /api/realtime` binds the caller's auth and replaces the subscription
//! set). Each client has a bounded queue: a client that cannot keep up is
//! dropped instead of growing memory.
//!
//! Record events come from the change log (`fanout`): one task reads
//! committed `_changes` rows in `seq` order and delivers each to every
//! matching subscription whose rules allow it.

pub mod fanout;
pub mod remote;
pub mod subscription;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::mpsc;

use crate::service::Actor;
pub use subscription::Sub;

/// Messages queued per client before it counts as stalled.
pub const QUEUE: usize = 512;

/// One SSE message: `event:` name and `data:` JSON text.
#[derive(Debug, Clone)]
pub struct Message {
    pub name: Arc<str>,
    pub data: Arc<str>,
}

/// The record an actor is signed in as: (collection id, record id).
fn bound_record(actor: &Actor) -> Option<(&str, &str)> {
    actor.identity().map(|i| (i.collection.id.as_str(), i.id()))
}

#[derive(Debug)]
struct State {
    /// The caller that bound the subscriptions (rules run as this actor). A
    /// guest client may later bind a user; a bound user stays that user.
    actor: Arc<Actor>,
    subscriptions: Vec<Arc<Sub>>,
}

/// A connected client.
#[derive(Debug)]
pub struct Client {
    pub id: String,
    /// The IP it connected from; subscription requests must come from it.
    pub ip: String,
    /// Taken away when the server shuts down, which ends the stream.
    tx: Mutex<Option<mpsc::Sender<Message>>>,
    state: Mutex<State>,
}

impl Client {
    /// Queues a message; `false` when the client is gone or stalled.
    pub fn send(&self, m: Message) -> bool {
        self.tx
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.try_send(m).is_ok()))
            .unwrap_or(false)
    }

    /// Messages waiting in this client's queue.
    pub fn queued(&self) -> usize {
        self.tx
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.max_capacity() - tx.capacity()))
            .unwrap_or(0)
    }

    pub fn subscriptions(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.subscriptions.iter().map(|x| x.raw.clone()).collect())
            .unwrap_or_default()
    }

    /// The subscriptions and the actor they run as.
    pub fn snapshot(&self) -> (Arc<Actor>, Vec<Arc<Sub>>) {
        self.state
            .lock()
            .map(|s| (s.actor.clone(), s.subscriptions.clone()))
            .unwrap_or_default()
    }

    pub fn has_subscription(&self, name: &str) -> bool {
        self.state
            .lock()
            .is_ok_and(|s| s.subscriptions.iter().any(|x| x.raw == name))
    }

    /// Removes one subscription (e.g. `@oauth2` after its message).
    pub fn unsubscribe(&self, name: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.subscriptions.retain(|x| x.raw != name);
        }
    }

    /// Sends a one-off message on topic `name` (the `@oauth2` redirect's)
    /// when the client subscribed to it, and ends that subscription; false
    /// when it did not subscribe or its queue is gone.
    pub fn send_once(&self, name: &str, data: String) -> bool {
        if !self.has_subscription(name) {
            return false;
        }
        let sent = self.send(Message {
            name: name.into(),
            data: data.into(),
        });
        self.unsubscribe(name);
        sent
    }

    /// Marks a resumed subscription live (after its replay); live events
    /// that `seen` covers are not sent again.
    pub fn set_live(&self, raw: &str, seen: Option<crate::store::changes::Pos>) {
        let seen = seen.map(crate::store::changes::Seen::At);
        if let Ok(mut s) = self.state.lock() {
            for x in s.subscriptions.iter_mut().filter(|x| x.raw == raw) {
                let x = Arc::make_mut(x);
                x.live = true;
                x.seen = seen.clone();
            }
        }
    }
}

/// Why a subscription request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError {
    UnknownClient,
    AuthMismatch,
}

/// All connected clients.
pub struct Broker {
    clients: RwLock<HashMap<String, Arc<Client>>>,
    /// This process among several on one database (`store/realtime_clients.rs`).
    node: String,
}

impl Default for Broker {
    fn default() -> Self {
        Self {
            clients: RwLock::default(),
            node: crate::schema::names::random_secret(20),
        }
    }
}

impl Broker {
    /// This node's id among several sharing a PostgreSQL database.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Registers a new client; the receiver feeds its SSE stream.
    pub fn connect(&self, ip: &str) -> (Arc<Client>, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let client = Arc::new(Client {
            id: crate::schema::names::random_secret(40),
            ip: ip.to_owned(),
            tx: Mutex::new(Some(tx)),
            state: Mutex::new(State {
                actor: Arc::new(Actor::Guest),
                subscriptions: Vec::new(),
            }),
        });
        if let Ok(mut m) = self.clients.write() {
            m.insert(client.id.clone(), Arc::clone(&client));
        }
        (client, rx)
    }

    pub fn disconnect(&self, id: &str) {
        if let Ok(mut m) = self.clients.write() {
            m.remove(id);
        }
    }

    /// Ends every client's stream (SSE responses finish, WebSockets
    /// close), so a graceful shutdown does not wait on them; clients
    /// reconnect (and resume) elsewhere or after the restart.
    pub fn close_all(&self) {
        let all = match self.clients.write() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(_) => return,
        };
        for c in all.values() {
            if let Ok(mut tx) = c.tx.lock() {
                tx.take();
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.read().ok()?.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.clients.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages queued for clients and not yet handed to their
    /// connections, summed over every client (the metrics' backlog).
    pub fn queued(&self) -> usize {
        self.clients().iter().map(|c| c.queued()).sum()
    }

    /// Is any client signed in as this record?
    pub fn is_bound_to(&self, collection_id: &str, record_id: &str) -> bool {
        self.clients().iter().any(|c| {
            c.state
                .lock()
                .is_ok_and(|s| bound_record(&s.actor) == Some((collection_id, record_id)))
        })
    }

    /// An auth record changed: clients bound to it see its new values, or
    /// become guests when it was deleted or its `tokenKey` changed (its
    /// tokens are revoked).
    pub fn auth_changed(
        &self,
        collection_id: &str,
        record_id: &str,
        new: Option<&serde_json::Map<String, serde_json::Value>>,
    ) {
        for client in self.clients() {
            let Ok(mut s) = client.state.lock() else {
                continue;
            };
            if bound_record(&s.actor) != Some((collection_id, record_id)) {
                continue;
            }
            let (revoked, identity) = match (s.actor.as_ref(), new) {
                (Actor::User(i) | Actor::Superuser(i), Some(rec)) => {
                    let key =
                        |m: &serde_json::Map<String, serde_json::Value>| m.get("tokenKey").cloned();
                    (key(&i.record) != key(rec), Some(i.clone()))
                }
                _ => (true, None),
            };
            match identity {
                Some(mut i) if !revoked => {
                    if let Some(rec) = new {
                        i.record = Arc::new(rec.clone());
                    }
                    s.actor = Arc::new(match s.actor.as_ref() {
                        Actor::Superuser(_) => Actor::Superuser(i),
                        _ => Actor::User(i),
                    });
                }
                _ => s.actor = Arc::new(Actor::Guest),
            }
        }
    }

    /// All connected clients (a snapshot, for fan-out).
    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Replaces a client's subscriptions; the first call binds the caller's
    /// auth, later calls must come with the same auth. Subscriptions kept
    /// from the previous set keep their state; new ones asking to resume
    /// are returned (they stay paused until their replay has run); other
    /// new ones get only changes after `now` (the feed's end).
    pub fn set_subscriptions(
        &self,
        id: &str,
        actor: &Actor,
        subs: Vec<String>,
        now: Option<crate::store::changes::Seen>,
    ) -> Result<Vec<Sub>, SetError> {
        let client = self.get(id).ok_or(SetError::UnknownClient)?;
        let mut s = client.state.lock().map_err(|_| SetError::UnknownClient)?;
        let bound = bound_record(&s.actor);
        if bound.is_some() && bound != bound_record(actor) {
            return Err(SetError::AuthMismatch);
        }
        s.actor = Arc::new(actor.clone());
        let mut next: Vec<Arc<Sub>> = Vec::with_capacity(subs.len());
        let mut resumes = Vec::new();
        for raw in subs {
            if raw.is_empty() || next.iter().any(|x| x.raw == raw) {
                continue;
            }
            if let Some(old) = s.subscriptions.iter().find(|x| x.raw == raw) {
                next.push(Arc::clone(old));
                continue;
            }
            let mut sub = Sub::parse(&raw);
            if sub.resume.is_some() && sub.collection.is_some() {
                sub.live = false;
                resumes.push(sub.clone());
            } else {
                sub.seen = now.clone();
            }
            next.push(Arc::new(sub));
        }
        s.subscriptions = next;
        Ok(resumes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_bind_auth_once() {
        let b = Broker::default();
        let (c, mut rx) = b.connect("127.0.0.1");
        assert_eq!(c.id.len(), 40);
        let users = crate::schema::Collection::from_stored(
            &serde_json::json!({"id": "c1", "name": "users", "type": "auth", "fields": []}),
        )
        .expect("collection");
        let mut record = serde_json::Map::new();
        record.insert("id".into(), "a".into());
        let user = Actor::User(crate::service::Identity {
            collection: Arc::new(users),
            record: record.into(),
        });
        assert!(
            b.set_subscriptions(&c.id, &user, vec!["x".into(), "x".into()], None)
                .is_ok()
        );
        assert_eq!(c.subscriptions(), vec!["x".to_owned()]);
        assert_eq!(
            b.set_subscriptions(&c.id, &Actor::Guest, vec![], None)
                .err(),
            Some(SetError::AuthMismatch)
        );
        assert_eq!(
            b.set_subscriptions("nope", &Actor::Guest, vec![], None)
                .err(),
            Some(SetError::UnknownClient)
        );
        let resumed = b
            .set_subscriptions(
                &c.id,
                &user,
                vec![
                    "x".into(),
                    "p/*?options=%7B%22query%22%3A%7B%22resume%22%3A3%7D%7D".into(),
                ],
                None,
            )
            .expect("set");
        assert_eq!(resumed.len(), 1);
        assert_eq!(resumed[0].resume.as_deref(), Some("3"));
        assert!(c.send(Message {
            name: "x".into(),
            data: "{}".into()
        }));
        assert_eq!(
            rx.try_recv().map(|m| m.name.to_string()).ok(),
            Some("x".to_owned())
        );
        b.disconnect(&c.id);
        assert!(b.get(&c.id).is_none());
    }

    #[test]
    fn a_stalled_client_is_refused_not_buffered() {
        let b = Broker::default();
        let (c, _rx) = b.connect("127.0.0.1");
        for _ in 0..QUEUE {
            assert!(c.send(Message {
                name: "x".into(),
                data: "{}".into()
            }));
        }
        assert!(!c.send(Message {
            name: "x".into(),
            data: "{}".into()
        }));
    }
}

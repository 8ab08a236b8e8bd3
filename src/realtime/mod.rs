//! Realtime clients: PocketBase's SSE protocol (`GET /api/realtime` opens
//! a stream whose first event `PB_CONNECT` names the client; `POST
//! /api/realtime` binds the caller's auth and replaces the subscription
//! set). Each client has a bounded queue: a client that cannot keep up is
//! dropped instead of growing memory.
//!
//! This module owns the client registry and message delivery; record
//! change fan-out from `_changes` builds on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::mpsc;

/// Messages queued per client before it counts as stalled.
pub const QUEUE: usize = 512;

/// One SSE message: `event:` name and `data:` JSON text.
#[derive(Debug, Clone)]
pub struct Message {
    pub name: String,
    pub data: String,
}

/// Who a client's subscriptions were bound by (collection id, record id);
/// `None` for guests.
pub type AuthKey = Option<(String, String)>;

#[derive(Debug)]
struct State {
    /// `None` until the first subscription request binds it.
    auth: Option<AuthKey>,
    subscriptions: Vec<String>,
}

/// A connected client.
#[derive(Debug)]
pub struct Client {
    pub id: String,
    tx: mpsc::Sender<Message>,
    state: Mutex<State>,
}

impl Client {
    /// Queues a message; `false` when the client is gone or stalled.
    pub fn send(&self, m: Message) -> bool {
        self.tx.try_send(m).is_ok()
    }

    pub fn subscriptions(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.subscriptions.clone())
            .unwrap_or_default()
    }

    pub fn has_subscription(&self, name: &str) -> bool {
        self.state
            .lock()
            .is_ok_and(|s| s.subscriptions.iter().any(|x| x == name))
    }

    /// Removes one subscription (e.g. `@oauth2` after its message).
    pub fn unsubscribe(&self, name: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.subscriptions.retain(|x| x != name);
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
#[derive(Default)]
pub struct Broker {
    clients: RwLock<HashMap<String, Arc<Client>>>,
}

impl Broker {
    /// Registers a new client; the receiver feeds its SSE stream.
    pub fn connect(&self) -> (Arc<Client>, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let client = Arc::new(Client {
            id: crate::schema::names::random_secret(40),
            tx,
            state: Mutex::new(State {
                auth: None,
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

    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.read().ok()?.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.clients.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces a client's subscriptions; the first call binds `auth`, later
    /// calls must come with the same auth.
    pub fn set_subscriptions(
        &self,
        id: &str,
        auth: AuthKey,
        subs: Vec<String>,
    ) -> Result<(), SetError> {
        let client = self.get(id).ok_or(SetError::UnknownClient)?;
        let mut s = client.state.lock().map_err(|_| SetError::UnknownClient)?;
        match &s.auth {
            Some(bound) if *bound != auth => return Err(SetError::AuthMismatch),
            _ => s.auth = Some(auth),
        }
        let mut unique = Vec::with_capacity(subs.len());
        for x in subs {
            if !x.is_empty() && !unique.contains(&x) {
                unique.push(x);
            }
        }
        s.subscriptions = unique;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_bind_auth_once() {
        let b = Broker::default();
        let (c, mut rx) = b.connect();
        assert_eq!(c.id.len(), 40);
        let alice = Some(("users".to_owned(), "a".to_owned()));
        assert_eq!(
            b.set_subscriptions(&c.id, alice.clone(), vec!["x".into(), "x".into()]),
            Ok(())
        );
        assert_eq!(c.subscriptions(), vec!["x".to_owned()]);
        assert_eq!(
            b.set_subscriptions(&c.id, None, vec![]),
            Err(SetError::AuthMismatch)
        );
        assert_eq!(
            b.set_subscriptions("nope", None, vec![]),
            Err(SetError::UnknownClient)
        );
        assert!(c.send(Message {
            name: "x".into(),
            data: "{}".into()
        }));
        assert_eq!(rx.try_recv().map(|m| m.name).ok(), Some("x".to_owned()));
        b.disconnect(&c.id);
        assert!(b.get(&c.id).is_none());
    }

    #[test]
    fn a_stalled_client_is_refused_not_buffered() {
        let b = Broker::default();
        let (c, _rx) = b.connect();
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

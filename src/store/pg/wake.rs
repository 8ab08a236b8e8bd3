//! Wake-ups for the change-feed readers of every node.
//!
//! A node's readers must look at the change log when any node commits, but
//! the log is read by transaction-id horizon (`store/changes/feed.rs`), so
//! a wake-up carries no data: it only says "look now". After its own
//! commits a node sends one payload-free `NOTIFY cairn_changes`, at most
//! one per 5 ms however many commits (POSTGRES.md §2.1: NOTIFY takes a
//! cluster-wide lock at commit, so it never runs inside a data
//! transaction and is coalesced), on a session of its own that also
//! `LISTEN`s. Readers are also woken every 250 ms, which covers a lost
//! notification, a horizon held back by a long transaction elsewhere, and
//! the time the session is reconnecting.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{runtime, tls};
use crate::store::StoreError;

/// How often readers are woken without a notification.
const POLL: Duration = Duration::from_millis(250);
/// At most one NOTIFY per this long from one node.
const COALESCE: Duration = Duration::from_millis(5);

/// Starts the waker for the database at `url`; `commits` moves on each of
/// this node's commits. The returned counter moves on every wake-up.
pub fn start(url: &str, commits: watch::Receiver<i64>) -> watch::Receiver<i64> {
    let (tx, rx) = watch::channel(0);
    let url = url.to_owned();
    runtime().spawn(async move {
        let mut commits = commits;
        loop {
            match session(&url, &tx, &mut commits).await {
                // The store is gone.
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "change-feed listener lost its session; reconnecting")
                }
            }
            if commits.has_changed().is_err() {
                return;
            }
            wake(&tx);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    rx
}

fn wake(tx: &watch::Sender<i64>) {
    tx.send_modify(|n| *n = n.wrapping_add(1));
}

/// Opens a session of its own on the I/O runtime's tasks; notifications
/// it receives go to `notes`.
pub(super) async fn open_session(
    url: &str,
    notes: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<tokio_postgres::Client, StoreError> {
    let target = tls::target(url)?;
    match tls::client_config(&target)? {
        None => connect(&target.url, NoTls, notes).await,
        Some(config) => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
            connect(&target.url, tls, notes).await
        }
    }
}

async fn connect<T>(
    url: &str,
    tls: T,
    notes: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<tokio_postgres::Client, StoreError>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send + 'static,
    T::Stream: Send + 'static,
{
    let (client, mut conn) = tokio_postgres::connect(url, tls).await?;
    // The connection is driven here, not by `Connection`'s own future,
    // which drops notifications. It ends when the client is dropped.
    tokio::spawn(async move {
        while let Some(msg) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match msg {
                Ok(AsyncMessage::Notification(_)) => {
                    let _ = notes.send(());
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    Ok(client)
}

async fn session(
    url: &str,
    tx: &watch::Sender<i64>,
    commits: &mut watch::Receiver<i64>,
) -> Result<(), StoreError> {
    let (note_tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let client = open_session(url, note_tx).await?;
    client.batch_execute("LISTEN cairn_changes").await?;
    // Whatever committed while this session was away is looked at now.
    wake(tx);
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(()) => wake(tx),
                None => return Err(StoreError::Closed),
            },
            _ = tick.tick() => {
                if commits.has_changed().is_err() {
                    return Ok(());
                }
                wake(tx);
            }
            changed = commits.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                wake(tx);
                client.batch_execute("NOTIFY cairn_changes").await?;
                tokio::time::sleep(COALESCE).await;
            }
        }
    }
}

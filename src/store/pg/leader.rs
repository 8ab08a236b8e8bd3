//! Which node of several on one database runs the periodic jobs (cron,
//! the change-log trim): the one whose session holds a session-level
//! advisory lock. The lock goes with the session, so when that node dies
//! or loses the database another node's next try (every few seconds)
//! takes it over (POSTGRES.md §2.5). A node that cannot reach the
//! database does not lead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::runtime;
use super::wake::open_session;
use crate::store::StoreError;

/// The advisory lock's key (bootstrap and migrations use their own).
const KEY: i64 = 7_305_260_051;
/// How often a follower tries to take the lock, and a leader checks its
/// session is alive.
const EVERY: Duration = Duration::from_secs(5);

/// Starts trying to lead; the flag says whether this node does now. The
/// task ends when `alive` is dropped.
pub fn start(url: &str, alive: std::sync::Weak<()>) -> Arc<AtomicBool> {
    let leads = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&leads);
    let url = url.to_owned();
    runtime().spawn(async move {
        while alive.strong_count() > 0 {
            if let Err(e) = hold(&url, &flag, &alive).await {
                tracing::debug!(error = %e, "leader session ended");
            }
            flag.store(false, Ordering::Release);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    leads
}

async fn hold(url: &str, flag: &AtomicBool, alive: &std::sync::Weak<()>) -> Result<(), StoreError> {
    let (notes, _) = tokio::sync::mpsc::unbounded_channel();
    let client = open_session(url, notes).await?;
    while alive.strong_count() > 0 {
        let leads = match flag.load(Ordering::Acquire) {
            // Holding it: is the session still there?
            true => client.simple_query("SELECT 1").await.map(|_| true)?,
            false => client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&KEY])
                .await?
                .try_get::<_, bool>(0)?,
        };
        flag.store(leads, Ordering::Release);
        tokio::time::sleep(EVERY).await;
    }
    Ok(())
}

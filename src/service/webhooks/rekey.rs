//! `cairn webhooks rekey`: re-seals every stored signing secret (current and
//! kept-for-grace) under a new encryption key, so the `--encryptionEnv` key
//! can be changed without rotating each endpoint's secret (which would force
//! every receiver to update).
//!
//! PocketBase has no command for this (its settings are re-encrypted only
//! when saved), so this follows its naming: the new key is the usual
//! `--encryptionEnv`, the old one is named by `--oldEncryptionEnv`. All rows
//! are rewritten in one write job: if any secret cannot be opened, nothing
//! changes.

use super::endpoints::OldSecret;
use super::seal::Sealer;
use super::{Webhooks, internal};
use crate::service::Error;
use crate::store::Store;
use crate::store::webhooks as db;

/// What a rekey did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    pub endpoints: usize,
    pub secrets: usize,
}

/// Re-seals every secret with the hub's sealer (the new key); values are
/// opened with `old`, or are plain, or (a rerun) already open with the new
/// key. Run it with the server stopped: a running one keeps the secrets it
/// loaded and would not read the new ones until restarted with the new key.
pub async fn rekey(hub: &Webhooks, store: &Store, old: Sealer) -> Result<Rekeyed, Error> {
    let new = hub.seal.clone();
    let done = store
        .write(move |ctx| {
            let reseal = |id: &str, v: &str| {
                old.open(v)
                    .or_else(|| new.open(v))
                    .map(|plain| new.seal(&plain))
                    .ok_or_else(|| {
                        Error::bad(&format!(
                            "The secret of webhook {id} opens with neither the old nor the new key; nothing was changed."
                        ))
                    })
            };
            let mut out = Rekeyed::default();
            for mut row in db::load_endpoints(ctx.conn)? {
                row.secret = reseal(&row.id, &row.secret)?;
                let mut kept: Vec<OldSecret> =
                    serde_json::from_str(&row.old_secrets).unwrap_or_default();
                for k in &mut kept {
                    k.secret = reseal(&row.id, &k.secret)?;
                }
                row.old_secrets = serde_json::to_string(&kept)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                db::update_endpoint(ctx.conn, &row)?;
                out.endpoints += 1;
                out.secrets += 1 + kept.len();
            }
            Ok::<_, Error>(out)
        })
        .await?;
    hub.reload(store).map_err(internal)?;
    Ok(done)
}

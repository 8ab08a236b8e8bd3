//! Record writes that carry files: uploads are staged (checked and stored)
//! before the write job and settled after it (see `service/files`).

use std::sync::Arc;

use serde_json::Value;

use super::{CreateOp, Input, UpdateOp, auth_rights, present};
use crate::filter::ast::RequestInfo;
use crate::schema::{Collection, FieldKind};
use crate::service::files::{Files, Staged, Upload};
use crate::service::{Actor, Error};
use crate::store::Store;
use crate::store::records::Row_;

/// Creates a record with uploaded files (stored before the job, settled
/// after it: see service/files).
pub async fn create_with_files(
    store: &Store,
    uploads: Option<(&Files, Vec<Upload>)>,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    input: Input,
) -> Result<Value, Error> {
    let mut op = CreateOp::prepare(store, Arc::clone(&c), actor, req, input).await?;
    if let Some((files, uploads)) = uploads {
        op.stage(files, uploads).await?;
    }
    let staged = op.staged();
    let rec = settled(&staged, store.write(move |ctx| op.run(ctx)).await, false).await?;
    let mut out = present(store, &c, &rec, actor, req, false)?;
    crate::service::access::after_create(&c, &rec, &mut out);
    Ok(out)
}

/// Updates a record with uploaded files; replaced files are deleted after
/// the commit.
pub async fn update_with_files(
    store: &Store,
    uploads: Option<(&Files, Vec<Upload>)>,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    id: String,
    input: Input,
) -> Result<Value, Error> {
    let mut op = UpdateOp::prepare(store, Arc::clone(&c), actor, req, id.clone(), input).await?;
    if let Some((files, uploads)) = uploads {
        op.stage(files, uploads).await?;
    }
    let staged = op.staged();
    let drops = c
        .fields
        .iter()
        .any(|f| matches!(f.kind, FieldKind::File(_)));
    let rec = settled(&staged, store.write(move |ctx| op.run(ctx)).await, drops).await?;
    let manager = auth_rights::manages(store, &c, actor, req, &id)?;
    present(store, &c, &rec, actor, req, manager)
}

/// After a record write: staged files the committed record does not name
/// are deleted (all of them when the write failed), and the cleaner is
/// told to delete the files the write dropped (`may_drop_files`: an update
/// of a collection with file fields; a create drops nothing). An internal error may hide
/// a commit, so its files are left to the orphan sweep.
pub async fn settled(
    staged: &Staged,
    res: Result<Row_, Error>,
    may_drop_files: bool,
) -> Result<Row_, Error> {
    match &res {
        Ok(rec) => {
            staged.settle(Some(rec)).await;
            if may_drop_files {
                crate::service::files::cleanup::poke();
            }
        }
        Err(Error::Internal(_)) => {}
        Err(_) => staged.discard().await,
    }
    res
}

//! Record writes that carry files: uploads are staged (checked and stored)
//! before the write job and settled after it (see `service/files`).

use std::sync::Arc;

use serde_json::Value;

use super::{CreateOp, Input, UpdateOp, auth_rights, present_owned};
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
    let op = Write::prepare(store, uploads, Arc::clone(&c), actor, req, None, input).await?;
    let staged = op.staged();
    let res = store.write_op(op, Write::run).await;
    written(store, &c, actor, req, None, &staged, res).await
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
    let op = Write::prepare(
        store,
        uploads,
        Arc::clone(&c),
        actor,
        req,
        Some(id.clone()),
        input,
    )
    .await?;
    let staged = op.staged();
    let res = store.write_op(op, Write::run).await;
    written(store, &c, actor, req, Some(&id), &staged, res).await
}

/// A record create (`id` `None`) or update, prepared off the writer (rule
/// compiled, passwords hashed, uploads staged), to run in a write job: the
/// API's own job, or one a hook chain holds open (`plugins::hooks::tx`).
#[derive(Clone)]
pub enum Write {
    Create(CreateOp),
    Update(UpdateOp),
}

impl Write {
    pub async fn prepare(
        store: &Store,
        uploads: Option<(&Files, Vec<Upload>)>,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        id: Option<String>,
        input: Input,
    ) -> Result<Self, Error> {
        Ok(match id {
            None => {
                let mut op = CreateOp::prepare(store, c, actor, req, input).await?;
                if let Some((files, uploads)) = uploads {
                    op.stage(files, uploads).await?;
                }
                Self::Create(op)
            }
            Some(id) => {
                let mut op = UpdateOp::prepare(store, c, actor, req, id, input).await?;
                if let Some((files, uploads)) = uploads {
                    op.stage(files, uploads).await?;
                }
                Self::Update(op)
            }
        })
    }

    /// The staged uploads (settled by `written` after the job).
    pub fn staged(&self) -> Staged {
        match self {
            Self::Create(op) => op.staged(),
            Self::Update(op) => op.staged(),
        }
    }

    /// Runs inside a write job.
    pub fn run(self, ctx: &mut crate::store::WriteCtx<'_>) -> Result<Row_, Error> {
        match self {
            Self::Create(op) => op.run(ctx),
            Self::Update(op) => op.run(ctx),
        }
    }
}

/// After the job of a `Write` (`id`: the updated record's): the staged
/// files settled, and the record as the caller may see it.
pub async fn written(
    store: &Store,
    c: &Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    id: Option<&str>,
    staged: &Staged,
    res: Result<Row_, Error>,
) -> Result<Value, Error> {
    let drops = id.is_some()
        && c.fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::File(_)));
    let rec = settled(staged, res, drops).await?;
    match id {
        None => {
            let key = crate::service::access::created_key(c, &rec);
            let mut out = present_owned(store, c, rec, actor, req, false)?;
            crate::service::access::after_create(key, &mut out);
            Ok(out)
        }
        Some(id) => {
            let manager = auth_rights::manages(store, c, actor, req, id)?;
            present_owned(store, c, rec, actor, req, manager)
        }
    }
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

//! Uploads staged for one record write.
//!
//! Before the write job runs, every upload is checked (maxSize, mimeTypes
//! on the sniffed content), given its stored name and written to storage.
//! Inside the job the names are merged into the record like PocketBase
//! does (plain key: replace, `field+` append, `+field` prepend). After the
//! job, [`Staged::settle`] deletes every staged file the committed record
//! does not name, or all of them when the job failed.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::storage::Backend;
use super::{Upload, names};
use crate::schema::validate::FieldError;
use crate::schema::value::{self, Modifier};
use crate::schema::{Collection, FieldKind};
use crate::service::Error;
use crate::store::records::Row_;

/// PocketBase's default `maxSize` when a file field leaves it at 0 (5 MiB).
pub const DEFAULT_MAX_SIZE: i64 = 5 << 20;

/// One stored upload waiting for its record to commit.
#[derive(Debug, Clone)]
struct StagedFile {
    field: String,
    modifier: Option<Modifier>,
    name: String,
}

/// The uploads of one record write, already in storage.
#[derive(Clone, Default)]
pub struct Staged {
    backend: Option<Arc<dyn Backend>>,
    collection_id: String,
    /// The record the files belong to (generated up front for creates).
    pub record_id: String,
    files: Vec<StagedFile>,
    /// maxSize / mimeTypes errors, reported with the record's others.
    errors: Map<String, Value>,
}

/// The effective size limit of a file field.
pub fn max_size(o: &crate::schema::field::FileOptions) -> i64 {
    if o.max_size > 0 {
        o.max_size
    } else {
        DEFAULT_MAX_SIZE
    }
}

impl Staged {
    /// Checks and stores `uploads` for record `record_id` of `c`. Uploads
    /// for unknown or non-file fields are dropped, as PocketBase does.
    pub async fn stage(
        backend: Arc<dyn Backend>,
        c: &Collection,
        record_id: String,
        uploads: Vec<Upload>,
    ) -> Result<Self, Error> {
        let mut out = Staged {
            backend: Some(Arc::clone(&backend)),
            collection_id: c.id.clone(),
            record_id,
            ..Default::default()
        };
        for mut up in uploads {
            let (name, modifier) = value::split_modifier(&up.key);
            let Some(f) = c.field(name) else { continue };
            let FieldKind::File(o) = &f.kind else {
                continue;
            };
            if modifier == Some(Modifier::Remove) || out.errors.contains_key(&f.name) {
                continue;
            }
            let max = max_size(o);
            if up.size > max as u64 {
                let msg = format!(
                    "Failed to upload {} - the maximum allowed file size is {max} bytes.",
                    up.original
                );
                let e = FieldError::new("validation_file_size_limit", msg)
                    .with_params(json!({"file": up.original, "maxSize": max}));
                out.errors.insert(f.name.clone(), e.to_json());
                continue;
            }
            let stored = names::stored_name(&up.original, &up.mime);
            if !o.mime_types.is_empty()
                && !o
                    .mime_types
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(names::essence(&up.mime)))
            {
                let msg = format!(
                    "\"{stored}\" mime type must be one of: {}.",
                    o.mime_types.join(", ")
                );
                let e = FieldError::new("validation_invalid_mime_type", msg);
                out.errors.insert(f.name.clone(), e.to_json());
                continue;
            }
            let key = format!("{}/{}/{stored}", c.id, out.record_id);
            let put = match up.data.take() {
                Some(parts) => backend.put_new(&key, parts).await,
                None => backend.put_file(&key, &up.path).await,
            };
            if let Err(e) = put {
                out.discard().await;
                return Err(Error::Internal(format!("storing {key}: {e}")));
            }
            up.stored();
            out.files.push(StagedFile {
                field: f.name.clone(),
                modifier,
                name: stored,
            });
        }
        Ok(out)
    }

    /// Is any upload staged (or refused)?
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.errors.is_empty()
    }

    /// The stored names staged for field `field`.
    pub fn names_for<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .iter()
            .filter(move |s| s.field == field)
            .map(|s| s.name.as_str())
    }

    /// Merges the staged names into `rec` (inside the write job, after the
    /// body's own keys) and adds the upload errors to `errors`.
    pub fn apply(
        &self,
        c: &Collection,
        rec: &mut Row_,
        input: &Map<String, Value>,
        errors: &mut Map<String, Value>,
    ) {
        for (k, v) in &self.errors {
            errors.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for f in &c.fields {
            if !matches!(f.kind, FieldKind::File(_)) {
                continue;
            }
            let mine: Vec<&StagedFile> = self.files.iter().filter(|s| s.field == f.name).collect();
            if mine.is_empty() {
                continue;
            }
            let mut cur = rec.get(&f.name).map(value::to_list).unwrap_or_default();
            // A plain key replaces the value, keeping only names the body
            // itself listed under that key.
            let plain: Vec<String> = mine
                .iter()
                .filter(|s| s.modifier.is_none())
                .map(|s| s.name.clone())
                .collect();
            if !plain.is_empty() {
                if !input.contains_key(&f.name) {
                    cur.clear();
                }
                cur.extend(plain);
            }
            let prepend: Vec<String> = mine
                .iter()
                .filter(|s| s.modifier == Some(Modifier::Prepend))
                .map(|s| s.name.clone())
                .collect();
            if !prepend.is_empty() {
                let mut n = prepend;
                n.append(&mut cur);
                cur = n;
            }
            cur.extend(
                mine.iter()
                    .filter(|s| s.modifier == Some(Modifier::Append))
                    .map(|s| s.name.clone()),
            );
            let v = if f.kind.is_multiple() {
                Value::Array(cur.into_iter().map(Value::String).collect())
            } else {
                Value::String(cur.pop().unwrap_or_default())
            };
            rec.insert(f.name.clone(), v);
        }
    }

    /// After the job: keeps what the committed record names, deletes the
    /// rest; `None` (the job failed) deletes everything staged.
    pub async fn settle(&self, committed: Option<&Row_>) {
        let Some(backend) = &self.backend else { return };
        for s in &self.files {
            let kept = committed.is_some_and(|rec| {
                rec.get(&s.field)
                    .map(value::to_list)
                    .unwrap_or_default()
                    .contains(&s.name)
            });
            if !kept {
                let key = format!("{}/{}/{}", self.collection_id, self.record_id, s.name);
                if let Err(e) = backend.delete(&key).await {
                    tracing::warn!(error = %e, key, "could not delete a staged file");
                }
            }
        }
    }

    /// Deletes every staged file (the write did not happen).
    pub async fn discard(&self) {
        self.settle(None).await;
    }
}

//! Backups in an S3 bucket (`backups.s3`, PocketBase's settings): the same
//! object_store client as the files' S3 storage, with backups as objects at
//! the bucket's root, named by their key.
//!
//! The backups service is blocking code run on the blocking pool, so these
//! calls wait for the async client with `Handle::block_on` (allowed there,
//! never on a runtime worker). Only the download stream stays async: the
//! HTTP handler streams the object straight through.

use std::io;
use std::path::Path;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use tokio::runtime::Handle;

use crate::service::files::s3::{S3, S3Settings};
use crate::service::files::storage::{Backend, Meta};

/// The bucket that holds the backups.
pub struct Remote {
    s3: S3,
}

fn wait<T>(f: impl std::future::Future<Output = T>) -> T {
    Handle::current().block_on(f)
}

impl Remote {
    pub fn new(cfg: &S3Settings) -> io::Result<Self> {
        Ok(Self { s3: S3::new(cfg)? })
    }

    /// The objects at the bucket's root (backups are never in a folder).
    pub fn list(&self) -> io::Result<Vec<(String, Meta)>> {
        let all = wait(self.s3.list(""))?;
        Ok(all.into_iter().filter(|(k, _)| !k.contains('/')).collect())
    }

    pub fn head(&self, key: &str) -> io::Result<Option<Meta>> {
        wait(self.s3.head(key))
    }

    /// Uploads `src` as `key` (multipart when large); `src` is removed.
    pub fn put_file(&self, key: &str, src: &Path) -> io::Result<()> {
        wait(self.s3.put_file(key, src))
    }

    pub fn delete(&self, key: &str) -> io::Result<()> {
        wait(self.s3.delete(key))
    }

    /// Downloads `key` to the file `dest`, chunk by chunk.
    pub fn download_to(&self, key: &str, dest: &Path) -> io::Result<()> {
        use futures_util::TryStreamExt;
        use std::io::Write;
        let Some(meta) = self.head(key)? else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(dest)?);
        wait(async {
            let mut s = self.s3.read_range(key, 0, meta.size).await?;
            while let Some(chunk) = s.try_next().await? {
                out.write_all(&chunk)?;
            }
            Ok::<_, io::Error>(())
        })?;
        out.flush()
    }

    /// The object's size and its bytes, for a download (async).
    pub async fn stream(
        &self,
        key: &str,
    ) -> io::Result<Option<(u64, BoxStream<'static, io::Result<Bytes>>)>> {
        let Some(meta) = self.s3.head(key).await? else {
            return Ok(None);
        };
        let s = self.s3.read_range(key, 0, meta.size).await?;
        Ok(Some((meta.size, s)))
    }
}

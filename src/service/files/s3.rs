//! Files in an S3-compatible bucket (object_store's AWS client), chosen by
//! the settings' `s3` object (PocketBase's shape). Uploads larger than
//! [`MULTIPART_FROM`] go up in parts straight from the spooled temp file,
//! and reads are ranged GETs streamed through, so memory stays bounded.

use std::io;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;

use super::storage::{Backend, Meta};
use crate::schema::validate::FieldError;

/// Files from this size on are uploaded in parts.
pub const MULTIPART_FROM: u64 = 8 << 20;
/// Size of each uploaded part.
const PART: usize = 8 << 20;

/// The settings' `s3` object (`secret` is never sent back to clients).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3Settings {
    pub enabled: bool,
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
    pub access_key: String,
    pub secret: String,
    pub force_path_style: bool,
}

impl S3Settings {
    /// Reads `v` (the `s3` object); anything malformed counts as disabled.
    pub fn from_json(v: Option<&Value>) -> Self {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// PocketBase's checks when enabled: every connection field required.
    pub fn errors(&self) -> Option<Value> {
        if !self.enabled {
            return None;
        }
        let mut e = Map::new();
        for (k, v) in [
            ("accessKey", &self.access_key),
            ("bucket", &self.bucket),
            ("endpoint", &self.endpoint),
            ("region", &self.region),
            ("secret", &self.secret),
        ] {
            if v.trim().is_empty() {
                e.insert(k.into(), FieldError::required().to_json());
            }
        }
        (!e.is_empty()).then_some(Value::Object(e))
    }
}

/// A bucket as a storage backend.
pub struct S3 {
    store: Arc<AmazonS3>,
}

fn io_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        other => io::Error::other(other),
    }
}

impl S3 {
    pub fn new(s: &S3Settings) -> io::Result<Self> {
        // object_store panics later on an endpoint that is not an absolute
        // http(s) URL; refuse it here instead.
        let url = url::Url::parse(&s.endpoint).ok();
        if !url.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            return Err(io::Error::other(format!(
                "the S3 endpoint must be an http(s) URL, not {:?}",
                s.endpoint
            )));
        }
        let store = AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_endpoint(&s.endpoint)
            .with_access_key_id(&s.access_key)
            .with_secret_access_key(&s.secret)
            .with_virtual_hosted_style_request(!s.force_path_style)
            .with_allow_http(s.endpoint.starts_with("http://"))
            .build()
            .map_err(io::Error::other)?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// Uploads and deletes a test object (`POST /api/settings/test/s3`).
    pub async fn test(&self) -> Result<(), String> {
        let key = format!(
            "pb_settings_test_{}/test.txt",
            crate::schema::names::random_id(5)
        );
        self.put_bytes(&key, Bytes::from_static(b"test"))
            .await
            .map_err(|e| format!("failed to upload a test file: [key: {key}] {e}"))?;
        self.delete(&key)
            .await
            .map_err(|e| format!("failed to delete a test file: [key: {key}] {e}"))
    }
}

impl Backend for S3 {
    fn put_file<'a>(&'a self, key: &'a str, src: &'a FsPath) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = Path::from(key);
            let size = tokio::fs::metadata(src).await?.len();
            if size < MULTIPART_FROM {
                let bytes = tokio::fs::read(src).await?;
                self.store.put(&path, bytes.into()).await.map_err(io_err)?;
            } else {
                let upload = self.store.put_multipart(&path).await.map_err(io_err)?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
                let mut f = tokio::fs::File::open(src).await?;
                let mut buf = vec![0u8; PART];
                loop {
                    let n = f.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    w.wait_for_capacity(2).await.map_err(io_err)?;
                    w.write(&buf[..n]);
                }
                w.finish().await.map_err(io_err)?;
            }
            let _ = tokio::fs::remove_file(src).await;
            Ok(())
        })
    }

    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            self.store
                .put(&Path::from(key), bytes.into())
                .await
                .map(|_| ())
                .map_err(io_err)
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, parts: Vec<Bytes>) -> BoxFuture<'a, io::Result<()>> {
        // One PUT of the chunks as they are (no joined copy).
        Box::pin(async move {
            self.store
                .put(&Path::from(key), parts.into_iter().collect())
                .await
                .map(|_| ())
                .map_err(io_err)
        })
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Meta>>> {
        Box::pin(async move {
            match self.store.head(&Path::from(key)).await {
                Ok(m) => Ok(Some(Meta {
                    size: m.size,
                    modified: SystemTime::from(m.last_modified),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(io_err(e)),
            }
        })
    }

    fn read_range<'a>(
        &'a self,
        key: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, io::Result<BoxStream<'static, io::Result<Bytes>>>> {
        Box::pin(async move {
            if end <= start {
                return Ok(Box::pin(futures_util::stream::empty()) as BoxStream<'static, _>);
            }
            let opts = GetOptions {
                range: Some(GetRange::Bounded(start..end)),
                ..Default::default()
            };
            let res = self
                .store
                .get_opts(&Path::from(key), opts)
                .await
                .map_err(io_err)?;
            Ok(Box::pin(res.into_stream().map_err(io_err)) as BoxStream<'static, _>)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match self.store.delete(&Path::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_err(e)),
            }
        })
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let prefix = Path::from(prefix.trim_end_matches('/'));
            let keys: Vec<Path> = self
                .store
                .list(Some(&prefix))
                .map_ok(|m| m.location)
                .try_collect()
                .await
                .map_err(io_err)?;
            for k in keys {
                match self.store.delete(&k).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            Ok(())
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, Meta)>>> {
        Box::pin(async move {
            let p = Path::from(prefix.trim_end_matches('/'));
            let p = (!prefix.is_empty()).then_some(&p);
            self.store
                .list(p)
                .map_ok(|m| {
                    let meta = Meta {
                        size: m.size,
                        modified: SystemTime::from(m.last_modified),
                    };
                    (m.location.to_string(), meta)
                })
                .try_collect()
                .await
                .map_err(io_err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: &str) -> S3Settings {
        S3Settings {
            enabled: true,
            bucket: "b".into(),
            region: "r".into(),
            endpoint: endpoint.into(),
            access_key: "k".into(),
            secret: "s".into(),
            force_path_style: true,
        }
    }

    #[test]
    fn only_absolute_http_endpoints_make_a_client() {
        for bad in ["", "foo", "/relative", "ftp://host", "http://"] {
            assert!(S3::new(&settings(bad)).is_err(), "{bad:?} accepted");
        }
        for good in ["http://127.0.0.1:9000", "https://s3.example.com"] {
            assert!(S3::new(&settings(good)).is_ok(), "{good:?} refused");
        }
    }
}

//! Where file bytes live, behind one interface: a local directory
//! (`<data dir>/storage/`) or an S3-compatible bucket.
//!
//! Keys are `<collectionId>/<recordId>/<name>` and, for thumbs,
//! `<collectionId>/<recordId>/thumbs_<name>/<size>_<name>` (PocketBase's
//! layout, so a PocketBase `pb_data/storage` can be copied over as is).
//! Reads are streams of chunks so serving a large file holds at most one
//! chunk in memory per request; small files are read whole
//! ([`Backend::read_all`]), which skips the per-chunk overhead.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read per chunk when streaming a file out.
pub const CHUNK: usize = 128 << 10;

/// Size and modification time of a stored object.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub size: u64,
    pub modified: SystemTime,
}

/// A storage backend. Every method is async; streams yield chunks.
pub trait Backend: Send + Sync {
    /// Moves (or uploads) the local file `src` to `key`.
    fn put_file<'a>(&'a self, key: &'a str, src: &'a Path) -> BoxFuture<'a, io::Result<()>>;
    /// Stores `bytes` at `key`, replacing what is there; readers never see
    /// half of it (thumbs).
    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, io::Result<()>>;
    /// Stores an upload held in memory, in the chunks it arrived in, at a
    /// key nothing names yet (a fresh stored name: no reader can ask for it
    /// before its record commits). The default joins the chunks.
    fn put_new<'a>(&'a self, key: &'a str, parts: Vec<Bytes>) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.put_bytes(key, join(parts)).await })
    }
    /// The object's metadata, `None` when absent.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Meta>>>;
    /// Bytes `start..end` of `key` as a stream of chunks.
    fn read_range<'a>(
        &'a self,
        key: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, io::Result<BoxStream<'static, io::Result<Bytes>>>>;
    /// The whole object in one buffer (small files: one read, no chunks).
    /// The default collects [`Backend::read_range`].
    fn read_all<'a>(&'a self, key: &'a str, size: u64) -> BoxFuture<'a, io::Result<Bytes>> {
        Box::pin(async move {
            let mut body = self.read_range(key, 0, size).await?;
            let mut out = Vec::with_capacity(size as usize);
            while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
                out.extend_from_slice(&chunk?);
            }
            Ok(Bytes::from(out))
        })
    }
    /// Deletes one object (absent is fine).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
    /// Deletes every object under `prefix` (which ends with `/`).
    fn delete_prefix<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<()>>;
    /// Every object under `prefix` with its metadata.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, Meta)>>>;
}

/// The chunks of an upload as one buffer (no copy for a single chunk).
pub fn join(mut parts: Vec<Bytes>) -> Bytes {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    parts.concat().into()
}

/// Rejects keys that could leave the storage root.
fn check_key(key: &str) -> io::Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad storage key",
        ));
    }
    Ok(())
}

/// Files in a local directory.
pub struct Local {
    root: PathBuf,
}

impl Local {
    /// Storage under `root`; existing collection directories get the
    /// placement hint of [`super::dirs`].
    pub fn new(root: PathBuf) -> Self {
        super::dirs::spread_existing(&root);
        Self { root }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key.trim_end_matches('/'))?;
        Ok(self.root.join(key))
    }
}

fn meta_of(m: &std::fs::Metadata) -> Meta {
    Meta {
        size: m.len(),
        modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    }
}

/// Writes `bytes` beside `dst`, then renames it there: readers never see
/// half a file (a thumb may be asked for while it is written).
fn write_beside(root: &Path, dst: &Path, bytes: &[u8]) -> io::Result<()> {
    super::dirs::make_parent(root, dst)?;
    let tmp = dst.with_extension(format!("tmp{}", crate::schema::names::random_id(8)));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, dst));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes a new file at `dst` from `parts` with vectored writes: no temp
/// name and no rename (the name is new, see [`Backend::put_new`]), no copy
/// into one buffer. A failed write removes what was written (a crash
/// before that leaves an orphan, which the sweep removes).
fn write_new(root: &Path, dst: &Path, parts: &[Bytes]) -> io::Result<()> {
    use std::io::{IoSlice, Write};
    super::dirs::make_parent(root, dst)?;
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(dst)?;
    let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let mut left = &mut slices[..];
    let written = loop {
        IoSlice::advance_slices(&mut left, 0);
        if left.is_empty() {
            break Ok(());
        }
        match file.write_vectored(left) {
            Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(dst);
    }
    written
}

fn not_found_ok(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl Backend for Local {
    fn put_file<'a>(&'a self, key: &'a str, src: &'a Path) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let dst = self.path(key)?;
            let src = src.to_owned();
            let root = self.root.clone();
            // One trip to the blocking pool for the directory and the move
            // (each `tokio::fs` call is a trip of its own).
            tokio::task::spawn_blocking(move || {
                super::dirs::make_parent(&root, &dst)?;
                // Same filesystem: a rename. Otherwise copy, then remove.
                if std::fs::rename(&src, &dst).is_err() {
                    std::fs::copy(&src, &dst)?;
                    let _ = std::fs::remove_file(&src);
                }
                Ok(())
            })
            .await
            .map_err(io::Error::other)?
        })
    }

    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let dst = self.path(key)?;
            let root = self.root.clone();
            // One trip to the blocking pool for the directory, the write and
            // the rename (each `tokio::fs` call is a trip of its own).
            tokio::task::spawn_blocking(move || write_beside(&root, &dst, &bytes))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, parts: Vec<Bytes>) -> BoxFuture<'a, io::Result<()>> {
        // On the calling thread, like the reads (docs/ARCHITECTURE.md): a
        // held upload is at most `upload::MEMORY_PER_REQUEST` (1 MiB) going
        // into the page cache, and the trip to the blocking pool (a wake-up
        // and two context switches on each side) cost more than it saved on
        // two cores. Larger uploads were spooled on the way in and are moved
        // by `put_file`, on the blocking pool.
        Box::pin(async move { write_new(&self.root, &self.path(key)?, &parts) })
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Meta>>> {
        // A `stat` on the calling thread: it takes microseconds, like the
        // SQLite reads that run there (docs/ARCHITECTURE.md), and a hop to
        // the blocking pool cost more than the call itself.
        Box::pin(async move {
            match std::fs::metadata(self.path(key)?) {
                Ok(m) if m.is_file() => Ok(Some(meta_of(&m))),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
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
            let mut file = tokio::fs::File::open(self.path(key)?).await?;
            if start > 0 {
                file.seek(io::SeekFrom::Start(start)).await?;
            }
            let left = end.saturating_sub(start);
            let stream =
                futures_util::stream::unfold((file, left), |(mut file, left)| async move {
                    if left == 0 {
                        return None;
                    }
                    let want = left.min(CHUNK as u64) as usize;
                    let mut buf = vec![0u8; want];
                    match file.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
                        }
                        Err(e) => Some((Err(e), (file, 0))),
                    }
                });
            Ok(Box::pin(stream) as BoxStream<'static, io::Result<Bytes>>)
        })
    }

    fn read_all<'a>(&'a self, key: &'a str, _size: u64) -> BoxFuture<'a, io::Result<Bytes>> {
        Box::pin(async move { tokio::fs::read(self.path(key)?).await.map(Bytes::from) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            not_found_ok(tokio::fs::remove_file(&path).await)?;
            // Drop emptied record directories (best effort).
            if let Some(dir) = path.parent() {
                let _ = tokio::fs::remove_dir(dir).await;
            }
            Ok(())
        })
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(prefix)?;
            not_found_ok(tokio::fs::remove_dir_all(&path).await)?;
            if let Some(dir) = path.parent()
                && dir != self.root
            {
                let _ = tokio::fs::remove_dir(dir).await;
            }
            Ok(())
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, Meta)>>> {
        Box::pin(async move {
            let root = self.root.clone();
            let start = if prefix.is_empty() {
                root.clone()
            } else {
                self.path(prefix)?
            };
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let mut stack = vec![start];
                while let Some(dir) = stack.pop() {
                    let rd = match std::fs::read_dir(&dir) {
                        Ok(rd) => rd,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    for entry in rd.flatten() {
                        let Ok(m) = entry.metadata() else { continue };
                        let p = entry.path();
                        if m.is_dir() {
                            stack.push(p);
                        } else if let Ok(rel) = p.strip_prefix(&root) {
                            let key = rel.to_string_lossy().replace('\\', "/");
                            out.push((key, meta_of(&m)));
                        }
                    }
                }
                Ok(out)
            })
            .await
            .map_err(io::Error::other)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_uploads_are_written_from_their_chunks_and_never_replace() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let local = Local::new(tmp.path().to_owned());
        let parts = vec![
            Bytes::from_static(b"ab"),
            Bytes::new(),
            Bytes::from(vec![b'c'; 70_000]),
        ];
        local.put_new("c1/r1/a.txt", parts).await.expect("put");
        let got = std::fs::read(tmp.path().join("c1/r1/a.txt")).expect("read");
        assert_eq!(got.len(), 70_002);
        assert_eq!(&got[..3], b"abc");
        // The name is taken: an error, and the stored file is left as is.
        let again = local
            .put_new("c1/r1/a.txt", vec![Bytes::from_static(b"x")])
            .await;
        assert!(again.is_err());
        let kept = std::fs::read(tmp.path().join("c1/r1/a.txt")).expect("read");
        assert_eq!(kept, got);
        // No chunks: an empty file.
        local
            .put_new("c1/r2/e.txt", Vec::new())
            .await
            .expect("empty");
        let meta = std::fs::metadata(tmp.path().join("c1/r2/e.txt")).expect("stat");
        assert_eq!(meta.len(), 0);
        assert!(local.put_new("../x", Vec::new()).await.is_err(), "bad key");
        assert_eq!(
            &join(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")])[..],
            b"ab"
        );
    }

    #[test]
    fn keys_cannot_escape() {
        assert!(check_key("a/b/c.txt").is_ok());
        for bad in ["", "/a", "a/../b", "a//b", "..", "a\\b", "a/./b"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}

//! Directories of local storage: a record's directory is made on its first
//! file, and every collection directory carries ext4's "top directory" hint
//! (`chattr +T`), so that record directories are spread over the disk's
//! block groups instead of all landing in the collection directory's.
//!
//! Why: an upload into a new record makes two inodes, the record's directory
//! and the file. ext4 puts a new directory in its parent's block group and a
//! file in its directory's, so without the hint every record of a collection
//! shares the group of the data directory. On ext4 without a journal (the
//! test VM's root filesystem; common on VM and container images) each inode
//! allocation first walks past every inode of that group freed in the last
//! 60-300 s, one inode-table look-up each (the kernel's `recently_deleted`:
//! an inode whose deletion may not be on disk yet is not handed out again).
//! In a group where neighbours delete files (temp directories, builds, a
//! previous run's data) that walk made each of the two creates cost 100-300
//! µs of kernel time, against 5-12 µs in a quiet group (measured on the
//! test VM, `docs/performance.md`). With `TOPDIR` set, ext4's Orlov
//! allocator treats the subdirectories as unrelated and places each in a
//! group with free inodes and few directories. Record directories are
//! independent of each other, which is what the flag is meant for.
//!
//! Where the flag does not exist (other filesystems, other systems) nothing
//! changes: setting it is best effort and never fails a write.

use std::io;
use std::path::{Path, PathBuf};

/// Creates the directory `dst` is to be written into. The common case, a
/// collection directory that exists, is one `mkdir`; a missing collection
/// directory is created first and given the hint.
pub fn make_parent(root: &Path, dst: &Path) -> io::Result<()> {
    let Some(dir) = dst.parent() else {
        return Ok(());
    };
    match std::fs::create_dir(dir) {
        Ok(()) => return Ok(()),
        // Like `create_dir_all`: something else by that name is an error.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return if dir.is_dir() { Ok(()) } else { Err(e) };
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    if let Some(coll) = collection_dir(root, dir) {
        std::fs::create_dir_all(&coll)?;
        spread(&coll);
    }
    std::fs::create_dir_all(dir)
}

/// The collection directory (the first level under `root`) of `dir`.
fn collection_dir(root: &Path, dir: &Path) -> Option<PathBuf> {
    let first = dir.strip_prefix(root).ok()?.components().next()?;
    Some(root.join(first))
}

/// Gives every existing collection directory under `root` the hint
/// (directories made by older versions, or copied from PocketBase).
pub fn spread_existing(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for entry in rd.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            spread(&entry.path());
        }
    }
}

/// Sets the `TOPDIR` inode flag on `dir` (best effort).
#[cfg(target_os = "linux")]
pub fn spread(dir: &Path) {
    use rustix::fs::{IFlags, ioctl_getflags, ioctl_setflags};
    let set = std::fs::File::open(dir).and_then(|f| {
        let flags = ioctl_getflags(&f)?;
        if !flags.contains(IFlags::TOPDIR) {
            ioctl_setflags(&f, flags | IFlags::TOPDIR)?;
        }
        Ok(())
    });
    if let Err(e) = set {
        tracing::debug!(error = %e, dir = %dir.display(), "no TOPDIR hint on this filesystem");
    }
}

/// No such hint outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn spread(_dir: &Path) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use rustix::fs::{IFlags, ioctl_getflags};

    fn flags(p: &Path) -> Option<IFlags> {
        ioctl_getflags(std::fs::File::open(p).ok()?).ok()
    }

    #[test]
    fn collection_directories_get_the_hint_and_records_are_made() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("storage");
        std::fs::create_dir_all(root.join("old")).expect("old collection");
        std::fs::write(root.join("stray.txt"), b"x").expect("stray file");
        spread_existing(&root);

        make_parent(&root, &root.join("coll/rec1/a.txt")).expect("first record");
        make_parent(&root, &root.join("coll/rec2/a.txt")).expect("second record");
        make_parent(&root, &root.join("coll/rec2/b.txt")).expect("same record again");
        make_parent(&root, &root.join("coll/rec2/thumbs_a.png/1x1_a.png")).expect("thumb dir");
        for d in ["coll/rec1", "coll/rec2", "coll/rec2/thumbs_a.png"] {
            assert!(root.join(d).is_dir(), "{d}");
        }
        // A file where the record directory should be is an error, not
        // silently ignored.
        std::fs::write(root.join("coll/rec3"), b"x").expect("blocking file");
        assert!(make_parent(&root, &root.join("coll/rec3/a.txt")).is_err());

        // Only where the filesystem has the flag (ext4; not tmpfs).
        let probe = tmp.path().join("probe");
        std::fs::create_dir(&probe).expect("probe");
        spread(&probe);
        if !flags(&probe).is_some_and(|f| f.contains(IFlags::TOPDIR)) {
            return;
        }
        let root_flags = flags(&root).expect("flags");
        assert!(
            !root_flags.contains(IFlags::TOPDIR),
            "the root is left alone"
        );
        for d in ["coll", "old"] {
            let f = flags(&root.join(d)).expect("flags");
            assert!(f.contains(IFlags::TOPDIR), "{d}: {f:?}");
        }
        let rec = flags(&root.join("coll/rec1")).expect("flags");
        assert!(!rec.contains(IFlags::TOPDIR), "records are not hinted");
    }
}

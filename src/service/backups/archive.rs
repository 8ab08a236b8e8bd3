//! The backup archive: one zip holding `data.db`, `auxiliary.db` (request
//! logs) and `storage/` (uploaded files), like PocketBase's pb_data zip.
//! Extraction accepts only paths that stay inside the target directory.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;

/// Names inside the archive.
pub const DATA_DB: &str = "data.db";
pub const AUX_DB: &str = "auxiliary.db";
pub const STORAGE: &str = "storage";

/// Largest total size extracted from one archive (a zip bomb guard).
pub const MAX_EXTRACTED: u64 = 64 << 30;

fn io(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Writes `files` (name in archive, path on disk) and every file under
/// `storage` (as `storage/...`) into a new zip at `dest`.
pub fn write(dest: &Path, files: &[(&str, PathBuf)], storage: Option<&Path>) -> Result<(), String> {
    let out = File::create(dest).map_err(io)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut buf = vec![0u8; 1 << 16];
    let mut add = |zip: &mut zip::ZipWriter<_>, name: &str, path: &Path| -> Result<(), String> {
        zip.start_file(name, opts).map_err(io)?;
        let mut f = File::open(path).map_err(io)?;
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            zip.write_all(&buf[..n]).map_err(io)?;
        }
    };
    for (name, path) in files {
        add(&mut zip, name, path)?;
    }
    if let Some(root) = storage.filter(|p| p.is_dir()) {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let path = entry.map_err(io)?.path();
                let meta = std::fs::symlink_metadata(&path).map_err(io)?;
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let rel = path.strip_prefix(root).map_err(io)?;
                    let name = format!("{STORAGE}/{}", rel.to_string_lossy().replace('\\', "/"));
                    add(&mut zip, &name, &path)?;
                }
            }
        }
    }
    let mut inner = zip.finish().map_err(io)?;
    inner.flush().map_err(io)?;
    inner.get_ref().sync_all().map_err(io)?;
    Ok(())
}

/// True if the file starts like a zip archive.
pub fn looks_like_zip(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && (head == *b"PK\x03\x04" || head == *b"PK\x05\x06")
}

/// Extracts `archive` into `dir`; it must contain `data.db`.
pub fn extract(archive: &Path, dir: &Path) -> Result<(), String> {
    let f = File::open(archive).map_err(io)?;
    let mut zip = zip::ZipArchive::new(f).map_err(io)?;
    let mut total = 0u64;
    let mut has_data = false;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(io)?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(format!(
                "unsafe path in archive: {}",
                entry.name().unwrap_or_default()
            ));
        };
        let target = dir.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io)?;
            continue;
        }
        has_data |= rel == Path::new(DATA_DB);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut out = File::create(&target).map_err(io)?;
        let copied = std::io::copy(&mut (&mut entry).take(MAX_EXTRACTED - total + 1), &mut out)
            .map_err(io)?;
        total += copied;
        if total > MAX_EXTRACTED {
            return Err("archive too large".into());
        }
    }
    if !has_data {
        return Err(format!("{DATA_DB} missing from the archive"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_storage() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path();
        std::fs::write(d.join("a.db"), b"data").expect("w");
        std::fs::create_dir_all(d.join("st/c1/r1")).expect("mk");
        std::fs::write(d.join("st/c1/r1/f.txt"), b"file").expect("w");
        let zip = d.join("b.zip");
        write(&zip, &[(DATA_DB, d.join("a.db"))], Some(&d.join("st"))).expect("write");
        assert!(looks_like_zip(&zip));
        assert!(!looks_like_zip(&d.join("a.db")));
        let out = d.join("out");
        extract(&zip, &out).expect("extract");
        assert_eq!(std::fs::read(out.join(DATA_DB)).expect("r"), b"data");
        assert_eq!(
            std::fs::read(out.join("storage/c1/r1/f.txt")).expect("r"),
            b"file"
        );
        let no_data = d.join("n.zip");
        write(&no_data, &[(AUX_DB, d.join("a.db"))], None).expect("write");
        assert!(extract(&no_data, &d.join("out2")).is_err());
    }
}

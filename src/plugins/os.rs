//! `$os` file helpers for hooks and migrations (`readFile`, `readDir`,
//! `stat`, `writeFile`, `mkdir`, `mkdirAll`, `remove`, `removeAll`),
//! confined to the app's directory.
//!
//! PocketBase hands scripts Go's whole `os` package. Real hook files read
//! (a JSON seed beside the hooks, a template, a listing of `pb_public`)
//! and sometimes write a file, so Cairn answers those, sandboxed: a path
//! (relative ones resolve from the working directory, as in PocketBase)
//! must lie inside the app's directory (the data directory's parent, where
//! `pb_hooks`, `pb_migrations` and `pb_public` live) or the hooks
//! directory, and never inside the data directory itself (the database,
//! uploaded files, backups); a removal may not take a directory holding
//! the data directory either. Symlinks are followed before the check.
//! Failures read as Go's (`open x: no such file or directory`), naming
//! the path as the script gave it.

use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

use super::runtime::HostError;

/// Where scripts may read.
#[derive(Debug, Clone)]
pub struct Roots {
    allowed: Vec<PathBuf>,
    denied: PathBuf,
}

impl Roots {
    /// The roots of an app whose data directory is `data_dir` and whose
    /// hooks are in `hooks_dir`.
    pub fn new(data_dir: &Path, hooks_dir: &Path) -> Self {
        let data = real(&lexical(data_dir));
        let app = data.parent().map(Path::to_path_buf).unwrap_or_default();
        let allowed = [app, real(&lexical(hooks_dir))]
            .into_iter()
            .filter(|r| r.parent().is_some())
            .collect();
        Self {
            allowed,
            denied: data,
        }
    }

    /// `name` resolved, or `op name: why` when outside the sandbox.
    fn check(&self, verb: &str, name: &str) -> Result<PathBuf, HostError> {
        let outside = || {
            HostError::new(
                400,
                format!("{verb} {name}: outside the app directory (Cairn's $os sandbox)"),
            )
        };
        // Symlinks resolved first: the roots are real paths too.
        let resolved = real(&lexical(Path::new(name)));
        let inside = !resolved.starts_with(&self.denied)
            && self.allowed.iter().any(|r| resolved.starts_with(r));
        if inside { Ok(resolved) } else { Err(outside()) }
    }

    /// `check` for a removal, which may not take a root or a directory
    /// holding the data directory.
    fn check_removal(&self, name: &str) -> Result<PathBuf, HostError> {
        let p = self.check("remove", name)?;
        if self.denied.starts_with(&p) || self.allowed.contains(&p) {
            return Err(HostError::new(
                400,
                format!(
                    "remove {name}: holds the app's data or is a sandbox root (Cairn's $os sandbox)"
                ),
            ));
        }
        Ok(p)
    }
}

/// Answers an `os.*` operation, or `None` when `op` is not one. Reads
/// take the path as their argument, writes `{name, data, perm}`.
pub fn op(roots: &Roots, op: &str, args: &Value) -> Option<Result<Value, HostError>> {
    if let Some(w) = write_op(roots, op, args) {
        return Some(w.map(|()| Value::Null));
    }
    let name = args.as_str().unwrap_or_default();
    Some(match op {
        "os.readFile" => read_file(roots, name),
        "os.readDir" => read_dir(roots, name),
        // `$app.dataDir()`: where the database lives (readable by name only).
        "app.dataDir" => Ok(Value::String(roots.denied.to_string_lossy().into_owned())),
        "os.stat" => roots
            .check("stat", name)
            .and_then(|p| std::fs::metadata(&p).map_err(|e| go_error("stat", name, &e)))
            .map(|m| info(file_name(name), &m)),
        _ => return None,
    })
}

fn read_file(roots: &Roots, name: &str) -> Result<Value, HostError> {
    let path = roots.check("open", name)?;
    if path.is_dir() {
        return Err(HostError::new(400, format!("read {name}: is a directory")));
    }
    let bytes = std::fs::read(&path).map_err(|e| go_error("open", name, &e))?;
    Ok(Value::Array(bytes.into_iter().map(Value::from).collect()))
}

fn write_op(roots: &Roots, op: &str, args: &Value) -> Option<Result<(), HostError>> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let name = args["name"].as_str().unwrap_or_default();
    let perm = args["perm"].as_u64().unwrap_or(0) as u32 & 0o777;
    Some(match op {
        "os.writeFile" => roots.check("open", name).and_then(|p| {
            let bytes: Vec<u8> = match &args["data"] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Array(a) => a.iter().map(|b| b.as_u64().unwrap_or(0) as u8).collect(),
                _ => Vec::new(),
            };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(perm)
                .open(&p)
                .map_err(|e| go_error("open", name, &e))?;
            std::io::Write::write_all(&mut f, &bytes).map_err(|e| go_error("write", name, &e))
        }),
        "os.mkdir" | "os.mkdirAll" => roots.check("mkdir", name).and_then(|p| {
            std::fs::DirBuilder::new()
                .recursive(op == "os.mkdirAll")
                .mode(perm)
                .create(p)
                .map_err(|e| go_error("mkdir", name, &e))
        }),
        "os.remove" | "os.removeAll" => roots.check_removal(name).and_then(|p| {
            let out = match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() && op == "os.removeAll" => std::fs::remove_dir_all(&p),
                Ok(m) if m.is_dir() => std::fs::remove_dir(&p),
                Ok(_) => std::fs::remove_file(&p),
                Err(e) if op == "os.removeAll" && e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(())
                }
                Err(e) => Err(e),
            };
            out.map_err(|e| go_error("remove", name, &e))
        }),
        _ => return None,
    })
}

/// Entries by name, as Go's `os.ReadDir`.
fn read_dir(roots: &Roots, name: &str) -> Result<Value, HostError> {
    let path = roots.check("open", name)?;
    let rd = std::fs::read_dir(&path).map_err(|e| go_error("open", name, &e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| go_error("readdirent", name, &e))?;
        let n = entry.file_name().to_string_lossy().into_owned();
        // Entries are listed as they are; `info()` follows symlinks only
        // inside the sandbox.
        let meta = match roots.check("lstat", &path.join(&n).to_string_lossy()) {
            Ok(p) => std::fs::metadata(p).ok(),
            Err(_) => None,
        };
        match meta {
            Some(m) => out.push(info(n, &m)),
            None => out.push(json!({"name": n, "size": 0, "isDir": false, "mode": 0,
                                    "modeString": "----------", "modTime": ""})),
        }
    }
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(Value::Array(out))
}

/// A `FileInfo` as the script builds it (`name()`, `size()`, `isDir()`,
/// `mode()`, `modTime()`).
fn info(name: String, m: &std::fs::Metadata) -> Value {
    use std::os::unix::fs::PermissionsExt;
    let perm = m.permissions().mode() & 0o777;
    let mut mode = String::with_capacity(10);
    mode.push(if m.is_dir() { 'd' } else { '-' });
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        mode.push(if perm & (0o400 >> i) != 0 { c } else { '-' });
    }
    let modified = m
        .modified()
        .ok()
        .map(|t| crate::schema::datetime::format(time::OffsetDateTime::from(t)))
        .unwrap_or_default();
    json!({"name": name, "size": m.len(), "isDir": m.is_dir(), "mode": perm,
           "modeString": mode, "modTime": modified})
}

fn file_name(name: &str) -> String {
    lexical(Path::new(name))
        .file_name()
        .map_or_else(|| "/".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Go's `*PathError` text: `op name: reason`.
fn go_error(verb: &str, name: &str, e: &std::io::Error) -> HostError {
    use std::io::ErrorKind;
    let why = match e.kind() {
        ErrorKind::NotFound => "no such file or directory".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::IsADirectory => "is a directory".to_owned(),
        ErrorKind::NotADirectory => "not a directory".to_owned(),
        ErrorKind::DirectoryNotEmpty => "directory not empty".to_owned(),
        ErrorKind::AlreadyExists => "file exists".to_owned(),
        _ => e.to_string(),
    };
    HostError::new(400, format!("{verb} {name}: {why}"))
}

/// `p` made absolute (from the working directory) with `.` and `..`
/// resolved by name, as Go's `filepath.Clean` does.
fn lexical(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `p` with symlinks resolved, as far as it exists (a missing tail is
/// kept as written, so a missing file reads "no such file").
fn real(p: &Path) -> PathBuf {
    if let Ok(r) = p.canonicalize() {
        return r;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => real(parent).join(name),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Roots) {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        std::fs::create_dir_all(root.join("pb_data")).unwrap();
        std::fs::create_dir_all(root.join("pb_hooks/sub")).unwrap();
        std::fs::write(root.join("pb_hooks/a.json"), b"{\"k\":1}").unwrap();
        std::fs::write(root.join("pb_data/data.db"), b"secret").unwrap();
        let roots = Roots::new(&root.join("pb_data"), &root.join("pb_hooks"));
        (t, roots)
    }

    fn call(roots: &Roots, o: &str, name: &Path) -> Result<Value, String> {
        op(roots, o, &json!(name.to_string_lossy()))
            .expect("an os op")
            .map_err(|e| e.message)
    }

    #[test]
    fn reads_inside_the_app_directory() {
        let (t, roots) = setup();
        let file = t.path().join("pb_hooks/a.json");
        assert_eq!(
            call(&roots, "os.readFile", &file).unwrap(),
            json!(b"{\"k\":1}".to_vec())
        );
        let st = call(&roots, "os.stat", &file).unwrap();
        assert_eq!(
            (st["name"].clone(), st["size"].clone()),
            (json!("a.json"), json!(7))
        );
        let names: Vec<Value> = call(&roots, "os.readDir", &t.path().join("pb_hooks"))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!([e["name"], e["isDir"]]))
            .collect();
        assert_eq!(names, vec![json!(["a.json", false]), json!(["sub", true])]);
    }

    #[test]
    fn refuses_the_data_directory_and_anything_outside() {
        let (t, roots) = setup();
        for p in [
            t.path().join("pb_data/data.db"),
            t.path().join("pb_hooks/../pb_data/data.db"),
            t.path().join("../elsewhere.txt"),
            PathBuf::from("/etc/passwd"),
        ] {
            let err = call(&roots, "os.readFile", &p).expect_err("refused");
            assert!(err.contains("outside the app directory"), "{p:?}: {err}");
        }
        // A symlink inside that points outside is refused too.
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("pb_hooks/link")).unwrap();
        let err = call(&roots, "os.readFile", &t.path().join("pb_hooks/link")).unwrap_err();
        assert!(err.contains("outside the app directory"), "{err}");
    }

    fn write(roots: &Roots, o: &str, name: &Path, data: Value, perm: u32) -> Result<(), String> {
        let args = json!({"name": name.to_string_lossy(), "data": data, "perm": perm});
        op(roots, o, &args)
            .expect("an os op")
            .map(|_| ())
            .map_err(|e| e.message)
    }

    #[test]
    fn writes_inside_and_never_removes_what_holds_the_data() {
        use std::os::unix::fs::PermissionsExt;
        let (t, roots) = setup();
        let dir = t.path().join("pb_hooks/out/deep");
        write(&roots, "os.mkdirAll", &dir, Value::Null, 0o755).unwrap();
        let f = dir.join("b.txt");
        write(&roots, "os.writeFile", &f, json!([104, 105]), 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"hi");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write(&roots, "os.writeFile", &f, json!("text"), 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"text");
        let out = t.path().join("pb_hooks/out");
        let err = write(&roots, "os.remove", &out, Value::Null, 0).unwrap_err();
        assert!(err.ends_with("directory not empty"), "{err}");
        write(&roots, "os.removeAll", &out, Value::Null, 0).unwrap();
        assert!(!out.exists());
        write(&roots, "os.removeAll", &out, Value::Null, 0).unwrap();
        for (o, p) in [
            ("os.writeFile", t.path().join("pb_data/x.db")),
            ("os.mkdirAll", t.path().join("pb_data/new")),
            ("os.removeAll", t.path().to_path_buf()),
            ("os.removeAll", t.path().join("pb_hooks")),
            ("os.remove", t.path().join("pb_data/data.db")),
        ] {
            let err = write(&roots, o, &p, json!("x"), 0o644).expect_err("refused");
            assert!(err.contains("sandbox"), "{o} {p:?}: {err}");
        }
        assert!(t.path().join("pb_data/data.db").exists());
    }

    #[test]
    fn failures_read_as_go_errors() {
        let (t, roots) = setup();
        let missing = t.path().join("pb_hooks/nope.txt");
        let m = missing.to_string_lossy();
        assert_eq!(
            call(&roots, "os.readFile", &missing).unwrap_err(),
            format!("open {m}: no such file or directory")
        );
        assert_eq!(
            call(&roots, "os.stat", &missing).unwrap_err(),
            format!("stat {m}: no such file or directory")
        );
        let dir = t.path().join("pb_hooks/sub");
        assert_eq!(
            call(&roots, "os.readFile", &dir).unwrap_err(),
            format!("read {}: is a directory", dir.to_string_lossy())
        );
    }
}

//! `$template` for `pb_hooks`: PocketBase's `loadFiles(...paths)` /
//! `loadString(text)` then `.render(data)`, with Go `html/template` syntax
//! and contextual auto-escaping.
//!
//! Why not minijinja: hook templates are written for Go (`{{.name}}`,
//! `{{range .items}}{{.title}}{{end}}`, `{{define}}`/`{{block}}` layouts,
//! `{{.content|raw}}`), and rewriting them into Jinja would change what
//! `.` means inside `range`/`with` and how values print. A small
//! interpreter of the subset real hook files use (`parse.rs`, `exec.rs`)
//! keeps Go's semantics, and the data is only ever data: it is never
//! parsed as template source. Escaping follows Go for HTML text, attribute
//! values and URLs (`escape.rs`); the JS and CSS contexts fail loudly.
//!
//! Files are read only from inside the hooks directory (relative paths
//! resolve from the working directory, as in PocketBase). As in
//! PocketBase, the first file is the one rendered; later files add or
//! replace `{{define}}`d templates, and each file is also a template named
//! by its base name.

mod escape;
mod exec;
mod parse;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use parse::Body;

/// Templates parsed from one `loadFiles`/`loadString` call.
#[derive(Default)]
struct Set {
    templates: HashMap<String, Body>,
    main: Option<String>,
}

impl Set {
    fn add(&mut self, name: &str, src: &str) -> Result<(), String> {
        let tree = parse::parse(name, src)?;
        if self.main.is_none() {
            self.main = Some(name.to_owned());
        }
        self.define(name, tree.body);
        for (n, body) in tree.defines {
            self.define(&n, body);
        }
        Ok(())
    }

    /// Go's `AddParseTree` rule: an empty later definition keeps the
    /// earlier one.
    fn define(&mut self, name: &str, body: Body) {
        if !self.templates.contains_key(name) || !parse::is_empty(&body) {
            self.templates.insert(name.to_owned(), body);
        }
    }

    fn render(&self, data: &Value) -> Result<String, String> {
        let main = self.main.as_deref().unwrap_or_default();
        let mut ex = exec::Exec::new(&self.templates);
        ex.run(main, &exec::V::J(data.clone()))?;
        Ok(ex.out)
    }
}

/// Renders `{text}` or `{files}` with `{data}` (the host operation).
pub fn render(hooks_dir: &Path, args: &Value) -> Result<String, String> {
    let mut set = Set::default();
    if let Some(text) = args["text"].as_str() {
        set.add("", text)?;
    } else {
        let files: Vec<&str> = args["files"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if files.is_empty() {
            return Err("template: no files named in call to ParseFiles".into());
        }
        for f in files {
            let path = inside(hooks_dir, f)?;
            let src = std::fs::read_to_string(&path)
                .map_err(|e| format!("$template.loadFiles: {f}: {e}"))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            set.add(&name, &src)?;
        }
    }
    set.render(&args["data"])
}

/// `file` resolved (from the working directory when relative) and checked
/// to be inside `hooks_dir`, symlinks followed.
fn inside(hooks_dir: &Path, file: &str) -> Result<std::path::PathBuf, String> {
    let outside = || format!("$template.loadFiles: {file:?} is outside the hooks directory");
    let path = std::path::absolute(file).map_err(|_| outside())?;
    let real = path
        .canonicalize()
        .map_err(|e| format!("$template.loadFiles: {file}: {e}"))?;
    let root = hooks_dir.canonicalize().map_err(|_| outside())?;
    if real.starts_with(&root) {
        Ok(real)
    } else {
        Err(outside())
    }
}

#[cfg(test)]
mod tests;

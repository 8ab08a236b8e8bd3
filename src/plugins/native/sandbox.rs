//! ES module resolution for plugins: `import` takes relative paths only
//! (`./lib/util.js`, `../shared.js`), resolved against the importing file
//! and refused when the result leaves the plugins directory (symlinks are
//! followed first, so a link cannot lead out either). Bare names
//! (`"lodash"`) are refused: there is no package resolution.

use std::path::{Path, PathBuf};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Module, Result};

/// Resolver and loader confined to one directory.
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
        }
    }

    /// The file `name` imported from `base` names, inside the root.
    pub fn resolve_path(&self, base: &str, name: &str) -> std::result::Result<PathBuf, String> {
        let path = if name.starts_with("./") || name.starts_with("../") {
            Path::new(base).parent().unwrap_or(&self.root).join(name)
        } else if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            return Err(format!(
                "only relative imports (./ or ../) inside the plugins directory are supported, not {name:?}"
            ));
        };
        let outside = || format!("cannot import {name:?}: it is outside the plugins directory");
        if !lexical(&path).starts_with(&self.root) {
            return Err(outside());
        }
        let real = path
            .canonicalize()
            .map_err(|e| format!("cannot import {name:?}: {e}"))?;
        if !real.starts_with(&self.root) {
            return Err(outside());
        }
        Ok(real)
    }
}

/// `path` with `.` and `..` applied to its text (no file system access).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

impl Resolver for Sandbox {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        self.resolve_path(base, name)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|m| Error::new_resolving_message(base, name, m))
    }
}

impl Loader for Sandbox {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        let source = std::fs::read_to_string(name)
            .map_err(|e| Error::new_loading_message(name, e.to_string()))?;
        Module::declare(ctx.clone(), name, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_stay_inside_the_directory() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("plugins");
        std::fs::create_dir_all(root.join("lib")).expect("mkdir");
        std::fs::write(root.join("lib/util.js"), "export const x = 1;").expect("write");
        std::fs::write(dir.path().join("secret.js"), "export default 1;").expect("write");
        let s = Sandbox::new(&root);
        let base = s.root.join("main.js").to_string_lossy().into_owned();
        let util = s.resolve_path(&base, "./lib/util.js").expect("inside");
        assert!(util.ends_with("lib/util.js"));
        for name in ["../secret.js", "../missing.js", "./lib/../../secret.js"] {
            let err = s.resolve_path(&base, name).expect_err("outside");
            assert!(
                err.contains("outside the plugins directory"),
                "{name}: {err}"
            );
        }
        let err = s.resolve_path(&base, "lodash").expect_err("bare");
        assert!(err.contains("only relative imports"), "{err}");
        assert!(s.resolve_path(&base, "./missing.js").is_err());
    }
}

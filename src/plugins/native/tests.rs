//! Plugins on their own threads, without a server: module scope, imports,
//! async work, the time budget and load errors.

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::instance::Instance;
use super::{Env, Limits, metrics};

fn env(dir: &std::path::Path) -> Arc<Env> {
    Arc::new(Env {
        app: Weak::new(),
        dir: dir.canonicalize().expect("dir"),
        defaults: Limits {
            cpu: Duration::from_millis(200),
            memory: 16 << 20,
            timeout: Duration::from_secs(5),
        },
        config: RwLock::new(Value::Null),
        metrics: metrics::Metrics::default(),
    })
}

fn plugin(dir: &std::path::Path, name: &str, src: &str) -> Result<Arc<Instance>, String> {
    std::fs::write(dir.join(name), src).expect("write");
    let e = env(dir);
    Instance::spawn(&e, &e.dir.join(name))
}

async fn route(p: &Instance, idx: usize) -> Result<Value, String> {
    let request = json!({"method": "GET", "url": "http://x/api/t?a=1", "headers": {}, "body": "",
                         "params": {}, "ip": "", "auth": null});
    p.call("route", json!({"idx": idx, "request": request}))
        .await
        .map(|v| serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null))
        .map_err(|e| e.message)
}

#[tokio::test]
async fn module_scope_imports_and_timers() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
    std::fs::write(
        dir.path().join("lib/x.js"),
        "export const twice = (n) => 2 * n;",
    )
    .expect("w");
    let p = plugin(
        dir.path(),
        "count.js",
        r#"import { twice } from './lib/x.js';
        let n = 0;
        export default definePlugin({ routes: {
          'GET /api/t': async () => { await new Promise((r) => setTimeout(r, 5)); n++; return { n, d: twice(n) }; },
        }});"#,
    )
    .expect("loads");
    assert_eq!(p.def.routes[0].method, "GET");
    assert_eq!(route(&p, 0).await, Ok(json!({"n": 1, "d": 2})));
    assert_eq!(route(&p, 0).await, Ok(json!({"n": 2, "d": 4})));
}

#[tokio::test]
async fn an_endless_loop_ends_within_the_budget() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = plugin(
        dir.path(),
        "loop.js",
        "export default definePlugin({ routes: { 'GET /a': async () => { while (true) {} }, 'GET /b': () => ({ ok: 1 }) } });",
    )
    .expect("loads");
    let t = Instant::now();
    let err = route(&p, 0).await.expect_err("interrupted");
    assert!(err.contains("time budget of 200 ms"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(route(&p, 1).await, Ok(json!({"ok": 1})));
}

#[tokio::test]
async fn load_errors_name_the_problem() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (
            "syntax.js",
            "export default definePlugin({ routes: { ",
            "SyntaxError",
        ),
        (
            "plain.js",
            "export default { routes: {} };",
            "not a definePlugin",
        ),
        (
            "bare.js",
            "import x from 'lodash';\nexport default definePlugin({});",
            "only relative imports",
        ),
        (
            "up.js",
            "import x from '../up.js';\nexport default definePlugin({});",
            "outside the plugins directory",
        ),
        (
            "throws.js",
            "throw new Error('top level');\nexport default definePlugin({});",
            "top level",
        ),
    ];
    std::fs::write(dir.path().join("up.js"), "export default 1;").expect("w");
    let inner = dir.path().join("plugins");
    std::fs::create_dir(&inner).expect("mkdir");
    for (file, src, want) in cases {
        let err = match plugin(&inner, file, src) {
            Ok(_) => panic!("{file} loaded"),
            Err(e) => e,
        };
        assert!(err.contains(want), "{file}: {err}");
    }
}

#[test]
fn the_operators_settings_override_the_plugins() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = env(dir.path());
    if let Ok(mut c) = e.config.write() {
        *c = json!({"shop": {"allowHosts": ["a.example"], "cpuMs": 50}});
    }
    let def: super::Def = serde_json::from_value(json!({
        "allowHosts": ["b.example"], "limits": {"cpuMs": 500, "memoryMb": 8},
        "routes": [], "hooks": [], "crons": [],
    }))
    .expect("def");
    let shop = e.limits_for("shop", &def);
    assert_eq!(shop.cpu, Duration::from_millis(50));
    assert_eq!(shop.memory, 8 << 20);
    assert_eq!(shop.timeout, Duration::from_secs(5));
    assert_eq!(
        e.allow_for("shop", &def),
        Some(vec!["a.example".to_owned()])
    );
    assert_eq!(
        e.allow_for("other", &def),
        Some(vec!["b.example".to_owned()])
    );
    assert_eq!(e.limits_for("other", &def).cpu, Duration::from_millis(500));
}

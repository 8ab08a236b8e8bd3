//! The binary restarts itself with mimalloc's purge delay set when the
//! environment sets none (`src/main.rs`), and keeps an operator's value.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The value of `MIMALLOC_PURGE_DELAY` in the environment of the process
/// `cairn serve` became (the same pid: `exec` keeps it), once it has one.
fn purge_delay_of_server(env: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.args(["serve", "--http", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .env("CAIRN_LOG", "error")
        .env_remove("MIMALLOC_PURGE_DELAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(v) = env {
        cmd.env("MIMALLOC_PURGE_DELAY", v);
    }
    let mut child = cmd.spawn().unwrap();
    let path = format!("/proc/{}/environ", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let found = loop {
        let environ = std::fs::read(&path).unwrap_or_default();
        let value = environ
            .split(|b| *b == 0)
            .find_map(|kv| kv.strip_prefix(b"MIMALLOC_PURGE_DELAY="))
            .map(|v| String::from_utf8_lossy(v).into_owned());
        if value.is_some() || Instant::now() > deadline {
            break value;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    found.expect("the server's environment names MIMALLOC_PURGE_DELAY")
}

#[test]
fn the_server_runs_with_a_short_purge_delay_unless_one_is_set() {
    assert_eq!(purge_delay_of_server(None), "100");
    assert_eq!(purge_delay_of_server(Some("5")), "5");
}

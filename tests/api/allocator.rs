//! The binary restarts itself with mimalloc's purge delay set when the
//! environment sets none (`src/main.rs`), and keeps an operator's value.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The value of `MIMALLOC_PURGE_DELAY` in the environment of the running
/// server, read once it has printed its address (after any restart; the
/// pid is the one spawned, as `exec` keeps it).
fn purge_delay_of_server(env: Option<&str>) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.args(["serve", "--http", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .env("CAIRN_LOG", "error")
        .env_remove("MIMALLOC_PURGE_DELAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(v) = env {
        cmd.env("MIMALLOC_PURGE_DELAY", v);
    }
    let mut child = cmd.spawn().unwrap();
    let started = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("Server started"));
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "the server printed its address");
    environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"MIMALLOC_PURGE_DELAY="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn the_server_runs_with_a_short_purge_delay_unless_one_is_set() {
    assert_eq!(purge_delay_of_server(None).as_deref(), Some("100"));
    assert_eq!(purge_delay_of_server(Some("5")).as_deref(), Some("5"));
}

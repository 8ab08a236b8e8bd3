//! The local `sendmail` fallback: with SMTP disabled PocketBase pipes each
//! message to `sendmail -i -t`, so a server with a local MTA (postfix, exim,
//! msmtp, nullmailer...) sends mail with no SMTP settings at all. Cairn does
//! the same: the RFC 5322 message goes to the program's stdin, `-t` makes it
//! read the recipients from the headers and `-i` keeps a lone `.` line from
//! ending the message early.
//!
//! Which program: the `sendmail` key of config.toml (`CAIRN_SENDMAIL`), or,
//! when empty, PocketBase's lookup: `/usr/sbin/sendmail`, `/usr/bin/sendmail`,
//! then `sendmail` on `PATH`. A missing program or a non-zero exit is an
//! error for the caller to log; the client never sees it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// How long one sendmail run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The program to run: `configured` if set, else PocketBase's lookup.
pub fn program(configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        return Some(PathBuf::from(configured));
    }
    for p in ["/usr/sbin/sendmail", "/usr/bin/sendmail"] {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("sendmail"))
        .find(|p| p.is_file())
}

/// Pipes `message` (RFC 5322 bytes) to `program -i -t` and waits for it.
pub async fn pipe(program: &Path, message: &[u8]) -> Result<(), String> {
    pipe_within(program, message, TIMEOUT).await
}

/// `pipe`, killing the program after `limit`.
async fn pipe_within(program: &Path, message: &[u8], limit: Duration) -> Result<(), String> {
    let mut child = tokio::process::Command::new(program)
        .args(["-i", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("sendmail {}: {e}", program.display()))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(message)
                .await
                .map_err(|e| format!("sendmail stdin: {e}"))?;
        }
        child
            .wait_with_output()
            .await
            .map_err(|e| format!("sendmail: {e}"))
    };
    let out = tokio::time::timeout(limit, run)
        .await
        .map_err(|_| "sendmail: timed out".to_owned())??;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let err: String = err.chars().take(200).collect();
    Err(format!(
        "sendmail exited with {}: {}",
        out.status,
        err.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_program_wins() {
        assert_eq!(
            program("/opt/mta/sendmail"),
            Some(PathBuf::from("/opt/mta/sendmail"))
        );
    }

    #[tokio::test]
    async fn failures_are_errors() {
        let missing = Path::new("/nonexistent/sendmail");
        assert!(pipe(missing, b"x").await.is_err());
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let fails = script("fails", "cat >/dev/null; echo no route >&2; exit 75");
        let e = pipe(&fails, b"Subject: x\r\n\r\nbody").await.unwrap_err();
        assert!(e.contains("no route"), "{e}");
        let out = dir.path().join("out");
        let ok = script(
            "ok",
            &format!("echo \"$@\" > {0}; cat >> {0}", out.display()),
        );
        pipe(&ok, b"Subject: x\r\n\r\nbody").await.unwrap();
        let hangs = script("hangs", "sleep 30");
        let started = std::time::Instant::now();
        let e = pipe_within(&hangs, b"x", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            e.contains("timed out") && started.elapsed() < Duration::from_secs(5),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "-i -t\nSubject: x\r\n\r\nbody"
        );
    }
}

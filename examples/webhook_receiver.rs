//! The webhook benchmark's receiver (`bench/webhooks.py`): a minimal
//! keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request
//! `200 ok` at once and keeps the arrival time of each `lat-N` record.
//!
//! Why not Python: the benchmark runs Cairn, wrk and the receiver on the
//! same two cores, and the Python (asyncio) receiver took about 50 µs of
//! CPU per delivery, as much as half a create, so a delivery's measured
//! cost was partly the receiver's. This one takes a few µs. Like the
//! Python receiver it checks nothing (no signature): the SDK and
//! black-box tests verify deliveries; this only has to answer fast.
//!
//! Protocol on stdin/stdout, one line each: it prints its port first;
//! `reset` clears the arrivals and the count (answers `ok`); `arrivals`
//! answers `{"count":N,"arrivals":{"I":NS,...}}` (NS: wall-clock
//! nanoseconds since 1970 at the first arrival of record `lat-I`);
//! `stop` or the end of stdin ends it.
//!
//! Standard library only: the benchmark compiles it with `rustc -O` (see
//! `RustReceiver` in `bench/webhooks.py`); `cargo clippy --all-targets` lints it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Seen {
    count: AtomicU64,
    arrivals: Mutex<HashMap<u64, u128>>,
}

/// The `N` of the first `"title":"lat-N"` in `body`.
fn lat_index(body: &[u8]) -> Option<u64> {
    const MARK: &[u8] = b"\"title\":\"lat-";
    let at = body.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let digits: &[u8] = &body[at..];
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// The value of `content-length` in a request head, 0 when absent.
fn content_length(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .find_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// Serves one connection until the peer closes it.
fn serve(stream: TcpStream, seen: &Seen) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut head = Vec::with_capacity(1024);
    let mut body = Vec::new();
    loop {
        head.clear();
        // The head ends with an empty line.
        loop {
            let before = head.len();
            if reader.read_until(b'\n', &mut head)? == 0 {
                return Ok(());
            }
            if head[before..] == *b"\r\n" || head[before..] == *b"\n" {
                break;
            }
        }
        body.resize(content_length(&head), 0);
        reader.read_exact(&mut body)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        seen.count.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = lat_index(&body)
            && let Ok(mut a) = seen.arrivals.lock()
        {
            a.entry(i).or_insert(now);
        }
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
    }
}

/// The `arrivals` answer as one JSON line.
fn arrivals_json(seen: &Seen) -> String {
    let count = seen.count.load(Ordering::Relaxed);
    let a = seen.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let items: Vec<String> = a.iter().map(|(i, t)| format!("\"{i}\":{t}")).collect();
    format!("{{\"count\":{count},\"arrivals\":{{{}}}}}", items.join(","))
}

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let seen = Arc::new(Seen::default());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", listener.local_addr()?.port())?;
    stdout.flush()?;
    let accepting = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = Arc::clone(&accepting);
            std::thread::spawn(move || {
                let _ = serve(stream, &seen);
            });
        }
    });
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "reset" => {
                seen.count.store(0, Ordering::Relaxed);
                if let Ok(mut a) = seen.arrivals.lock() {
                    a.clear();
                }
                writeln!(stdout, "ok")?;
            }
            "arrivals" => writeln!(stdout, "{}", arrivals_json(&seen))?,
            "stop" => break,
            _ => writeln!(stdout, "unknown")?,
        }
        stdout.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads_and_titles() {
        assert_eq!(
            content_length(b"POST /h HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
            12
        );
        assert_eq!(content_length(b"POST /h HTTP/1.1\r\n\r\n"), 0);
        assert_eq!(
            lat_index(br#"{"record":{"title":"lat-42","body":"x"}}"#),
            Some(42)
        );
        assert_eq!(lat_index(br#"{"title":"wrk-1"}"#), None);
    }
}

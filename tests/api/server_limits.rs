//! Connection limits (issue 11, docs/server.md), against the real binary
//! started with a low open-file limit (`prlimit`) and short timeouts: more
//! idle and slow-header sockets than the process may open are held while a
//! normal client keeps getting answers and new connections are refused at
//! once; the held sockets are closed after the timeout and the server
//! recovers. Realtime streams outlive the idle timeout.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The open-file limit of the spawned server, and sockets held against it.
const NOFILE: u32 = 256;
const IDLE: usize = 160;
const SLOW: usize = 160;
/// Seconds (header and idle timeouts of the spawned server).
const TIMEOUT: u64 = 2;

struct Server {
    child: tokio::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

async fn spawn() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new("prlimit")
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--http", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .env("CAIRN_HTTP_HEADER_TIMEOUT_SECS", TIMEOUT.to_string())
        .env("CAIRN_HTTP_IDLE_TIMEOUT_SECS", TIMEOUT.to_string())
        .env("CAIRN_LOG", "error")
        .envs(
            crate::helpers::fresh_db()
                .postgres_url()
                .map(|u| ("CAIRN_DB_URL", u.to_owned())),
        )
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit and the cairn binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("http://").nth(1)
                && line.contains("Server started")
            {
                return rest.trim().to_owned();
            }
        }
        panic!("no address printed");
    })
    .await
    .expect("server start");
    // Keep reading: a closed pipe would fail the server's next print.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        addr,
        _dir: dir,
    }
}

/// One GET on a fresh connection: (status, time taken); status 0 = closed
/// without an answer.
async fn fresh_get(addr: &str, path: &str) -> (u16, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, start.elapsed())
}

/// Waits until the peer closes `s` (EOF or reset); false on timeout.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 503 or 408 before the close
        }
    }
}

#[tokio::test]
async fn idle_and_slow_header_floods_are_shed_and_timed_out() {
    let mut srv = spawn().await;
    let addr = srv.addr.clone();
    let normal = reqwest::Client::new();
    let health = format!("http://{addr}/api/health");
    assert_eq!(normal.get(&health).send().await.unwrap().status(), 200);

    // Hold more sockets than the server may open files.
    let mut held = Vec::new();
    for _ in 0..IDLE {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let _ = s
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
            .await;
        held.push(s);
    }
    assert!(held.len() > NOFILE as usize);

    // While they are held: the normal client keeps getting answers, and a
    // new connection is answered at once (served or refused with 503),
    // never left hanging.
    let hold_until = Instant::now() + Duration::from_millis(1500);
    let mut answered = 0;
    while Instant::now() < hold_until {
        // Slow-header clients keep trickling bytes.
        for s in held.iter_mut().skip(IDLE) {
            let _ = s.write_all(b"X").await;
        }
        let res = normal.get(&health).send().await.expect("normal client");
        assert_eq!(res.status(), 200);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered >= 3, "{answered}");
    let (status, took) = fresh_get(&addr, "/api/health").await;
    assert!(
        status == 503 || status == 200,
        "a new connection is answered: {status}"
    );
    // Immediate in practice; generous for a loaded CI machine.
    assert!(took < Duration::from_secs(2), "answered in {took:?}");

    // Every held socket is closed by the server after the timeout.
    let start = Instant::now();
    for (i, s) in held.iter_mut().enumerate() {
        let left = Duration::from_secs(TIMEOUT + 8).saturating_sub(start.elapsed());
        assert!(closed_within(s, left).await, "held socket {i} still open");
    }
    drop(held);

    // And the server is back: new connections are served.
    let mut ok = false;
    for _ in 0..50 {
        if fresh_get(&addr, "/api/health").await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "fresh connections are served again");
    assert_eq!(normal.get(&health).send().await.unwrap().status(), 200);
    assert!(srv.child.try_wait().unwrap().is_none(), "still running");
}

#[tokio::test]
async fn realtime_streams_outlive_the_idle_timeout() {
    let srv = spawn().await;
    let addr = srv.addr.clone();
    let client = reqwest::Client::new();
    let mut sse = client
        .get(format!("http://{addr}/api/realtime"))
        .send()
        .await
        .unwrap();
    let first = sse.chunk().await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&first).to_string();
    let id = text
        .split("\"clientId\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let ws_url = format!("ws://{addr}/api/realtime/ws");
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    // An idle plain connection opened at the same time is closed...
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_secs(TIMEOUT + 2)).await;
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
    // ...while the SSE client is still connected (its id still works) and
    // the WebSocket still answers.
    let res = client
        .post(format!("http://{addr}/api/realtime"))
        .json(&serde_json::json!({"clientId": id, "subscriptions": ["x/*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(r#"{"subscriptions":["x/*"]}"#.into()))
        .await
        .unwrap();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg
            && t.contains("PB_SUBSCRIPTIONS")
        {
            break;
        }
    }
}

#[tokio::test]
async fn sigterm_ends_realtime_streams_and_exits() {
    let mut srv = spawn().await;
    let addr = srv.addr.clone();
    let mut sse = reqwest::Client::new()
        .get(format!("http://{addr}/api/realtime"))
        .send()
        .await
        .unwrap();
    assert!(sse.chunk().await.unwrap().is_some(), "PB_CONNECT");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/realtime/ws"))
        .await
        .unwrap();
    let pid = srv.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), srv.child.wait())
        .await
        .expect("exits while realtime clients are connected")
        .unwrap();
    assert!(status.success(), "{status:?}");
    // Both streams ended rather than being cut mid-message.
    let rest = tokio::time::timeout(Duration::from_secs(2), sse.chunk()).await;
    assert!(matches!(rest, Ok(Ok(None)) | Ok(Err(_))), "{rest:?}");
    use futures_util::StreamExt;
    let mut ended = false;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        if msg.is_err() || matches!(msg, Ok(tokio_tungstenite::tungstenite::Message::Close(_))) {
            ended = true;
            break;
        }
    }
    ended = ended || ws.next().await.is_none();
    assert!(ended, "the WebSocket closed");
}

#[tokio::test]
async fn a_stalled_request_body_is_closed_a_slow_one_is_served() {
    let srv = spawn().await;
    let addr = srv.addr.clone();
    let body = br#"{"clientId":"nobody-has-this-id","subscriptions":[]}"#;
    let head = format!(
        "POST /api/realtime HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    // Stalled: half the body, then nothing. Closed after the timeout.
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&body[..10]).await.unwrap();
    let start = Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(TIMEOUT + 5)).await);
    assert!(start.elapsed() >= Duration::from_millis(TIMEOUT * 1000 - 200));

    // Slow but moving: a byte every 400 ms for longer than the timeout; it
    // is read to the end and answered (404: no such realtime client).
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() - 8);
    slow.write_all(first).await.unwrap();
    for b in rest {
        tokio::time::sleep(Duration::from_millis(400)).await;
        slow.write_all(&[*b]).await.unwrap();
    }
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    assert!(text.contains("Missing or invalid client id."), "{text}");
}

//! The HTTP stack's floor: what one request costs in this process layout
//! with no application in it. The same crates and settings as `cairn serve`
//! (tokio's multi-threaded runtime, hyper's HTTP/1 server with keep-alive,
//! `TCP_NODELAY`, an axum router, mimalloc), and two routes that answer as
//! Cairn's record routes do in size and shape but touch no store:
//!
//! - `GET /api/collections/posts/records/{id}`: a fixed record of the size
//!   `bench/run`'s `get_by_id` returns;
//! - `POST /api/collections/posts/records`: parses the JSON body and answers
//!   it back with an id and the two autodates, as a create does.
//!
//! `bench/floor.py` drives it with the load `bench/run` uses and prints its
//! CPU per request beside Cairn's and PocketBase's (see bench/README.md).
//! Usage: `target/release/examples/http_floor 127.0.0.1:PORT`.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Map, Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CREATED: &str = "2026-12-07 10:00:00.000Z";

async fn view(Path(id): Path<String>) -> Json<Value> {
    Json(json!({
        "collectionId": "pbc_3128465871",
        "collectionName": "posts",
        "id": id,
        "title": "post 1234",
        "body": "seeded by the load test, a short paragraph of text that reads like a post body",
        "views": 42,
        "published": true,
        "created": CREATED,
        "updated": CREATED,
    }))
}

async fn create(Json(mut body): Json<Map<String, Value>>) -> Json<Map<String, Value>> {
    body.insert("collectionId".into(), "pbc_3128465871".into());
    body.insert("collectionName".into(), "posts".into());
    body.insert("id".into(), "a1b2c3d4e5f6g7h".into());
    body.insert("created".into(), CREATED.into());
    body.insert("updated".into(), CREATED.into());
    Json(body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .map_err(std::io::Error::other)?;
    let app = Router::new()
        .route("/api/collections/posts/records/{id}", get(view))
        .route(
            "/api/collections/posts/records",
            axum::routing::post(create),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let app = app.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).keep_alive(true);
            let _ = http
                .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app))
                .await;
        });
    }
}

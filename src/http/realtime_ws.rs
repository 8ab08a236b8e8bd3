//! `GET /api/realtime/ws`: the realtime feed over a WebSocket, for clients
//! that prefer it to SSE. Same clients, subscriptions, rules and resume as
//! `/api/realtime`; JSON text frames:
//!
//! - server → client: `{"event": "PB_CONNECT", "id": CLIENT_ID, "data":
//!   {"clientId": CLIENT_ID}}` first, then `{"event": SUBSCRIPTION, "data":
//!   {"action", "record"[, "seq"]}}` per event;
//! - client → server: `{"subscriptions": [...], "authorization"?: TOKEN}`
//!   replaces the set (like `POST /api/realtime`), answered by
//!   `{"event": "PB_SUBSCRIPTIONS", "data": {"subscriptions": [...]}}` or
//!   `{"event": "PB_ERROR", "data": {"status", "message", "data"}}`.
//!
//! The token may also come with the upgrade request (`Authorization` header
//! or `?token=`, since browsers cannot set headers on a WebSocket).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query as AxQuery, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::Response;
use serde_json::{Value, json};

use super::extract::Client as ClientInfo;
use crate::app::App;
use crate::realtime::fanout;
use crate::realtime::{Message, SetError};
use crate::service::auth;

pub async fn upgrade(
    State(app): State<Arc<App>>,
    ClientInfo(info): ClientInfo,
    headers: HeaderMap,
    AxQuery(query): AxQuery<Vec<(String, String)>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            query
                .into_iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        });
    ws.max_message_size(1 << 20)
        .on_upgrade(move |socket| session(app, socket, token, info.ip))
}

fn frame(event: &str, data: Value) -> WsMessage {
    WsMessage::Text(json!({"event": event, "data": data}).to_string().into())
}

async fn session(app: Arc<App>, mut socket: WebSocket, token: Option<String>, ip: String) {
    let (client, mut rx) = app.broker.connect(&ip);
    let id = client.id.clone();
    let hello = json!({"event": "PB_CONNECT", "id": id, "data": {"clientId": id}});
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        app.broker.disconnect(&id);
        return;
    }
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    loop {
        tokio::select! {
            msg = rx.recv() => {
                // `None`: the broker dropped this client (too slow).
                let Some(Message { name, data }) = msg else { break };
                let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                if socket.send(frame(&name, data)).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(t))) => t.to_string(),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Binary(_))) => continue,
                    _ => break,
                };
                let reply = subscribe(&app, &id, token.as_deref(), &text);
                if socket.send(reply).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    app.broker.disconnect(&id);
}

fn error(status: u16, message: &str) -> WsMessage {
    frame(
        "PB_ERROR",
        json!({"status": status, "message": message, "data": {}}),
    )
}

/// Handles a `{"subscriptions": [...], "authorization"?}` frame.
fn subscribe(app: &Arc<App>, id: &str, upgrade_token: Option<&str>, text: &str) -> WsMessage {
    let Ok(Value::Object(body)) = serde_json::from_str::<Value>(text) else {
        return error(400, "An error occurred while loading the submitted data.");
    };
    let subs: Vec<String> = body
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let token = body
        .get("authorization")
        .and_then(Value::as_str)
        .or(upgrade_token);
    let actor = auth::actor_from_header(&app.store, token);
    let Some(client) = app.broker.get(id) else {
        return error(404, "Missing or invalid client id.");
    };
    match fanout::subscribe(app, &client, &actor, subs) {
        Ok(()) => frame(
            "PB_SUBSCRIPTIONS",
            json!({"subscriptions": client.subscriptions()}),
        ),
        Err(SetError::UnknownClient) => error(404, "Missing or invalid client id."),
        Err(SetError::AuthMismatch) => error(
            403,
            "The current and the previous request authorization don't match.",
        ),
    }
}

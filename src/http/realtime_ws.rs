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

use super::error::ApiError;
use super::extract::Client as ClientInfo;
use super::identity;
use crate::app::App;
use crate::realtime::fanout;
use crate::realtime::{Message, SetError};
use crate::service::Actor;

pub async fn upgrade(
    State(app): State<Arc<App>>,
    ClientInfo(info): ClientInfo,
    headers: HeaderMap,
    AxQuery(query): AxQuery<Vec<(String, String)>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
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
    // Resolved now, so a bad API key in `?token=` is refused like one in
    // the header, and the connection is bound before its first frame.
    let actor = identity::resolve(&app, token.as_deref())?;
    identity::in_scope(&app, &actor, "GET", "/api/realtime/ws", "")?;
    Ok(ws
        .max_message_size(1 << 20)
        .on_upgrade(move |socket| session(app, socket, token, actor, info.ip)))
}

fn frame(event: &str, data: Value) -> WsMessage {
    WsMessage::Text(json!({"event": event, "data": data}).to_string().into())
}

async fn session(
    app: Arc<App>,
    mut socket: WebSocket,
    token: Option<String>,
    actor: Actor,
    ip: String,
) {
    let (client, mut rx) = app.broker.connect(&ip);
    let id = client.id.clone();
    // Bind the connect-time caller at once, as SSE's first subscription
    // request does: a later frame authorized as someone else gets 403.
    if actor.identity().is_some() {
        let _ = fanout::subscribe(&app, &client, &actor, Vec::new());
    }
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

/// Handles a `{"subscriptions": [...], "authorization"?}` frame, with the
/// same validation as `POST /api/realtime`.
fn subscribe(app: &Arc<App>, id: &str, upgrade_token: Option<&str>, text: &str) -> WsMessage {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(text) else {
        return error(400, "An error occurred while loading the submitted data.");
    };
    body.insert("clientId".into(), Value::String(id.to_owned()));
    let subs = match super::realtime::parse_subscribe(&body) {
        Ok((_, subs)) => subs,
        Err(e) => return api_error(&e),
    };
    let token = body
        .get("authorization")
        .and_then(Value::as_str)
        .or(upgrade_token);
    let actor = match identity::resolve(app, token)
        .and_then(|a| identity::in_scope(app, &a, "GET", "/api/realtime/ws", "").map(|()| a))
    {
        Ok(a) => a,
        Err(e) => return api_error(&ApiError::from(e)),
    };
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

/// An `ApiError` as a `PB_ERROR` frame (same status, message and data).
fn api_error(e: &ApiError) -> WsMessage {
    frame(
        "PB_ERROR",
        json!({"status": e.status.as_u16(), "message": e.message, "data": e.data}),
    )
}

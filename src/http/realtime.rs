//! `/api/realtime` (SSE) and `/api/oauth2-redirect`, PocketBase's wire
//! format: every message carries `id:<clientId>`, `event:<name>` and
//! `data:<json>`; the first is `PB_CONNECT`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query as AxQuery, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::extract::Caller;
use crate::app::App;
use crate::realtime::fanout::Command;
use crate::realtime::{Message, SetError};
use crate::schema::validate::FieldError;

/// Removes the client from the broker when its stream is dropped.
struct Guard {
    app: Arc<App>,
    id: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.app.broker.disconnect(&self.id);
    }
}

pub async fn connect(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (client, rx) = app.broker.connect();
    let id = client.id.clone();
    let first = Message {
        name: "PB_CONNECT".into(),
        data: json!({ "clientId": id }).to_string(),
    };
    let guard = Guard {
        app: Arc::clone(&app),
        id: id.clone(),
    };
    let stream = futures_util::stream::unfold(
        (Some(first), rx, guard),
        |(first, mut rx, guard)| async move {
            let msg = match first {
                Some(m) => m,
                None => rx.recv().await?,
            };
            let ev = Event::default()
                .id(guard.id.clone())
                .event(msg.name)
                .data(msg.data);
            Some((Ok(ev), (None, rx, guard)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(30)))
}

pub async fn subscribe(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    body: Result<super::extract::JsonBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    let body = super::auth::body(body)?;
    let id = body
        .get("clientId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if id.is_empty() {
        let mut data = Map::new();
        data.insert("clientId".into(), FieldError::required().to_json());
        return Err(ApiError::validation(data));
    }
    let subs: Vec<String> = body
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match app.broker.set_subscriptions(&id, &actor, subs) {
        Ok(resumes) => {
            if let Some(client) = app.broker.get(&id) {
                for sub in resumes {
                    let client = Arc::clone(&client);
                    let _ = app.fanout.send(Command::Resume { client, sub });
                }
            }
            Ok(StatusCode::NO_CONTENT)
        }
        Err(SetError::UnknownClient) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid client id.",
        )),
        Err(SetError::AuthMismatch) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The current and the previous request authorization don't match.",
        )),
    }
}

const SUCCESS: &str = "../_/#/auth/oauth2-redirect-success";
const FAILURE: &str = "../_/#/auth/oauth2-redirect-failure";

/// The provider redirects here (GET, or POST with `response_mode=form_post`);
/// `state` is the realtime client id of the SDK that started the flow, which
/// gets `{state, code[, error]}` on its `@oauth2` subscription.
pub async fn oauth2_redirect(
    State(app): State<Arc<App>>,
    AxQuery(query): AxQuery<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let mut params: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if method == Method::POST
        && let Ok(bytes) = axum::body::to_bytes(req.into_body(), 1 << 20).await
    {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) {
            params.extend(m);
        } else {
            for (k, v) in crate::urlencoded::pairs(&bytes) {
                params.insert(k, Value::String(v));
            }
        }
    }
    let get = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (state, code, error) = (get("state"), get("code"), get("error"));
    let mut delivered = false;
    if let Some(client) = app
        .broker
        .get(&state)
        .filter(|c| c.has_subscription("@oauth2"))
    {
        let mut data = json!({ "state": state, "code": code });
        if !error.is_empty() {
            data["error"] = Value::String(error.clone());
        }
        delivered = client.send(Message {
            name: "@oauth2".into(),
            data: data.to_string(),
        });
        client.unsubscribe("@oauth2");
    }
    let ok = delivered && error.is_empty() && !code.is_empty();
    let to = if ok { SUCCESS } else { FAILURE };
    if method == Method::POST {
        Redirect::to(to).into_response()
    } else {
        Redirect::temporary(to).into_response()
    }
}

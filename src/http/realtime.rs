//! `/api/realtime` (SSE) and `/api/oauth2-redirect`, PocketBase's wire
//! format: every message carries `id:<clientId>`, `event:<name>` and
//! `data:<json>`; the first is `PB_CONNECT`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query as AxQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::body::{Body as Form, BodyError};
use super::error::ApiError;
use super::extract::{Caller, Client as ClientInfo};
use crate::app::App;
use crate::realtime::fanout;
use crate::realtime::{Message, SetError};
use crate::schema::validate::FieldError;
use crate::store::realtime_clients;

/// PocketBase's limits: a client idle (nothing sent) this long is closed,
/// and no connection lives longer than `MAX_AGE`; the SDK reconnects.
const IDLE: Duration = Duration::from_secs(5 * 60);
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// A comment line keeps proxies from timing out a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Removes the client from the broker when its stream is dropped.
struct Guard {
    app: Arc<App>,
    id: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.app.broker.disconnect(&self.id);
        if self.app.store.is_postgres()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (app, id) = (Arc::clone(&self.app), self.id.clone());
            rt.spawn(async move {
                let gone = app
                    .store
                    .write(move |ctx| realtime_clients::forget(ctx.conn, &id))
                    .await;
                if let Err(e) = gone {
                    tracing::warn!(error = %e, "realtime: forgetting a client failed");
                }
            });
        }
    }
}

/// `id:<client>\nevent:<name>\ndata:<json>\n\n`, byte for byte PocketBase's.
fn sse(id: &str, m: &Message) -> Bytes {
    Bytes::from(format!("id:{id}\nevent:{}\ndata:{}\n\n", m.name, m.data))
}

struct Stream {
    rx: tokio::sync::mpsc::Receiver<Message>,
    guard: Guard,
    first: Option<Message>,
    idle_until: tokio::time::Instant,
    end: tokio::time::Instant,
}

pub async fn connect(State(app): State<Arc<App>>, ClientInfo(info): ClientInfo) -> Response {
    let (client, rx) = app.broker.connect(&info.ip);
    let id = client.id.clone();
    if app.store.is_postgres() {
        // Before `PB_CONNECT`: the subscription request that follows may
        // reach another node, which looks the client up there.
        let (cid, node, ip) = (id.clone(), app.broker.node().to_owned(), info.ip.clone());
        let registered = app
            .store
            .write(move |ctx| realtime_clients::register(ctx.conn, &cid, &node, &ip))
            .await;
        if let Err(e) = registered {
            tracing::warn!(error = %e, "realtime: registering a client for other nodes failed");
        }
    }
    let now = tokio::time::Instant::now();
    let state = Stream {
        rx,
        guard: Guard {
            app: Arc::clone(&app),
            id: id.clone(),
        },
        first: Some(Message {
            name: "PB_CONNECT".into(),
            data: json!({ "clientId": id }).to_string().into(),
        }),
        idle_until: now + IDLE,
        end: now + MAX_AGE,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(m) = st.first.take() {
            let bytes = sse(&st.guard.id, &m);
            return Some((Ok::<_, Infallible>(bytes), st));
        }
        let deadline = st.idle_until.min(st.end);
        tokio::select! {
            msg = st.rx.recv() => {
                // `None`: the broker dropped this client (too slow).
                let m = msg?;
                st.idle_until = tokio::time::Instant::now() + IDLE;
                let bytes = sse(&st.guard.id, &m);
                Some((Ok(bytes), st))
            }
            () = tokio::time::sleep_until(deadline) => None,
            () = tokio::time::sleep(KEEP_ALIVE) => Some((Ok(Bytes::from_static(b":\n\n")), st)),
        }
    });
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

fn invalid(data: Map<String, Value>) -> ApiError {
    let mut e = ApiError::bad_request();
    e.data = data;
    e
}

fn length_error(code: &'static str, message: &str, min: usize, max: usize) -> Value {
    FieldError::new(code, message)
        .with_params(json!({"min": min, "max": max}))
        .to_json()
}

/// The validated `{clientId, subscriptions}` of a subscription request.
pub(super) fn parse_subscribe(
    body: &Map<String, Value>,
) -> Result<(String, Vec<String>), ApiError> {
    let id = match body.get("clientId") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid(Map::new())),
    };
    let subs: Vec<String> = match body.get("subscriptions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for v in a {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    _ => return Err(invalid(Map::new())),
                }
            }
            out
        }
        Some(_) => return Err(invalid(Map::new())),
    };
    let mut data = Map::new();
    if id.trim().is_empty() {
        data.insert("clientId".into(), FieldError::required().to_json());
    } else if id.chars().count() > 255 {
        data.insert(
            "clientId".into(),
            length_error(
                "validation_length_out_of_range",
                "The length must be between 1 and 255.",
                1,
                255,
            ),
        );
    }
    if subs.len() > 1000 {
        data.insert(
            "subscriptions".into(),
            length_error(
                "validation_length_too_long",
                "The length must be no more than 1000.",
                0,
                1000,
            ),
        );
    } else {
        let mut each = Map::new();
        for (i, s) in subs.iter().enumerate() {
            if s.chars().count() > 2500 {
                each.insert(
                    i.to_string(),
                    length_error(
                        "validation_length_too_long",
                        "The length must be no more than 2500.",
                        0,
                        2500,
                    ),
                );
            }
        }
        if !each.is_empty() {
            data.insert("subscriptions".into(), Value::Object(each));
        }
    }
    if data.is_empty() {
        Ok((id, subs))
    } else {
        Err(invalid(data))
    }
}

pub async fn subscribe(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    ClientInfo(info): ClientInfo,
    body: Result<Form, BodyError>,
) -> Result<StatusCode, ApiError> {
    let Form(body) = body.map_err(|_| invalid(Map::new()))?;
    let (id, subs) = parse_subscribe(&body)?;
    let Some(client) = app.broker.get(&id) else {
        return remote_subscribe(&app, &actor, &info.ip, id, &subs).await;
    };
    if client.ip != info.ip {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Invalid realtime client.",
        ));
    }
    let (had, has) = (
        client.has_subscription(OAUTH2),
        subs.iter().any(|s| s == OAUTH2),
    );
    match fanout::subscribe(&app, &client, &actor, subs) {
        Ok(()) => {
            if had != has {
                mark_oauth2(&app, &id, has).await;
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

/// The `@oauth2` message for a client whose stream another node holds
/// (several nodes on one PostgreSQL database): left in
/// `_realtime_messages` for that node, which sends it if the client
/// subscribed to `@oauth2`. True when a node holds the client.
async fn remote_send(app: &App, id: String, data: String) -> bool {
    if !app.store.is_postgres() || id.is_empty() {
        return false;
    }
    let node = app.broker.node().to_owned();
    let left = app
        .store
        .write(move |ctx| realtime_clients::send_oauth2(ctx.conn, &id, &node, &data))
        .await;
    left.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "realtime: leaving an @oauth2 message for another node failed");
        false
    })
}

/// Records in the client's row (PostgreSQL) whether it waits for an
/// `@oauth2` message, so a redirect landing on another node knows.
async fn mark_oauth2(app: &App, id: &str, on: bool) {
    if !app.store.is_postgres() {
        return;
    }
    let id = id.to_owned();
    let marked = app
        .store
        .write(move |ctx| realtime_clients::set_oauth2(ctx.conn, &id, on))
        .await;
    if let Err(e) = marked {
        tracing::warn!(error = %e, "realtime: recording an @oauth2 subscription failed");
    }
}

/// A subscription request for a client whose stream another node holds
/// (several nodes on one PostgreSQL database: `realtime/remote.rs`),
/// checked against its row as a local one would be against the client.
/// A request whose auth does not match the client's is dropped there.
async fn remote_subscribe(
    app: &App,
    actor: &crate::service::Actor,
    ip: &str,
    id: String,
    subs: &[String],
) -> Result<StatusCode, ApiError> {
    let missing = || ApiError::new(StatusCode::NOT_FOUND, "Missing or invalid client id.");
    if !app.store.is_postgres() {
        return Err(missing());
    }
    let node = app.broker.node();
    let held = app
        .store
        .read(|db| realtime_clients::ip_of(db, &id, node))?;
    match held {
        None => return Err(missing()),
        Some(from) if from != ip => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Invalid realtime client.",
            ));
        }
        Some(_) => {}
    }
    let body = crate::realtime::remote::body(actor, subs);
    let oauth2 = subs.iter().any(|s| s == OAUTH2);
    let left = app
        .store
        .write(move |ctx| realtime_clients::request(ctx.conn, &id, &body, oauth2))
        .await?;
    if left {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing())
    }
}

/// `GET /api/realtime/seq` (Cairn): the change log's current end, a
/// `resume` position meaning "from now on".
pub async fn seq(State(app): State<Arc<App>>) -> Result<axum::Json<Value>, ApiError> {
    let seq = match app.store.is_postgres() {
        false => *app.store.changes().borrow(),
        true => return Ok(axum::Json(json!({ "seq": feed_head(&app)?.token() }))),
    };
    Ok(axum::Json(json!({ "seq": seq })))
}

fn feed_head(app: &App) -> Result<crate::store::changes::Pos, ApiError> {
    Ok(app.store.read(crate::store::changes::head)?)
}

const OAUTH2: &str = "@oauth2";
const SUCCESS: &str = "../_/#/auth/oauth2-redirect-success";
const FAILURE: &str = "../_/#/auth/oauth2-redirect-failure";

/// The provider redirects here (GET, or POST with `response_mode=form_post`);
/// `state` is the realtime client id of the SDK that started the flow, which
/// gets `{state, code[, error]}` on its `@oauth2` subscription.
pub async fn oauth2_redirect(
    State(app): State<Arc<App>>,
    AxQuery(query): AxQuery<Vec<(String, String)>>,
    method: Method,
    body: Result<Form, BodyError>,
) -> Response {
    // Query parameters, overridden by a form_post body (JSON or form).
    let mut params: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if let Ok(Form(b)) = body {
        params.extend(b);
    }
    let get = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (state, code, error) = (get("state"), get("code"), get("error"));
    let mut data = json!({ "state": state, "code": code });
    if !error.is_empty() {
        data["error"] = Value::String(error.clone());
    }
    let delivered = match app.broker.get(&state) {
        Some(client) => {
            let sent = client.send_once(OAUTH2, data.to_string());
            if sent && app.store.is_postgres() {
                // Off the reply's path: the client may act on the message
                // before the redirect's answer is out.
                let (app, id) = (Arc::clone(&app), state.clone());
                tokio::spawn(async move { mark_oauth2(&app, &id, false).await });
            }
            sent
        }
        None => remote_send(&app, state.clone(), data.to_string()).await,
    };
    let ok = delivered && error.is_empty() && !code.is_empty();
    let to = if ok { SUCCESS } else { FAILURE };
    if method == Method::POST {
        Redirect::to(to).into_response()
    } else {
        Redirect::temporary(to).into_response()
    }
}

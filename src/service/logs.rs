//! Request logs: what one request becomes as a log row (PocketBase's shape,
//! the `logs` settings applied), listing with the filter language over the
//! log fields (`data.*` included), hourly stats and cleanup.

use serde_json::{Value, json};

use super::Error;
use crate::json_text::{number, text};
use crate::schema::datetime;
use crate::store::logs::{self, Entry, LogDb, Row};
use crate::store::simple_list::{self, Fields};

/// slog levels, as PocketBase stores them.
pub const INFO: i64 = 0;
pub const WARN: i64 = 4;
pub const ERROR: i64 = 8;

/// A request slower than this is logged at WARN with `data.slow = true`
/// (Cairn extension; PocketBase logs it at INFO).
pub const SLOW_MS: f64 = 3_000.0;

/// The names `filter` and `sort` may use.
pub const FIELDS: Fields = Fields {
    columns: &["id", "created", "level", "message"],
    json: Some("data"),
};

/// The `logs` settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSettings {
    /// Days kept; 0 turns request logging off.
    pub max_days: i64,
    /// Entries below this level are not stored.
    pub min_level: i64,
    pub log_ip: bool,
    pub log_auth_id: bool,
}

impl LogSettings {
    pub fn from_settings(v: &Value) -> Self {
        let l = v.get("logs").unwrap_or(&Value::Null);
        Self {
            max_days: l.get("maxDays").and_then(Value::as_i64).unwrap_or(5),
            min_level: l.get("minLevel").and_then(Value::as_i64).unwrap_or(0),
            log_ip: l.get("logIP").and_then(Value::as_bool).unwrap_or(true),
            log_auth_id: l.get("logAuthId").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// What the request-log middleware saw of one request (borrowed: the
/// middleware owns the text and lends it on the log writer thread).
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub status: u16,
    pub exec_ms: f64,
    pub created: Option<std::time::SystemTime>,
    pub remote_ip: &'a str,
    pub user_ip: &'a str,
    pub referer: &'a str,
    pub user_agent: &'a str,
    /// The auth collection's name ("" for guests) and the record id.
    pub auth: &'a str,
    pub auth_id: &'a str,
    /// The error message sent, and the detail that was not sent.
    pub error: Option<(&'a str, &'a Value)>,
}

/// The level a request is logged at.
pub fn level(status: u16, exec_ms: f64, failed: bool) -> i64 {
    if status >= 400 || failed {
        ERROR
    } else if exec_ms >= SLOW_MS {
        WARN
    } else {
        INFO
    }
}

/// Whether settings keep a request at `level` at all (checked on the
/// request path, before anything is queued).
pub fn keeps(s: &LogSettings, level: i64) -> bool {
    s.max_days > 0 && level >= s.min_level
}

/// Builds the row for a request (PocketBase's shape) into `row`, writing
/// the `data` JSON directly (keys as literal text, values copied when they
/// need no escaping); returns false when settings keep nothing. Runs on
/// the log writer thread.
pub fn write_request(r: &Request<'_>, s: &LogSettings, row: &mut Row) -> bool {
    let level = level(r.status, r.exec_ms, r.error.is_some());
    if !keeps(s, level) {
        return false;
    }
    let d = &mut row.data;
    d.extend_from_slice(b"{\"type\":\"request\",\"method\":");
    text(d, r.method);
    d.extend_from_slice(b",\"url\":");
    text(d, r.url);
    d.extend_from_slice(b",\"status\":");
    number(d, r.status.into());
    d.extend_from_slice(b",\"execTime\":");
    let _ = serde_json::to_writer(&mut *d, &r.exec_ms);
    d.extend_from_slice(b",\"referer\":");
    text(d, r.referer);
    d.extend_from_slice(b",\"userAgent\":");
    text(d, r.user_agent);
    d.extend_from_slice(b",\"auth\":");
    text(d, r.auth);
    if s.log_ip {
        d.extend_from_slice(b",\"remoteIP\":");
        text(d, r.remote_ip);
        d.extend_from_slice(b",\"userIP\":");
        text(d, r.user_ip);
    }
    if s.log_auth_id && !r.auth_id.is_empty() {
        d.extend_from_slice(b",\"authId\":");
        text(d, r.auth_id);
    }
    if let Some((msg, details)) = r.error {
        d.extend_from_slice(b",\"error\":");
        text(d, msg);
        if !details.is_null() {
            d.extend_from_slice(b",\"details\":");
            let _ = serde_json::to_writer(&mut *d, details);
        }
    }
    if r.exec_ms >= SLOW_MS {
        d.extend_from_slice(b",\"slow\":true");
    }
    d.push(b'}');
    let micros = r
        .created
        .unwrap_or_else(std::time::SystemTime::now)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    // The id is the time (a compact table derives `id` and `created` from
    // it, and `message` from `data`).
    row.key = Some(logs::next_key_at(micros) as i64);
    row.level = level;
    row.derived_message = true;
    if row.needs_message {
        row.message.push_str(r.method);
        row.message.push(' ');
        row.message.push_str(r.url);
    }
    true
}

/// A page of logs (`page`, `perPage`, `skipTotal`, `filter`, `sort`).
pub struct ListQuery<'a> {
    pub page: i64,
    pub per_page: i64,
    pub skip_total: bool,
    pub filter: &'a str,
    pub sort: &'a str,
}

fn generic() -> Error {
    Error::bad("Something went wrong while processing your request.")
}

pub fn list(db: &LogDb, q: &ListQuery<'_>) -> Result<Value, Error> {
    let page = q.page.max(1);
    let per_page = if q.per_page <= 0 {
        30
    } else {
        q.per_page.min(1000)
    };
    let filter = simple_list::compile_filter(FIELDS, q.filter).map_err(|_| generic())?;
    let first = 1 + filter.as_ref().map_or(0, |f| f.params.len());
    let (order, order_params) =
        simple_list::order_by(FIELDS, q.sort, first).map_err(|_| generic())?;
    let page_q = simple_list::Page {
        table: db.relation(),
        select: logs::COLUMNS,
        filter: filter.as_ref(),
        order: &order,
        order_params: &order_params,
        tiebreak: "rowid",
        limit: per_page,
        offset: (page - 1) * per_page,
        count: !q.skip_total,
    };
    let (rows, total) = db
        .read(|conn| simple_list::page(conn, &page_q, logs::row))
        .map_err(|e| {
            tracing::debug!(error = %e, "logs list failed");
            generic()
        })?;
    let items = rows.iter().map(Entry::to_json).collect();
    Ok(super::page_envelope(page, per_page, total, items))
}

pub fn view(db: &LogDb, id: &str) -> Result<Value, Error> {
    db.get(id)?
        .map(|e| e.to_json())
        .ok_or_else(Error::missing_record)
}

/// Hourly totals `[{date, total}]` of the logs matching `filter`.
pub fn stats(db: &LogDb, filter: &str) -> Result<Value, Error> {
    let invalid = || Error::bad("Invalid filter format.");
    let filter = simple_list::compile_filter(FIELDS, filter).map_err(|_| invalid())?;
    let rows = db
        .read(|conn| logs::stats(conn, db.relation(), filter.as_ref()))
        .map_err(|_| invalid())?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|(d, n)| json!({"date": format!("{d}.000Z"), "total": n}))
            .collect(),
    ))
}

/// Deletes logs older than `max_days` (the daily cleanup job).
pub fn cleanup(db: &LogDb, max_days: i64) -> Result<usize, Error> {
    let before = time::OffsetDateTime::now_utc() - time::Duration::days(max_days.max(0));
    Ok(db.delete_before(&datetime::format(before))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(status: u16, ms: f64) -> Request<'static> {
        Request {
            method: "GET",
            url: "/api/x?a=1",
            status,
            exec_ms: ms,
            remote_ip: "10.0.0.1",
            user_ip: "1.2.3.4",
            auth: "users",
            auth_id: "abc",
            user_agent: "ua \"quoted\"",
            ..Default::default()
        }
    }

    fn entry(r: Request<'_>, s: &LogSettings) -> Option<Entry> {
        let mut row = Row {
            needs_message: true,
            ..Row::default()
        };
        if !write_request(&r, s, &mut row) {
            return None;
        }
        // What a compact table derives is left to it.
        assert!(row.derived_message && row.id.is_empty() && row.created.is_empty());
        let key = row.key.expect("a request row has a key") as u64;
        let (mut id, mut created) = (String::new(), String::new());
        logs::push_base36(key, &mut id);
        logs::push_created(key, &mut created);
        Some(Entry {
            id,
            created,
            level: row.level,
            message: row.message,
            data: serde_json::from_slice(&row.data).expect("valid JSON"),
        })
    }

    #[test]
    fn settings_shape_the_row() {
        let s = LogSettings::from_settings(&crate::store::settings::defaults());
        let e = entry(req(200, 1.5), &s).expect("kept");
        assert_eq!(e.level, INFO);
        assert_eq!(e.message, "GET /api/x?a=1");
        assert_eq!(e.id.len(), 15);
        assert!(datetime::parse(&e.created).is_some(), "{}", e.created);
        assert_eq!(e.data["userIP"], "1.2.3.4");
        assert_eq!(e.data["userAgent"], "ua \"quoted\"");
        assert_eq!(e.data["execTime"], 1.5);
        assert_eq!(e.data["status"], 200);
        assert!(e.data.get("authId").is_none());
        let details = json!({"k": [1]});
        let failed = Request {
            error: Some(("boom", &details)),
            ..req(500, 1.0)
        };
        let e = entry(failed, &s).expect("kept");
        assert_eq!(e.level, ERROR);
        assert_eq!(e.data["error"], "boom");
        assert_eq!(e.data["details"], details);
        let slow = entry(req(200, SLOW_MS + 1.0), &s).expect("kept");
        assert_eq!((slow.level, &slow.data["slow"]), (WARN, &json!(true)));
        let quiet = LogSettings {
            log_ip: false,
            log_auth_id: true,
            min_level: WARN,
            ..s
        };
        assert!(entry(req(200, 1.0), &quiet).is_none());
        let e = entry(req(404, 1.0), &quiet).expect("kept");
        assert!(e.data.get("remoteIP").is_none());
        assert_eq!(e.data["authId"], "abc");
        let off = LogSettings { max_days: 0, ..s };
        assert!(entry(req(500, 1.0), &off).is_none());
    }
}

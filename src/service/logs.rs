//! Request logs: what one request becomes as a log row (PocketBase's shape,
//! the `logs` settings applied), listing with the filter language over the
//! log fields (`data.*` included), hourly stats and cleanup.

use serde_json::{Map, Value, json};

use super::Error;
use crate::schema::datetime;
use crate::store::logs::{self, Entry, LogDb};
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
#[derive(Debug, Clone, PartialEq)]
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
        let l = v.get("logs").cloned().unwrap_or(Value::Null);
        Self {
            max_days: l.get("maxDays").and_then(Value::as_i64).unwrap_or(5),
            min_level: l.get("minLevel").and_then(Value::as_i64).unwrap_or(0),
            log_ip: l.get("logIP").and_then(Value::as_bool).unwrap_or(true),
            log_auth_id: l.get("logAuthId").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// What the request-log middleware saw of one request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub exec_ms: f64,
    pub remote_ip: String,
    pub user_ip: String,
    pub referer: String,
    pub user_agent: String,
    /// The auth collection's name ("" for guests) and the record id.
    pub auth: String,
    pub auth_id: String,
    /// The error message sent, and the detail that was not sent.
    pub error: Option<(String, Value)>,
}

/// The row for a request, or `None` when settings say not to keep it.
pub fn entry(r: Request, s: &LogSettings) -> Option<Entry> {
    if s.max_days <= 0 {
        return None;
    }
    let slow = r.exec_ms >= SLOW_MS;
    let level = if r.status >= 400 || r.error.is_some() {
        ERROR
    } else if slow {
        WARN
    } else {
        INFO
    };
    if level < s.min_level {
        return None;
    }
    let mut data = Map::new();
    data.insert("type".into(), "request".into());
    data.insert("method".into(), r.method.clone().into());
    data.insert("url".into(), r.url.clone().into());
    data.insert("status".into(), r.status.into());
    data.insert("execTime".into(), json!(r.exec_ms));
    data.insert("referer".into(), r.referer.into());
    data.insert("userAgent".into(), r.user_agent.into());
    data.insert("auth".into(), r.auth.into());
    if s.log_ip {
        data.insert("remoteIP".into(), r.remote_ip.into());
        data.insert("userIP".into(), r.user_ip.into());
    }
    if s.log_auth_id && !r.auth_id.is_empty() {
        data.insert("authId".into(), r.auth_id.into());
    }
    if let Some((msg, details)) = r.error {
        data.insert("error".into(), msg.into());
        if !details.is_null() {
            data.insert("details".into(), details);
        }
    }
    if slow {
        data.insert("slow".into(), true.into());
    }
    Some(Entry {
        id: crate::schema::names::new_record_id(),
        created: datetime::now(),
        level,
        message: format!("{} {}", r.method, r.url),
        data: Value::Object(data),
    })
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
        table: "_logs",
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
    db.read(|conn| logs::get(conn, id))?
        .map(|e| e.to_json())
        .ok_or_else(Error::missing_record)
}

/// Hourly totals `[{date, total}]` of the logs matching `filter`.
pub fn stats(db: &LogDb, filter: &str) -> Result<Value, Error> {
    let invalid = || Error::bad("Invalid filter format.");
    let filter = simple_list::compile_filter(FIELDS, filter).map_err(|_| invalid())?;
    let rows = db
        .read(|conn| logs::stats(conn, filter.as_ref()))
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

    fn req(status: u16, ms: f64) -> Request {
        Request {
            method: "GET".into(),
            url: "/api/x?a=1".into(),
            status,
            exec_ms: ms,
            remote_ip: "10.0.0.1".into(),
            user_ip: "1.2.3.4".into(),
            auth: "users".into(),
            auth_id: "abc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn settings_shape_the_row() {
        let s = LogSettings::from_settings(&crate::store::settings::defaults());
        let e = entry(req(200, 1.5), &s).expect("kept");
        assert_eq!(e.level, INFO);
        assert_eq!(e.message, "GET /api/x?a=1");
        assert_eq!(e.data["userIP"], "1.2.3.4");
        assert!(e.data.get("authId").is_none());
        let e = entry(req(500, 1.0), &s).expect("kept");
        assert_eq!(e.level, ERROR);
        assert_eq!(
            entry(req(200, SLOW_MS + 1.0), &s).expect("kept").level,
            WARN
        );
        let quiet = LogSettings {
            log_ip: false,
            log_auth_id: true,
            min_level: WARN,
            ..s.clone()
        };
        assert!(entry(req(200, 1.0), &quiet).is_none());
        let e = entry(req(404, 1.0), &quiet).expect("kept");
        assert!(e.data.get("remoteIP").is_none());
        assert_eq!(e.data["authId"], "abc");
        let off = LogSettings { max_days: 0, ..s };
        assert!(entry(req(500, 1.0), &off).is_none());
    }
}

//! File storage and backup settings: the `s3` object (where uploaded files
//! go) on `/_/settings/storage`, and `backups` (schedule, how many
//! scheduled backups to keep, their own `s3`) on `/_/backups/settings`,
//! each with PocketBase's "test connection" for the saved S3 settings.
//! Saves go through `service::settings::patch` and tests through
//! `service::files::test_s3`, exactly as `PATCH /api/settings` and
//! `POST /api/settings/test/s3`; the S3 secret is write-only (blank keeps
//! the stored one, and the page only says whether one is stored).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::service::settings as svc;

/// One of the two pages: its path, the settings key of its `s3` object,
/// and the `filesystem` name of the S3 test.
#[derive(Clone, Copy)]
struct Kind {
    path: &'static str,
    s3: &'static str,
    filesystem: &'static str,
}

const FILES: Kind = Kind {
    path: "/_/settings/storage",
    s3: "/s3",
    filesystem: "storage",
};
const BACKUPS: Kind = Kind {
    path: "/_/backups/settings",
    s3: "/backups/s3",
    filesystem: "backups",
};

/// The `s3` object of a posted form, field names prefixed by `p`; the
/// secret only when one was typed.
fn s3_of(form: &Form, p: &str) -> Value {
    let t = |k: &str| form.text(&format!("{p}.{k}")).trim().to_owned();
    let mut s3 = json!({
        "enabled": form.flag(&format!("{p}.enabled")),
        "bucket": t("bucket"), "region": t("region"), "endpoint": t("endpoint"),
        "accessKey": t("accessKey"), "forcePathStyle": form.flag(&format!("{p}.forcePathStyle")),
    });
    let secret = form.text(&format!("{p}.secret"));
    if !secret.is_empty() {
        s3["secret"] = secret.into();
    }
    s3
}

fn patch_of(kind: Kind, form: &Form) -> Value {
    if kind.filesystem == "storage" {
        return json!({ "s3": s3_of(form, "s3") });
    }
    json!({"backups": {
        "cron": form.text("backups.cron").trim(),
        "cronMaxKeep": form.text("backups.cronMaxKeep").trim().parse::<i64>().unwrap_or(0),
        "s3": s3_of(form, "backups.s3"),
    }})
}

/// Whether a non-empty secret is stored at `ptr` (the page never shows it).
fn has_secret(app: &App, ptr: &str) -> bool {
    app.settings()
        .pointer(&format!("{ptr}/secret"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

struct Shown<'a> {
    settings: &'a Value,
    errors: &'a Value,
    message: &'a str,
    ok: bool,
}

fn render(app: &App, admin: &Admin, kind: Kind, shown: Shown, status: StatusCode) -> Response {
    let (title, section, template) = if kind.filesystem == "storage" {
        ("File storage", "/_/settings/storage", "storage.html")
    } else {
        ("Backup settings", "/_/backups", "backup_settings.html")
    };
    let saved = app.settings();
    let ctx = with(
        base(app, admin, section, ""),
        json!({
            "title": title, "s": shown.settings, "errors": shown.errors,
            "message": shown.message, "ok": shown.ok,
            "has_secret": has_secret(app, kind.s3),
            "saved_enabled": saved.pointer(&format!("{}/enabled", kind.s3)) == Some(&Value::Bool(true)),
            "filesystem": kind.filesystem, "action": kind.path,
        }),
    );
    view::render_status(status, template, ctx)
}

async fn page_of(
    app: &App,
    admin: &Admin,
    kind: Kind,
    q: &std::collections::HashMap<String, String>,
) -> Response {
    let s = svc::get(&app.store).unwrap_or_default();
    let (message, ok) = match (q.get("msg"), q.get("error")) {
        (_, Some(e)) => (e.as_str(), false),
        (Some(m), None) => (m.as_str(), true),
        _ => ("", true),
    };
    let shown = Shown {
        settings: &s,
        errors: &Value::Null,
        message,
        ok,
    };
    render(app, admin, kind, shown, StatusCode::OK)
}

type Q = Query<std::collections::HashMap<String, String>>;

pub async fn files_page(State(app): State<Arc<App>>, admin: Admin, Query(q): Q) -> Response {
    page_of(&app, &admin, FILES, &q).await
}

pub async fn backups_page(State(app): State<Arc<App>>, admin: Admin, Query(q): Q) -> Response {
    page_of(&app, &admin, BACKUPS, &q).await
}

pub async fn files_submit(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    submit(&app, &admin, FILES, &form).await
}

pub async fn backups_submit(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    submit(&app, &admin, BACKUPS, &form).await
}

async fn submit(app: &Arc<App>, admin: &Admin, kind: Kind, form: &Form) -> Response {
    if form.text("action") == "test" {
        return test(app, kind).await;
    }
    let patch = patch_of(kind, form);
    match svc::patch(&app.store, patch.clone()).await {
        Ok(saved) => {
            app.set_settings(saved);
            crate::ops::apply_backup_schedule(app);
            Redirect::to(&format!("{}?msg=Settings+saved.", kind.path)).into_response()
        }
        Err(e) => {
            let (status, message, data) = e.parts();
            let mut shown = svc::get(&app.store).unwrap_or_default();
            crate::store::settings::merge(&mut shown, &patch);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let shown_public = svc::public(&shown);
            let errors = Value::Object(data);
            let shown = Shown {
                settings: &shown_public,
                errors: &errors,
                message: &message,
                ok: false,
            };
            render(app, admin, kind, shown, status)
        }
    }
}

/// Uploads and deletes a test object with the saved settings, like
/// `POST /api/settings/test/s3`, and says what happened.
async fn test(app: &App, kind: Kind) -> Response {
    let q = match crate::service::files::test_s3(&app.settings(), kind.filesystem).await {
        Ok(()) => format!(
            "msg={}",
            view::urlencode("S3 connection works: a test file was uploaded and deleted.")
        ),
        Err(e) => format!("error={}", view::urlencode(&e.parts().1)),
    };
    Redirect::to(&format!("{}?{q}", kind.path)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_blank_secret_is_left_out_so_the_stored_one_stays() {
        let f = form(&[("s3.enabled", "1"), ("s3.bucket", " b "), ("s3.secret", "")]);
        let p = patch_of(FILES, &f);
        assert_eq!(p["s3"]["enabled"], true);
        assert_eq!(p["s3"]["bucket"], "b");
        assert_eq!(p["s3"]["forcePathStyle"], false);
        assert!(p["s3"].get("secret").is_none());
        let f = form(&[("s3.secret", "typed")]);
        assert_eq!(patch_of(FILES, &f)["s3"]["secret"], "typed");
    }

    #[test]
    fn backup_settings_patch_only_backups() {
        let f = form(&[
            ("backups.cron", " 0 3 * * * "),
            ("backups.cronMaxKeep", "4"),
            ("backups.s3.region", "eu"),
            ("s3.bucket", "ignored"),
        ]);
        let p = patch_of(BACKUPS, &f);
        assert_eq!(p["backups"]["cron"], "0 3 * * *");
        assert_eq!(p["backups"]["cronMaxKeep"], 4);
        assert_eq!(p["backups"]["s3"]["region"], "eu");
        assert!(p.get("s3").is_none());
        let bad = patch_of(BACKUPS, &form(&[("backups.cronMaxKeep", "x")]));
        assert_eq!(bad["backups"]["cronMaxKeep"], 0);
    }
}

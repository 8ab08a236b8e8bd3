//! File fields in the record editor: the current files in their order
//! (thumbnails for images, protected ones through a superuser file token),
//! a "Remove" box per file, and an upload input that appends (multiple) or
//! replaces (single). Uploads go through the same staging as the API, so
//! `maxSize` and `mimeTypes` errors come back next to the field.
//!
//! The form posts every kept name under the field's key, in order (the
//! page's script can reorder them), removals as `FIELD-`, new files as
//! `FIELD+` (multiple) or `FIELD` (single), and `_files=FIELD` so that an
//! empty list still reads as "keep none".

use serde_json::{Map, Value, json};

use super::view::Form;
use crate::schema::field::FileOptions;
use crate::schema::{Collection, Field};

fn is_image(name: &str) -> bool {
    let ext = name.rsplit('.').next().unwrap_or_default();
    ["jpg", "jpeg", "png", "gif", "webp"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(ext))
}

/// The template data of a file field of record `rec`; `token` is a file
/// token for protected fields.
pub fn input(c: &Collection, f: &Field, o: &FileOptions, rec: &Value, token: &str) -> Value {
    let id = rec["id"].as_str().unwrap_or_default();
    let names = super::record_form::strings(&rec[&f.name]);
    let files: Vec<Value> = names
        .iter()
        .map(|n| {
            let mut url = format!(
                "/api/files/{}/{}/{}",
                super::view::urlencode(&c.id),
                super::view::urlencode(id),
                super::view::urlencode(n)
            );
            let q = if o.protected && !token.is_empty() {
                format!("token={}", super::view::urlencode(token))
            } else {
                String::new()
            };
            let thumb = is_image(n).then(|| {
                let sep = if q.is_empty() { "" } else { "&" };
                format!("{url}?thumb=100x100{sep}{q}")
            });
            if !q.is_empty() {
                url = format!("{url}?{q}");
            }
            let ext = n
                .rsplit_once('.')
                .map(|(_, e)| e.to_uppercase())
                .unwrap_or_default();
            json!({"name": n, "url": url, "thumb": thumb, "ext": ext})
        })
        .collect();
    let multiple = o.max_select > 1;
    json!({
        "files": files,
        "multiple": multiple,
        "upload_name": if multiple { format!("{}+", f.name) } else { f.name.clone() },
        "accept": o.mime_types.join(","),
        "max_size": crate::service::files::max_size(o),
        "max_select": o.max_select.max(1),
        "protected": o.protected,
    })
}

/// Puts the file field's kept names (minus the ticked removals) into the
/// body, when the form showed that field.
pub fn body(f: &Field, o: &FileOptions, form: &Form, body: &mut Map<String, Value>) {
    let n = f.name.as_str();
    if !form.all("_files").iter().any(|x| x == n) {
        return;
    }
    let removed = form.all(&format!("{n}-"));
    let kept: Vec<String> = form
        .all(n)
        .into_iter()
        .filter(|x| !x.is_empty() && !removed.contains(x))
        .collect();
    let v = if o.max_select > 1 {
        Value::from(kept)
    } else {
        Value::from(kept.last().cloned().unwrap_or_default())
    };
    body.insert(n.into(), v);
}

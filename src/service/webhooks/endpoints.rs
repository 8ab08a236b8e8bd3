//! Endpoint definitions: what a superuser submits, how it is validated and
//! how an endpoint looks in memory and on the wire.
//!
//! The secret is returned only by create and rotate. It is kept in
//! `_webhooks` because signing needs the key itself (a hash would not do),
//! sealed with the encryption key when there is one (`seal`); the API never
//! shows it again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::seal::Sealer;
use super::sign;
use crate::service::Error;
use crate::store::Schema;
use crate::store::webhooks::EndpointRow;

/// Longest endpoint timeout (ms), per the standard's 15–30 s advice.
pub const MAX_TIMEOUT_MS: u64 = 30_000;
/// Default endpoint timeout (ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;
/// Most static headers per endpoint.
pub const MAX_HEADERS: usize = 20;
/// Default rotation grace (seconds).
pub const DEFAULT_GRACE_SECS: u64 = 24 * 3600;

/// The stored settings of an endpoint (`_webhooks.definition`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Definition {
    pub name: String,
    pub url: String,
    /// Collection id.
    pub collection: String,
    pub actions: Vec<String>,
    /// A filter in the filter language, evaluated on the changed record.
    pub filter: String,
    /// Record fields to send (empty: all but hidden ones).
    pub fields: Vec<String>,
    /// Updates are sent only when one of these fields changed (empty: every
    /// update). Creates and deletes are not affected.
    pub changed_fields: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: u64,
    pub max_in_flight: usize,
    /// `full` or `thin`.
    pub payload_mode: String,
}

impl Default for Definition {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            collection: String::new(),
            actions: vec!["create".into(), "update".into(), "delete".into()],
            filter: String::new(),
            fields: Vec::new(),
            changed_fields: Vec::new(),
            headers: BTreeMap::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_in_flight: 4,
            payload_mode: "full".into(),
        }
    }
}

/// `enabled`: enqueue and send; `paused`: enqueue, hold the sends;
/// `disabled`: neither (with a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Enabled,
    Paused,
    Disabled,
}

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Status::Enabled),
            "paused" => Some(Status::Paused),
            "disabled" => Some(Status::Disabled),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "enabled",
            Status::Paused => "paused",
            Status::Disabled => "disabled",
        }
    }
}

/// A secret kept during its rotation grace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OldSecret {
    pub secret: String,
    /// Unix milliseconds after which it no longer signs.
    pub expires: i64,
}

/// An endpoint as the outbox and the dispatcher see it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub def: Definition,
    pub secret: String,
    pub old_secrets: Vec<OldSecret>,
    pub status: Status,
    pub disabled_reason: String,
    pub disabled_at_seq: Option<i64>,
    pub first_failure_at: Option<i64>,
    pub created: String,
    pub updated: String,
    /// `def.url` parsed once when the endpoint is loaded (`None`: parsed
    /// at each send, where a URL that does not parse fails as `connect`).
    /// Parsing (with its IDNA pass) was about 3,500 instructions a delivery.
    pub url: Option<reqwest::Url>,
}

impl Endpoint {
    /// The endpoint a row holds, its secrets opened with `seal` (a secret
    /// that cannot be opened is left empty: nothing verifies without it).
    pub fn from_row(r: &EndpointRow, seal: &Sealer) -> Option<Self> {
        let mut old_secrets: Vec<OldSecret> =
            serde_json::from_str(&r.old_secrets).unwrap_or_default();
        for o in &mut old_secrets {
            o.secret = seal.open(&o.secret).unwrap_or_default();
        }
        let def: Definition = serde_json::from_str(&r.definition).ok()?;
        Some(Self {
            id: r.id.clone(),
            url: reqwest::Url::parse(&def.url).ok(),
            def,
            secret: seal.open(&r.secret).unwrap_or_default(),
            old_secrets,
            status: Status::parse(&r.status)?,
            disabled_reason: r.disabled_reason.clone(),
            disabled_at_seq: r.disabled_at_seq,
            first_failure_at: r.first_failure_at,
            created: r.created.clone(),
            updated: r.updated.clone(),
        })
    }

    /// The row to store, secrets sealed with `seal`.
    pub fn to_row(&self, seal: &Sealer) -> EndpointRow {
        let old: Vec<OldSecret> = self
            .old_secrets
            .iter()
            .map(|o| OldSecret {
                secret: seal.seal(&o.secret),
                expires: o.expires,
            })
            .collect();
        EndpointRow {
            id: self.id.clone(),
            definition: serde_json::to_string(&self.def).unwrap_or_default(),
            secret: seal.seal(&self.secret),
            old_secrets: serde_json::to_string(&old).unwrap_or_else(|_| "[]".into()),
            status: self.status.as_str().into(),
            disabled_reason: self.disabled_reason.clone(),
            disabled_at_seq: self.disabled_at_seq,
            first_failure_at: self.first_failure_at,
            created: self.created.clone(),
            updated: self.updated.clone(),
        }
    }

    /// The keys that sign at `now_ms`: the current one, then old ones still
    /// in their grace period.
    pub fn signing_keys(&self, now_ms: i64) -> Vec<Vec<u8>> {
        std::iter::once(self.secret.as_str())
            .chain(
                self.old_secrets
                    .iter()
                    .filter(|o| o.expires > now_ms)
                    .map(|o| o.secret.as_str()),
            )
            .filter_map(sign::secret_key)
            .collect()
    }

    /// Does a change of `collection_id` with `action` concern this endpoint?
    pub fn wants(&self, collection_id: &str, action: &str) -> bool {
        self.def.collection == collection_id && self.def.actions.iter().any(|a| a == action)
    }

    /// Does the filter compare with the record before the change
    /// (`@old.*`)? A replay then looks up the previous snapshots.
    pub fn filter_uses_old(&self) -> bool {
        self.def.filter.contains("@old")
            && crate::filter::parse_cached(&self.def.filter).is_ok_and(|e| {
                e.idents()
                    .iter()
                    .any(|i| i.parts.first().is_some_and(|p| p == "@old"))
            })
    }

    /// Does an update pass `changedFields`? True when the list is empty, when
    /// one listed field differs between `old` and `new`, and when the row
    /// before the change is unknown (better a delivery too many than one lost).
    pub fn changed_enough(
        &self,
        old: Option<&Map<String, Value>>,
        new: &Map<String, Value>,
    ) -> bool {
        let Some(old) = old else { return true };
        self.def.changed_fields.is_empty()
            || self
                .def
                .changed_fields
                .iter()
                .any(|f| !same_value(old.get(f), new.get(f)))
    }

    /// The API view (never the secret).
    pub fn to_json(&self, schema: &Schema) -> Value {
        let name = schema
            .get(&self.def.collection)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        json!({
            "id": self.id,
            "name": self.def.name,
            "url": self.def.url,
            "collection": name,
            "collectionId": self.def.collection,
            "actions": self.def.actions,
            "filter": self.def.filter,
            "fields": self.def.fields,
            "changedFields": self.def.changed_fields,
            "headers": self.def.headers,
            "timeoutMs": self.def.timeout_ms,
            "maxInFlight": self.def.max_in_flight,
            "payloadMode": self.def.payload_mode,
            "status": self.status.as_str(),
            "disabledReason": self.disabled_reason,
            "disabledAtSeq": self.disabled_at_seq,
            "created": self.created,
            "updated": self.updated,
        })
    }
}

/// Field values equal as stored: a missing value is null, and numbers
/// compare by value (`5` and `5.0` are the same).
fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    let (a, b) = (a.unwrap_or(&Value::Null), b.unwrap_or(&Value::Null));
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Merges a submitted JSON object into `def` (unknown keys are errors) and
/// returns a requested status change, if any.
pub fn merge(def: &mut Definition, body: &Value) -> Result<Option<Status>, Error> {
    let Some(obj) = body.as_object() else {
        return Err(Error::bad(
            "Failed to load the submitted data due to invalid formatting.",
        ));
    };
    let mut errors = Map::new();
    let mut status = None;
    let mut bad = |k: &str, msg: &str| {
        errors.insert(
            k.to_owned(),
            json!({"code": "validation_invalid_value", "message": msg}),
        );
    };
    for (k, v) in obj {
        match k.as_str() {
            "name" | "url" | "collection" | "filter" | "payloadMode" => match v.as_str() {
                Some(s) => {
                    let s = s.to_owned();
                    match k.as_str() {
                        "name" => def.name = s,
                        "url" => def.url = s,
                        "collection" => def.collection = s,
                        "filter" => def.filter = s,
                        _ => def.payload_mode = s,
                    }
                }
                None => bad(k, "Must be a string."),
            },
            "actions" | "fields" | "changedFields" => match serde_json::from_value(v.clone()) {
                Ok(list) if k == "actions" => def.actions = list,
                Ok(list) if k == "fields" => def.fields = list,
                Ok(list) => def.changed_fields = list,
                Err(_) => bad(k, "Must be a list of strings."),
            },
            "headers" => match serde_json::from_value::<BTreeMap<String, String>>(v.clone()) {
                Ok(h) => def.headers = h,
                Err(_) => bad(k, "Must be an object of strings."),
            },
            "timeoutMs" | "maxInFlight" => match v.as_u64() {
                Some(n) if k == "timeoutMs" => def.timeout_ms = n,
                Some(n) => def.max_in_flight = n as usize,
                None => bad(k, "Must be a positive integer."),
            },
            "status" => match v.as_str().and_then(Status::parse) {
                Some(s) => status = Some(s),
                None => bad(k, "Must be enabled, paused or disabled."),
            },
            _ => bad(k, "Unknown field."),
        }
    }
    if errors.is_empty() {
        Ok(status)
    } else {
        Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            errors,
        ))
    }
}

/// Checks a merged definition; resolves `collection` (name or id) to the
/// collection id.
pub fn validate(def: &mut Definition, schema: &Schema) -> Result<(), Error> {
    let mut errors = Map::new();
    let mut bad = |k: &str, msg: &str| {
        errors.insert(
            k.to_owned(),
            json!({"code": "validation_invalid_value", "message": msg}),
        );
    };
    match reqwest::Url::parse(&def.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if !u.username().is_empty() || u.password().is_some() {
                bad(
                    "url",
                    "Credentials in the URL are not allowed; use headers.",
                );
            }
        }
        _ => bad("url", "Must be an absolute http(s) URL."),
    }
    if def.name.chars().count() > 255 {
        bad("name", "Must be at most 255 characters.");
    }
    let collection = schema.get(&def.collection);
    match &collection {
        Some(c)
            if !c.name.starts_with('_')
                && !matches!(c.kind, crate::schema::CollectionKind::View) =>
        {
            def.collection = c.id.clone();
        }
        _ => bad("collection", "Must be an existing base or auth collection."),
    }
    if def.actions.is_empty()
        || def
            .actions
            .iter()
            .any(|a| !matches!(a.as_str(), "create" | "update" | "delete"))
    {
        bad("actions", "Must be one or more of create, update, delete.");
    }
    def.actions.sort();
    def.actions.dedup();
    if let (Some(c), false) = (&collection, def.filter.trim().is_empty())
        && let Err(e) = crate::service::rules::validate_webhook_filter(schema, c, &def.filter)
    {
        bad("filter", &e);
    }
    if let Some(c) = &collection
        && def.fields.iter().any(|f| f != "id" && c.field(f).is_none())
    {
        bad("fields", "Unknown field.");
    }
    if let Some(c) = &collection
        && def
            .changed_fields
            .iter()
            .any(|f| c.field(f).is_none_or(|f| f.is_secret() || f.name == "id"))
    {
        bad(
            "changedFields",
            "Unknown field (id, password and tokenKey cannot be watched).",
        );
    }
    def.changed_fields.sort();
    def.changed_fields.dedup();
    if def.headers.len() > MAX_HEADERS
        || def.headers.iter().any(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            lower.starts_with("webhook-")
                || matches!(
                    lower.as_str(),
                    "content-type" | "content-length" | "host" | "transfer-encoding" | "connection"
                )
                || reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(v).is_err()
        })
    {
        bad(
            "headers",
            "Invalid or reserved header (webhook-*, content-type, host, ...).",
        );
    }
    if !(1..=MAX_TIMEOUT_MS).contains(&def.timeout_ms) {
        bad("timeoutMs", "Must be between 1 and 30000.");
    }
    if !(1..=64).contains(&def.max_in_flight) {
        bad("maxInFlight", "Must be between 1 and 64.");
    }
    if !matches!(def.payload_mode.as_str(), "full" | "thin") {
        bad("payloadMode", "Must be full or thin.");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            errors,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_changed(fields: &[&str]) -> Endpoint {
        Endpoint {
            id: "e".into(),
            def: Definition {
                changed_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                ..Default::default()
            },
            secret: String::new(),
            old_secrets: Vec::new(),
            status: Status::Enabled,
            disabled_reason: String::new(),
            disabled_at_seq: None,
            first_failure_at: None,
            created: String::new(),
            updated: String::new(),
            url: None,
        }
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn changed_fields_compare_old_and_new() {
        let old = row(json!({"status": "draft", "n": 5, "tags": ["a"], "title": "x"}));
        let title = row(json!({"status": "draft", "n": 5.0, "tags": ["a"], "title": "y"}));
        let tags = row(json!({"status": "draft", "n": 5, "tags": ["a", "b"], "title": "x"}));
        let ep = with_changed(&["status", "n", "tags"]);
        assert!(
            !ep.changed_enough(Some(&old), &title),
            "5 and 5.0 are equal"
        );
        assert!(ep.changed_enough(Some(&old), &tags));
        assert!(ep.changed_enough(None, &title), "unknown old: sent");
        assert!(with_changed(&[]).changed_enough(Some(&old), &old));
        let missing = row(json!({"n": 5, "tags": ["a"]}));
        assert!(ep.changed_enough(Some(&old), &missing), "draft to absent");
        assert!(!with_changed(&["gone"]).changed_enough(Some(&old), &missing));
    }
}

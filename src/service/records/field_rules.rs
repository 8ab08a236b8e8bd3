//! Cairn's field-level rules: `readRule` and `writeRule` on a field.
//!
//! Read rules cost nothing where they are not used and at most two small
//! queries where they are: rules that only look at the request (roles,
//! `@request.*`) are decided once per request in one `SELECT`; rules that
//! look at the record are evaluated for a whole page of records in one
//! query keyed by id. A field the caller may not read is removed from the
//! record, and a non-superuser may filter or sort by a field with a read
//! rule only where the rule is decided for the request and lets them read
//! it (otherwise filtering would reveal the value a record at a time).
//!
//! Write rules are compiled before the write job and checked inside it: on
//! update against the stored record, on create against the inserted row
//! (like the create rule), so a refusal rolls everything back.

use serde_json::{Map, Value};

use super::{Actor, Error, Input};
use crate::filter::Expr;
use crate::filter::ast::{Modifier, RequestInfo};
use crate::filter::compile::MAX_POLICY_DEPTH;
use crate::schema::Collection;
use crate::schema::validate::FieldError;
use crate::service::rules;
use crate::store::field_reads;
use crate::store::records::Where;
use crate::store::{Schema, Store};

/// Does `expr` (policies expanded) look only at the request, never at the
/// record it is evaluated for?
pub fn request_only(schema: &Schema, expr: &Expr) -> bool {
    fn walk(schema: &Schema, e: &Expr, depth: usize) -> bool {
        if depth > MAX_POLICY_DEPTH {
            return false;
        }
        let direct = e.idents().iter().all(|i| {
            let head = i.parts.first().map(String::as_str).unwrap_or_default();
            (head == "@request" || head == "@collection") && i.modifier != Some(Modifier::Changed)
        });
        direct
            && e.policies().iter().all(|p| {
                schema
                    .policies
                    .get(*p)
                    .is_some_and(|pe| walk(schema, pe, depth + 1))
            })
    }
    walk(schema, expr, 0)
}

/// What the caller may read of one collection's fields.
#[derive(Debug, Default)]
pub struct FieldReads {
    /// Fields the caller may never read here.
    denied: Vec<String>,
    /// Fields readable on the records satisfying a condition (`?1`-based).
    per_record: Vec<(String, Where)>,
    /// Fields with read rules the caller may read on every record (so may
    /// filter and sort by).
    open: Vec<String>,
}

impl FieldReads {
    /// Decides request-level read rules and compiles record-level ones.
    pub fn prepare(
        store: &Store,
        schema: &Schema,
        c: &Collection,
        actor: &Actor,
        req: &RequestInfo,
    ) -> Result<Self, Error> {
        let mut out = Self::default();
        if actor.is_superuser() || c.fields.iter().all(|f| f.read_rule.is_none()) {
            return Ok(out);
        }
        let mut decide: Vec<(String, Where)> = Vec::new();
        for f in &c.fields {
            let Some(text) = &f.read_rule else { continue };
            let record_level = match crate::filter::parse_cached(text) {
                Ok(e) => !request_only(schema, &e),
                Err(_) => {
                    out.denied.push(f.name.clone());
                    continue;
                }
            };
            if record_level {
                out.per_record
                    .push((f.name.clone(), rules::rule(schema, c, text, req, 1)));
                continue;
            }
            let first = 1 + decide.iter().map(|(_, w)| w.params.len()).sum::<usize>();
            let w = rules::rule(schema, c, text, req, first);
            // Most request-level rules fold to a constant when compiled
            // (roles, `@request.auth.id != ''`): no query needed.
            let d = schema.dialect;
            match w.sql.as_str() {
                s if s == d.bool_lit(true) => out.open.push(f.name.clone()),
                s if s == d.bool_lit(false) => out.denied.push(f.name.clone()),
                _ => decide.push((f.name.clone(), w)),
            }
        }
        if !decide.is_empty() {
            let conds: Vec<&Where> = decide.iter().map(|(_, w)| w).collect();
            let verdicts = store.read(|conn| field_reads::decide(conn, &conds));
            let verdicts = verdicts.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "field read rule failed; denying");
                vec![false; decide.len()]
            });
            for ((name, _), v) in decide.into_iter().zip(verdicts) {
                if v {
                    out.open.push(name);
                } else {
                    out.denied.push(name);
                }
            }
        }
        Ok(out)
    }

    /// Nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.denied.is_empty() && self.per_record.is_empty()
    }

    /// Fields with read rules this caller may filter and sort by.
    pub fn open(&self) -> &[String] {
        &self.open
    }

    /// Record-level read conditions, for a query that reads the records to
    /// answer alongside each row (`hide_marked` then applies them).
    pub fn conditions(&self) -> Vec<Where> {
        self.per_record.iter().map(|(_, w)| w.clone()).collect()
    }

    /// Removes unreadable fields given each record's answers to
    /// [`FieldReads::conditions`] (same order as `records`).
    pub fn hide_marked(&self, records: &mut [Value], marks: &[Vec<bool>]) {
        for (r, m) in records.iter_mut().zip(marks) {
            let Value::Object(obj) = r else { continue };
            for name in &self.denied {
                obj.remove(name);
            }
            for (i, (name, _)) in self.per_record.iter().enumerate() {
                if !m.get(i).copied().unwrap_or(false) {
                    obj.remove(name);
                }
            }
        }
    }

    /// Removes the fields the caller may not read from public records of
    /// `c` (each with its `id`): one query for record-level rules.
    pub fn hide(&self, store: &Store, c: &Collection, records: &mut [Value]) -> Result<(), Error> {
        if self.is_empty() || records.is_empty() {
            return Ok(());
        }
        let mut allowed: std::collections::HashMap<String, Vec<bool>> =
            std::collections::HashMap::new();
        if !self.per_record.is_empty() {
            let ids: Vec<&str> = records
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str))
                .collect();
            let conds: Vec<&Where> = self.per_record.iter().map(|(_, w)| w).collect();
            allowed = store.read(|conn| field_reads::decide_per_record(conn, c, &conds, &ids))?;
        }
        let marks: Vec<Vec<bool>> = records
            .iter()
            .map(|r| {
                let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
                allowed.get(id).cloned().unwrap_or_default()
            })
            .collect();
        self.hide_marked(records, &marks);
        Ok(())
    }

    /// The same for a record that may no longer be stored (realtime
    /// events): rules run against the change's snapshot.
    pub fn hide_snapshot(
        &self,
        conn: &crate::store::Conn,
        c: &Collection,
        snapshot: &Map<String, Value>,
        record: &mut Value,
    ) -> Result<(), crate::store::StoreError> {
        let Value::Object(m) = record else {
            return Ok(());
        };
        for name in &self.denied {
            m.remove(name);
        }
        for (name, w) in &self.per_record {
            if !crate::store::changes::snapshot_matches(conn, c, snapshot, w)? {
                m.remove(name);
            }
        }
        Ok(())
    }
}

/// Field names a body sets: `f`, `f+`, `+f`, `f-`.
fn touched<'a>(c: &'a Collection, input: &Input) -> Vec<&'a crate::schema::Field> {
    c.fields
        .iter()
        .filter(|f| f.write_rule.is_some())
        .filter(|f| {
            input.keys().any(|k| {
                let k = k
                    .strip_prefix('+')
                    .or_else(|| k.strip_suffix('+'))
                    .or_else(|| k.strip_suffix('-'))
                    .unwrap_or(k);
                k == f.name
            })
        })
        .collect()
}

/// Compiled write rules of the fields a body sets (empty for superusers).
#[derive(Clone, Debug, Default)]
pub struct FieldWrites(Vec<(String, Where)>);

impl FieldWrites {
    pub fn prepare(
        schema: &Schema,
        c: &Collection,
        actor: &Actor,
        req: &RequestInfo,
        input: &Input,
    ) -> Self {
        if actor.is_superuser() {
            return Self::default();
        }
        Self(
            touched(c, input)
                .into_iter()
                .filter_map(|f| {
                    let text = f.write_rule.as_ref()?;
                    Some((f.name.clone(), rules::rule(schema, c, text, req, 1)))
                })
                .collect(),
        )
    }

    /// Checks every rule against stored record `id` (inside the write job);
    /// 403 naming each refused field.
    pub fn check(&self, conn: &crate::store::Conn, c: &Collection, id: &str) -> Result<(), Error> {
        let mut data = Map::new();
        for (name, w) in &self.0 {
            let ok = crate::store::records::get_where(conn, c, id, w)?.is_some();
            if !ok {
                data.insert(
                    name.clone(),
                    FieldError::new(
                        "validation_field_forbidden",
                        "You are not allowed to write this field.",
                    )
                    .to_json(),
                );
            }
        }
        if data.is_empty() {
            Ok(())
        } else {
            Err(Error::ForbiddenData(
                "You are not allowed to write some of the submitted fields.",
                data,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbers_placeholders_outside_strings() {
        use crate::store::records::renumber;
        assert_eq!(
            renumber("a = ?1 AND b = '?2' OR c IN (?2, ?10)", 3),
            "a = ?4 AND b = '?2' OR c IN (?5, ?13)"
        );
        assert_eq!(renumber("x = ?1", 0), "x = ?1");
    }

    #[test]
    fn request_only_rules_are_recognised() {
        let schema = Schema::default();
        let yes =
            crate::filter::parse("@request.auth.roles ?= 'hr' && @request.auth.id != ''").unwrap();
        let no = crate::filter::parse("owner = @request.auth.id").unwrap();
        let changed = crate::filter::parse("@request.body.title:changed = false").unwrap();
        let unknown_policy = crate::filter::parse("@policy.nope").unwrap();
        assert!(request_only(&schema, &yes));
        assert!(!request_only(&schema, &no));
        assert!(!request_only(&schema, &changed));
        assert!(!request_only(&schema, &unknown_policy));
    }
}

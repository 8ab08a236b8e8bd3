//! Named policies: save-time checks and "where is this policy used".

use std::collections::HashMap;

use super::{Error, field_err, text};
use crate::filter::Expr;
use crate::schema::collection::RULE_KEYS;
use crate::schema::{Access, Collection};
use crate::store::Schema;
use crate::store::collections::load_policies;
use crate::store::records::Row_;

/// Every rule text of a collection with its label (`posts.listRule`,
/// `users.manageRule`, `posts.fields.salary.readRule`).
pub fn rule_texts(c: &Collection) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, access) in RULE_KEYS.iter().zip(c.rules.iter()) {
        if let Access::Rule(t) = access {
            out.push((format!("{}.{key}", c.name), t.clone()));
        }
    }
    if c.is_auth() {
        for key in ["authRule", "manageRule"] {
            if let Access::Rule(t) = c.auth_rule(key) {
                out.push((format!("{}.{key}", c.name), t));
            }
        }
    }
    for f in &c.fields {
        for (key, rule) in [("readRule", &f.read_rule), ("writeRule", &f.write_rule)] {
            if let Some(t) = rule {
                out.push((format!("{}.fields.{}.{key}", c.name, f.name), t.clone()));
            }
        }
    }
    out
}

fn references(text: &str, name: &str) -> bool {
    text.contains("@policy.")
        && crate::filter::parse_cached(text).is_ok_and(|e| e.policies().contains(&name))
}

/// Places that reference policy `name` directly: collection rules and
/// other policies (`@policy.other`). `except` is the policy's own record.
pub fn used_by(
    conn: &crate::store::Conn,
    schema: &Schema,
    name: &str,
    except: Option<&str>,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for c in &schema.collections {
        for (label, t) in rule_texts(c) {
            if references(&t, name) {
                out.push(label);
            }
        }
    }
    let rows = crate::store::access::policies(conn)?;
    for (id, other, t) in rows {
        if Some(id.as_str()) != except && references(&t, name) {
            out.push(format!("@policy.{other}"));
        }
    }
    Ok(out)
}

/// The first cycle through `start`, as `a -> b -> a`.
fn cycle(graph: &HashMap<String, Vec<String>>, start: &str) -> Option<Vec<String>> {
    fn dfs(
        graph: &HashMap<String, Vec<String>>,
        node: &str,
        start: &str,
        path: &mut Vec<String>,
    ) -> bool {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if path.contains(next) || path.len() > 64 {
                continue;
            }
            path.push(next.clone());
            if dfs(graph, next, start, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_owned()];
    dfs(graph, start, start, &mut path).then_some(path)
}

/// Checks a policy about to be saved (inside the write job).
pub fn check_save(
    conn: &crate::store::Conn,
    schema: &Schema,
    rec: &Row_,
    old: Option<&Row_>,
    fail: &str,
) -> Result<(), Error> {
    let name = text(rec, "name").to_owned();
    let rule = text(rec, "rule").to_owned();
    let invalid =
        |code: &'static str, msg: String| Error::invalid(fail, field_err("rule", code, &msg));
    let expr: Expr = crate::filter::parse(&rule).map_err(|e| {
        invalid(
            "validation_invalid_rule",
            format!("Invalid rule. Raw error: {e}."),
        )
    })?;
    if let Some(old) = old {
        let old_name = text(old, "name");
        if old_name != name {
            let users = used_by(conn, schema, old_name, Some(text(old, "id")))?;
            if !users.is_empty() {
                return Err(Error::invalid(
                    fail,
                    field_err(
                        "name",
                        "validation_policy_in_use",
                        &format!("In use by: {}.", users.join(", ")),
                    ),
                ));
            }
        }
    }
    // The policies as they will be after this save.
    let mut all: Vec<(String, String)> = load_policies(conn)?
        .into_iter()
        .filter(|(n, _)| *n != name && old.is_none_or(|o| text(o, "name") != n))
        .collect();
    all.push((name.clone(), rule.clone()));
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for (n, t) in &all {
        let refs = crate::filter::parse_cached(t)
            .map(|e| e.policies().iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        graph.insert(n.clone(), refs);
    }
    for r in expr.policies() {
        if !graph.contains_key(r) {
            return Err(invalid(
                "validation_unknown_policy",
                format!("Unknown policy @policy.{r}."),
            ));
        }
    }
    if let Some(path) = cycle(&graph, &name) {
        return Err(invalid(
            "validation_policy_cycle",
            format!("Policy cycle: {}.", path.join(" -> ")),
        ));
    }
    // Every rule that uses this policy (directly or through others) must
    // still compile against its collection.
    let next = Schema::new(
        schema
            .collections
            .iter()
            .map(|c| Collection::clone(c))
            .collect(),
    )
    .with_policies(all);
    let uses = |t: &str| crate::filter::parse_cached(t).is_ok_and(|e| reaches(&next, &e, &name, 0));
    for c in &schema.collections {
        for (label, t) in rule_texts(c) {
            if uses(&t)
                && let Err(msg) = crate::service::rules::validate_rule(&next, c, &t)
            {
                return Err(invalid(
                    "validation_invalid_rule",
                    format!("{label} would no longer compile: {msg}"),
                ));
            }
        }
    }
    Ok(())
}

/// Does `e` reference policy `name`, directly or through other policies?
fn reaches(schema: &Schema, e: &Expr, name: &str, depth: usize) -> bool {
    if depth > crate::filter::compile::MAX_POLICY_DEPTH {
        return false;
    }
    e.policies().iter().any(|p| {
        *p == name
            || schema
                .policies
                .get(*p)
                .is_some_and(|pe| reaches(schema, pe, name, depth + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles() {
        let mut g = HashMap::new();
        g.insert("a".to_owned(), vec!["b".to_owned()]);
        g.insert("b".to_owned(), vec!["c".to_owned()]);
        g.insert("c".to_owned(), vec!["a".to_owned()]);
        g.insert("d".to_owned(), vec!["c".to_owned()]);
        assert_eq!(cycle(&g, "a").unwrap().join(" -> "), "a -> b -> c -> a");
        assert!(cycle(&g, "d").is_none());
        g.insert("e".to_owned(), vec!["e".to_owned()]);
        assert_eq!(cycle(&g, "e").unwrap().join(" -> "), "e -> e");
    }
}

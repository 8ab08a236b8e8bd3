//! Compiler tests: the SQL and parameters expressions turn into.

use super::*;
use crate::filter::parse;

/// Names resolve to fixed SQL; `@request.auth.id` to a value.
struct Fake;

impl Resolver for Fake {
    fn resolve(&mut self, ident: &Ident, _: &mut Params) -> Result<Source, CompileError> {
        Ok(match ident.parts.join(".").as_str() {
            "title" => Source::Scalar("t.\"title\"".into()),
            "n" => Source::Scalar("t.\"n\"".into()),
            "tags" => Source::Many("SELECT value AS v FROM json_each(t.\"tags\")".into()),
            "@request.auth.id" => Source::Value(Value::String("u1".into())),
            "@request.auth.missing" => Source::Value(Value::Null),
            other => return Err(CompileError(format!("unknown {other}"))),
        })
    }
}

fn sql(filter: &str) -> Compiled {
    let expr = parse(filter).expect("parses");
    compile(&expr, &mut Fake, 1).expect("compiles")
}

#[test]
fn literals_become_parameters() {
    let c = sql("title = 'x\\' OR 1=1 --' && n > 5");
    assert_eq!(c.sql, "((t.\"title\" IS ?1) AND (t.\"n\" > ?2))");
    assert_eq!(
        c.params,
        vec![Param::Text("x' OR 1=1 --".into()), Param::Real(5.0)]
    );
}

#[test]
fn null_compares_like_empty() {
    assert_eq!(
        sql("title = null").sql,
        "(t.\"title\" IS NULL OR t.\"title\" = '' OR t.\"title\" = '[]')"
    );
    // A missing request value is null too (and, compared with a
    // literal, decided before the query runs).
    assert_eq!(sql("@request.auth.missing != ''").sql, "0");
    assert_eq!(sql("@request.auth.missing = ''").sql, "1");
    assert_eq!(sql("@request.auth.id != ''").sql, "1");
}

#[test]
fn like_wraps_unless_percent() {
    let c = sql("title ~ 'a_b'");
    assert_eq!(c.sql, "(t.\"title\" LIKE ?1 ESCAPE '\\')");
    assert_eq!(c.params, vec![Param::Text("%a\\_b%".into())]);
    assert_eq!(wrap_like("50%"), "50%");
    assert_eq!(wrap_like("0\\%"), "%0\\%%");
    assert!(sql("title !~ 'a'").sql.contains("NOT LIKE"));
}

#[test]
fn any_and_all_over_many() {
    let any = sql("tags ?= 'a'").sql;
    assert!(
        any.starts_with("EXISTS (SELECT 1 FROM (SELECT v FROM"),
        "{any}"
    );
    let all = sql("tags = 'a'").sql;
    assert!(all.starts_with("NOT EXISTS ("), "{all}");
    // Empty sets count as one NULL value, like a LEFT JOIN.
    assert!(
        all.contains("UNION ALL SELECT NULL WHERE NOT EXISTS"),
        "{all}"
    );
}

#[test]
fn request_values_are_bound_and_numbering_starts_where_asked() {
    let expr = parse("title = @request.auth.id").expect("parses");
    let c = compile(&expr, &mut Fake, 3).expect("compiles");
    assert_eq!(c.sql, "(t.\"title\" IS ?3)");
    assert_eq!(c.params, vec![Param::Text("u1".into())]);
}

#[test]
fn unknown_names_are_errors() {
    let expr = parse("nope = 1").expect("parses");
    assert!(compile(&expr, &mut Fake, 1).is_err());
}

#[test]
fn macros_are_bound_datetimes() {
    let c = sql("title < @now && title > @todayStart");
    assert_eq!(c.params.len(), 2);
    for p in &c.params {
        let Param::Text(s) = p else {
            panic!("macro should be text: {p:?}")
        };
        assert!(crate::schema::datetime::parse(s).is_some(), "{s}");
    }
}

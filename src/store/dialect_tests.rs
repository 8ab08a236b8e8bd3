//! The PostgreSQL spelling of the filter compiler's output, checked as text
//! (the PostgreSQL store's tests run the same filters on a real server).
//! SQLite's output is pinned by `resolver_tests::sqlite_output_is_unchanged`.

use super::*;
use crate::filter::ast::RequestInfo;
use crate::filter::compile::{Compiled, Param, compile};
use crate::filter::parse;
use crate::schema::Collection;
use crate::store::Schema;
use crate::store::resolver::RecordResolver;
use serde_json::json;

fn schema() -> Schema {
    let mut cols = crate::schema::system::system_collections("2024-01-01 00:00:00.000Z");
    cols.push(
        Collection::from_stored(&json!({
            "id": "pbc_posts", "name": "posts", "type": "base", "system": false,
            "fields": [
                {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true},
                {"name": "title", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
                {"name": "meta", "type": "json"},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "editors", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
                {"name": "created", "type": "autodate", "onCreate": true}
            ],
            "indexes": [], "listRule": null, "viewRule": null, "createRule": null,
            "updateRule": null, "deleteRule": null, "created": "", "updated": ""
        }))
        .expect("posts"),
    );
    Schema::new(cols)
}

fn pg(filter: &str) -> Compiled {
    let schema = schema();
    let main = schema.get("posts").expect("posts");
    let req = RequestInfo::default();
    let mut r = RecordResolver::new(&schema, &main, &req, true);
    r.dialect = Dialect::Postgres;
    compile(&parse(filter).expect("parses"), &mut r, 1).expect("compiles")
}

#[test]
fn placeholders_and_null_safe_equality() {
    let c = pg("title = 'a' && n > 2");
    assert_eq!(
        c.sql,
        "((\"posts\".\"title\" = $1 AND \"posts\".\"title\" IS NOT NULL) AND (\"posts\".\"n\" > $2))"
    );
    assert_eq!(c.params, vec![Param::Text("a".into()), Param::Real(2.0)]);
    assert_eq!(
        pg("title != 'a'").sql,
        "(\"posts\".\"title\" IS DISTINCT FROM $1)"
    );
}

#[test]
fn like_is_ilike_and_wraps_columns_with_strpos() {
    // The text form is matched, so jsonb and numeric columns work too.
    let c = pg("title ~ 'a_b'");
    assert_eq!(
        c.sql,
        "(CAST(\"posts\".\"title\" AS TEXT) ILIKE $1 ESCAPE '\\')"
    );
    assert_eq!(c.params, vec![Param::Text("%a\\_b%".into())]);
    let col = pg("title !~ owner").sql;
    assert!(
        col.starts_with("(CAST(\"posts\".\"title\" AS TEXT) NOT ILIKE (CASE WHEN strpos("),
        "{col}"
    );
    assert!(!col.contains("instr("), "{col}");
}

#[test]
fn null_compares_as_text_and_constants_are_booleans() {
    assert_eq!(
        pg("n = null").sql,
        "(\"posts\".\"n\" IS NULL OR \"posts\".\"n\"::text = '' OR \"posts\".\"n\"::text = '[]')"
    );
    assert_eq!(
        pg("n != null").sql,
        "(\"posts\".\"n\" IS NOT NULL AND \"posts\".\"n\"::text != '' AND \"posts\".\"n\"::text != '[]')"
    );
    assert_eq!(pg("@request.auth.id = ''").sql, "TRUE");
    assert_eq!(pg("@request.auth.id != ''").sql, "FALSE");
    assert_eq!(pg("null = null").sql, "TRUE");
}

#[test]
fn multi_valued_fields_use_jsonb_arrays() {
    let all = pg("tags:each = 'a'").sql;
    assert_eq!(
        all,
        "NOT EXISTS (SELECT 1 FROM (SELECT v FROM (SELECT _j1.value AS v FROM \"posts\".\"tags\") AS _ms \
         UNION ALL SELECT NULL WHERE NOT EXISTS (SELECT _j1.value AS v FROM \"posts\".\"tags\")) AS _m \
         WHERE NOT COALESCE((_m.v IS NOT DISTINCT FROM $1), FALSE))"
            .replace(
                "FROM \"posts\".\"tags\"",
                "FROM jsonb_array_elements_text(CASE jsonb_typeof(\"posts\".\"tags\"::jsonb) \
                 WHEN 'array' THEN \"posts\".\"tags\"::jsonb ELSE '[]'::jsonb END) AS _j1(value)"
            )
    );
    let any = pg("tags:each ?= 'a'").sql;
    assert!(any.starts_with("EXISTS (SELECT 1 FROM (SELECT v FROM (SELECT _j1.value AS v FROM jsonb_array_elements_text("), "{any}");
    assert!(any.contains(") AS _ms UNION ALL"), "{any}");
    assert_eq!(
        pg("tags:length > 1").sql,
        "((CASE WHEN \"posts\".\"tags\"::jsonb IS NULL THEN NULL \
         WHEN jsonb_typeof(\"posts\".\"tags\"::jsonb) = 'array' \
         THEN jsonb_array_length(\"posts\".\"tags\"::jsonb) ELSE 0 END) > $1)"
    );
    let via = pg("editors.name ?= 'x'").sql;
    assert!(
        via.contains("_j1.\"id\" IN (SELECT value FROM jsonb_array_elements_text(CASE jsonb_typeof(\"posts\".\"editors\"::jsonb)"),
        "{via}"
    );
    assert!(via.contains("AS _e(value))"), "{via}");
}

#[test]
fn json_paths_use_jsonpath() {
    let c = pg("meta.a.0 = 'x'");
    assert_eq!(
        c.sql,
        "(cairn_jkey(jsonb_path_query_first(\"posts\".\"meta\"::jsonb, $1::jsonpath)) \
         IS NOT DISTINCT FROM cairn_tkey($2))"
    );
    assert_eq!(c.params[0], Param::Text("$.\"a\"[0]".into()));
    let each = pg("meta.list:each ?= 'x'").sql;
    assert!(
        each.contains("jsonb_path_query_first(\"posts\".\"meta\"::jsonb, $1::jsonpath)"),
        "{each}"
    );
    assert!(each.contains("AS _j1(value)"), "{each}");
}

#[test]
fn shared_joins_functions_and_body_changes() {
    let c = pg("@collection.users.name ?= title && @collection.users.email ?= 'x'");
    assert!(
        c.sql.starts_with(
            "EXISTS (SELECT 1 FROM (SELECT 1) AS _d LEFT JOIN \"users\" AS _j1 ON TRUE WHERE "
        ),
        "{}",
        c.sql
    );
    assert_eq!(
        pg("strftime('%Y', created) = '2024'").sql,
        "(cairn_strftime($1, \"posts\".\"created\") IS NOT DISTINCT FROM $2)"
    );
    let schema = schema();
    let main = schema.get("posts").expect("posts");
    let mut req = RequestInfo::default();
    req.body.insert("title".into(), json!("t"));
    let mut r = RecordResolver::new(&schema, &main, &req, true);
    r.dialect = Dialect::Postgres;
    let c = compile(
        &parse("@request.body.title:changed = true").expect("parses"),
        &mut r,
        4,
    )
    .expect("compiles");
    assert_eq!(
        c.sql,
        "(($4 IS DISTINCT FROM \"posts\".\"title\") IS NOT DISTINCT FROM $5)"
    );
}

/// No SQLite-only construct survives in PostgreSQL output, whatever the
/// operands: placeholders, functions, `IS`, `COLLATE`.
#[test]
fn no_sqlite_spelling_leaks() {
    let operands = [
        "title",
        "n",
        "tags",
        "tags:each",
        "tags:length",
        "title:lower",
        "meta.a.0",
        "meta.a:length",
        "owner",
        "owner.email",
        "editors.name",
        "editors:length",
        "posts_via_owner.title",
        "@request.auth.id",
        "@collection.posts.title",
        "@collection.users:u.email",
        "'x'",
        "1",
        "true",
        "null",
        "created",
        "strftime('%Y', created)",
        "geoDistance(n, n, 1, 2)",
    ];
    let ops = ["=", "!=", ">", "<=", "~", "!~", "?=", "?!=", "?>", "?~"];
    for a in operands {
        for op in ops {
            for b in ["'x'", "title", "tags", "null"] {
                let filter = format!("{a} {op} {b}");
                let schema = schema();
                let main = schema.get("posts").expect("posts");
                let req = RequestInfo::default();
                let mut r = RecordResolver::new(&schema, &main, &req, true);
                r.dialect = Dialect::Postgres;
                let Ok(c) = compile(&parse(&filter).expect("parses"), &mut r, 1) else {
                    continue;
                };
                let s = &c.sql;
                for bad in [
                    "?1",
                    "json_each",
                    "json_extract(",
                    "instr(",
                    " IS $",
                    " IS NOT $",
                    "COLLATE",
                    "ON 1",
                    ", 0)",
                ] {
                    assert!(!s.contains(bad), "{filter}: {bad} in {s}");
                }
                assert!(!s.contains(" LIKE "), "{filter}: {s}");
                for i in 1..=c.params.len() {
                    assert!(
                        s.contains(&format!("${i}")),
                        "{filter}: ${i} missing in {s}"
                    );
                }
            }
        }
    }
}

#[test]
fn sort_terms_state_null_order() {
    assert_eq!(
        Dialect::Postgres.order_term("x", false),
        "x ASC NULLS FIRST"
    );
    assert_eq!(Dialect::Postgres.order_term("x", true), "x DESC NULLS LAST");
    assert_eq!(Dialect::Sqlite.order_term("x", true), "x DESC");
    let f = crate::store::simple_list::Fields {
        columns: &["id", "level"],
        json: Some("data"),
    };
    let (t, p) = crate::store::simple_list::order_by_in(
        Dialect::Postgres,
        f,
        "-level,data.url,@random,@rowid",
        3,
    )
    .expect("ok");
    assert_eq!(
        t,
        vec![
            "\"level\" DESC NULLS LAST".to_owned(),
            "(jsonb_path_query_first(\"data\"::jsonb, $3::jsonpath) #>> '{}') ASC NULLS FIRST"
                .into(),
            "RANDOM() ASC NULLS FIRST".into(),
            "\"_rowid\" ASC NULLS FIRST".into(),
        ]
    );
    assert_eq!(p, vec![Param::Text("$.url".into())]);
    let c = crate::store::simple_list::compile_filter_in(Dialect::Postgres, f, "level > 2")
        .expect("ok")
        .expect("some");
    assert_eq!(c.sql, "(\"level\" > $1)");
}

#[test]
fn ddl_and_statement_pieces() {
    let schema = schema();
    let posts = schema.get("posts").expect("posts");
    let def = |name: &str| {
        let f = posts.field(name).expect("field");
        (
            Dialect::Sqlite.column_def(f),
            Dialect::Postgres.column_def(f),
        )
    };
    assert_eq!(def("id").1, "TEXT COLLATE \"C\" PRIMARY KEY NOT NULL");
    assert_eq!(def("id").0, "TEXT PRIMARY KEY NOT NULL");
    assert_eq!(def("title").1, "TEXT COLLATE \"C\" DEFAULT '' NOT NULL");
    assert_eq!(def("n").1, "DOUBLE PRECISION DEFAULT 0 NOT NULL");
    assert_eq!(def("tags").1, "JSONB DEFAULT '[]' NOT NULL");
    assert_eq!(def("meta").1, "JSONB DEFAULT NULL");
    assert_eq!(def("owner").0, "TEXT DEFAULT '' NOT NULL");
    assert_eq!(
        Dialect::Postgres.eq_nocase("name", "$1"),
        "lower(name) = lower($1)"
    );
    assert_eq!(
        Dialect::Sqlite.eq_nocase("name", "?1"),
        "name = ?1 COLLATE NOCASE"
    );
    assert_eq!(
        Dialect::Postgres.insert_ignore("t", "a, b", "$1, $2"),
        "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    );
    assert_eq!(
        Dialect::Sqlite.insert_ignore("t", "a", "?1"),
        "INSERT OR IGNORE INTO t (a) VALUES (?1)"
    );
    assert!(Dialect::Sqlite.rowid_column().is_none());
    assert!(
        Dialect::Postgres
            .rowid_column()
            .is_some_and(|c| c.contains("IDENTITY"))
    );
}

#[test]
fn create_table_in_both_dialects() {
    let schema = schema();
    let posts = schema.get("posts").expect("posts");
    let sqlite = crate::store::ddl::create_table_sql(&posts, "posts", Dialect::Sqlite);
    assert!(
        sqlite.starts_with("CREATE TABLE \"posts\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"title\" TEXT DEFAULT '' NOT NULL, \"n\" NUMERIC DEFAULT 0 NOT NULL"),
        "{sqlite}"
    );
    assert!(!sqlite.contains("_rowid"), "{sqlite}");
    let pg = crate::store::ddl::create_table_sql(&posts, "posts", Dialect::Postgres);
    assert!(
        pg.starts_with("CREATE TABLE \"posts\" (\"id\" TEXT COLLATE \"C\" PRIMARY KEY NOT NULL, \"title\" TEXT COLLATE \"C\" DEFAULT '' NOT NULL, \"n\" DOUBLE PRECISION DEFAULT 0 NOT NULL"),
        "{pg}"
    );
    assert!(pg.contains("\"tags\" JSONB DEFAULT '[]' NOT NULL"), "{pg}");
    assert!(
        pg.ends_with(", \"_rowid\" BIGINT GENERATED ALWAYS AS IDENTITY)"),
        "{pg}"
    );
}

#[test]
fn renumbering_shifts_both_placeholder_kinds() {
    use crate::store::records::renumber;
    assert_eq!(
        renumber("a = $1 AND b = '$.x' OR c IN ($2, $10)", 3),
        "a = $4 AND b = '$.x' OR c IN ($5, $13)"
    );
    let c = pg("meta.a = 'x' && title = 'y'");
    let shifted = renumber(&c.sql, 2);
    assert!(
        shifted.contains("$3::jsonpath") && shifted.contains("= $5 AND"),
        "{shifted}"
    );
}

#[test]
fn resolvers_take_the_dialect_of_their_schema() {
    let mut schema = schema();
    schema.dialect = Dialect::Postgres;
    let main = schema.get("posts").expect("posts");
    let req = RequestInfo::default();
    let mut r = RecordResolver::new(&schema, &main, &req, true);
    let c = compile(&parse("title = 'a'").expect("parses"), &mut r, 1).expect("compiles");
    assert_eq!(
        c.sql,
        "(\"posts\".\"title\" = $1 AND \"posts\".\"title\" IS NOT NULL)"
    );
}

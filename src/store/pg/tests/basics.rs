//! The SQL API itself: placeholders, values, and use inside Tokio.

use serde_json::json;

use super::{engines, fresh_pg};
use crate::store::StoreError;
use crate::store::dialect::Dialect;
use crate::store::pg::placeholders;
use crate::store::sql::{Cell, Db, Val};

#[test]
fn placeholders_skip_literals_identifiers_and_comments() {
    assert_eq!(placeholders("SELECT ?1, ?2, ?1"), "SELECT $1, $2, $1");
    assert_eq!(placeholders("SELECT ?, ?"), "SELECT $1, $2");
    assert_eq!(
        placeholders("SELECT '?1', \"a?2\", 'it''s ?3' -- ?4\n, ?5"),
        "SELECT '?1', \"a?2\", 'it''s ?3' -- ?4\n, $5"
    );
    assert_eq!(placeholders("x = ?12 AND y = ?"), "x = $12 AND y = $13");
}

#[test]
fn values_round_trip_with_the_same_types() {
    for db in engines() {
        let d = db.dialect();
        let ddl = match d {
            Dialect::Sqlite => "CREATE TABLE t (n INTEGER, f REAL, s TEXT, b BOOLEAN, j JSON)",
            Dialect::Postgres => {
                "CREATE TABLE t (n BIGINT, f DOUBLE PRECISION, s TEXT, b BOOLEAN, j JSONB)"
            }
        };
        db.batch(ddl).expect("table");
        let sql = "INSERT INTO t (n, f, s, b, j) VALUES (?1, ?2, ?3, ?4, ?5)";
        db.exec(
            sql,
            &[
                Val::Int(i64::MAX),
                Val::Real(1.5),
                Val::Text("naïve ?1 'q'"),
                Val::Int(1),
                Val::Text(r#"{"a":[1,2]}"#),
            ],
        )
        .expect("insert");
        db.exec(sql, &vec![Val::Null; 5]).expect("insert nulls");
        let rows = db
            .rows("SELECT n, f, s, b, j FROM t ORDER BY n DESC", &[], |r| {
                Ok((r.opt_int(0)?, r.opt_text(2)?, r.opt_int(3)?, r.opt_text(4)?))
            })
            .expect("select");
        // Descending: SQLite puts NULLs last, PostgreSQL first (the reason
        // the dialect spells NULLS FIRST/LAST for record sorts).
        let null_row = match d {
            Dialect::Sqlite => rows.last(),
            Dialect::Postgres => rows.first(),
        };
        let full = rows.iter().find(|r| r.0.is_some()).expect("the full row");
        assert_eq!(full.0, Some(i64::MAX), "{d:?}");
        assert_eq!(full.1.as_deref(), Some("naïve ?1 'q'"), "{d:?}");
        assert_eq!(full.2, Some(1), "{d:?}");
        let j: serde_json::Value =
            serde_json::from_str(full.3.as_deref().expect("json")).expect("json");
        assert_eq!(j, json!({"a": [1, 2]}), "{d:?}");
        assert_eq!(null_row.map(|r| r.0), Some(None), "{d:?}");
        let f = db
            .row(
                "SELECT f FROM t WHERE s = ?1 AND n = ?2",
                &[Val::Text("naïve ?1 'q'"), Val::Int(i64::MAX)],
                |r| r.real(0),
            )
            .expect("real");
        assert_eq!(f, Some(1.5), "{d:?}");
        let err = db.exec("INSERT INTO missing VALUES (?1)", &[Val::Int(1)]);
        assert!(
            matches!(err, Err(StoreError::Sqlite(_) | StoreError::Postgres(_))),
            "{d:?}"
        );
    }
}

#[tokio::test]
async fn a_pg_connection_works_from_inside_tokio() {
    // Reads run on request threads, inside the runtime: the blocking
    // facade must neither panic there nor need a runtime of its caller.
    let Some(pg) = fresh_pg() else { return };
    let db: &dyn Db = &pg;
    let n = db
        .row("SELECT ?1 + 1", &[Val::Int(41)], |r| r.int(0))
        .expect("query");
    assert_eq!(n, Some(42));
}

#[test]
fn a_statement_prepared_before_a_schema_change_is_prepared_again() {
    // A reader keeps prepared statements; another connection changes the
    // table's columns (a multiple select becoming single, say). After the
    // schema snapshot that follows every change, the reader's next query
    // is planned anew instead of failing with PostgreSQL's "cached plan
    // must not change result type".
    let Some(url) = super::fresh_pg_url() else {
        return;
    };
    let reader = crate::store::pg::PgConn::connect(&url).expect("reader");
    let writer = crate::store::pg::PgConn::connect(&url).expect("writer");
    writer
        .batch("CREATE TABLE t (id TEXT, tags JSONB); INSERT INTO t VALUES ('a', '[\"x\",\"y\"]')")
        .expect("table");
    let db: &dyn Db = &reader;
    let ids = db.rows("SELECT * FROM t", &[], |r| r.text(0));
    assert_eq!(ids.expect("first read"), vec!["a"]);
    writer
        .batch("ALTER TABLE t ALTER COLUMN tags TYPE TEXT USING tags ->> -1")
        .expect("alter");
    let _snapshot = crate::store::Schema::new(Vec::new());
    let tags = db.rows("SELECT * FROM t", &[], |r| r.text(1));
    assert_eq!(tags.expect("read after the change"), vec!["y"]);
}

#[test]
fn column_origins_and_aggregates_read_alike() {
    for db in engines() {
        let d = db.dialect();
        db.batch("CREATE TABLE src (id TEXT PRIMARY KEY, v INTEGER)")
            .expect("table");
        for (id, v) in [("a", 2), ("b", 3)] {
            db.exec(
                "INSERT INTO src VALUES (?1, ?2)",
                &[Val::Text(id), Val::Int(v)],
            )
            .expect("insert");
        }
        db.batch("CREATE VIEW vw AS SELECT id, v FROM src")
            .expect("view");
        let cols = db
            .column_origins("SELECT s.id AS key, v * 2 AS twice FROM src s")
            .expect("columns");
        assert_eq!(cols[0].name, "key", "{d:?}");
        assert_eq!(cols[0].table.as_deref(), Some("src"), "{d:?}");
        assert_eq!(cols[0].origin.as_deref(), Some("id"), "{d:?}");
        assert_eq!(
            (cols[1].table.as_ref(), cols[1].origin.as_ref()),
            (None, None)
        );
        // A view's column names its source: the view (PostgreSQL) or the
        // table under it (SQLite); both are collections Cairn knows.
        let through = db
            .column_origins("SELECT id FROM vw")
            .expect("view columns");
        assert!(
            matches!(through[0].table.as_deref(), Some("vw" | "src")),
            "{d:?}: {through:?}"
        );
        assert_eq!(
            db.column_names("SELECT id, v AS x FROM src")
                .expect("names"),
            ["id", "x"]
        );
        // PostgreSQL's SUM of integers and AVG are `numeric`: read as numbers.
        let (sum, avg) = db
            .row("SELECT SUM(v), AVG(v) FROM src", &[], |r| {
                let sum = match r.cell(0)? {
                    Cell::Int(n) => n as f64,
                    Cell::Real(f) => f,
                    other => panic!("{other:?}"),
                };
                Ok((sum, r.real(1)?))
            })
            .expect("aggregate")
            .expect("a row");
        assert!((sum - 5.0).abs() < 1e-9, "{d:?}: {sum}");
        assert!((avg - 2.5).abs() < 1e-9, "{d:?}: {avg}");
        let neg = db
            .row("SELECT CAST(-12345.678 AS NUMERIC)", &[], |r| r.real(0))
            .expect("numeric")
            .expect("a row");
        assert!((neg + 12345.678).abs() < 1e-9, "{d:?}: {neg}");
    }
}

/// Each sslmode against the test server's TLS (a certificate for localhost
/// and 127.0.0.1 from a throwaway CA, `scripts/pg-test-server`).
#[test]
fn sslmodes_encrypt_and_verify_as_libpq_does() {
    let (Ok(url), Ok(ca)) = (
        std::env::var("CAIRN_TEST_PG_URL"),
        std::env::var("CAIRN_TEST_PG_CA"),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CAIRN_TEST_PG_URL and CAIRN_TEST_PG_CA must be set under CI=true"
        );
        return;
    };
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .expect("port");
    let at = |host: &str, opts: &str| format!("postgres://postgres@{host}:{port}/postgres?{opts}");
    let encrypted = |u: &str| -> Result<bool, StoreError> {
        let c = super::PgConn::connect(u)?;
        let ssl = (&c as &dyn Db)
            .row(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
                |r| r.bool(0),
            )?
            .unwrap_or(false);
        Ok(ssl)
    };
    let root = format!("sslrootcert={ca}");
    assert!(!encrypted(&at("127.0.0.1", "sslmode=disable")).expect("disable"));
    assert!(encrypted(&at("127.0.0.1", "sslmode=require")).expect("require"));
    assert!(encrypted(&at("127.0.0.1", "")).expect("prefer"));
    for host in ["127.0.0.1", "localhost"] {
        let u = at(host, &format!("sslmode=verify-full&{root}"));
        assert!(encrypted(&u).expect("verify-full"), "{host}");
    }
    // The name the certificate must carry differs from where we connect.
    let renamed = |mode: &str| {
        at(
            "db.invalid",
            &format!("hostaddr=127.0.0.1&sslmode={mode}&{root}"),
        )
    };
    assert!(encrypted(&renamed("verify-ca")).expect("verify-ca ignores the name"));
    assert!(
        encrypted(&renamed("verify-full")).is_err(),
        "verify-full checks the name"
    );
    // Without the CA file the public roots do not know the test CA.
    assert!(encrypted(&at("localhost", "sslmode=verify-full")).is_err());
    assert!(
        encrypted(&at(
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent"
        ))
        .is_err()
    );
}

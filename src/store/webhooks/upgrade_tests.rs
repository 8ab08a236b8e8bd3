//! Dropping `AUTOINCREMENT` keeps delivery ids monotonic: across the
//! rebuild, pruning and endpoint deletes.

use rusqlite::Connection;

use super::*;

/// The table as it was created before the rebuild.
const OLD: &str = "
CREATE TABLE _webhooks (id TEXT PRIMARY KEY NOT NULL, definition JSON NOT NULL, secret TEXT NOT NULL,
    old_secrets JSON NOT NULL DEFAULT '[]', status TEXT NOT NULL DEFAULT 'enabled',
    disabled_reason TEXT NOT NULL DEFAULT '', disabled_at_seq INTEGER, first_failure_at INTEGER,
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE _webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT NOT NULL, event_id TEXT NOT NULL,
    change_seq INTEGER, type TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, schedule_base INTEGER NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL DEFAULT 'scheduled', next_attempt_at INTEGER NOT NULL,
    last_status INTEGER, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    UNIQUE (webhook_id, change_seq));
CREATE INDEX _webhook_deliveries_due ON _webhook_deliveries (webhook_id, state, next_attempt_at);
CREATE TABLE _webhook_attempts (delivery_id INTEGER NOT NULL, n INTEGER NOT NULL,
    trigger TEXT NOT NULL, started INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    status_code INTEGER, error_kind TEXT, response BLOB,
    truncated BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (delivery_id, n));
";

pub(super) fn add(conn: &Connection, webhook: &str, seq: i64) -> i64 {
    insert_delivery(
        conn,
        &NewDelivery {
            webhook_id: webhook,
            event_id: "msg_x",
            change_seq: Some(seq),
            kind: "posts.create",
            body: "{}",
            trigger: "scheduled",
            now: 1,
        },
    )
    .expect("insert")
    .expect("new row")
}

fn endpoint(conn: &Connection, id: &str) {
    insert_endpoint(
        conn,
        &EndpointRow {
            id: id.into(),
            definition: "{}".into(),
            secret: "whsec_x".into(),
            old_secrets: "[]".into(),
            status: "enabled".into(),
            disabled_reason: String::new(),
            disabled_at_seq: None,
            first_failure_at: None,
            created: String::new(),
            updated: String::new(),
        },
    )
    .expect("endpoint");
}

fn listed(conn: &Connection) -> Vec<i64> {
    let q = DeliveryQuery {
        page: 1,
        per_page: 100,
        ..Default::default()
    };
    list_deliveries(conn, &q)
        .expect("list")
        .0
        .iter()
        .map(|d| d.id)
        .collect()
}

#[test]
fn the_rebuild_keeps_rows_and_ids_above_every_id_given() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch(OLD).expect("old tables");
    endpoint(&conn, "w1");
    for seq in 1..=5 {
        add(&conn, "w1", seq);
    }
    // The newest two were deleted: the sequence (5) is above max(id) (3).
    conn.execute("DELETE FROM _webhook_deliveries WHERE id > 3", [])
        .expect("delete");
    record_attempt(&conn, &attempt(2, 1), "pending", 1, 1).expect("attempt");
    create_or_upgrade(&conn).expect("upgrade");
    assert_eq!(
        attempts_of(&conn, 2).expect("attempts").len(),
        1,
        "both tables rebuilt at once, the attempt kept"
    );
    assert_eq!(
        indexes(&conn),
        ["_webhook_deliveries_active", "_webhook_deliveries_failed"]
    );
    let sql = table_sql(&conn, "_webhook_deliveries")
        .expect("sql")
        .expect("table");
    assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
    assert_eq!(
        listed(&conn),
        vec![3, 2, 1],
        "rows kept, the placeholder not listed"
    );
    assert_eq!(add(&conn, "w1", 6), 6, "above every id given before");
    assert!(
        claim(&conn, "w1", 10, 10).expect("claim").len() == 4,
        "the index works"
    );
    // Idempotent: a second start changes nothing.
    create_or_upgrade(&conn).expect("again");
    assert_eq!(add(&conn, "w1", 7), 7);
}

#[test]
fn pruning_and_deleting_endpoints_never_lower_the_next_id() {
    let conn = Connection::open_in_memory().expect("db");
    create_or_upgrade(&conn).expect("tables");
    endpoint(&conn, "w1");
    endpoint(&conn, "w2");
    add(&conn, "w2", 1);
    let last = add(&conn, "w1", 2);
    conn.execute("UPDATE _webhook_deliveries SET state = 'succeeded'", [])
        .expect("finish");
    assert_eq!(
        prune(&conn, i64::MAX).expect("prune"),
        1,
        "all but the highest id"
    );
    assert!(delete_endpoint(&conn, "w1").expect("delete"));
    assert!(listed(&conn).is_empty());
    assert_eq!(add(&conn, "w2", 3), last + 1);
}

/// The tables as sessions before 19 made them: the full due index and an
/// attempt log with a rowid.
const ROWID_ATTEMPTS: &str = "
CREATE TABLE _webhooks (id TEXT PRIMARY KEY NOT NULL, definition JSON NOT NULL, secret TEXT NOT NULL,
    old_secrets JSON NOT NULL DEFAULT '[]', status TEXT NOT NULL DEFAULT 'enabled',
    disabled_reason TEXT NOT NULL DEFAULT '', disabled_at_seq INTEGER, first_failure_at INTEGER,
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE _webhook_deliveries (
    id INTEGER PRIMARY KEY, webhook_id TEXT NOT NULL, event_id TEXT NOT NULL,
    change_seq INTEGER, type TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, schedule_base INTEGER NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL DEFAULT 'scheduled', next_attempt_at INTEGER NOT NULL,
    last_status INTEGER, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    UNIQUE (webhook_id, change_seq));
CREATE INDEX _webhook_deliveries_due ON _webhook_deliveries (webhook_id, state, next_attempt_at);
CREATE TABLE _webhook_attempts (delivery_id INTEGER NOT NULL, n INTEGER NOT NULL,
    trigger TEXT NOT NULL, started INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    status_code INTEGER, error_kind TEXT, response BLOB,
    truncated BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (delivery_id, n));
";

fn attempt(delivery_id: i64, n: i64) -> Attempt {
    Attempt {
        delivery_id,
        n,
        trigger: "scheduled".into(),
        started: 5,
        duration_ms: 2,
        status_code: Some(500),
        error_kind: Some("http".into()),
        response: b"nope".to_vec(),
        truncated: false,
    }
}

/// The delivery table's own indexes (not its automatic unique one).
fn indexes(conn: &Connection) -> Vec<String> {
    conn.prepare(
        "SELECT name FROM sqlite_master
         WHERE type = 'index' AND name LIKE '_webhook_deliveries_%' ORDER BY name",
    )
    .expect("indexes")
    .query_map([], |r| r.get(0))
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("names")
}

fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("plan");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("plan rows");
    rows.join("; ")
}

/// The attempt log is rebuilt without a rowid, its rows kept; the full
/// due index gives way to the partial ones, which the dispatcher's and
/// the recovery's queries use.
#[test]
fn the_attempt_log_and_the_indexes_are_rebuilt_with_rows_kept() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch(ROWID_ATTEMPTS).expect("old tables");
    endpoint(&conn, "w1");
    let (a, b) = (add(&conn, "w1", 1), add(&conn, "w1", 2));
    record_attempt(&conn, &attempt(a, 1), "failed", 1, 1).expect("attempt");
    record_attempt(&conn, &attempt(b, 1), "pending", 1, 1).expect("attempt");
    create_or_upgrade(&conn).expect("upgrade");
    let sql = table_sql(&conn, "_webhook_attempts")
        .expect("sql")
        .expect("table");
    assert!(sql.to_ascii_uppercase().contains("WITHOUT ROWID"), "{sql}");
    let kept = attempts_of(&conn, a).expect("attempts");
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].n, kept[0].response.as_slice()), (1, &b"nope"[..]));
    // The upsert still finds its row by key.
    let mut again = attempt(a, 1);
    again.status_code = Some(200);
    record_attempt(&conn, &again, "succeeded", 1, 1).expect("again");
    assert_eq!(
        attempts_of(&conn, a).expect("attempts")[0].status_code,
        Some(200)
    );
    assert_eq!(
        indexes(&conn),
        ["_webhook_deliveries_active", "_webhook_deliveries_failed"]
    );
    assert!(
        plan(
            &conn,
            &claim_sql(4).replace("?1", "'w1'").replace("?2", "9")
        )
        .contains("_webhook_deliveries_active")
    );
    assert_eq!(
        claim(&conn, "w1", 9, 4).expect("claim").len(),
        1,
        "the pending one"
    );
    conn.execute(
        "UPDATE _webhook_deliveries SET state = 'failed' WHERE id = ?1",
        [b],
    )
    .expect("dead letter");
    assert_eq!(failed_since(&conn, "w1", 0).expect("failed"), vec![b]);
    assert_eq!(oldest_unfinished_seq(&conn, "w1").expect("oldest"), Some(2));
    // Idempotent: a second start changes nothing.
    create_or_upgrade(&conn).expect("again");
    assert_eq!(attempts_of(&conn, b).expect("attempts").len(), 1);
}

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
    create_or_upgrade(&conn).expect("upgrade");
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = '_webhook_deliveries'",
            [],
            |r| r.get(0),
        )
        .expect("sql");
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

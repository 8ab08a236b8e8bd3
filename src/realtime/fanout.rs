//! The fan-out task: tails `_changes` in `seq` order and delivers each
//! committed change to every matching subscription the subscriber may see.
//!
//! - Only committed changes exist in the log, so a rolled-back write never
//!   reaches anyone, and each change is handled once, in commit order.
//! - Rules run against the change's snapshot (`store::changes`), with the
//!   subscriber's auth and the subscription's `options.query`/`headers`.
//!   Subscribers whose compiled rule is identical (same text and values —
//!   all guests, all superusers, every connection of one user) share one
//!   query per event; public rules (`""`) need none.
//! - A payload is built and serialised once per subscription string and
//!   visibility (superuser / owner / others), not once per connection.
//! - A subscriber whose queue is full is disconnected (it can resume);
//!   nobody else waits for it.
//! - Resume (Cairn): a subscription with `options.query.resume = SEQ` first
//!   gets every retained change after SEQ, then live ones; if the log no
//!   longer reaches back that far it gets one `{"action":"reset"}` event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::subscription::{Sub, Target};
use super::{Client, Message};
use crate::app::App;
use crate::schema::{Access, Collection, RuleKind, datetime};
use crate::service::records::field_rules::FieldReads;
use crate::service::records::{Shape, to_public_with};
use crate::service::{Actor, rules};
use crate::store::changes::{self, Change, Pos, Seen};
use crate::store::realtime_clients;
use crate::store::records::{self, Where};

/// Work for the fan-out task besides new changes.
pub enum Command {
    /// Replay retained changes after `sub.resume` to one subscription.
    Resume { client: Arc<Client>, sub: Sub },
}

/// Replaces a client's subscriptions (`Broker::set_subscriptions`) and
/// queues the replay of those that ask to resume.
pub fn subscribe(
    app: &App,
    client: &Arc<Client>,
    actor: &Actor,
    subs: Vec<String>,
) -> Result<(), super::SetError> {
    // Changes committed before this request are not news to it, however
    // far the fan-out has got with them.
    let now = match app.store.is_postgres() {
        false => Some(Seen::At(Pos::Seq(*app.store.changes().borrow()))),
        true => app.store.read(changes::now).ok(),
    };
    subscribe_from(app, client, actor, subs, now)
}

/// `subscribe`, with new subscriptions live after `now` (the fan-out's own
/// position, for requests it applies itself: `remote.rs`).
pub fn subscribe_from(
    app: &App,
    client: &Arc<Client>,
    actor: &Actor,
    subs: Vec<String>,
    now: Option<Seen>,
) -> Result<(), super::SetError> {
    for sub in app.broker.set_subscriptions(&client.id, actor, subs, now)? {
        let client = Arc::clone(client);
        let _ = app.fanout.send(Command::Resume { client, sub });
    }
    Ok(())
}

/// Changes read per batch.
const BATCH: i64 = 256;
/// How often the change log is trimmed to its retention.
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Runs the fan-out loop on its own thread until the store shuts down.
pub fn start(app: Arc<App>, commands: mpsc::UnboundedReceiver<Command>) {
    let rt = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new()
        .name("cairn-fanout".into())
        .spawn(move || run(&app, &rt, commands));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "realtime fan-out thread failed to start");
    }
}

fn run(
    app: &Arc<App>,
    rt: &tokio::runtime::Handle,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut wake = app.store.wakeups();
    wake.borrow_and_update();
    let mut cursor = head(app);
    let mut applied = HashMap::new();
    let mut last_trim = Instant::now();
    loop {
        catch_up(app, rt, &mut cursor, &mut applied);
        if last_trim.elapsed() >= TRIM_EVERY {
            if app.store.leads() {
                trim(app, rt);
            }
            last_trim = Instant::now();
        }
        let next = rt.block_on(async {
            tokio::select! {
                biased;
                cmd = commands.recv() => cmd.map(Some),
                changed = wake.changed() => changed.ok().map(|()| None),
                // No timer here: a timer polled while the runtime shuts
                // down panics this thread. Trimming waits for the next
                // wake-up (a commit, or PostgreSQL's poll).
            }
        });
        match next {
            None => return,
            Some(Some(Command::Resume { client, sub })) => {
                // Changes committed since the last pass go out first, so
                // the resume point is compared with what has committed
                // (a stale cursor would answer a valid position `reset`).
                catch_up(app, rt, &mut cursor, &mut applied);
                resume(app, &client, sub, cursor.pos)
            }
            Some(None) => {}
        }
    }
}

/// Where the fan-out stands: its position in the feed, and the highest
/// `seq` it has passed (`changes::next`).
struct Cursor {
    pos: Pos,
    top: i64,
}

/// Where the feed ends now. SQLite's is the writer's last seq (no query
/// on every commit while nobody listens).
fn head(app: &App) -> Cursor {
    if !app.store.is_postgres() {
        let seq = *app.store.changes().borrow();
        return Cursor {
            pos: Pos::Seq(seq),
            top: seq,
        };
    }
    // The highest seq is read after the horizon: it covers every change
    // below it.
    let read = app.store.read(|db| {
        let pos = changes::head(db)?;
        Ok(Cursor {
            pos,
            top: changes::last_seq(db)?,
        })
    });
    read.unwrap_or_else(|e| {
        tracing::error!(error = %e, "realtime: reading the change feed's end failed");
        Cursor {
            pos: Pos::Span {
                lo: 0,
                hi: 0,
                seq: 0,
            },
            top: 0,
        }
    })
}

/// Delivers every change committed after `cursor` to the live
/// subscribers, moving `cursor` (and `fanned_out`) along.
fn catch_up(
    app: &App,
    rt: &tokio::runtime::Handle,
    cursor: &mut Cursor,
    applied: &mut HashMap<String, i64>,
) {
    // Nobody connected: nothing to deliver, so skip reading the log (a
    // client that connects later and resumes reads it itself).
    if app.broker.is_empty() {
        *cursor = head(app);
        app.fanned_out.send_replace(cursor.pos.mark());
    }
    while !app.broker.is_empty() {
        let schema = app.store.schema();
        // Subscription requests other nodes took for this node's clients,
        // read after the horizon: each is in force before any change that
        // committed after it.
        let (mut requests, mut left) = (Vec::new(), Vec::new());
        let node = app.broker.node();
        let read = app.store.read(|conn| {
            changes::next(
                conn,
                &schema,
                cursor.pos,
                &mut cursor.top,
                BATCH,
                &mut |db| {
                    requests = realtime_clients::pending(db, node)?;
                    left = realtime_clients::messages(db, node)?;
                    Ok(())
                },
            )
        });
        let (batch, next) = match read {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "realtime: reading the change log failed");
                break;
            }
        };
        super::remote::apply(app, applied, requests, cursor.pos);
        super::remote::hand_out(app, rt, left);
        if batch.is_empty() && next == cursor.pos {
            break;
        }
        for ch in &batch {
            deliver(app, ch, None);
        }
        cursor.pos = next;
        app.fanned_out.send_replace(cursor.pos.mark());
    }
}

fn trim(app: &App, rt: &tokio::runtime::Handle) {
    let hours = app.config.changes_retention_hours;
    let rows = app.config.changes_retention_rows;
    let before = time::OffsetDateTime::now_utc() - time::Duration::hours(hours as i64);
    let before = datetime::format(before);
    let res = rt.block_on(
        app.store
            .write(move |ctx| changes::trim(ctx.conn, &before, rows as i64)),
    );
    if let Err(e) = res {
        tracing::warn!(error = %e, "realtime: trimming the change log failed");
    }
}

/// Replays what a resumed subscription missed up to `cursor`, then makes
/// it live; a position the log cannot serve gets one `reset` event.
fn resume(app: &App, client: &Arc<Client>, sub: Sub, cursor: Pos) {
    let pg = app.store.is_postgres();
    let token = sub.resume.as_deref().and_then(|t| Pos::parse(t, pg));
    let ok = token.filter(|&t| {
        app.store
            .read(|conn| changes::reachable(conn, t, cursor))
            .unwrap_or(false)
    });
    let Some(token) = ok else {
        let data = json!({"action": "reset", "seq": cursor.token()}).to_string();
        send(app, client, Arc::from(sub.raw.as_str()), Arc::from(data));
        client.set_live(&sub.raw, None);
        return;
    };
    let page = |f: &dyn Fn(&dyn crate::store::sql::Db) -> Result<Vec<Change>, _>| {
        app.store.read(|conn| f(conn)).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "realtime: replaying the change log failed");
            Vec::new()
        })
    };
    match (token, cursor) {
        (Pos::Seq(since), Pos::Seq(end)) => {
            let mut from = since;
            while from < end {
                let schema = app.store.schema();
                let batch = page(&|conn| changes::after(conn, &schema, from, BATCH));
                for ch in batch.iter().take_while(|ch| ch.seq <= end) {
                    deliver(app, ch, Some((client, &sub)));
                }
                match batch.last() {
                    Some(c) if batch.len() as i64 == BATCH => from = c.seq,
                    _ => break,
                }
            }
        }
        _ => {
            for (lo, hi, mut after) in changes::replay_spans(token, cursor) {
                loop {
                    let schema = app.store.schema();
                    let batch = page(&|conn| changes::span(conn, &schema, lo, hi, after, BATCH));
                    for ch in &batch {
                        deliver(app, ch, Some((client, &sub)));
                    }
                    match batch.last() {
                        Some(c) if batch.len() as i64 == BATCH => after = c.seq,
                        _ => break,
                    }
                }
            }
        }
    }
    client.set_live(&sub.raw, Some(token));
}

/// One subscription that may receive a change.
struct Target_ {
    client: Arc<Client>,
    actor: Arc<Actor>,
    sub: Arc<Sub>,
}

fn matches(sub: &Sub, c: &Collection, ch: &Change) -> bool {
    let Some(coll) = &sub.collection else {
        return false;
    };
    // Topics are case-sensitive, like PocketBase's.
    (*coll == c.name || *coll == c.id)
        && match &sub.target {
            Target::All => true,
            Target::One(id) => *id == ch.record_id,
        }
}

/// Delivers one change to every live matching subscription, or only to
/// `only` (a replay).
fn deliver(app: &App, ch: &Change, only: Option<(&Arc<Client>, &Sub)>) {
    let schema = app.store.schema();
    let Some(c) = schema.get(&ch.collection_id) else {
        return;
    };
    if c.is_auth() && only.is_none() && app.broker.is_bound_to(&c.id, &ch.record_id) {
        // Clients signed in as this record see its new values, or become
        // guests when it was deleted or its tokens were revoked. The log
        // holds no token keys, so the live row tells (it is at least as new
        // as this change).
        match app.store.read(|conn| records::get(conn, &c, &ch.record_id)) {
            Ok(now) => app.broker.auth_changed(&c.id, &ch.record_id, now.as_ref()),
            Err(e) => tracing::warn!(error = %e, "realtime: reading an auth record failed"),
        }
    }
    // The candidates: every connected client's subscriptions, or the one
    // being replayed. Both pass the same topic and seq check below, and the
    // same rule checks after it: a replay delivers exactly what live
    // delivery would have.
    let candidates: Vec<(Arc<Client>, Arc<Actor>, Arc<Sub>)> = match only {
        Some((client, sub)) => {
            let (actor, _) = client.snapshot();
            vec![(Arc::clone(client), actor, Arc::new(sub.clone()))]
        }
        None => app
            .broker
            .clients()
            .into_iter()
            .flat_map(|client| {
                let (actor, subs) = client.snapshot();
                subs.into_iter()
                    .map(move |sub| (Arc::clone(&client), actor.clone(), sub))
            })
            .collect(),
    };
    let targets: Vec<Target_> = candidates
        .into_iter()
        .filter(|(_, _, sub)| {
            only.is_some() || (sub.live && !sub.seen.as_ref().is_some_and(|p| p.covers(ch)))
        })
        .filter(|(_, _, sub)| matches(sub, &c, ch))
        .map(|(client, actor, sub)| Target_ { client, actor, sub })
        .collect();
    if targets.is_empty() {
        return;
    }
    // Access: one query per distinct compiled rule.
    let checks: Vec<Option<Option<Where>>> = targets
        .iter()
        .map(|t| access(&app.store, &schema, &c, t))
        .collect();
    let manages: Vec<Option<Option<Where>>> = targets
        .iter()
        .map(|t| manage(&app.store, &schema, &c, ch, t))
        .collect();
    let mut verdicts: HashMap<String, bool> = HashMap::new();
    let evaluated = app.store.read(|conn| {
        for w in checks.iter().chain(&manages).flatten().flatten() {
            let key = format!("{}\u{1}{:?}", w.sql, w.params);
            if let std::collections::hash_map::Entry::Vacant(e) = verdicts.entry(key) {
                e.insert(changes::snapshot_matches(conn, &c, &ch.snapshot, w)?);
            }
        }
        Ok::<_, crate::store::StoreError>(())
    });
    if let Err(e) = evaluated {
        tracing::warn!(error = %e, "realtime: rule evaluation failed");
        return;
    }
    // (event name, data) per subscription string and visibility class.
    type Shared = (Arc<str>, Option<Arc<str>>);
    let mut payloads: HashMap<(String, String), Shared> = HashMap::new();
    let verdict = |check: &Option<Option<Where>>| match check {
        None => false,
        Some(None) => true,
        Some(Some(w)) => verdicts
            .get(&format!("{}\u{1}{:?}", w.sql, w.params))
            .copied()
            .unwrap_or(false),
    };
    for ((t, check), manage) in targets.iter().zip(&checks).zip(&manages) {
        if !verdict(check) {
            continue;
        }
        let manager = verdict(manage);
        let key = (t.sub.raw.clone(), view_key(&c, ch, t, manager));
        let (name, data) = payloads
            .entry(key)
            .or_insert_with(|| {
                let data = payload(app, &c, ch, t, manager).map(Arc::from);
                (Arc::from(t.sub.raw.as_str()), data)
            })
            .clone();
        if let Some(data) = data {
            send(app, &t.client, name, data);
        }
    }
}

/// The `@request` a subscriber's rules see (`context` = `realtime`).
fn request(store: &crate::store::Store, t: &Target_) -> crate::filter::ast::RequestInfo {
    let mut req = rules::request_info(
        store,
        &t.actor,
        "GET",
        t.sub.query.clone(),
        t.sub.headers.clone(),
    );
    req.context = "realtime".into();
    req
}

/// `None`: denied; `Some(None)`: allowed outright; `Some(Some(w))`: allowed
/// if the snapshot satisfies `w`.
fn access(
    store: &crate::store::Store,
    schema: &crate::store::Schema,
    c: &Collection,
    t: &Target_,
) -> Option<Option<Where>> {
    let req = request(store, t);
    let kind = match t.sub.target {
        Target::All => RuleKind::List,
        Target::One(_) => RuleKind::View,
    };
    let mut parts = Vec::new();
    if !t.actor.is_superuser() {
        match c.rule(kind) {
            Access::Superusers => return None,
            Access::Anyone => {}
            Access::Rule(text) => parts.push(rules::rule(schema, c, text, &req, 1)),
        }
    }
    let filter = t.sub.q("filter");
    if !filter.trim().is_empty() {
        let next = parts.iter().map(|w: &Where| w.params.len()).sum::<usize>() + 1;
        // Fields with read rules are filterable where the rule holds for
        // the subscriber's request, as in lists.
        let reads = FieldReads::prepare(store, schema, c, &t.actor, &req).ok()?;
        parts.push(rules::filter(schema, c, filter, &t.actor, &req, next, reads.open()).ok()?);
    }
    Some(Where::all(parts))
}

/// Whether a subscriber manages an auth record (its `manageRule`), which
/// shows them the email; same encoding as `access`.
fn manage(
    store: &crate::store::Store,
    schema: &crate::store::Schema,
    c: &Collection,
    ch: &Change,
    t: &Target_,
) -> Option<Option<Where>> {
    let id = t.actor.identity()?;
    if !c.is_auth()
        || t.actor.is_superuser()
        || (id.collection.id == c.id && id.id() == ch.record_id)
    {
        return None;
    }
    match c.auth_rule("manageRule") {
        Access::Superusers => None,
        Access::Anyone => Some(None),
        Access::Rule(text) => Some(Some(rules::rule(schema, c, &text, &request(store, t), 1))),
    }
}

/// Who sees the same payload: superusers, the record's owner or managers
/// (auth collections show them the email), everyone else — or, when
/// relations are expanded (their view rules depend on the caller), each
/// identity.
fn view_key(c: &Collection, ch: &Change, t: &Target_, manager: bool) -> String {
    let id = t.actor.identity();
    if t.actor.is_superuser() {
        return "su".into();
    }
    // Expanded relations and field read rules depend on the caller.
    if !t.sub.q("expand").is_empty() || c.fields.iter().any(|f| f.read_rule.is_some()) {
        return id.map_or("guest".into(), |i| {
            format!("{}/{}", i.collection.id, i.id())
        });
    }
    let owner = id.is_some_and(|i| i.collection.id == c.id && i.id() == ch.record_id);
    if c.is_auth() && (owner || manager) {
        "owner".into()
    } else {
        "others".into()
    }
}

/// The serialised `{action, record}` (plus `seq` for resumable feeds).
fn payload(app: &App, c: &Collection, ch: &Change, t: &Target_, manager: bool) -> Option<String> {
    let req = request(&app.store, t);
    let mut record = to_public_with(c, &ch.snapshot, &t.actor, manager);
    if c.fields.iter().any(|f| f.read_rule.is_some()) {
        let reads = FieldReads::prepare(&app.store, &app.store.schema(), c, &t.actor, &req).ok()?;
        app.store
            .read(|conn| reads.hide_snapshot(conn, c, &ch.snapshot, &mut record))
            .ok()?;
    }
    let shape = Shape {
        expand: t.sub.q("expand").to_owned(),
        fields: t.sub.q("fields").to_owned(),
    };
    let record = shape
        .apply_one(&app.store, c, record, &t.actor, &req)
        .ok()?;
    // PocketBase's byte order: `record` first, then `action` (+ Cairn's `seq`).
    let seq = match t.sub.resume {
        Some(_) => format!(",\"seq\":{}", ch.pos.token()),
        None => String::new(),
    };
    Some(format!(
        "{{\"record\":{},\"action\":{}{seq}}}",
        record,
        Value::String(ch.action.clone())
    ))
}

fn send(app: &App, client: &Arc<Client>, name: Arc<str>, data: Arc<str>) {
    let ok = client.send(Message { name, data });
    if !ok && app.broker.get(&client.id).is_some() {
        tracing::warn!(client = %client.id, "realtime client too slow; disconnected");
        app.broker.disconnect(&client.id);
    }
}

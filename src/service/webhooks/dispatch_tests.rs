//! The dispatcher: its thread priority, outcome batching and retry delays.

use super::*;

/// The calling thread's nice value as the kernel reports it.
fn nice_here() -> i32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .collect();
    // Field 19 of stat(5); the split starts at field 3.
    fields[16].parse().expect("nice")
}

#[test]
fn the_dispatcher_thread_lowers_only_its_own_priority() {
    let main = nice_here();
    let (before, after, unchanged) = std::thread::spawn(|| {
        let before = nice_here();
        lower_priority(5);
        let after = nice_here();
        lower_priority(0);
        (before, after, nice_here())
    })
    .join()
    .expect("thread");
    assert_eq!(after, (before + 5).min(19));
    assert_eq!(unchanged, after, "0 leaves the priority as it is");
    assert_eq!(nice_here(), main, "other threads keep theirs");
}

fn done(webhook: &str) -> Done {
    Done {
        d: Claimed {
            id: 1,
            webhook_id: webhook.into(),
            event_id: "msg_x".into(),
            change_seq: None,
            body: "{}".into(),
            attempts: 0,
            schedule_base: 0,
            trigger: "scheduled".into(),
        },
        r: Result_ {
            started: 0,
            duration_ms: 1,
            status: Some(200),
            error_kind: None,
            response: Vec::new(),
            truncated: false,
            retry_after: None,
        },
    }
}

/// Outcomes wait for the endpoint's other sends, not longer than it
/// has slots, the dispatcher has slots, or `FLUSH_AFTER`.
#[test]
fn outcomes_are_written_together_without_holding_up_sends() {
    let mut held = Held::default();
    held.slots.insert("a".into(), 4);
    held.slots.insert("b".into(), 1);
    held.total = 5;
    assert!(!held.flush_due(32), "nothing to write");
    held.push_done(done("a"));
    assert!(!held.flush_due(32), "three of a's sends still run");
    assert!(held.flush_due(5), "the dispatcher is out of slots");
    held.push_done(done("a"));
    held.push_done(done("a"));
    assert!(!held.flush_due(32));
    held.push_done(done("a"));
    assert!(held.flush_due(32), "a has nothing left running");
    let mut held = Held::default();
    held.slots.insert("a".into(), 2);
    held.total = 2;
    held.push_done(done("a"));
    assert!(!held.flush_due(32));
    held.since = Some(Instant::now() - FLUSH_AFTER);
    assert!(held.flush_due(32), "waited long enough");
    let mut held = Held::default();
    held.slots.insert("a".into(), 4);
    held.total = 4;
    held.push_done(done("a"));
    assert!(!held.flush_due(32), "an idle queue waits for company");
    held.queued
        .entry("b".into())
        .or_default()
        .push_back(done("b").d);
    assert!(!held.flush_due(32), "b's queue waits for b's slots");
    held.queued
        .entry("a".into())
        .or_default()
        .push_back(done("a").d);
    assert!(!held.flush_due(32), "three of a's four sends still run");
    held.push_done(done("a"));
    assert!(
        !held.flush_due(32),
        "a row waits, and two of a's sends still run: one write for the round"
    );
    held.push_done(done("a"));
    held.push_done(done("a"));
    assert!(held.flush_due(32), "a's round is done");
}

#[test]
fn delays_follow_schedule_jitter_and_retry_after() {
    let mut cfg = super::super::config::WebhooksConfig {
        retry_schedule: vec![0, 1000, 2000],
        jitter: 0.0,
        retry_after_cap_ms: 5000,
        ..Default::default()
    };
    assert_eq!(next_delay(&cfg, 1, None), 1000);
    assert_eq!(next_delay(&cfg, 1, Some(Duration::from_secs(3))), 3000);
    assert_eq!(next_delay(&cfg, 1, Some(Duration::from_secs(60))), 5000);
    cfg.jitter = 0.2;
    for _ in 0..100 {
        let d = next_delay(&cfg, 2, None);
        assert!((1600..=2400).contains(&d), "{d}");
    }
}

//! Password hashing: argon2id for new hashes, bcrypt accepted for hashes
//! imported from PocketBase (and replaced at the next login).
//!
//! Hashing is CPU- and memory-bound, so at most one hash per core runs at
//! a time (a semaphore in front of the blocking pool): extra logins wait
//! instead of each allocating argon2's memory at once.
//!
//! A password field's `cost` option is PocketBase's bcrypt cost (4-31, 0 =
//! the default 10). [`params_for_cost`] maps it to argon2id parameters that
//! take the same CPU time as bcrypt at that cost (measured, docs/auth.md),
//! so an import that lowers the cost is as cheap as in PocketBase and the
//! default is as expensive. Stored PHC strings carry their parameters, so
//! every hash keeps verifying whatever the field's cost is now.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use super::Error;
use crate::schema::{Collection, FieldKind};

/// Memory (KiB), passes and lanes of argon2id. Chosen so that one password
/// check costs about what PocketBase's bcrypt (cost 10) check costs on the
/// same machine: ~70 ms here (docs/auth.md has the measurement), with only
/// 19 MiB per hash in flight.
pub const ARGON2_PARAMS: (u32, u32, u32) = (19_456, 6, 1);

/// argon2id `(memory KiB, passes)` for bcrypt costs 4 to 10, each of about
/// the same CPU time as bcrypt at that cost (docs/auth.md has the table and
/// the measurement). Above 10 the passes double per step, as bcrypt's time
/// does, and the memory stays at 19 MiB.
const BY_COST: [(u32, u32); 7] = [
    (608, 6),    // 4: ~1 ms
    (1_216, 6),  // 5: ~2 ms
    (2_432, 6),  // 6: ~4 ms
    (4_864, 5),  // 7: ~8 ms
    (9_728, 4),  // 8: ~16 ms
    (19_456, 3), // 9: ~30 ms
    (19_456, 6), // 10 (the default): ~60 ms
];

/// argon2id parameters for a password field's `cost` (PocketBase's bcrypt
/// cost; 0, or anything outside 4-31, means the default 10).
pub fn params_for_cost(cost: i64) -> (u32, u32, u32) {
    let c = if (4..=31).contains(&cost) { cost } else { 10 };
    if c <= 10 {
        let (m, t) = BY_COST[(c - 4) as usize];
        return (m, t, 1);
    }
    let (m, t, p) = ARGON2_PARAMS;
    (m, t << (c - 10), p)
}

fn argon2_with((m, t, p): (u32, u32, u32)) -> Argon2<'static> {
    let params = argon2::Params::new(m, t, p, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn argon2() -> Argon2<'static> {
    argon2_with(ARGON2_PARAMS)
}

/// The `cost` of a collection's `password` field (0 = the default).
pub fn password_cost(c: &Collection) -> i64 {
    match c.field("password").map(|f| &f.kind) {
        Some(FieldKind::Password(o)) => o.cost,
        _ => 0,
    }
}

fn permits() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores)
    })
}

/// Runs a hashing job on the blocking pool, one per core at most.
async fn limited<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Hashes a password with argon2id at the default cost.
pub async fn hash_password(plain: String) -> Result<String, Error> {
    hash_password_cost(plain, 0).await
}

/// Hashes a password with argon2id at a password field's `cost`.
pub async fn hash_password_cost(plain: String, cost: i64) -> Result<String, Error> {
    limited(move || hash_password_now_cost(&plain, cost)).await?
}

/// Hashes on the calling thread (migrations and plugin workers, which are
/// not async tasks) at the default cost.
pub fn hash_password_now(plain: &str) -> Result<String, Error> {
    hash_password_now_cost(plain, 0)
}

/// Hashes on the calling thread at a password field's `cost`.
fn hash_password_now_cost(plain: &str, cost: i64) -> Result<String, Error> {
    argon2_with(params_for_cost(cost))
        .hash_password(plain.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hash: {e}")))
}

/// Is `s` a password hash Cairn can verify (argon2id PHC or bcrypt)?
pub fn is_password_hash(s: &str) -> bool {
    is_bcrypt(s) || PasswordHash::new(s).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
}

fn is_bcrypt(s: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p))
}

/// The outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but stored as bcrypt (imported from PocketBase) or with old
    /// argon2 parameters: rehash it now.
    YesRehash,
}

/// A hash of a random password with the parameters of `cost`, so checking
/// an unknown identity costs exactly what checking a known one costs.
fn dummy(cost: i64) -> String {
    type Dummies = Mutex<HashMap<(u32, u32, u32), String>>;
    static D: OnceLock<Dummies> = OnceLock::new();
    let params = params_for_cost(cost);
    let cache = D.get_or_init(Mutex::default);
    if let Some(h) = cache.lock().ok().and_then(|m| m.get(&params).cloned()) {
        return h;
    }
    let h = argon2_with(params)
        .hash_password(crate::schema::names::random_secret(32).as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default();
    if let Ok(mut m) = cache.lock() {
        m.insert(params, h.clone());
    }
    h
}

/// Verifies a password against a stored hash (argon2id or bcrypt) at the
/// default cost; see [`verify_password_cost`].
pub async fn verify_password(plain: String, hash: Option<String>) -> Verified {
    verify_password_cost(plain, hash, 0).await
}

/// Verifies a password against a stored hash (argon2id or bcrypt).
/// Unknown identities (`None`) verify against a dummy hash of the field's
/// `cost` so timing does not tell whether an account exists. A correct
/// password stored as bcrypt or with less work than `cost` asks for a rehash.
pub async fn verify_password_cost(plain: String, hash: Option<String>, cost: i64) -> Verified {
    limited(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy(cost));
        if is_bcrypt(&stored) {
            let ok = bcrypt::verify(plain.as_bytes(), &stored).unwrap_or(false);
            return if ok && known {
                Verified::YesRehash
            } else {
                Verified::No
            };
        }
        let Ok(h) = PasswordHash::new(&stored) else {
            return Verified::No;
        };
        if !(argon2().verify_password(plain.as_bytes(), &h).is_ok() && known) {
            return Verified::No;
        }
        // Rehash only upwards: a hash at least as strong as the field's cost
        // asks for is kept (lowering `cost` never weakens stored hashes).
        let (m, t, p) = params_for_cost(cost);
        let work = |m: u32, t: u32, p: u32| u64::from(m) * u64::from(t) * u64::from(p);
        let current = argon2::Params::try_from(&h)
            .is_ok_and(|x| work(x.m_cost(), x.t_cost(), x.p_cost()) >= work(m, t, p));
        if current {
            Verified::Yes
        } else {
            Verified::YesRehash
        }
    })
    .await
    .unwrap_or(Verified::No)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2_and_bcrypt() {
        let h = hash_password("s3cret-pass".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=6,p=1$"));
        assert!(is_password_hash(&h));
        assert_eq!(
            verify_password("s3cret-pass".into(), Some(h.clone())).await,
            Verified::Yes
        );
        assert_eq!(verify_password("wrong".into(), Some(h)).await, Verified::No);
        assert_eq!(
            verify_password("s3cret-pass".into(), None).await,
            Verified::No
        );
        // A PocketBase-style bcrypt hash verifies and asks for a rehash.
        let b = bcrypt::hash("s3cret-pass", 4).expect("bcrypt");
        assert!(is_password_hash(&b));
        assert_eq!(
            verify_password("s3cret-pass".into(), Some(b.clone())).await,
            Verified::YesRehash
        );
        assert_eq!(verify_password("nope".into(), Some(b)).await, Verified::No);
        // Old argon2 parameters also ask for a rehash.
        let old = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4BpJ7Q/6bHqRWs2QDbC4ouZKZx6D8TWh8oMzu0lQbH0";
        assert!(is_password_hash(old));
        assert!(!is_password_hash("plain text"));
    }

    #[test]
    fn cost_table() {
        assert_eq!(params_for_cost(0), ARGON2_PARAMS);
        assert_eq!(params_for_cost(10), ARGON2_PARAMS);
        assert_eq!(params_for_cost(4), (608, 6, 1));
        assert_eq!(params_for_cost(9), (19_456, 3, 1));
        assert_eq!(params_for_cost(11), (19_456, 12, 1));
        assert_eq!(params_for_cost(12), (19_456, 24, 1));
        // Outside bcrypt's range (refused when the field is saved): the default.
        assert_eq!(params_for_cost(3), ARGON2_PARAMS);
        assert_eq!(params_for_cost(32), ARGON2_PARAMS);
        // Work never shrinks as the cost grows.
        let work = |c| {
            let (m, t, p) = params_for_cost(c);
            u64::from(m) * u64::from(t) * u64::from(p)
        };
        assert!((4..31).all(|c| work(c) < work(c + 1)));
    }

    /// CPU time of one hash on this thread (`/proc/thread-self/schedstat`,
    /// nanoseconds on CPU), median of 5 batches long enough for its tick.
    fn cpu_ms(mut f: impl FnMut()) -> f64 {
        let on_cpu = || -> u64 {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let t = std::time::Instant::now();
        f();
        let k = (0.08 / t.elapsed().as_secs_f64().max(1e-5)).ceil().max(1.0) as u32;
        let mut v: Vec<f64> = (0..5)
            .map(|_| {
                let t0 = on_cpu();
                (0..k).for_each(|_| f());
                (on_cpu() - t0) as f64 / 1e6 / f64::from(k)
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[2]
    }

    /// The measurement behind `BY_COST` (docs/auth.md): bcrypt and the
    /// mapped argon2id for each cost, in CPU ms. Run in release:
    /// `cargo test --release --lib cost_table_measured -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn cost_table_measured() {
        println!("| cost | bcrypt ms | argon2id m, t | argon2id ms |");
        for cost in 4..=11 {
            let b = cpu_ms(|| drop(bcrypt::hash("bench-User-Passw0rd-1", cost as u32)));
            let params = params_for_cost(cost);
            let a = cpu_ms(|| drop(argon2_with(params).hash_password(b"bench-User-Passw0rd-1")));
            println!("| {cost} | {b:.2} | {}, {} | {a:.2} |", params.0, params.1);
        }
    }

    #[tokio::test]
    async fn low_cost_hashes_verify_and_rehash_only_upwards() {
        let low = hash_password_cost("s3cret-pass".into(), 4)
            .await
            .expect("hash");
        assert!(low.starts_with("$argon2id$v=19$m=608,t=6,p=1$"), "{low}");
        let pw = || "s3cret-pass".to_owned();
        let v = |h: &str, c| verify_password_cost(pw(), Some(h.to_owned()), c);
        assert_eq!(v(&low, 4).await, Verified::Yes);
        assert_eq!(
            verify_password_cost("wrong".into(), Some(low.clone()), 4).await,
            Verified::No
        );
        // The field's cost was raised since: still verifies, rehash up.
        assert_eq!(v(&low, 0).await, Verified::YesRehash);
        assert_eq!(v(&low, 5).await, Verified::YesRehash);
        // A stronger hash than the field asks for is kept as it is.
        let high = hash_password("s3cret-pass".into()).await.expect("hash");
        assert_eq!(v(&high, 4).await, Verified::Yes);
        assert_eq!(v(&high, 0).await, Verified::Yes);
        // Unknown identities at any cost never verify.
        assert_eq!(verify_password_cost(pw(), None, 4).await, Verified::No);
    }
}

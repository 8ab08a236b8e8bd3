//! Password hashing: argon2id for new hashes, bcrypt accepted for hashes
//! imported from PocketBase (and replaced at the next login).
//!
//! Hashing is CPU- and memory-bound, so at most one hash per core runs at
//! a time (a semaphore in front of the blocking pool): extra logins wait
//! instead of each allocating argon2's memory at once.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use super::Error;

/// Memory (KiB), passes and lanes of argon2id. Chosen so that one password
/// check costs about what PocketBase's bcrypt (cost 10) check costs on the
/// same machine: ~70 ms here (docs/auth.md has the measurement), with only
/// 19 MiB per hash in flight.
pub const ARGON2_PARAMS: (u32, u32, u32) = (19_456, 6, 1);

fn argon2() -> Argon2<'static> {
    let (m, t, p) = ARGON2_PARAMS;
    let params = argon2::Params::new(m, t, p, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
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

/// Hashes a password with argon2id.
pub async fn hash_password(plain: String) -> Result<String, Error> {
    limited(move || hash_password_now(&plain)).await?
}

/// Hashes on the calling thread (migrations and plugin workers, which are
/// not async tasks).
pub fn hash_password_now(plain: &str) -> Result<String, Error> {
    argon2()
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

/// A hash of a random password with the current parameters, so checking an
/// unknown identity costs exactly what checking a known one costs.
fn dummy() -> &'static str {
    static D: OnceLock<String> = OnceLock::new();
    D.get_or_init(|| {
        argon2()
            .hash_password(crate::schema::names::random_secret(32).as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies a password against a stored hash (argon2id or bcrypt).
/// Unknown identities (`None`) verify against a dummy hash so timing does
/// not tell whether an account exists.
pub async fn verify_password(plain: String, hash: Option<String>) -> Verified {
    limited(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy().to_owned());
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
        let (m, t, p) = ARGON2_PARAMS;
        let current = argon2::Params::try_from(&h)
            .is_ok_and(|x| x.m_cost() == m && x.t_cost() == t && x.p_cost() == p);
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
}

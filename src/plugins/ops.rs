//! Host operations that need no database: environment, clock, logging,
//! cron expressions and `$security`. Every engine answers these the same way.

use serde_json::{Value, json};
use sha2::Digest;

use super::runtime::HostError;

/// Answers a common operation, or `None` when `op` is not one of them.
pub fn common(op: &str, args: &Value) -> Option<Result<Value, HostError>> {
    let out = match op {
        "getenv" => Ok(args
            .as_str()
            .and_then(|k| std::env::var(k).ok())
            .map_or(Value::Null, Value::String)),
        "now" => Ok(json!(crate::schema::datetime::now())),
        "sleep" => {
            // Bounded: the engine's own time budget still applies around it.
            let ms = args.as_u64().unwrap_or(0).min(10_000);
            super::runtime::blocking(|| std::thread::sleep(std::time::Duration::from_millis(ms)));
            Ok(Value::Null)
        }
        // A request's query string as `{name: [values]}` (routes parse it
        // only when a handler reads it).
        "url.query" => {
            let mut query = serde_json::Map::new();
            for (k, v) in crate::urlencoded::pairs(args.as_str().unwrap_or_default().as_bytes()) {
                if let Some(Value::Array(a)) = query.get_mut(&k) {
                    a.push(Value::String(v));
                } else {
                    query.insert(k, json!([v]));
                }
            }
            Ok(Value::Object(query))
        }
        "log" => {
            let msg = args["msg"].as_str().unwrap_or_default();
            let kv = args["kv"].to_string();
            match args["level"].as_str().unwrap_or("info") {
                "debug" => tracing::debug!(target: "cairn::js", kv = %kv, "{msg}"),
                "warn" => tracing::warn!(target: "cairn::js", kv = %kv, "{msg}"),
                "error" => tracing::error!(target: "cairn::js", kv = %kv, "{msg}"),
                _ => tracing::info!(target: "cairn::js", kv = %kv, "{msg}"),
            }
            Ok(Value::Null)
        }
        // `null` when the cron expression parses, else why it does not.
        "cron.check" => Ok(
            crate::service::cron::parse(args.as_str().unwrap_or_default())
                .map_or_else(|e| json!(e.0), |_| Value::Null),
        ),
        "security.random" => random(args),
        "security.hash" => hash(args),
        "security.hmac" => hmac(args),
        "security.equal" => {
            use subtle::ConstantTimeEq;
            let a = args["a"].as_str().unwrap_or_default().as_bytes();
            let b = args["b"].as_str().unwrap_or_default().as_bytes();
            Ok(json!(bool::from(a.ct_eq(b))))
        }
        _ => return None,
    };
    Some(out)
}

fn random(args: &Value) -> Result<Value, HostError> {
    use rand::RngExt;
    const DEFAULT: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let n = args["n"].as_u64().unwrap_or(0).min(100_000) as usize;
    let alphabet: Vec<char> = args["alphabet"]
        .as_str()
        .filter(|a| !a.is_empty())
        .unwrap_or(DEFAULT)
        .chars()
        .collect();
    let mut rng = rand::rng();
    Ok(json!(
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect::<String>()
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(args: &Value) -> Result<Value, HostError> {
    let s = args["s"].as_str().unwrap_or_default().as_bytes();
    let out = match args["alg"].as_str().unwrap_or_default() {
        "md5" => hex(&md5::Md5::digest(s)),
        "sha256" => hex(&sha2::Sha256::digest(s)),
        _ => hex(&sha2::Sha512::digest(s)),
    };
    Ok(json!(out))
}

/// HMAC (RFC 2104) over SHA-256 or SHA-512, hex encoded like PocketBase's.
fn hmac(args: &Value) -> Result<Value, HostError> {
    let s = args["s"].as_str().unwrap_or_default().as_bytes();
    let key = args["key"].as_str().unwrap_or_default().as_bytes();
    let out = if args["alg"].as_str() == Some("sha256") {
        hmac_with::<sha2::Sha256>(key, s, 64)
    } else {
        hmac_with::<sha2::Sha512>(key, s, 128)
    };
    Ok(json!(hex(&out)))
}

fn hmac_with<D: Digest>(key: &[u8], msg: &[u8], block: usize) -> Vec<u8> {
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let mut inner = D::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    inner.update(msg);
    let ih = inner.finalize();
    let mut outer = D::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    outer.update(ih);
    outer.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let v = hmac(&json!({"alg": "sha256", "s": "what do ya want for nothing?", "key": "Jefe"}))
            .expect("hmac");
        assert_eq!(
            v,
            json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}

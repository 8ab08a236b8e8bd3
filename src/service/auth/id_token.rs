//! The OpenID Connect `id_token` as the source of the user, PocketBase's
//! OIDC provider behaviour (`tools/auth/oidc.go`) when a provider has no
//! `userInfoURL`: the token's claims are the user, after checking that its
//! audience is the client id, that it has not expired and was not issued
//! in the future (5 minutes of leeway), that its `iss` is one of
//! `extra.issuers` when those are set, and its signature against the keys
//! at `extra.jwksURL` when that is set.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};

/// PocketBase's `idTokenLeeway`.
const LEEWAY: i64 = 300;

/// The provider's `extra` options that concern the id token.
pub struct Extra {
    pub jwks_url: String,
    pub issuers: Vec<String>,
}

impl Extra {
    /// Reads `extra.jwksURL` and `extra.issuers` (a list, or one string).
    pub fn from(extra: &Value) -> Self {
        let issuers = match extra.get("issuers") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        };
        Self {
            jwks_url: extra
                .get("jwksURL")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            issuers,
        }
    }
}

/// The validated claims of `token` for the client `client_id`.
pub async fn claims(
    http: &reqwest::Client,
    token: &str,
    client_id: &str,
    extra: &Extra,
) -> Result<Map<String, Value>, String> {
    let claims: Map<String, Value> = if extra.jwks_url.is_empty() {
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|e| e.to_string())?
    } else {
        let header = decode_header(token).map_err(|e| e.to_string())?;
        let set: JwkSet = http
            .get(&extra.jwks_url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let jwk = match &header.kid {
            Some(kid) => set.find(kid),
            None => set.keys.first(),
        }
        .ok_or("no matching key in the JWKS")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut v = Validation::new(header.alg);
        // The claims are checked below, the same way with or without keys.
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        decode::<Map<String, Value>>(token, &key, &v)
            .map_err(|e| e.to_string())?
            .claims
    };
    check(
        &claims,
        client_id,
        extra,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    Ok(claims)
}

/// The claim checks (PocketBase's jwt validator with `WithIssuedAt`,
/// `WithAudience(clientId)` and the leeway, then the issuers list).
fn check(c: &Map<String, Value>, client_id: &str, extra: &Extra, now: i64) -> Result<(), String> {
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err("id_token audience mismatch".into());
    }
    let num = |k: &str| c.get(k).and_then(Value::as_f64).map(|n| n as i64);
    if num("exp").is_some_and(|exp| now > exp + LEEWAY) {
        return Err("id_token expired".into());
    }
    if num("iat").is_some_and(|iat| iat > now + LEEWAY) {
        return Err("id_token issued in the future".into());
    }
    if !extra.issuers.is_empty() {
        let iss = c.get("iss").and_then(Value::as_str).unwrap_or_default();
        if !extra.issuers.iter().any(|i| i == iss) {
            return Err(format!("id_token issuer {iss:?} is not allowed"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn claims_are_checked_like_pocketbase() {
        let none = Extra::from(&json!({}));
        let good = map(json!({"aud": "app", "exp": 1000, "iat": 900, "iss": "https://id"}));
        assert!(check(&good, "app", &none, 950).is_ok());
        assert!(check(&good, "other", &none, 950).is_err(), "audience");
        assert!(check(&map(json!({"aud": ["x", "app"]})), "app", &none, 0).is_ok());
        assert!(
            check(&map(json!({"exp": 1000})), "app", &none, 0).is_err(),
            "no audience"
        );
        assert!(check(&good, "app", &none, 1000 + LEEWAY).is_ok(), "leeway");
        assert!(
            check(&good, "app", &none, 1001 + LEEWAY).is_err(),
            "expired"
        );
        assert!(
            check(&good, "app", &none, 900 - LEEWAY - 1).is_err(),
            "future iat"
        );
        let issuers = Extra::from(&json!({"issuers": ["https://a", "https://id"]}));
        assert!(check(&good, "app", &issuers, 950).is_ok());
        let other = Extra::from(&json!({"issuers": "https://a"}));
        assert!(check(&good, "app", &other, 950).is_err(), "issuer");
    }
}

//! The signed-in provider user, read through the provider's preset
//! (`providers.rs`): one request to its user endpoint (GET, GET with the
//! headers it requires, or a GraphQL POST), or the validated `id_token`
//! (Apple, and an OIDC provider without a user info URL), then the preset's
//! pointers pick the fields. What a pointer cannot say is here by name,
//! as PocketBase's `tools/auth/*.go` does it: GitHub's, Gitea's, Gitee's
//! and Bitbucket's separate email lists, GitLab's `confirmed_at`, Discord's and Yandex's picture URLs,
//! the composed names of Discord, Strava and VK, VK's email from the token
//! answer, mailcow's username, WakaTime's private photo.
//!
//! Emails are only used when the provider marks them verified (the preset's
//! `verified` flags), since a sign-in links to the record with that email.

use serde_json::{Map, Value};

use super::oauth2::Provider;
use super::providers::Ask;
use crate::service::Error;

/// What the provider says about the user.
#[derive(Debug, Default, Clone)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub avatar_url: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expiry: String,
    pub raw: Map<String, Value>,
}

/// The token answer's parts the user is read from.
pub struct Token {
    pub access: String,
    pub id_token: String,
    /// Every other field of the token answer (VK's `email`, Instagram's
    /// `permissions`).
    pub extra: Map<String, Value>,
}

/// Apple's id_token checks when `extra` does not override them.
const APPLE_JWKS: &str = "https://appleid.apple.com/auth/keys";
const APPLE_ISSUER: &str = "https://appleid.apple.com";

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.as_f64() != Some(0.0) => n.to_string(),
        _ => String::new(),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

/// Reads the user; any failure is PocketBase's "Failed to fetch OAuth2 user.".
pub async fn read(p: &Provider, http: &reqwest::Client, t: &Token) -> Result<AuthUser, Error> {
    read_inner(p, http, t).await.map_err(|e| {
        tracing::info!(provider = %p.name, error = %e, "oauth2 user fetch failed");
        Error::bad("Failed to fetch OAuth2 user.")
    })
}

async fn read_inner(p: &Provider, http: &reqwest::Client, t: &Token) -> Result<AuthUser, String> {
    let oidc_token = p.name.starts_with("oidc") && p.user_info_url.is_empty();
    let mut raw = if matches!(p.map.ask, Ask::IdToken) || oidc_token {
        let mut extra = super::id_token::Extra::from(&p.extra);
        if p.name == "apple" {
            if extra.jwks_url.is_empty() {
                extra.jwks_url = APPLE_JWKS.into();
            }
            if extra.issuers.is_empty() {
                extra.issuers = vec![APPLE_ISSUER.into()];
            }
        }
        super::id_token::claims(http, &t.id_token, &p.client_id, &extra).await?
    } else {
        fetch(p, http, &p.user_info_url, &t.access).await?
    };
    // Apple sends the name only once, as a JSON string next to the token.
    if p.name == "apple"
        && let Some(Value::String(user)) = t.extra.get("user")
        && let Ok(v) = serde_json::from_str::<Value>(user)
    {
        raw.insert("user".into(), v);
    }
    if p.name == "instagram2"
        && !raw.contains_key("permissions")
        && let Some(v) = t.extra.get("permissions")
    {
        raw.insert("permissions".into(), v.clone());
    }
    let doc = Value::Object(raw);
    let at = |ptr: &str| {
        if ptr.is_empty() {
            String::new()
        } else {
            text(doc.pointer(ptr))
        }
    };
    let m = &p.map;
    if let Some((ptr, want)) = m.active {
        let got = match doc.pointer(ptr) {
            Some(Value::Bool(b)) => b.to_string(),
            v => text(v),
        };
        if got != want {
            return Err(format!("the {} account is not active", p.name));
        }
    }
    let verified = m.verified.iter().all(|v| truthy(doc.pointer(v)));
    let mut u = AuthUser {
        id: at(m.id),
        name: at(m.name),
        username: at(m.username),
        email: if verified { at(m.email) } else { String::new() },
        avatar_url: at(m.avatar),
        access_token: t.access.clone(),
        ..AuthUser::default()
    };
    let first = |k: &str| at(&format!("/response/0/{k}"));
    match p.name.as_str() {
        "discord" => {
            let (id, name, global) = (at("/id"), at("/username"), at("/global_name"));
            u.name = if global.is_empty() {
                format!("{name}#{}", at("/discriminator"))
            } else {
                global
            };
            u.avatar_url = format!(
                "https://cdn.discordapp.com/avatars/{id}/{}.png",
                at("/avatar")
            );
        }
        "strava" => u.name = format!("{} {}", at("/firstname"), at("/lastname")),
        "vk" => {
            u.name = format!("{} {}", first("first_name"), first("last_name"))
                .trim()
                .to_owned();
            u.email = text(t.extra.get("email"));
        }
        "yandex" if !truthy(doc.pointer("/is_avatar_empty")) => {
            u.avatar_url = format!(
                "https://avatars.yandex.net/get-yapic/{}/islands-200",
                at("/default_avatar_id")
            );
        }
        "wakatime" if truthy(doc.pointer("/data/photo_public")) => {
            u.avatar_url = at("/data/photo");
        }
        "gitlab" if at("/confirmed_at").is_empty() => u.email.clear(),
        "mailcow" => {
            if let Some((head, _)) = u.username.split_once('@') {
                u.username = head.to_owned();
            }
        }
        "apple" if u.name.is_empty() => {
            let n = |k: &str| at(&format!("/user/name/{k}"));
            u.name = format!("{} {}", n("firstName"), n("lastName"))
                .trim()
                .to_owned();
        }
        _ => {}
    }
    match p.name.as_str() {
        "github" | "gitea" => {
            let url = format!("{}/emails", p.user_info_url);
            u.email = listed_email(http, &url, &t.access, "/verified", "/primary").await?;
        }
        "gitee" if !crate::schema::validate::is_email(&u.email) => {
            let url = "https://gitee.com/api/v5/emails";
            u.email = listed_email(http, url, &t.access, "/state", "/scope").await?;
        }
        "bitbucket" => {
            let url = format!("{}/emails", p.user_info_url);
            u.email = listed_email(http, &url, &t.access, "/is_confirmed", "/is_primary").await?;
        }
        _ => {}
    }
    u.raw = match doc {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Ok(u)
}

/// GitHub's, Gitee's and Bitbucket's email lists: the first primary (and
/// verified/confirmed, where the provider says) address. Missing rights
/// (an error status) give no email, not a failure, as in PocketBase.
async fn listed_email(
    http: &reqwest::Client,
    url: &str,
    access: &str,
    verified: &str,
    primary: &str,
) -> Result<String, String> {
    let res = http
        .get(url)
        .bearer_auth(access)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_client_error() || res.status().is_server_error() {
        return Ok(String::new());
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let list = body
        .get("values")
        .and_then(Value::as_array)
        .or(body.as_array())
        .cloned()
        .unwrap_or_default();
    let found = list.iter().find(|e| {
        let ok = truthy(e.pointer(verified)) || text(e.pointer(verified)) == "confirmed";
        let main = truthy(e.pointer(primary))
            || e.pointer(primary)
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|x| x == "primary"));
        ok && main
    });
    Ok(found.map(|e| text(e.get("email"))).unwrap_or_default())
}

/// The user info request the preset asks for; the answer must be a JSON
/// object.
async fn fetch(
    p: &Provider,
    http: &reqwest::Client,
    url: &str,
    access: &str,
) -> Result<Map<String, Value>, String> {
    let req = match p.map.ask {
        Ask::Graphql(query) => http.post(url).json(&serde_json::json!({ "query": query })),
        Ask::Headers(headers) => headers.iter().fold(http.get(url), |r, (k, v)| {
            r.header(*k, v.replace("{clientId}", &p.client_id))
        }),
        Ask::Get | Ask::IdToken => http.get(url),
    };
    let res = req
        .bearer_auth(access)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(res.status().to_string());
    }
    res.json().await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_pocketbase_reads_them() {
        assert_eq!(text(Some(&json!(42))), "42");
        assert_eq!(text(Some(&json!(0))), "", "Strava's id 0 = no id");
        assert_eq!(text(Some(&json!("x"))), "x");
        assert_eq!(text(Some(&json!(true))), "");
        assert!(truthy(Some(&json!(true))));
        assert!(truthy(Some(&json!("true"))), "Apple's string flag");
        assert!(truthy(Some(&json!(1))), "mailcow's active");
        assert!(!truthy(Some(&json!(false))));
        assert!(!truthy(None));
    }
}

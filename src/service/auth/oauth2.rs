//! OAuth2 sign-in: PocketBase's `auth-with-oauth2` (authorization code with
//! PKCE), its named provider presets (`providers.rs`: GitHub, Google,
//! Apple, Discord, ... and the generic `oidc`, `oidc2`, `oidc3`), accounts
//! linked through `_externalAuths`.
//!
//! The code exchange goes through the `oauth2` crate (HTTP by reqwest);
//! the user is then read through the preset (`oauth2_user.rs`): its user
//! endpoint, or the validated `id_token` (`id_token.rs`) for Apple and an
//! OIDC provider without a user info URL.

use std::sync::Arc;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, ExtraTokenFields, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde_json::{Map, Value, json};

use super::oauth2_user::{self, AuthUser};
use super::providers;
use super::sys::{self, EXTERNAL_AUTHS};
use crate::app::App;
use crate::schema::{Collection, FieldKind, names};
use crate::service::{Actor, Error, Identity, records};
use crate::store::records as rows;

/// A configured provider, preset URLs filled in.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub display_name: String,
    pub(super) client_id: String,
    client_secret: String,
    auth_url: String,
    token_url: String,
    pub(super) user_info_url: String,
    pkce: bool,
    scopes: &'static str,
    /// Provider-specific options (OIDC, Apple: `jwksURL`, `issuers`).
    pub(super) extra: Value,
    /// Where the user's fields are in the provider's answer.
    pub(super) map: providers::Map,
}

/// The token answer's `id_token` (OpenID Connect), kept for providers
/// that read the user from it, and its other non-standard fields.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
struct IdToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl ExtraTokenFields for IdToken {}

/// `BasicClient` with the token answer's `id_token` kept.
type Client = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdToken, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// Provider names Cairn knows (PocketBase's list).
pub fn known_provider(name: &str) -> bool {
    providers::preset(name).is_some()
}

fn providers(c: &Collection) -> Vec<Provider> {
    let list = c
        .options
        .get("oauth2")
        .and_then(|o| o.get("providers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|p| {
            let s = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let name = s("name");
            let preset = providers::preset(&name)?;
            let or = |v: String, d: &str| if v.is_empty() { d.to_owned() } else { v };
            Some(Provider {
                display_name: or(s("displayName"), preset.display),
                auth_url: or(s("authURL"), preset.auth),
                token_url: or(s("tokenURL"), preset.token),
                user_info_url: or(s("userInfoURL"), preset.user_info),
                scopes: preset.scopes,
                client_id: s("clientId"),
                client_secret: s("clientSecret"),
                pkce: p
                    .get("pkce")
                    .and_then(Value::as_bool)
                    .unwrap_or(preset.pkce),
                extra: p.get("extra").cloned().unwrap_or(Value::Null),
                map: preset.map,
                name,
            })
        })
        .collect()
}

fn oauth2_enabled(c: &Collection) -> bool {
    c.options
        .get("oauth2")
        .and_then(|o| o.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// A small inline SVG logo per provider (the dashboard and SDK UIs show it).
fn logo(name: &str) -> String {
    let letter = match providers::preset(name) {
        Some(p) if !p.name.starts_with("oidc") => p.display.chars().take(1).collect(),
        _ => "ID".to_owned(),
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><circle cx=\"16\" cy=\"16\" r=\"15\" fill=\"#333\"/><text x=\"16\" y=\"21\" font-size=\"13\" text-anchor=\"middle\" fill=\"#fff\" font-family=\"sans-serif\">{letter}</text></svg>"
    )
}

/// 403 unless the collection allows OAuth2 sign-in.
pub fn require_enabled(c: &Collection) -> Result<(), Error> {
    if oauth2_enabled(c) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "The collection is not configured to allow OAuth2 authentication.",
        ))
    }
}

/// The `auth-methods` entries: a fresh state and PKCE pair per provider,
/// and an authorization URL ending in `redirect_uri=` for the client to
/// append its own redirect URL to (what the SDK does).
pub fn method_providers(c: &Collection) -> Vec<Value> {
    providers(c)
        .into_iter()
        .map(|p| {
            let state = names::random_secret(30);
            let verifier = PkceCodeVerifier::new(names::random_secret(43));
            let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
            let mut url = oauth2::url::Url::parse(&p.auth_url).unwrap_or_else(|_| {
                oauth2::url::Url::parse("http://invalid/").expect("static url")
            });
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("client_id", &p.client_id);
                if p.pkce {
                    q.append_pair("code_challenge", challenge.as_str());
                    q.append_pair("code_challenge_method", "S256");
                }
                if p.name == "apple" {
                    // Apple posts the answer when names or email are asked.
                    q.append_pair("response_mode", "form_post");
                }
                q.append_pair("response_type", "code");
                if !p.scopes.is_empty() {
                    q.append_pair("scope", p.scopes);
                }
                q.append_pair("state", &state);
            }
            let auth_url = format!("{url}&redirect_uri=");
            let (challenge, method, verifier) = if p.pkce {
                (
                    challenge.as_str().to_owned(),
                    "S256",
                    verifier.secret().clone(),
                )
            } else {
                (String::new(), "", String::new())
            };
            json!({
                "name": p.name,
                "displayName": p.display_name,
                "logo": logo(&p.name),
                "state": state,
                "authURL": auth_url,
                "authUrl": auth_url,
                "codeVerifier": verifier,
                "codeChallenge": challenge,
                "codeChallengeMethod": method,
            })
        })
        .collect()
}

fn http() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .user_agent("cairn")
        .build()
        .map_err(|e| Error::Internal(format!("http client: {e}")))
}

/// Exchanges the code (with the PKCE verifier) and fetches the user.
async fn fetch_user(
    p: &Provider,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> Result<AuthUser, Error> {
    let fail = |what: &str, e: String| {
        tracing::info!(provider = %p.name, error = %e, "oauth2 {what} failed");
        Error::bad("Failed to fetch OAuth2 token.")
    };
    let client = Client::new(ClientId::new(p.client_id.clone()))
        .set_client_secret(ClientSecret::new(p.client_secret.clone()))
        .set_auth_uri(
            AuthUrl::new(p.auth_url.clone()).map_err(|e| fail("auth url", e.to_string()))?,
        )
        .set_token_uri(
            TokenUrl::new(p.token_url.clone()).map_err(|e| fail("token url", e.to_string()))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect.to_owned())
                .map_err(|e| fail("redirect url", e.to_string()))?,
        );
    let http = http()?;
    let send = |req: oauth2::HttpRequest| {
        let http = http.clone();
        async move {
            let req = reqwest::Request::try_from(req)?;
            let res = http.execute(req).await?;
            let mut out = oauth2::http::Response::builder().status(res.status().as_u16());
            for (k, v) in res.headers() {
                out = out.header(k.as_str(), v.as_bytes());
            }
            let body = res.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(out.body(body).unwrap_or_default())
        }
    };
    let mut req = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if p.pkce && !verifier.is_empty() {
        req = req.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
    }
    let token = req
        .request_async(&send)
        .await
        .map_err(|e| fail("token exchange", e.to_string()))?;
    let mut user = oauth2_user::read(
        p,
        &http,
        &oauth2_user::Token {
            access: token.access_token().secret().clone(),
            id_token: token.extra_fields().id_token.clone().unwrap_or_default(),
            extra: token.extra_fields().other.clone(),
        },
    )
    .await?;
    user.refresh_token = token
        .refresh_token()
        .map(|t| t.secret().clone())
        .unwrap_or_default();
    user.expiry = token
        .expires_in()
        .map(|d| crate::schema::datetime::format(time::OffsetDateTime::now_utc() + d))
        .unwrap_or_default();
    Ok(user)
}

/// The input of `auth-with-oauth2`.
pub struct Request {
    pub provider: String,
    pub code: String,
    pub code_verifier: String,
    pub redirect_url: String,
    pub create_data: Map<String, Value>,
}

/// The signed-in record, whether it was just created, and the `meta` object.
pub async fn authenticate(
    app: &App,
    c: Arc<Collection>,
    actor: &Actor,
    r: Request,
) -> Result<(Identity, Value), Error> {
    require_enabled(&c)?;
    let Some(p) = providers(&c).into_iter().find(|p| p.name == r.provider) else {
        let mut data = Map::new();
        data.insert(
            "provider".into(),
            crate::schema::validate::FieldError::new(
                "validation_invalid_provider",
                format!(
                    "Provider with name {} is missing or is not enabled.",
                    r.provider
                ),
            )
            .with_params(json!({"name": r.provider}))
            .to_json(),
        );
        return Err(Error::invalid(
            "An error occurred while loading the submitted data.",
            data,
        ));
    };
    let user = fetch_user(&p, &r.code, &r.code_verifier, &r.redirect_url).await?;
    if user.id.is_empty() {
        return Err(Error::bad("Failed to fetch OAuth2 user."));
    }
    let ext = sys::collection(&app.store, EXTERNAL_AUTHS)?;
    let linked = app.store.read(|conn| {
        rows::find_all(
            conn,
            &ext,
            &[
                ("collectionRef", &c.id),
                ("provider", &p.name),
                ("providerId", &user.id),
            ],
            1,
        )
    })?;
    let mut is_new = false;
    let own = actor.identity().filter(|i| i.collection.id == c.id);
    let record = if let Some(link) = linked.first() {
        let rid = sys::text(link, "recordRef").to_owned();
        app.store
            .read(|conn| rows::get(conn, &c, &rid))?
            .ok_or_else(|| Error::bad("Failed to authenticate."))?
    } else {
        let by_email = if user.email.is_empty() || own.is_some() {
            None
        } else {
            app.store
                .read(|conn| rows::find_by(conn, &c, "email", &user.email))?
        };
        let record = match (own, by_email) {
            (Some(i), _) => (*i.record).clone(),
            (None, Some(rec)) => rec,
            (None, None) => {
                is_new = true;
                create_user(app, &c, &user, r.create_data).await?
            }
        };
        let (coll, rid, prov, pid) = (
            c.id.clone(),
            sys::text(&record, "id").to_owned(),
            p.name.clone(),
            user.id.clone(),
        );
        app.store
            .write(move |ctx| {
                sys::insert(
                    ctx,
                    &ext,
                    &[
                        ("collectionRef", coll.into()),
                        ("recordRef", rid.into()),
                        ("provider", prov.into()),
                        ("providerId", pid.into()),
                    ],
                )
            })
            .await?;
        record
    };
    // An existing unverified record reached without being signed in: the
    // provider proved the email (verify it) and whoever set the password
    // may not own the address (replace it, ending other sessions).
    let unverified = record.get("verified").and_then(Value::as_bool) != Some(true);
    let record = if !is_new && own.is_none() && unverified {
        let id = Identity {
            collection: Arc::clone(&c),
            record: record.into(),
        };
        let same_email = !user.email.is_empty()
            && user
                .email
                .eq_ignore_ascii_case(sys::text(&id.record, "email"));
        let cost = super::password_cost(&c);
        let hash = super::hash_password_cost(names::random_secret(30), cost).await?;
        super::flows::set_password(app, &id, hash, same_email).await?;
        let rid = id.id().to_owned();
        app.store
            .read(|conn| rows::get(conn, &c, &rid))?
            .ok_or_else(|| Error::bad("Failed to authenticate."))?
    } else {
        record
    };
    let meta = json!({
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "isNew": is_new,
        "avatarURL": user.avatar_url,
        "avatarUrl": user.avatar_url,
        "rawUser": user.raw,
        "accessToken": user.access_token,
        "refreshToken": user.refresh_token,
        "expiry": user.expiry,
    });
    Ok((
        Identity {
            collection: c,
            record: record.into(),
        },
        meta,
    ))
}

/// A new record from `createData` plus what the provider told: email
/// (verified), mapped name/username/avatar fields (the avatar downloaded
/// when its field is a `file` field, `avatar.rs`) and a random password.
/// The create rule applies with `createData` as the body.
async fn create_user(
    app: &App,
    c: &Arc<Collection>,
    user: &AuthUser,
    create_data: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let mut input = create_data;
    // As PocketBase: a submitted email wins; the provider's fills a blank.
    let submitted = input
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if submitted.is_empty() && !user.email.is_empty() {
        input.insert("email".into(), user.email.clone().into());
    }
    let mapped = c
        .options
        .get("oauth2")
        .and_then(|o| o.get("mappedFields"))
        .cloned()
        .unwrap_or_default();
    let mut uploads = Vec::new();
    for (key, value) in [
        ("id", &user.id),
        ("name", &user.name),
        ("username", &user.username),
        ("avatarURL", &user.avatar_url),
    ] {
        let field = mapped.get(key).and_then(Value::as_str).unwrap_or_default();
        if value.is_empty() || input.contains_key(field) {
            continue;
        }
        match c.field(field).map(|f| &f.kind) {
            Some(FieldKind::Text(_) | FieldKind::Url(_)) => {
                input.insert(field.to_owned(), value.clone().into());
            }
            // PocketBase downloads the picture into a mapped file field.
            Some(FieldKind::File(o)) if key == "avatarURL" => {
                let limit = u64::try_from(o.max_size)
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or(super::avatar::DEFAULT_LIMIT);
                uploads.extend(super::avatar::download(value, field, limit).await);
            }
            _ => {}
        }
    }
    let pw = names::random_secret(30);
    input.insert("password".into(), pw.clone().into());
    input.insert("passwordConfirm".into(), pw.into());
    input.remove("verified");
    let req = crate::service::rules::request_info(
        &app.store,
        &Actor::Guest,
        "POST",
        Map::new(),
        Map::new(),
    );
    let mut op =
        records::CreateOp::prepare(&app.store, Arc::clone(c), &Actor::Guest, &req, input).await?;
    op.stage(&app.files, uploads).await?;
    let staged = op.staged();
    // Verified only when the record's email is the one the provider proved.
    let verify = !user.email.is_empty() && (submitted.is_empty() || submitted == user.email);
    let coll = Arc::clone(c);
    let written = app
        .store
        .write(move |ctx| {
            let rec = op.run(ctx)?;
            if verify {
                let id = sys::text(&rec, "id").to_owned();
                return sys::update(ctx, &coll, &id, &[("verified", true.into())]);
            }
            Ok(rec)
        })
        .await;
    records::settled(&staged, written, false).await
}

//! PocketBase's named OAuth2 providers (the 32 names PocketBase 0.40.6
//! accepts): each one's endpoints, scopes, PKCE default, and where its
//! user answer keeps the id, name, username, email and picture.
//!
//! Kept as data (JSON pointers into the answer) rather than one function
//! per provider, so adding a provider is one table row and every row is
//! read by the same code (`user.rs`); the few providers whose answer needs
//! more than a pointer (Discord's avatar URL, Strava's and VK's names,
//! GitHub's separate email list, ...) are the named cases in `user.rs`.
//! Endpoints, scopes and PKCE were checked against the reference binary's
//! `auth-methods` answer; the field mapping follows PocketBase's
//! `tools/auth/*.go` and is checked per provider by
//! `tests/sdk/auth_oauth2_providers.test.mjs` against both servers.

/// How the user info endpoint is asked.
#[derive(Debug, Clone, Copy)]
pub enum Ask {
    /// `GET` with the bearer token.
    Get,
    /// `GET` with extra headers (`{clientId}` is replaced by the client id).
    Headers(&'static [(&'static str, &'static str)]),
    /// `POST` of a GraphQL query (a JSON body).
    Graphql(&'static str),
    /// No endpoint: the user is the token answer's validated `id_token`.
    IdToken,
}

/// Where the user's fields are: JSON pointers into the provider's answer
/// (`""` = the provider does not give it).
#[derive(Debug, Clone, Copy)]
pub struct Map {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub email: &'static str,
    /// Pointers that must all be true for the email to be used (the
    /// provider's "verified" flags; none = the provider only gives
    /// verified addresses).
    pub verified: &'static [&'static str],
    pub avatar: &'static str,
    /// `(pointer, value)` an account must have to sign in ("active").
    pub active: Option<(&'static str, &'static str)>,
    pub ask: Ask,
}

/// The common shape: top-level `id`, `name`, `email`.
const PLAIN: Map = Map {
    id: "/id",
    name: "/name",
    username: "",
    email: "/email",
    verified: &[],
    avatar: "",
    active: None,
    ask: Ask::Get,
};

/// The OpenID Connect claims (userinfo or `id_token`).
pub const OIDC_MAP: Map = Map {
    id: "/sub",
    username: "/preferred_username",
    verified: &["/email_verified"],
    avatar: "/picture",
    ..PLAIN
};

/// A provider preset.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub display: &'static str,
    pub auth: &'static str,
    pub token: &'static str,
    pub user_info: &'static str,
    /// Space-separated; empty = no `scope` parameter.
    pub scopes: &'static str,
    pub pkce: bool,
    pub map: Map,
}

const fn p(
    name: &'static str,
    display: &'static str,
    auth: &'static str,
    token: &'static str,
    user_info: &'static str,
    scopes: &'static str,
    map: Map,
) -> Preset {
    Preset {
        name,
        display,
        auth,
        token,
        user_info,
        scopes,
        pkce: true,
        map,
    }
}

const fn no_pkce(mut x: Preset) -> Preset {
    x.pkce = false;
    x
}

const OIDC: Preset = p("oidc", "OIDC", "", "", "", "openid email profile", OIDC_MAP);

mod presets;
pub use presets::PRESETS;

/// The preset of a provider name PocketBase knows.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// Every provider name, in PocketBase's order (alphabetical).
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_pocketbases() {
        let all: Vec<_> = names().collect();
        assert_eq!(all.len(), 32);
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, all, "sorted, no duplicates");
        for p in PRESETS {
            let named = [p.map.id, p.map.name, p.map.username, p.map.email];
            assert!(
                named.iter().all(|x| x.is_empty() || x.starts_with('/')),
                "{}: pointers start with /",
                p.name
            );
            let generic = matches!(p.name, "oidc" | "oidc2" | "oidc3" | "mailcow");
            assert_eq!(p.auth.is_empty(), generic, "{}: auth URL", p.name);
        }
        let off: Vec<_> = PRESETS.iter().filter(|p| !p.pkce).map(|p| p.name).collect();
        assert_eq!(off, ["bitbucket", "linear", "vk"]);
    }
}

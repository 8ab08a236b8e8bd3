//! The table of provider presets, one row per name PocketBase 0.40.6
//! accepts (the types and the code that reads a row are in the parent).

use super::{Ask, Map, OIDC, PLAIN, Preset, no_pkce, p};

/// Every provider PocketBase 0.40.6 knows, by name.
pub const PRESETS: &[Preset] = &[
    p(
        "apple",
        "Apple",
        "https://appleid.apple.com/auth/authorize",
        "https://appleid.apple.com/auth/token",
        "",
        "name email",
        Map {
            id: "/sub",
            verified: &["/email_verified"],
            ask: Ask::IdToken,
            ..PLAIN
        },
    ),
    no_pkce(p(
        "bitbucket",
        "Bitbucket",
        "https://bitbucket.org/site/oauth2/authorize",
        "https://bitbucket.org/site/oauth2/access_token",
        "https://api.bitbucket.org/2.0/user",
        "account",
        Map {
            id: "/uuid",
            name: "/display_name",
            username: "/username",
            email: "",
            avatar: "/links/avatar/href",
            active: Some(("/account_status", "active")),
            ..PLAIN
        },
    )),
    p(
        "box",
        "Box",
        "https://account.box.com/api/oauth2/authorize",
        "https://api.box.com/oauth2/token",
        "https://api.box.com/2.0/users/me",
        "root_readonly",
        Map {
            email: "/login",
            avatar: "/avatar_url",
            active: Some(("/status", "active")),
            ..PLAIN
        },
    ),
    p(
        "discord",
        "Discord",
        "https://discord.com/api/oauth2/authorize",
        "https://discord.com/api/oauth2/token",
        "https://discord.com/api/users/@me",
        "identify email",
        Map {
            name: "",
            username: "/username",
            verified: &["/verified"],
            ..PLAIN
        },
    ),
    p(
        "facebook",
        "Facebook",
        "https://www.facebook.com/v3.2/dialog/oauth",
        "https://graph.facebook.com/v3.2/oauth/access_token",
        "https://graph.facebook.com/me?fields=name,email,picture.type(large)",
        "email",
        Map {
            avatar: "/picture/data/url",
            ..PLAIN
        },
    ),
    p(
        "gitea",
        "Gitea/Forgejo",
        "https://gitea.com/login/oauth/authorize",
        "https://gitea.com/login/oauth/access_token",
        "https://gitea.com/api/v1/user",
        "read:user user:email",
        Map {
            name: "/full_name",
            username: "/login",
            email: "",
            avatar: "/avatar_url",
            active: Some(("/active", "true")),
            ..PLAIN
        },
    ),
    p(
        "gitee",
        "Gitee",
        "https://gitee.com/oauth/authorize",
        "https://gitee.com/oauth/token",
        "https://gitee.com/api/v5/user",
        "user_info emails",
        Map {
            username: "/login",
            avatar: "/avatar_url",
            ..PLAIN
        },
    ),
    p(
        "github",
        "GitHub",
        "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token",
        "https://api.github.com/user",
        "read:user user:email",
        Map {
            username: "/login",
            email: "",
            avatar: "/avatar_url",
            ..PLAIN
        },
    ),
    p(
        "gitlab",
        "GitLab",
        "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
        "https://gitlab.com/api/v4/user",
        "read_user",
        Map {
            username: "/username",
            avatar: "/avatar_url",
            ..PLAIN
        },
    ),
    p(
        "google",
        "Google",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v3/userinfo",
        "https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email",
        Map {
            id: "/sub",
            verified: &["/email_verified"],
            avatar: "/picture",
            ..PLAIN
        },
    ),
    p(
        "instagram2",
        "Instagram",
        "https://www.instagram.com/oauth/authorize",
        "https://api.instagram.com/oauth/access_token",
        "https://graph.instagram.com/me?fields=id,username,account_type,user_id,name,profile_picture_url,followers_count,follows_count,media_count",
        "instagram_business_basic",
        Map {
            id: "/user_id",
            username: "/username",
            email: "",
            avatar: "/profile_picture_url",
            ..PLAIN
        },
    ),
    p(
        "kakao",
        "Kakao",
        "https://kauth.kakao.com/oauth/authorize",
        "https://kauth.kakao.com/oauth/token",
        "https://kapi.kakao.com/v2/user/me",
        "account_email profile_nickname profile_image",
        Map {
            name: "",
            username: "/properties/nickname",
            email: "/kakao_account/email",
            verified: &[
                "/kakao_account/is_email_valid",
                "/kakao_account/is_email_verified",
            ],
            avatar: "/properties/profile_image",
            ..PLAIN
        },
    ),
    p(
        "lark",
        "Lark",
        "https://accounts.feishu.cn/open-apis/authen/v1/authorize",
        "https://open.feishu.cn/open-apis/authen/v2/oauth/token",
        "https://open.feishu.cn/open-apis/authen/v1/user_info",
        "",
        Map {
            id: "/data/union_id",
            name: "/data/name",
            email: "",
            avatar: "/data/avatar_url",
            ..PLAIN
        },
    ),
    no_pkce(p(
        "linear",
        "Linear",
        "https://linear.app/oauth/authorize",
        "https://api.linear.app/oauth/token",
        "https://api.linear.app/graphql",
        "read",
        Map {
            id: "/data/viewer/id",
            name: "/data/viewer/name",
            username: "/data/viewer/displayName",
            email: "/data/viewer/email",
            avatar: "/data/viewer/avatarUrl",
            active: Some(("/data/viewer/active", "true")),
            ask: Ask::Graphql("query Me { viewer { id displayName name email avatarUrl active } }"),
            ..PLAIN
        },
    )),
    p(
        "livechat",
        "LiveChat",
        "https://accounts.livechat.com/",
        "https://accounts.livechat.com/token",
        "https://accounts.livechat.com/v2/accounts/me",
        "",
        Map {
            id: "/account_id",
            verified: &["/email_verified"],
            avatar: "/avatar_url",
            ..PLAIN
        },
    ),
    p(
        "mailcow",
        "mailcow",
        "",
        "",
        "",
        "profile",
        Map {
            name: "/full_name",
            username: "/username",
            active: Some(("/active", "1")),
            ..PLAIN
        },
    ),
    p(
        "microsoft",
        "Microsoft",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://graph.microsoft.com/v1.0/me",
        "User.Read",
        Map {
            name: "/displayName",
            email: "/mail",
            ..PLAIN
        },
    ),
    p(
        "monday",
        "monday.com",
        "https://auth.monday.com/oauth2/authorize",
        "https://auth.monday.com/oauth2/token",
        "https://api.monday.com/v2",
        "me:read",
        Map {
            id: "/data/me/id",
            name: "/data/me/name",
            email: "/data/me/email",
            verified: &["/data/me/is_verified"],
            avatar: "/data/me/photo_small",
            active: Some(("/data/me/enabled", "true")),
            ask: Ask::Graphql("query { me { id enabled name email is_verified photo_small }}"),
            ..PLAIN
        },
    ),
    p(
        "notion",
        "Notion",
        "https://api.notion.com/v1/oauth/authorize",
        "https://api.notion.com/v1/oauth/token",
        "https://api.notion.com/v1/users/me",
        "",
        Map {
            id: "/bot/owner/user/id",
            name: "/bot/owner/user/name",
            email: "/bot/owner/user/person/email",
            avatar: "/bot/owner/user/avatar_url",
            ask: Ask::Headers(&[("Notion-Version", "2022-06-28")]),
            ..PLAIN
        },
    ),
    OIDC,
    Preset {
        name: "oidc2",
        ..OIDC
    },
    Preset {
        name: "oidc3",
        ..OIDC
    },
    p(
        "patreon",
        "Patreon",
        "https://www.patreon.com/oauth2/authorize",
        "https://www.patreon.com/api/oauth2/token",
        "https://www.patreon.com/api/oauth2/v2/identity?fields%5Buser%5D=full_name,email,vanity,image_url,is_email_verified",
        "identity identity[email]",
        Map {
            id: "/data/id",
            name: "/data/attributes/full_name",
            username: "/data/attributes/vanity",
            email: "/data/attributes/email",
            verified: &["/data/attributes/is_email_verified"],
            avatar: "/data/attributes/image_url",
            ..PLAIN
        },
    ),
    p(
        "planningcenter",
        "Planning Center",
        "https://api.planningcenteronline.com/oauth/authorize",
        "https://api.planningcenteronline.com/oauth/token",
        "https://api.planningcenteronline.com/people/v2/me",
        "people",
        Map {
            id: "/data/id",
            name: "/data/attributes/name",
            email: "",
            avatar: "/data/attributes/avatar",
            active: Some(("/data/attributes/status", "active")),
            ..PLAIN
        },
    ),
    p(
        "spotify",
        "Spotify",
        "https://accounts.spotify.com/authorize",
        "https://accounts.spotify.com/api/token",
        "https://api.spotify.com/v1/me",
        "user-read-private",
        Map {
            name: "/display_name",
            email: "",
            avatar: "/images/0/url",
            ..PLAIN
        },
    ),
    p(
        "strava",
        "Strava",
        "https://www.strava.com/oauth/authorize",
        "https://www.strava.com/api/v3/oauth/token",
        "https://www.strava.com/api/v3/athlete",
        "profile:read_all",
        Map {
            name: "",
            username: "/username",
            email: "",
            avatar: "/profile",
            ..PLAIN
        },
    ),
    p(
        "trakt",
        "Trakt",
        "https://trakt.tv/oauth/authorize",
        "https://api.trakt.tv/oauth/token",
        "https://api.trakt.tv/users/settings",
        "",
        Map {
            id: "/user/ids/uuid",
            name: "/user/name",
            username: "/user/username",
            email: "",
            avatar: "/user/images/avatar/full",
            ask: Ask::Headers(&[
                ("Content-Type", "application/json"),
                ("trakt-api-key", "{clientId}"),
                ("trakt-api-version", "2"),
            ]),
            ..PLAIN
        },
    ),
    p(
        "twitch",
        "Twitch",
        "https://id.twitch.tv/oauth2/authorize",
        "https://id.twitch.tv/oauth2/token",
        "https://api.twitch.tv/helix/users",
        "user:read:email",
        Map {
            id: "/data/0/id",
            name: "/data/0/display_name",
            username: "/data/0/login",
            email: "/data/0/email",
            avatar: "/data/0/profile_image_url",
            ask: Ask::Headers(&[("Client-Id", "{clientId}")]),
            ..PLAIN
        },
    ),
    p(
        "twitter",
        "X/Twitter",
        "https://x.com/i/oauth2/authorize",
        "https://api.x.com/2/oauth2/token",
        "https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url,confirmed_email",
        "users.read users.email tweet.read",
        Map {
            id: "/data/id",
            name: "/data/name",
            username: "/data/username",
            email: "/data/confirmed_email",
            avatar: "/data/profile_image_url",
            ..PLAIN
        },
    ),
    no_pkce(p(
        "vk",
        "ВКонтакте",
        "https://oauth.vk.com/authorize",
        "https://oauth.vk.com/access_token",
        "https://api.vk.com/method/users.get?fields=photo_max,screen_name&v=5.131",
        "email",
        Map {
            id: "/response/0/id",
            name: "",
            username: "/response/0/screen_name",
            email: "",
            avatar: "/response/0/photo_max",
            ..PLAIN
        },
    )),
    p(
        "wakatime",
        "WakaTime",
        "https://wakatime.com/oauth/authorize",
        "https://wakatime.com/oauth/token",
        "https://wakatime.com/api/v1/users/current",
        "email",
        Map {
            id: "/data/id",
            name: "/data/display_name",
            username: "/data/username",
            email: "/data/email",
            verified: &["/data/is_email_confirmed"],
            ..PLAIN
        },
    ),
    p(
        "yandex",
        "Yandex",
        "https://oauth.yandex.com/authorize",
        "https://oauth.yandex.com/token",
        "https://login.yandex.ru/info",
        "login:email login:avatar login:info",
        Map {
            name: "/real_name",
            username: "/login",
            email: "/default_email",
            ..PLAIN
        },
    ),
];

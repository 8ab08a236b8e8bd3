//! The outbound address guard: webhook requests never reach loopback,
//! private, link-local, unspecified or otherwise internal addresses unless
//! an allow-listed network (`webhooks.allow_cidrs`) contains them.
//!
//! The check runs at connect time on the addresses actually dialled: DNS
//! answers go through `GuardResolver` (so a name that resolves to 10.x is
//! refused, whatever it resolved to when the endpoint was saved), and IP
//! literals — which hyper's connector dials without asking a resolver — are
//! checked before the request is built. The URL parser normalises the odd
//! IPv4 spellings (`127.1`, `2130706433`, `0x7f.1`) to dotted quads first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Networks the guard lets through although they are internal.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Vec<IpNet>,
}

/// A refused address (shown in the delivery log as `blocked_address`).
#[derive(Debug)]
pub struct Blocked(pub IpAddr);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "address {} is not allowed for webhooks", self.0)
    }
}

impl std::error::Error for Blocked {}

impl Guard {
    /// Parses the allow list; entries that are not CIDRs or plain IPs are
    /// skipped with a warning.
    pub fn new(allow: &[String]) -> Self {
        let allow = allow
            .iter()
            .filter_map(|s| {
                let parsed = s
                    .parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from));
                if parsed.is_err() {
                    tracing::warn!(cidr = %s, "webhooks.allow_cidrs: not a network; ignored");
                }
                parsed.ok()
            })
            .collect();
        Self { allow }
    }

    /// May a request go to `ip`?
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allow.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }

    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        if self.allows(ip) {
            Ok(())
        } else {
            Err(Blocked(ip))
        }
    }
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Globally routable unicast (no loopback, private, shared, link-local,
/// unspecified, documentation, benchmarking, multicast or reserved ranges).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4() {
        // ::a.b.c.d (deprecated IPv4-compatible) and ::ffff:a.b.c.d.
        if s[0..5].iter().all(|x| *x == 0) {
            return public_v4(v4);
        }
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (could reach IPv4 internals)
        || s[0] == 0x2002) // 6to4 (embeds an arbitrary IPv4)
}

/// A DNS resolver that drops refused addresses from every answer and fails
/// when none is left, so the connector never dials them.
pub struct GuardResolver {
    pub guard: Guard,
}

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match guard.check(a.ip()) {
                    Ok(()) => true,
                    Err(b) => {
                        refused = Some(b);
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = match refused {
                    Some(b) => Box::new(b),
                    None => "no addresses".into(),
                };
                return Err(err);
            }
            let it: reqwest::dns::Addrs = Box::new(ok.into_iter());
            Ok(it)
        })
    }
}

/// The resolver as reqwest wants it.
pub fn resolver(guard: &Guard) -> Arc<GuardResolver> {
    Arc::new(GuardResolver {
        guard: guard.clone(),
    })
}

/// The IP of a URL whose host is a literal address (after the URL parser's
/// normalisation), if it is one.
pub fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn internal_ranges_are_refused() {
        let g = Guard::default();
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            assert!(!g.allows(ip(s)), "{s} should be refused");
        }
        for s in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(g.allows(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn allow_list_opens_networks() {
        let g = Guard::new(&["127.0.0.0/8".into(), "::1".into(), "junk".into()]);
        assert!(g.allows(ip("127.0.0.1")));
        assert!(g.allows(ip("::ffff:127.0.0.1")));
        assert!(g.allows(ip("::1")));
        assert!(!g.allows(ip("10.0.0.1")));
    }

    #[test]
    fn odd_ipv4_spellings_are_literals() {
        for s in [
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
        ] {
            let u = reqwest::Url::parse(s).expect("url");
            let lit = literal_ip(&u).expect("literal");
            assert!(!Guard::default().allows(lit), "{s} -> {lit}");
        }
        let u = reqwest::Url::parse("http://localhost/").expect("url");
        assert!(literal_ip(&u).is_none());
    }
}

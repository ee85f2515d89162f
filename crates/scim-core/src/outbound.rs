//! Where the server may send requests on a tenant's behalf (webhook receivers and their
//! OAuth token endpoints): to the public internet, never to the networks it runs in.
//!
//! A receiver URL is registered by an operator (or, later, by a customer's admin) and then
//! called by the server from inside its own network; one that names `127.0.0.1`, a private
//! address or the cloud's metadata endpoint (`169.254.169.254`) would turn the server into
//! a way in (server-side request forgery). So, unless the operator allows private networks
//! explicitly (`--allow-private-webhooks`, which tests and single-host setups need):
//!
//! - a URL must be `https://` (`http://` only to a loopback host, and only when private
//!   networks are allowed), with a host, without credentials, parsed by the `url` crate;
//! - a host that is an address must be a public one ([`is_public`]); `localhost` and names
//!   under `.localhost` count as loopback;
//! - every address a name resolves to must be public when the request is made (the
//!   adapter resolves, checks and connects to what it checked, so a DNS answer that
//!   changes between check and use does not get through).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// Whether requests may go to loopback, private, link-local and other non-public
/// addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkPolicy {
    /// Whether they may, and `http://` to a loopback host too (`--allow-private-webhooks`);
    /// off by default.
    pub allow_private: bool,
}

/// IPv4 blocks that are not the public internet (IANA special-purpose registry).
const PRIVATE_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network"
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared (carrier-grade NAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, cloud metadata
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, broadcast
];

/// IPv6 blocks that are not the public internet.
const PRIVATE_V6: [(Ipv6Addr, u8); 12] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // unspecified, loopback, IPv4-compatible
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96), // IPv4-translated (SIIT, RFC 7915)
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16), // segment routing (SRv6 SIDs)
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use NAT64 (RFC 8215)
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), // discard
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local (deprecated)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast
];

/// Whether `address` is on the public internet. IPv4 addresses carried in IPv6 (mapped
/// `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:ab:cd::`) are judged as the
/// IPv4 address they carry.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => !PRIVATE_V4
            .iter()
            .any(|&(net, len)| Ipv4Net::new(net, len).is_ok_and(|net| net.contains(&v4))),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public(IpAddr::V4(v4));
            }
            !PRIVATE_V6
                .iter()
                .any(|&(net, len)| Ipv6Net::new(net, len).is_ok_and(|net| net.contains(&v6)))
        }
    }
}

/// The IPv4 address an IPv6 address carries, if it is of a form that carries one.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = v6.segments();
    let [a, b, c, d] = v6.octets()[12..] else {
        return None;
    };
    match segments {
        // NAT64 (RFC 6052).
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(Ipv4Addr::new(a, b, c, d)),
        // 6to4 (RFC 3056): the address in segments 1 and 2.
        [0x2002, high, low, ..] => {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low.to_be_bytes();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

/// Whether a host name stands for this machine.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Checks a URL the server is to call on a tenant's behalf; the refusal says why.
pub fn check_outbound_url(text: &str, policy: NetworkPolicy) -> Result<Url, String> {
    if text.len() > 2_000 {
        return Err("is longer than 2,000 characters".into());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("holds spaces or control characters".into());
    }
    let url = Url::parse(text).map_err(|error| format!("is not a URL ({error})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("holds a user or password (give OAuth client credentials instead)".into());
    }
    let loopback = match url.host() {
        None => return Err("has no host".into()),
        Some(Host::Domain(name)) => is_loopback_name(name),
        Some(Host::Ipv4(v4)) => {
            if !policy.allow_private && !is_public(IpAddr::V4(v4)) {
                return Err(private_refusal());
            }
            v4.is_loopback()
        }
        Some(Host::Ipv6(v6)) => {
            if !policy.allow_private && !is_public(IpAddr::V6(v6)) {
                return Err(private_refusal());
            }
            v6.is_loopback()
        }
    };
    if loopback && !policy.allow_private {
        return Err(private_refusal());
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(
            "uses http://: use https:// (http:// only to this machine, with \
                       --allow-private-webhooks)"
                .into(),
        ),
        other => Err(format!("uses {other}://: use https://")),
    }
}

fn private_refusal() -> String {
    "names a loopback, private or link-local address, which the server does not call unless \
     the operator allows private networks (--allow-private-webhooks)"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "fec0::1",
            // IPv4-compatible (deprecated) and local-use NAT64.
            "::10.0.0.1",
            "::8.8.8.8",
            "64:ff9b:1::a00:1",
            // IPv4-translated, documentation, segment routing.
            "::ffff:0:a00:1",
            "::ffff:0:808:808",
            "3fff::1",
            "5f00::1",
        ];
        for address in private {
            assert!(!is_public(address.parse().unwrap()), "{address}");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2a00:1450:4001:82b::200e",
        ];
        for address in public {
            assert!(is_public(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn receiver_urls_go_to_the_public_internet_unless_private_networks_are_allowed() {
        let strict = NetworkPolicy::default();
        let open = NetworkPolicy {
            allow_private: true,
        };
        let cases: [(&str, bool, bool); 14] = [
            ("https://hooks.example.com/scim", true, true),
            ("https://hooks.example.com:8443/e?x=1", true, true),
            ("https://8.8.8.8/e", true, true),
            ("http://hooks.example.com/e", false, false),
            ("https://127.0.0.1/e", false, true),
            ("http://127.0.0.1:9/e", false, true),
            ("http://localhost:8080/e", false, true),
            ("http://api.localhost/e", false, true),
            ("https://169.254.169.254/latest/meta-data/", false, true),
            ("https://[::1]/e", false, true),
            ("https://[::ffff:10.0.0.1]/e", false, true),
            ("http://10.0.0.1/e", false, false),
            ("https://user:pass@hooks.example.com/e", false, false),
            ("ftp://hooks.example.com/e", false, false),
        ];
        for (url, strictly, openly) in cases {
            assert_eq!(check_outbound_url(url, strict).is_ok(), strictly, "{url}");
            assert_eq!(
                check_outbound_url(url, open).is_ok(),
                openly,
                "{url} (allowed)"
            );
        }
        for bad in [
            "hooks.example.com",
            "https://",
            "https:// x.example/",
            "https://a\n.example/",
        ] {
            assert!(check_outbound_url(bad, open).is_err(), "{bad}");
        }
        // The private refusal says how to allow it.
        let refusal = check_outbound_url("https://10.0.0.8/e", strict).unwrap_err();
        assert!(refusal.contains("--allow-private-webhooks"), "{refusal}");
    }
}

//! The address a request comes from, as the per-address limit counts it.
//!
//! It is the connection's peer, unless the peer is a proxy the operator trusts
//! (`--trusted-proxy`): then it is the nearest address in `X-Forwarded-For` that is not a
//! trusted proxy, read from the right (the entries to its left are the client's to forge).
//! An IPv6 client is counted by its /64, the block one subscriber gets, so that cycling
//! through its own addresses does not multiply its budget.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

use http::request::Parts;

use crate::request::ClientAddr;

/// Which peers may say where a request comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client address of `req`, as the limit counts it.
    pub(crate) fn client_of(&self, req: &Parts) -> IpAddr {
        let peer = req
            .extensions
            .get::<ClientAddr>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.0.ip());
        let forwarded = req
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        counted(self.client(canonical(peer), &forwarded))
    }

    /// The nearest untrusted hop, from the peer back through `forwarded` (in header order).
    fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match parse_hop(hop) {
                Some(address) => client = canonical(address),
                // A hop a proxy would not write: stop at the last one we could trust.
                None => break,
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, or an address with its port
/// (`203.0.113.5:51234`, `[2001:db8::1]:443`), as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

/// IPv4 addresses written as IPv6 (`::ffff:192.0.2.1`) are the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// What the limit counts: an IPv4 address, or an IPv6 address's /64.
fn counted(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies = TrustedProxies(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        let cases = [
            // No trusted peer: its own address, whatever the header says.
            ("203.0.113.9", vec!["198.51.100.1"], "203.0.113.9"),
            // A trusted proxy: the hop it saw.
            ("10.0.0.2", vec!["198.51.100.1"], "198.51.100.1"),
            // Two trusted proxies: the first untrusted from the right; the forged left
            // entries do not count.
            (
                "10.0.0.2",
                vec!["6.6.6.6", "198.51.100.1", "10.1.1.1"],
                "198.51.100.1",
            ),
            // A trusted proxy that sent no header: the proxy itself.
            ("10.0.0.2", vec![], "10.0.0.2"),
            // Garbage from a trusted proxy: stop there.
            ("10.0.0.2", vec!["not-an-address"], "10.0.0.2"),
            ("::1", vec!["::ffff:192.0.2.7"], "192.0.2.7"),
            // With ports (Azure Application Gateway writes them), and bracketed.
            ("10.0.0.2", vec!["198.51.100.1:51234"], "198.51.100.1"),
            ("10.0.0.2", vec!["[2001:db8::7]:443"], "2001:db8::7"),
            ("10.0.0.2", vec!["[2001:db8::8]"], "2001:db8::8"),
        ];
        for (peer, forwarded, expected) in cases {
            assert_eq!(
                proxies.client(canonical(ip(peer)), &forwarded),
                ip(expected),
                "{peer} {forwarded:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        assert_eq!(counted(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(counted(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}

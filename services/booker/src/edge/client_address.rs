//! Who the client is, for the guessing limits: the peer address, unless the peer is one of
//! the `TRUSTED_PROXIES`; then the last hop of `X-Forwarded-For` that is not (each proxy
//! appends the address it saw, so hops further left are only as true as the client says).

use std::net::IpAddr;

/// Addresses and networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// A comma-separated list of addresses and CIDR networks (`10.0.0.0/8, ::1`); empty
    /// trusts nobody.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let (address, prefix) = entry.split_once('/').unwrap_or((entry, ""));
                let address: IpAddr = address
                    .parse()
                    .map_err(|_| format!("{entry:?} is not an address or a CIDR network"))?;
                let max = if address.is_ipv4() { 32 } else { 128 };
                let prefix = if prefix.is_empty() {
                    max
                } else {
                    prefix
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= max)
                        .ok_or_else(|| format!("{entry:?} has no valid prefix length"))?
                };
                // An IPv4-mapped network is the IPv4 network it maps.
                Ok(match address {
                    IpAddr::V6(v6) if prefix >= 96 => v6
                        .to_ipv4_mapped()
                        .map_or((address, prefix), |v4| (IpAddr::V4(v4), prefix - 96)),
                    _ => (address, prefix),
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Self)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0
            .iter()
            .any(|(network, prefix)| in_network(address, *network, *prefix))
    }
}

/// The client of a request from `peer` with these `X-Forwarded-For` header values.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop a trusted proxy wrote that is no address: believe nothing further left.
        let Some(address) = parse_hop(hop) else {
            return client;
        };
        client = address;
        if !trusted.contains(address) {
            return address;
        }
    }
    client
}

/// An `X-Forwarded-For` hop: an address, perhaps with a port (`[v6]:port`, `v4:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse() {
        return Some(address);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?
        .0
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(IpAddr::V4)
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let bits = |a: IpAddr| match a {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32_u32),
        IpAddr::V6(v6) => (u128::from(v6), 128_u32),
    };
    let ((a, width), (n, network_width)) = (bits(address), bits(network));
    let Some(host_bits) = width.checked_sub(u32::from(prefix)) else {
        return false;
    };
    if width != network_width {
        return false;
    }
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    (a & mask) == (n & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn proxies(raw: &str) -> TrustedProxies {
        TrustedProxies::parse(raw).expect("valid")
    }

    #[test]
    fn given_no_trusted_proxies_then_the_peer_is_the_client_whatever_it_forwards() {
        let client = client_address(ip("198.51.100.4"), ["203.0.113.9"], &proxies(""));
        assert_eq!(client, ip("198.51.100.4"));
    }

    #[test]
    fn given_a_trusted_proxy_then_the_last_untrusted_hop_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.168.1.1");
        // The client claims to be 1.2.3.4; 203.0.113.9 is what the first proxy saw.
        let forwarded = ["1.2.3.4, 203.0.113.9", "10.1.2.3"];
        let client = client_address(ip("192.168.1.1"), forwarded, &trusted);
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn given_a_trusted_proxy_without_forwarded_for_then_the_peer_is_the_client() {
        let client = client_address(ip("10.0.0.1"), [], &proxies("10.0.0.0/8"));
        assert_eq!(client, ip("10.0.0.1"));
    }

    #[test]
    fn given_garbage_written_by_a_trusted_proxy_then_nothing_further_left_is_believed() {
        let trusted = proxies("10.0.0.0/8");
        let client = client_address(ip("10.0.0.1"), ["1.2.3.4, unknown, 10.0.0.2"], &trusted);
        assert_eq!(client, ip("10.0.0.2"));
    }

    #[test]
    fn hops_may_carry_ports_and_ipv4_may_come_mapped() {
        let trusted = proxies("::ffff:127.0.0.1");
        let client = client_address(ip("127.0.0.1"), ["[2001:db8::1]:4711"], &trusted);
        assert_eq!(client, ip("2001:db8::1"));
        let client = client_address(ip("::ffff:127.0.0.1"), ["203.0.113.9:80"], &trusted);
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_anything_else_is_refused_by_name() {
        assert!(proxies("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!proxies("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(proxies("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(proxies("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!proxies("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert_eq!(proxies(" "), TrustedProxies::default());
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x"] {
            let error = TrustedProxies::parse(bad).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
    }
}

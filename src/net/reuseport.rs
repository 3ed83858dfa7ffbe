//! `SO_REUSEPORT`: which socket of a group that shares an address and port takes a connection or a datagram.
//!
//! As on Linux, sockets that all set `SO_REUSEPORT` before `bind` may bind (and listen on)
//! the same address and port ([`super::bound`]). Those with the same address and families
//! form a group, and each new connection ([`super::listen`]) or datagram
//! ([`super::udpshare`]) goes to one member chosen by a hash of its addresses and ports:
//! the same peer always meets the same member while the group stays the same, and many
//! peers spread evenly over the members. The hash is keyed with a secret drawn at each boot,
//! as Linux keys its own, so a peer cannot aim its connections at one member.
//! Unlike Linux, no BPF program can choose the member, and the connections a member's
//! `close` leaves unaccepted are reset rather than moved to another member.

use smoltcp::wire::{IpAddress, IpEndpoint};

/// The keyed hash of a flow: its peer, our address and our port.
pub fn flow_hash(key: u64, peer: IpEndpoint, local: Option<IpAddress>, port: u16) -> u64 {
    let mut h = key;
    let mut mix = |word: u64| {
        h = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
    };
    for addr in [Some(peer.addr), local].into_iter().flatten() {
        match addr {
            IpAddress::Ipv4(a) => mix(u64::from(u32::from_be_bytes(a.octets()))),
            IpAddress::Ipv6(a) => {
                let bits = u128::from_be_bytes(a.octets());
                mix(bits as u64);
                mix((bits >> 64) as u64);
            }
        }
    }
    mix(u64::from(peer.port) << 16 | u64::from(port));
    // splitmix64's finish: every input bit reaches every output bit.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The member of a group of `members` (at least one) that `hash` falls on.
pub fn member(hash: u64, members: usize) -> usize {
    // The top bits scaled to the count, as Linux's `reciprocal_scale`: no division.
    (((hash >> 32) * members as u64) >> 32) as usize
}

/// The member of `group` (in the order its members joined) that the flow from `peer` to our
/// `local` address and `port` falls on; `None` for an empty group.
pub fn pick<T>(
    key: u64,
    peer: IpEndpoint,
    local: Option<IpAddress>,
    port: u16,
    group: impl Iterator<Item = T> + Clone,
) -> Option<T> {
    let members = group.clone().count();
    if members == 0 {
        return None;
    }
    group.into_iter().nth(member(flow_hash(key, peer, local, port), members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_peers_spread_over_the_members() {
        let ours = Some(IpAddress::v4(127, 0, 0, 1));
        for members in [2, 3, 8] {
            let mut counts = [0usize; 8];
            for port in 40000..41000 {
                let peer = IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), port);
                counts[pick(7, peer, ours, 80, 0..members).unwrap()] += 1;
            }
            let fair = 1000 / members;
            for (i, &n) in counts.iter().enumerate() {
                if i < members {
                    assert!(n > fair * 3 / 4 && n < fair * 5 / 4, "{members} members: {counts:?}");
                } else {
                    assert_eq!(n, 0);
                }
            }
        }
        let peer = IpEndpoint::new(IpAddress::v6(0xfe80, 0, 0, 0, 0, 0, 0, 1), 5000);
        assert_eq!(pick(9, peer, None, 80, 0..0), None, "an empty group");
        assert_ne!(flow_hash(9, peer, None, 80), flow_hash(10, peer, None, 80), "the key changes it");
    }
}

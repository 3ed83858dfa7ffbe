//! Frames from the NIC that claim addresses only the guest itself may use ("martians"), dropped before smoltcp sees them.
//!
//! smoltcp takes any IP packet to one of its addresses, 127.0.0.1 and ::1 included, and
//! learns the MAC address of any ARP or neighbour message whose sender lies in one of its
//! networks, 127.0.0.0/8 and its own address included. From the segment that let any host
//! reach a service bound to 127.0.0.1, make the guest answer a SYN from its own address and
//! port (LAND), and, with one ARP message claiming 127.0.0.1 or the guest's own address, send
//! the guest's traffic to that address out of the NIC to the claimant (and hold a listener
//! in SYN-RECEIVED on the way). Linux drops such packets on any interface but loopback; so
//! does the device ([`martian`]).

use super::route::LOCALHOST6 as LOOPBACK6;

/// Whether `frame` (an Ethernet frame from the NIC) is to be dropped because it claims a
/// loopback address (127.0.0.0/8, ::1) as source or destination, or the guest's own address
/// as its source: an IPv4 packet or ARP message from `ipv4` (the NIC's address, if it has
/// one yet), an IPv6 packet from one of `ipv6` (our link-local address and those SLAAC
/// formed). An ARP probe (sender 0.0.0.0) is no claim. Frames too short to tell are left to
/// smoltcp, which drops them.
pub fn martian<'a>(frame: &[u8], ipv4: Option<[u8; 4]>, mut ipv6: impl Iterator<Item = &'a [u8; 16]>) -> bool {
    let field = |at: usize, len: usize| frame.get(at..at + len);
    let ours = |addr: &[u8]| ipv4.is_some_and(|ip| addr == ip);
    let (src, dst) = match frame.get(12..14) {
        Some([8, 0]) => (field(26, 4), field(30, 4)),
        Some([8, 6]) => (field(28, 4), field(38, 4)),
        Some([0x86, 0xdd]) => {
            let (Some(src), Some(dst)) = (field(22, 16), field(38, 16)) else { return false };
            return src == LOOPBACK6 || dst == LOOPBACK6 || ipv6.any(|ours| src == ours);
        }
        _ => return false,
    };
    let (Some(src), Some(dst)) = (src, dst) else { return false };
    src[0] == 127 || dst[0] == 127 || ours(src)
}

#[cfg(test)]
mod tests {
    use super::super::addr::link_local;
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    const MAC: [u8; 6] = [2, 0, 0, 0, 5, 2];
    const OURS: [u8; 4] = [10, 0, 5, 2];

    fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[8, 0]);
        f[14] = 0x45;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f
    }

    fn arp(spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 42];
        f[12..22].copy_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        f[28..32].copy_from_slice(&spa);
        f[38..42].copy_from_slice(&tpa);
        f
    }

    const GLOBAL: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 5, 2];

    /// Our IPv6 addresses: the link-local one and one SLAAC formed.
    fn ours6() -> impl Iterator<Item = &'static [u8; 16]> {
        static OURS6: std::sync::OnceLock<[[u8; 16]; 2]> = std::sync::OnceLock::new();
        OURS6.get_or_init(|| [link_local(MAC).octets(), GLOBAL]).iter()
    }

    fn ipv6(src: [u8; 16], dst: [u8; 16]) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[22..38].copy_from_slice(&src);
        f[38..54].copy_from_slice(&dst);
        f
    }

    #[test]
    fn loopback_and_own_addresses_from_the_segment_are_dropped() {
        let host = [10, 0, 5, 1];
        let dropped = [
            ipv4(host, [127, 0, 0, 1]),
            ipv4([127, 0, 0, 1], OURS),
            ipv4([127, 9, 9, 9], OURS),
            ipv4(OURS, OURS),
            arp([127, 0, 0, 1], OURS),
            arp(host, [127, 0, 0, 1]),
            arp(OURS, OURS),
            ipv6(LOOPBACK6, link_local(MAC).octets()),
            ipv6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99], LOOPBACK6),
            ipv6(link_local(MAC).octets(), link_local(MAC).octets()),
            ipv6(GLOBAL, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ];
        for f in &dropped {
            assert!(martian(f, Some(OURS), ours6()), "{f:x?}");
        }
        let kept = [
            ipv4(host, OURS),
            ipv4(host, [10, 0, 5, 255]),
            ipv4([0, 0, 0, 0], [255, 255, 255, 255]),
            arp(host, OURS),
            arp([0, 0, 0, 0], OURS),
            ipv6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99], link_local(MAC).octets()),
            ipv6([0; 16], [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 5, 2]),
            ipv6([0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11], GLOBAL),
        ];
        for f in &kept {
            assert!(!martian(f, Some(OURS), ours6()), "{f:x?}");
        }
        // Before DHCP gave an address, only loopback addresses are claims.
        assert!(!martian(&ipv4(OURS, OURS), None, ours6()));
        assert!(martian(&ipv4(host, [127, 0, 0, 1]), None, ours6()));
    }

    #[test]
    fn short_and_other_frames_are_left_alone() {
        let f = ipv4([127, 0, 0, 1], OURS);
        for cut in 0..34 {
            assert!(!martian(&f[..cut], Some(OURS), ours6()), "{cut} bytes");
        }
        assert!(martian(&f[..34], Some(OURS), ours6()));
        let mut vlan = f.clone();
        vlan[12..14].copy_from_slice(&[0x81, 0]);
        assert!(!martian(&vlan, Some(OURS), ours6()));
        let six = ipv6(LOOPBACK6, LOOPBACK6);
        assert!(!martian(&six[..53], Some(OURS), ours6()));
    }
}

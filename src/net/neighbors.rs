//! IPv4 neighbours on the NIC's segment, resolved beside smoltcp's cache so that talking to many hosts does not stall (IPv6: [`super::neighbors6`]).
//!
//! smoltcp learns a neighbour's MAC address only from ARP, and after it sent an ARP request
//! it sends no other for a whole second, to any address (one rate limit for the whole
//! cache): a packet to a second unknown host within that second waits it out. A guest that
//! connects to several hosts of its segment in a row (MPI ranks, a client of several
//! servers) paid a second per host, and with more hosts than the cache held (8), every
//! connection found its host evicted and paid it again (`net.tap-peers`: 12 hosts, 1.0 s per
//! connection in every round; Linux a millisecond). The device therefore keeps its own table
//! of the hosts it saw, and
//! - hands smoltcp an ARP reply from a host of the segment when a frame from it comes and the
//!   table has not seen that host (or its MAC address) for [`REFRESH_NS`](super::hosts::REFRESH_NS), queued before
//!   smoltcp can answer the frame ([`Neighbors::learn`]);
//! - sends an ARP request of its own when a socket (or a name lookup) is about to talk to a
//!   host of the segment, or beyond it through the gateway, that the table does not know
//!   ([`Neighbors::ask`]); smoltcp takes the reply, which is addressed to us, whatever its
//!   rate limit.
//!
//! This trusts the source addresses of frames from the segment as ARP already does (smoltcp
//! takes every ARP reply addressed to us); frames that claim loopback or our own addresses
//! never get here ([`super::martian`]). The table itself is [`super::hosts`].

use alloc::vec::Vec;

use super::hosts::Hosts;
#[cfg(test)]
use super::hosts::{ASK_NS, CAPACITY, REFRESH_NS};

/// The hosts of the NIC's segment the device saw.
pub struct Neighbors {
    /// Our address and prefix length on the segment, once known.
    net: Option<([u8; 4], u8)>,
    /// The default gateway, if any.
    gateway: Option<[u8; 4]>,
    mac: [u8; 6],
    hosts: Hosts<4>,
    /// ARP replies handed to smoltcp (`HERMIT_VERBOSE`).
    pub fed: u64,
    /// ARP requests of ours sent (`HERMIT_VERBOSE`).
    pub asks: u64,
}

/// Whether `ip` is another host of our network `net` (address, prefix length): neither the
/// network's nor its broadcast address, nor ours.
fn on_link(net: ([u8; 4], u8), ip: [u8; 4]) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(net.1.min(32))).unwrap_or(0);
    let (ours, theirs) = (u32::from_be_bytes(net.0), u32::from_be_bytes(ip));
    let host = theirs & !mask;
    ours & mask == theirs & mask && host != 0 && host != !mask && theirs != ours
}

/// An ARP packet in an Ethernet frame: `op` 1 (request) or 2 (reply).
fn arp(op: u8, eth_dst: [u8; 6], sender: ([u8; 6], [u8; 4]), target: ([u8; 6], [u8; 4])) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&eth_dst);
    f.extend_from_slice(&sender.0);
    f.extend_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, op]);
    f.extend_from_slice(&sender.0);
    f.extend_from_slice(&sender.1);
    f.extend_from_slice(&target.0);
    f.extend_from_slice(&target.1);
    f.resize(60, 0);
    f
}

impl Neighbors {
    /// No host known yet; `mac` is ours.
    pub const fn new(mac: [u8; 6]) -> Self {
        Self { net: None, gateway: None, mac, hosts: Hosts::new(), fed: 0, asks: 0 }
    }

    /// Our IPv4 address and prefix length (`None`: none, as before DHCP); forgets every host
    /// when it changes.
    pub fn set_net(&mut self, net: Option<([u8; 4], u8)>) {
        if self.net != net {
            self.hosts.clear();
        }
        self.net = net;
    }

    /// Forgets every host (smoltcp flushed its cache: its addresses changed).
    pub fn forget(&mut self) {
        self.hosts.clear();
    }

    /// The default gateway, through which the hosts beyond the segment are reached.
    pub fn set_gateway(&mut self, gateway: Option<[u8; 4]>) {
        self.gateway = gateway;
    }

    /// Looks at `frame`, received from the NIC at uptime `now` (ns): an ARP reply from its
    /// sender for smoltcp, if it is an IPv4 packet from a host of the segment that smoltcp
    /// may not know. ARP addressed to us is only noted: smoltcp learns from it itself.
    pub fn learn(&mut self, frame: &[u8], now: u64) -> Option<Vec<u8>> {
        let net = self.net?;
        let src_mac: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
        if src_mac[0] & 1 != 0 {
            return None;
        }
        match frame.get(12..14)? {
            [8, 6] => {
                let arp = frame.get(14..42)?;
                let (sender_mac, sender_ip, target_ip) = (&arp[8..14], &arp[14..18], &arp[24..28]);
                if arp[..8] == [0, 1, 8, 0, 6, 4, 0, 1][..] || arp[..8] == [0, 1, 8, 0, 6, 4, 0, 2][..] {
                    let ip: [u8; 4] = sender_ip.try_into().ok()?;
                    if target_ip == net.0 && sender_mac == src_mac && on_link(net, ip) {
                        self.hosts.remember(ip, src_mac, now);
                    }
                }
                None
            }
            [8, 0] => {
                let ip: [u8; 4] = frame.get(26..30)?.try_into().ok()?;
                if frame.get(30..34)? != net.0 || !on_link(net, ip) {
                    return None;
                }
                if self.hosts.fresh(&ip, Some(src_mac), now) {
                    return None;
                }
                self.hosts.remember(ip, src_mac, now);
                self.fed += 1;
                Some(arp(2, self.mac, (src_mac, ip), (self.mac, net.0)))
            }
            _ => None,
        }
    }

    /// An ARP request to send if a socket is about to talk to `ip` at uptime `now`: for `ip`
    /// if it is a host of the segment, else for the gateway, when the table does not know that
    /// host (at most one per host every [`ASK_NS`](super::hosts::ASK_NS)).
    pub fn ask(&mut self, ip: [u8; 4], now: u64) -> Option<Vec<u8>> {
        let net = self.net?;
        let ip = if on_link(net, ip) { ip } else { self.gateway.filter(|&gw| on_link(net, gw))? };
        if !self.hosts.may_ask(ip, now) {
            return None;
        }
        self.asks += 1;
        Some(arp(1, [0xff; 6], (self.mac, net.0), ([0; 6], ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const OURS: [u8; 6] = [2, 0, 0, 0, 5, 2];
    const HOST: [u8; 6] = [2, 0, 0, 0, 5, 1];
    const NET: ([u8; 4], u8) = ([10, 0, 5, 2], 24);

    fn ipv4(src_mac: [u8; 6], src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[..6].copy_from_slice(&OURS);
        f[6..12].copy_from_slice(&src_mac);
        f[12..14].copy_from_slice(&[8, 0]);
        f[14] = 0x45;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f
    }

    fn table() -> Neighbors {
        let mut n = Neighbors::new(OURS);
        n.set_net(Some(NET));
        n
    }

    #[test]
    fn a_new_host_of_the_segment_is_handed_to_smoltcp_once() {
        let mut n = table();
        let reply = n.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0), 0).expect("a reply for smoltcp");
        assert_eq!(reply[..6], OURS, "to us");
        assert_eq!(reply[6..12], HOST);
        assert_eq!(reply[12..22], [8, 6, 0, 1, 8, 0, 6, 4, 0, 2]);
        assert_eq!((&reply[22..28], &reply[28..32]), (&HOST[..], &[10, 0, 5, 11][..]));
        assert_eq!((&reply[32..38], &reply[38..42]), (&OURS[..], &NET.0[..]));
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0), 1_000).is_none(), "known");
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0), REFRESH_NS).is_some(), "again after the refresh time");
        assert!(n.learn(&ipv4([2, 0, 0, 0, 5, 9], [10, 0, 5, 11], NET.0), REFRESH_NS + 1).is_some(), "a new MAC");
        assert_eq!(n.fed, 3);
    }

    #[test]
    fn only_unicast_hosts_of_the_segment_to_us_count() {
        let mut n = table();
        assert!(n.learn(&ipv4(HOST, [10, 0, 6, 1], NET.0), 0).is_none(), "another network (routed)");
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 255], NET.0), 0).is_none(), "the broadcast address");
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 0], NET.0), 0).is_none(), "the network address");
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 11], [10, 0, 5, 255]), 0).is_none(), "to the broadcast address");
        assert!(n.learn(&ipv4([3, 0, 0, 0, 0, 1], [10, 0, 5, 11], NET.0), 0).is_none(), "a multicast MAC");
        for cut in 0..34 {
            assert!(n.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0)[..cut], 0).is_none(), "{cut} bytes");
        }
        let mut none = Neighbors::new(OURS);
        assert!(none.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0), 0).is_none(), "no address yet");
        assert!(none.ask([10, 0, 5, 11], 0).is_none());
    }

    #[test]
    fn arp_to_us_is_noted_and_left_to_smoltcp() {
        let mut n = table();
        let request = arp(1, [0xff; 6], (HOST, [10, 0, 5, 11]), ([0; 6], NET.0));
        assert!(n.learn(&request, 0).is_none());
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 11], NET.0), 1).is_none(), "smoltcp learned it from the request");
        assert!(n.ask([10, 0, 5, 11], 2).is_none());
    }

    #[test]
    fn an_unknown_host_is_asked_for_at_most_every_ask_time() {
        let mut n = table();
        let request = n.ask([10, 0, 5, 12], 0).expect("a request");
        assert_eq!(request[..6], [0xff; 6]);
        assert_eq!(request[12..22], [8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!((&request[22..28], &request[28..32]), (&OURS[..], &NET.0[..]));
        assert_eq!(request[38..42], [10, 0, 5, 12]);
        assert!(n.ask([10, 0, 5, 12], ASK_NS - 1).is_none());
        assert!(n.ask([10, 0, 5, 12], ASK_NS).is_some());
        assert!(n.ask([10, 0, 6, 1], 0).is_none(), "routed, and no gateway");
        assert!(n.ask(NET.0, 0).is_none(), "ourselves");
        n.learn(&arp(2, OURS, (HOST, [10, 0, 5, 12]), (OURS, NET.0)), ASK_NS + 1);
        assert!(n.ask([10, 0, 5, 12], 2 * ASK_NS).is_none(), "answered");
        assert_eq!(n.asks, 2);
    }

    #[test]
    fn a_host_beyond_the_segment_asks_for_the_gateway() {
        let mut n = table();
        n.set_gateway(Some([10, 0, 5, 1]));
        let request = n.ask([192, 0, 2, 7], 0).expect("a request for the gateway");
        assert_eq!(request[38..42], [10, 0, 5, 1]);
        assert!(n.ask([198, 51, 100, 1], 1).is_none(), "asked already");
        n.learn(&arp(2, OURS, (HOST, [10, 0, 5, 1]), (OURS, NET.0)), 2);
        assert!(n.ask([192, 0, 2, 7], ASK_NS + 2).is_none(), "known");
        n.set_gateway(Some([10, 0, 9, 1]));
        assert!(n.ask([192, 0, 2, 7], 2 * ASK_NS).is_none(), "a gateway off the segment is smoltcp's");
    }

    #[test]
    fn the_table_keeps_the_hosts_seen_last() {
        let mut n = table();
        for i in 0..=CAPACITY as u64 {
            assert!(n.learn(&ipv4(HOST, [10, 0, 5, 10 + i as u8], NET.0), i).is_some());
        }
        assert_eq!(n.hosts.len(), CAPACITY);
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 10], NET.0), 100).is_some(), "the first one went");
        assert!(n.learn(&ipv4(HOST, [10, 0, 5, 10 + CAPACITY as u8], NET.0), 101).is_none(), "the last one stayed");
        n.set_net(Some(([10, 0, 5, 3], 24)));
        assert!(n.hosts.is_empty(), "a new address forgets them");
    }
}

//! Answers to ARP probes (RFC 5227) for the guest's IPv4 address, which smoltcp ignores (it
//! drops ARP packets whose sender address is 0.0.0.0): with them a second proxy (or any host)
//! probing the segment before it uses our address learns that the address is taken.

use alloc::vec::Vec;

/// The reply to `frame` if it is an ARP probe for `ip` from another hardware address than
/// `mac`: an ARP reply from `mac` claiming `ip`, to the prober (as Linux answers, the target
/// protocol address is the probe's sender address, 0.0.0.0).
pub fn probe_reply(frame: &[u8], mac: [u8; 6], ip: [u8; 4]) -> Option<Vec<u8>> {
    if frame.len() < 42 || frame[12..14] != [8, 6] || frame[14..22] != [0, 1, 8, 0, 6, 4, 0, 1] {
        return None;
    }
    let sender_mac = &frame[22..28];
    if frame[28..32] != [0; 4] || frame[38..42] != ip || sender_mac == mac || sender_mac[0] & 1 != 0 {
        return None;
    }
    let mut reply = Vec::with_capacity(60);
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, 2]);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&ip);
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(&[0; 4]);
    reply.resize(60, 0);
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const IP: [u8; 4] = [10, 0, 5, 2];

    fn request(sender: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&[8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&sender_ip);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target_ip);
        f.resize(60, 0);
        f
    }

    #[test]
    fn a_probe_for_our_address_is_answered() {
        let reply = probe_reply(&request(OTHER, [0; 4], IP), OURS, IP).unwrap();
        assert_eq!(reply.len(), 60);
        assert_eq!(reply[..6], OTHER);
        assert_eq!(reply[6..12], OURS);
        assert_eq!(reply[12..22], [8, 6, 0, 1, 8, 0, 6, 4, 0, 2]);
        assert_eq!(reply[22..28], OURS);
        assert_eq!(reply[28..32], IP);
        assert_eq!(reply[32..38], OTHER);
        assert_eq!(reply[38..42], [0; 4]);
    }

    #[test]
    fn everything_else_is_left_to_smoltcp() {
        assert!(probe_reply(&request(OTHER, [10, 0, 5, 1], IP), OURS, IP).is_none(), "an ordinary request");
        assert!(probe_reply(&request(OTHER, [0; 4], [10, 0, 5, 3]), OURS, IP).is_none(), "another address");
        assert!(probe_reply(&request(OURS, [0; 4], IP), OURS, IP).is_none(), "our own probe");
        let mut reply = request(OTHER, [0; 4], IP);
        reply[21] = 2;
        assert!(probe_reply(&reply, OURS, IP).is_none(), "not a request");
        assert!(probe_reply(&request(OTHER, [0; 4], IP)[..40], OURS, IP).is_none(), "short");
    }
}

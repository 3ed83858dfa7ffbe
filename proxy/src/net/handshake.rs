//! The final ACK of a handshake that passt opened towards the guest (`HERMIT_APP_PORT`),
//! which Debian 12's passt (0.0~git20230309) sends only with the host's first data: a guest
//! server that speaks first (SMTP, SSH banners) would never see its connection established.
//! When the guest answers passt's SYN with SYN-ACK, the proxy hands the guest the ACK passt
//! owes it (passt fixed this upstream in commit 9178a9e; a later ACK of passt's own is a
//! harmless duplicate). IPv4 only (the guest's address from passt is IPv4).

/// The ACK for `frame` if it is an IPv4 TCP SYN-ACK from the guest: addresses and ports
/// swapped, sequence number the SYN-ACK's acknowledgement number, acknowledgement its
/// sequence number + 1, the largest unscaled window.
pub fn ack_for_syn_ack(frame: &[u8]) -> Option<Vec<u8>> {
    if frame.len() < 14 + 20 || frame[12..14] != [8, 0] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4
        || ihl < 20
        || ip[9] != 6
        || ip.len() < ihl + 20
        || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0
    {
        return None;
    }
    let tcp = &ip[ihl..];
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    if tcp[13] & (SYN | ACK | 0x04 | 0x01) != SYN | ACK {
        return None;
    }
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let ack = u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]);
    let mut out = Vec::with_capacity(54);
    out.extend_from_slice(&frame[6..12]);
    out.extend_from_slice(&frame[0..6]);
    out.extend_from_slice(&[8, 0]);
    // IPv4 header: version/IHL, TOS, length 40, id 0, DF, TTL 64, TCP, checksum, addresses.
    let mut iph = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    iph[12..16].copy_from_slice(&ip[16..20]);
    iph[16..20].copy_from_slice(&ip[12..16]);
    let sum = checksum(&iph, 0);
    iph[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&iph);
    let mut th = [0u8; 20];
    th[0..2].copy_from_slice(&tcp[2..4]);
    th[2..4].copy_from_slice(&tcp[0..2]);
    th[4..8].copy_from_slice(&ack.to_be_bytes());
    th[8..12].copy_from_slice(&seq.wrapping_add(1).to_be_bytes());
    th[12] = 5 << 4;
    th[13] = ACK;
    th[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
    // Pseudo header: source, destination, protocol, TCP length.
    let mut pseudo = 0u32;
    for pair in iph[12..20].chunks(2) {
        pseudo += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    pseudo += 6 + 20;
    let sum = checksum(&th, pseudo);
    th[16..18].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&th);
    Some(out)
}

/// The Internet checksum of `data` with `initial` (a partial sum) added.
fn checksum(data: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    for pair in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A guest SYN-ACK 10.0.2.15:8080 -> 10.0.2.2:40000, seq 1000, ack 5001, with options.
    pub(in crate::net) fn syn_ack(flags: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
        f.extend_from_slice(&[0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2]);
        let mut tcp = vec![0x1f, 0x90, 0x9c, 0x40, 0, 0, 0x03, 0xe8, 0, 0, 0x13, 0x89, 6 << 4, flags, 0x40, 0];
        tcp.extend_from_slice(&[0, 0, 0, 0, 2, 4, 5, 0xb4]);
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn the_ack_passt_owes() {
        let ack = ack_for_syn_ack(&syn_ack(0x12)).unwrap();
        assert_eq!(ack.len(), 54);
        assert_eq!(ack[..12], [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
        let ip = &ack[14..34];
        assert_eq!(ip[12..16], [10, 0, 2, 2]);
        assert_eq!(ip[16..20], [10, 0, 2, 15]);
        assert_eq!(checksum(ip, 0), 0, "IPv4 header checksum");
        let tcp = &ack[34..];
        assert_eq!(tcp[..4], [0x9c, 0x40, 0x1f, 0x90]);
        assert_eq!(u32::from_be_bytes(tcp[4..8].try_into().unwrap()), 5001);
        assert_eq!(u32::from_be_bytes(tcp[8..12].try_into().unwrap()), 1001);
        assert_eq!(tcp[13], 0x10);
        let pseudo = 0x0a00 + 0x0202 + 0x0a00 + 0x020f + 6 + 20;
        assert_eq!(checksum(tcp, pseudo), 0, "TCP checksum");
    }

    #[test]
    fn nothing_else() {
        assert!(ack_for_syn_ack(&syn_ack(0x02)).is_none(), "a SYN");
        assert!(ack_for_syn_ack(&syn_ack(0x10)).is_none(), "an ACK");
        assert!(ack_for_syn_ack(&syn_ack(0x13)).is_none(), "SYN-ACK-FIN");
        assert!(ack_for_syn_ack(&syn_ack(0x16)).is_none(), "with RST");
        let mut udp = syn_ack(0x12);
        udp[14 + 9] = 17;
        assert!(ack_for_syn_ack(&udp).is_none(), "UDP");
        assert!(ack_for_syn_ack(&syn_ack(0x12)[..40]).is_none(), "short");
    }
}

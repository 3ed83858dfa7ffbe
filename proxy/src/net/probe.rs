//! Address conflict detection on a tap before the guest boots: ARP probes for the guest's
//! address (RFC 5227 §2.1.1: sender address 0.0.0.0, so no neighbour cache learns from them),
//! and any ARP packet from another hardware address that claims the address is a conflict.
//!
//! The proxy probes (not the guest) so that the conflict is a clear message and exit status 1
//! before a VM exists, for every image (the original kernel's lwIP never probed), and so that
//! nothing is left half set up. Deviation from RFC 5227: the waits are milliseconds, not
//! seconds (a unikernel's start-up budget; peers on a host bridge answer within microseconds),
//! and the guest does not defend its address after boot (our kernel answers other hosts'
//! probes for its address, so a second guest detects the first).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Probes sent, and the interval between them (RFC 5227's PROBE_NUM, shortened interval).
const PROBES: u32 = 3;
const INTERVAL: Duration = Duration::from_millis(25);
/// How long to listen after the last probe.
const LAST_WAIT: Duration = Duration::from_millis(75);

const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];

/// An ARP probe from `mac` for `ip`: broadcast, request, sender 0.0.0.0, target `ip` (60 bytes,
/// padded to the Ethernet minimum).
pub fn arp_probe(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETHERTYPE_ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet, IPv4, sizes, request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&ip);
    f.resize(60, 0);
    f
}

/// An ARP announcement (RFC 5227 §2.3) from `mac` for `ip`: a probe with `ip` as sender
/// address too. Neighbour caches that hold `ip` learn `mac` from it.
pub fn arp_announcement(mac: [u8; 6], ip: [u8; 4]) -> Vec<u8> {
    let mut f = arp_probe(mac, ip);
    f[28..32].copy_from_slice(&ip);
    f
}

/// The hardware address of another host that `frame` shows using `ip`: an ARP reply or request
/// whose sender address is `ip`, or (RFC 5227: a simultaneous probe) a probe for `ip` from
/// another hardware address. `None` for anything else, and for our own `mac`.
pub fn conflict(frame: &[u8], mac: [u8; 6], ip: [u8; 4]) -> Option<[u8; 6]> {
    if frame.len() < 42 || frame[12..14] != ETHERTYPE_ARP || frame[14..20] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([frame[20], frame[21]]);
    let sender_mac: [u8; 6] = frame[22..28].try_into().ok()?;
    let sender_ip: [u8; 4] = frame[28..32].try_into().ok()?;
    let target_ip: [u8; 4] = frame[38..42].try_into().ok()?;
    if sender_mac == mac || !(op == 1 || op == 2) {
        return None;
    }
    let probe_for_ip = op == 1 && sender_ip == [0; 4] && target_ip == ip;
    (sender_ip == ip || probe_for_ip).then_some(sender_mac)
}

/// Probes the tap `fd` (non-blocking) for `ip` as `mac`; `Err(message)` if another host uses
/// it. Frames read meanwhile are dropped (the guest does not run yet). A tap that cannot send
/// (its link down: no peer can answer either) ends the probe without a conflict. With
/// `vnet` the tap's frames carry a virtio-net header (all zero on ours, skipped on theirs).
pub fn check(fd: BorrowedFd<'_>, mac: [u8; 6], ip: [u8; 4], what: &str, vnet: bool) -> Result<(), String> {
    let skip = if vnet { hermit_interface::vnet::HDR_LEN } else { 0 };
    let with_header = |frame: Vec<u8>| [vec![0u8; skip], frame].concat();
    let probe = with_header(arp_probe(mac, ip));
    let mut buf = vec![0u8; 65536];
    let start = Instant::now();
    for n in 0..PROBES {
        // SAFETY: writes from a live buffer of `probe.len()` bytes.
        if unsafe { libc::write(fd.as_raw_fd(), probe.as_ptr().cast(), probe.len()) } != probe.len() as isize {
            return Ok(());
        }
        let until = start + INTERVAL * (n + 1) + if n + 1 == PROBES { LAST_WAIT } else { Duration::ZERO };
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) } <= 0 {
                continue;
            }
            // SAFETY: reads into a live buffer of `buf.len()` bytes.
            let got = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if got <= skip as isize {
                continue;
            }
            if let Some(other) = conflict(&buf[skip..got as usize], mac, ip) {
                let [a, b, c, d] = ip;
                let m = super::frames::mac_string(other);
                let m = String::from_utf8_lossy(&m[..17]).into_owned();
                return Err(format!(
                    "HERMIT_IP={a}.{b}.{c}.{d}: the address is already used on {what} (by {m}); choose another \
                     HERMIT_IP"
                ));
            }
        }
    }
    // The address is ours: announce it. The MAC is new with every run, and a host that
    // talked to an earlier guest at this address would otherwise send to the old MAC until
    // its neighbour entry goes stale (seconds: the bench's connection rate was 14/s).
    let announcement = with_header(arp_announcement(mac, ip));
    // SAFETY: writes from a live buffer of `announcement.len()` bytes.
    unsafe { libc::write(fd.as_raw_fd(), announcement.as_ptr().cast(), announcement.len()) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const IP: [u8; 4] = [10, 0, 5, 2];

    /// An ARP packet: operation, sender hardware and IP address, target IP address.
    fn arp(op: u8, sender: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
        let mut f = arp_probe(sender, target_ip);
        f[21] = op;
        f[28..32].copy_from_slice(&sender_ip);
        f
    }

    #[test]
    fn the_probe_is_rfc_5227s() {
        let f = arp_probe(OURS, IP);
        assert_eq!(f.len(), 60);
        assert_eq!(f[..6], [0xff; 6]);
        assert_eq!(f[6..12], OURS);
        assert_eq!(f[12..22], [8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(f[22..28], OURS);
        assert_eq!(f[28..32], [0; 4], "sender IP 0.0.0.0");
        assert_eq!(f[32..38], [0; 6]);
        assert_eq!(f[38..42], IP);
        assert_eq!(conflict(&f, OURS, IP), None, "our own probe");
    }

    #[test]
    fn conflicts() {
        assert_eq!(conflict(&arp(2, OTHER, IP, [0; 4]), OURS, IP), Some(OTHER), "a reply");
        assert_eq!(conflict(&arp(1, OTHER, IP, [10, 0, 5, 1]), OURS, IP), Some(OTHER), "it asks from our address");
        assert_eq!(conflict(&arp(1, OTHER, [0; 4], IP), OURS, IP), Some(OTHER), "it probes for it too");
        assert_eq!(conflict(&arp(2, OTHER, [10, 0, 5, 3], IP), OURS, IP), None, "another address");
        assert_eq!(conflict(&arp(1, OTHER, [10, 0, 5, 1], IP), OURS, IP), None, "someone asks for it");
        assert_eq!(conflict(&arp(2, OURS, IP, [0; 4]), OURS, IP), None, "ourselves");
        assert_eq!(conflict(&arp(3, OTHER, IP, [0; 4]), OURS, IP), None, "not a request or reply");
        let mut ipv4 = arp(2, OTHER, IP, [0; 4]);
        ipv4[12..14].copy_from_slice(&[8, 0]);
        assert_eq!(conflict(&ipv4, OURS, IP), None, "not ARP");
        assert_eq!(conflict(&ipv4[..30], OURS, IP), None, "short");
    }

    #[test]
    fn probing_a_socket_pair() {
        use std::os::fd::AsFd;
        use std::os::unix::net::UnixDatagram;
        let (ours, peer) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        // Nobody answers: no conflict, after about 150 ms.
        let started = Instant::now();
        assert_eq!(check(ours.as_fd(), OURS, IP, "tap0", false), Ok(()));
        assert!(started.elapsed() >= INTERVAL * PROBES + LAST_WAIT);
        let mut got = [0u8; 100];
        assert_eq!(peer.recv(&mut got).unwrap(), 60);
        assert_eq!(got[28..32], [0; 4], "a probe");
        // Three probes, then the announcement.
        for _ in 1..PROBES {
            peer.recv(&mut got).unwrap();
        }
        assert_eq!(peer.recv(&mut got).unwrap(), 60);
        assert_eq!(got[..60], arp_announcement(OURS, IP)[..]);
        assert_eq!((&got[28..32], &got[38..42]), (&IP[..], &IP[..]), "sender and target: the address");
        assert_eq!(conflict(&got[..60], OURS, IP), None, "our own announcement");
        // An answer waits: a conflict naming the other host.
        peer.send(&arp(2, OTHER, IP, [0; 4])).unwrap();
        let err = check(ours.as_fd(), OURS, IP, "tap0", false).unwrap_err();
        assert!(err.contains("10.0.5.2") && err.contains("02:00:00:00:00:02") && err.contains("tap0"), "{err}");
    }
}

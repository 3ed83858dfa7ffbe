//! Where a frame smoltcp wrote goes: to ourselves (the guest loopback queue), to the NIC, or to both.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::wire::EthernetAddress;

/// Frames the loopback queue holds before it drops (as a full NIC would).
const LOOPBACK_QUEUE: usize = 4096;

/// Appends a loopback frame (from `start` on) to `queue`, unless it is full (as a full NIC
/// would drop it).
pub(super) fn push_loopback(queue: &mut VecDeque<(Vec<u8>, usize)>, frame: Vec<u8>, start: usize) {
    if queue.len() < LOOPBACK_QUEUE {
        queue.push_back((frame, start));
    }
}

/// Routes a frame smoltcp wrote into a buffer the NIC lent, from `start` on (before it:
/// room for the header): frames to ourselves are copied into the loopback queue, broadcast
/// and multicast ones too; true if it is to be published to the NIC (with its header filled
/// in by the offloads, if on).
pub(super) fn route_lent(
    buf: &mut [u8],
    start: usize,
    mac: EthernetAddress,
    queue: &mut VecDeque<(Vec<u8>, usize)>,
    offload: Option<&mut super::offload::Offload>,
) -> bool {
    match route(&mut buf[start..], mac) {
        Route::Drop => return false,
        Route::Ourselves => {
            push_loopback(queue, buf[start..].to_vec(), 0);
            return false;
        }
        Route::Out { also_ourselves } => {
            if also_ourselves {
                push_loopback(queue, buf[start..].to_vec(), 0);
            }
        }
    }
    offload.is_none_or(|offload| offload.transmit(buf))
}

/// Where a frame smoltcp wrote goes.
pub(super) enum Route {
    /// Too short for an Ethernet header.
    Drop,
    /// To ourselves only (our MAC, or a solicitation for ::1, rewritten).
    Ourselves,
    /// To the NIC, and a copy to ourselves too for a broadcast or multicast frame.
    Out { also_ourselves: bool },
}

/// Where `frame` (from its Ethernet header on) goes; a solicitation for ::1 is rewritten
/// on the way ([`loopback_solicit`]). The one routing decision of both transmit paths.
pub(super) fn route(frame: &mut [u8], mac: EthernetAddress) -> Route {
    let Some(dst) = frame.get(..6).map(EthernetAddress::from_bytes) else { return Route::Drop };
    if loopback_solicit(frame, mac) || dst == mac {
        return Route::Ourselves;
    }
    Route::Out { also_ourselves: !dst.is_unicast() }
}

/// The IPv6 loopback address ::1.
pub(super) const LOCALHOST6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// smoltcp resolves ::1 with a neighbour solicitation to its solicited-node group, which it
/// does not itself listen to for ::1. Such a frame is turned into a unicast solicitation to
/// ::1 at our own MAC (IPv6 destination rewritten, ICMPv6 checksum adjusted), which smoltcp
/// answers; true if `frame` was one.
fn loopback_solicit(frame: &mut [u8], mac: EthernetAddress) -> bool {
    const IP: usize = 14;
    const ICMP: usize = IP + 40;
    let is_solicit = frame.len() >= ICMP + 24
        && frame[12..14] == [0x86, 0xdd]
        && frame[IP + 6] == 58
        && frame[ICMP] == 135
        && frame[ICMP + 8..ICMP + 24] == LOCALHOST6
        && frame[IP + 24..IP + 40] == [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1];
    if !is_solicit {
        return false;
    }
    let old: [u8; 16] = frame[IP + 24..IP + 40].try_into().unwrap_or_default();
    frame[IP + 24..IP + 40].copy_from_slice(&LOCALHOST6);
    let checksum = u16::from_be_bytes([frame[ICMP + 2], frame[ICMP + 3]]);
    let updated = super::offload::adjust(checksum, &old, &LOCALHOST6);
    frame[ICMP + 2..ICMP + 4].copy_from_slice(&updated.to_be_bytes());
    frame[..6].copy_from_slice(mac.as_bytes());
    true
}

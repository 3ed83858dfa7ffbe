//! The table of a segment's hosts that the neighbour helpers keep beside smoltcp's cache, IPv4 ([`super::neighbors`]) and IPv6 ([`super::neighbors6`]) alike.
//!
//! It remembers which host's address smoltcp got, with which MAC address and when, and rate-
//! limits the device's own requests (ARP requests, neighbour solicitations) per host. smoltcp's
//! cache holds 128 entries (Cargo.toml), this table [`CAPACITY`] per family, so that a host the
//! table remembers is one smoltcp remembers too.

use alloc::vec::Vec;

/// Hosts remembered; the one seen longest ago goes first.
pub const CAPACITY: usize = 64;
/// A host is handed to smoltcp again after this long without (smoltcp forgets an entry 60 s
/// after it learned it, unless packets from the host come).
pub const REFRESH_NS: u64 = 20_000_000_000;
/// At most one request of ours per host in this time.
pub const ASK_NS: u64 = 100_000_000;

struct Host<const N: usize> {
    ip: [u8; N],
    mac: [u8; 6],
    /// When smoltcp last got this host's address (by us or by its own protocol).
    fed_ns: u64,
}

/// Hosts with addresses of `N` bytes (4: IPv4, 16: IPv6), and our own requests for them.
pub struct Hosts<const N: usize> {
    hosts: Vec<Host<N>>,
    /// Our own requests: the host asked for and when.
    asked: Vec<([u8; N], u64)>,
}

impl<const N: usize> Hosts<N> {
    /// No host known.
    pub const fn new() -> Self {
        Self { hosts: Vec::new(), asked: Vec::new() }
    }

    /// Forgets every host and request.
    pub fn clear(&mut self) {
        self.hosts.clear();
        self.asked.clear();
    }

    /// Hosts remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no host is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Notes that smoltcp got `ip` at `mac` at uptime `now` (ns); a full table forgets the
    /// host seen longest ago.
    pub fn remember(&mut self, ip: [u8; N], mac: [u8; 6], now: u64) {
        if let Some(host) = self.hosts.iter_mut().find(|h| h.ip == ip) {
            host.mac = mac;
            host.fed_ns = now;
            return;
        }
        if self.hosts.len() >= CAPACITY {
            let oldest = (0..self.hosts.len()).min_by_key(|&i| self.hosts[i].fed_ns).unwrap_or(0);
            self.hosts.swap_remove(oldest);
        }
        self.hosts.push(Host { ip, mac, fed_ns: now });
        self.asked.retain(|(asked, _)| *asked != ip);
    }

    /// Whether smoltcp got `ip` (at `mac`, if given) less than [`REFRESH_NS`] before `now`.
    pub fn fresh(&self, ip: &[u8; N], mac: Option<[u8; 6]>, now: u64) -> bool {
        self.hosts
            .iter()
            .any(|h| h.ip == *ip && mac.is_none_or(|mac| h.mac == mac) && now.saturating_sub(h.fed_ns) < REFRESH_NS)
    }

    /// Whether a request of ours for `ip` is to go out at `now`: not for a host smoltcp got
    /// lately, and at most one per host every [`ASK_NS`]; one that is to go out is noted.
    pub fn may_ask(&mut self, ip: [u8; N], now: u64) -> bool {
        if self.fresh(&ip, None, now) {
            return false;
        }
        match self.asked.iter_mut().find(|(asked, _)| *asked == ip) {
            Some((_, at)) if now.saturating_sub(*at) < ASK_NS => return false,
            Some((_, at)) => *at = now,
            None => {
                if self.asked.len() >= CAPACITY {
                    self.asked.remove(0);
                }
                self.asked.push((ip, now));
            }
        }
        true
    }
}

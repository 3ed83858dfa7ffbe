//! The NIC's shared-memory descriptor rings (extension, [`crate::header::FEATURE_NET_RING`]).
//!
//! The kernel allocates one area in its memory and announces it once ([`NetRing`] with
//! [`NETRING_SETUP`] at port [`crate::hypercall::port::NETRING`]). The area holds a control
//! page, a transmit ring and a receive ring of `slots` entries each (a power of two), and
//! one frame buffer of `buf` bytes per entry, each ring entry owning its buffer for good (no
//! addresses in the descriptors: only a length). Indices are free-running `u32`s; entry `i`
//! of a ring is `i % slots`.
//!
//! Transmit (the guest produces, the proxy consumes): the guest copies a frame into the
//! buffer of entry `tx_prod`, writes its length and stores `tx_prod + 1` (release). The
//! proxy's fast-channel poller takes published frames at every scan and writes them to the
//! tap or to passt, storing `tx_cons` after each; the guest does not wait for the writes.
//! Notification suppression: after publishing, the guest issues a full fence and reads the
//! channel's `host_state`; only if the poller is not polling does it kick the proxy
//! ([`NETRING_KICK`], which drains the ring in the thread that serves it). The poller stores
//! `HOST_PARKED`, fences and scans once more (ring included) before it parks: one of the
//! two sees the other, so no frame waits unannounced. A full ring is kicked too. (The
//! proxy's receive thread does not watch the transmit ring: on a 2-CPU host a third
//! spinning thread beside the vCPU and the poller made request/response rounds 3-5x
//! slower, see ARCHITECTURE.md.)
//!
//! Receive (the proxy produces, the guest consumes): the proxy's receive thread reads frames
//! from the tap straight into the buffers of free entries, writes their lengths (a longer
//! frame is cut to `buf`) and stores `rx_prod` (release); the guest copies them out and
//! stores `rx_cons`. Announcement: a guest that finds the ring empty stores 1 in
//! `rx_want_signal`, fences and reads `rx_prod` again; the proxy, after publishing, fences
//! and takes `rx_want_signal` (swap to 0): if it was set it announces the frames as the
//! batched calls did (`net_rx_signal`, and the receive interrupt unless a core polls).
//!
//! The proxy trusts nothing here: it keeps its own copies of the indices it owns, checks
//! that the guest's indices stay within one ring's length of its own and that lengths fit
//! the buffers, and a bad ring ends the run with a message.

use core::mem::{offset_of, size_of};

/// [`NetRing::op`]: announce the area (`gpa`, `slots`, `buf`); `ret` 0 when the proxy
/// serves it, negative errno otherwise.
pub const NETRING_SETUP: u32 = 1;
/// [`NetRing::op`]: frames wait in the transmit ring and the poller is not polling: the
/// proxy sends them before it answers. `ret` 0.
pub const NETRING_KICK: u32 = 2;
/// [`NetRing::op`] (with [`crate::header::FEATURE_NET_IDLE_RECV`]): an idle guest core
/// during a bulk receive. The proxy sends what waits in the transmit ring, then fills the
/// receive ring from the device in the calling vCPU's thread, waiting up to `slots`
/// microseconds (at most [`NETRING_RECV_MAX_WAIT_US`]) for a frame if none was there; frames
/// are announced as usual. `ret`: the frames read, or -`ENODEV` without rings.
pub const NETRING_RECV: u32 = 3;
/// Longest wait of [`NETRING_RECV`] in microseconds.
pub const NETRING_RECV_MAX_WAIT_US: u32 = 200;

/// Fewest entries of a ring.
pub const MIN_SLOTS: u32 = 8;
/// Most entries of a ring.
pub const MAX_SLOTS: u32 = 1024;
/// Smallest frame buffer: a 1500-byte MTU frame with its Ethernet header and a VLAN tag,
/// rounded to 64.
pub const MIN_BUF: u32 = 1536;
/// Largest frame buffer: a 64 KiB IP packet (a GSO frame) with its Ethernet header, a VLAN
/// tag and the virtio-net header ([`crate::vnet::HDR_LEN`]), rounded to 64.
pub const MAX_BUF: u32 = (crate::vnet::HDR_LEN as u32 + 14 + 4 + 65535).next_multiple_of(64);

/// [`NetRing::flags`] at setup: every frame in both rings is preceded by a virtio-net header
/// ([`crate::vnet`], counted in the entry's length), and the proxy turns on the tap's
/// offloads (checksum, TSO): received frames may be 64 KiB TCP packets with a partial
/// checksum, and the guest may send such packets for the host to cut into segments. Only
/// with [`crate::header::FEATURE_NET_OFFLOAD`]; otherwise the proxy answers -`EINVAL`, and
/// -`EOPNOTSUPP` where the tap takes no offloads (the kernel sets the rings up without it).
pub const NETRING_F_VNET_HDR: u32 = 1;

/// Byte offsets of the control words in the control page (each on a cache line of its own:
/// each is written by one side only, except `RX_WANT_SIGNAL`).
pub mod control {
    /// `tx_prod` (`u32`): written by the guest.
    pub const TX_PROD: u64 = 0;
    /// `tx_cons` (`u32`): written by the proxy.
    pub const TX_CONS: u64 = 64;
    /// `rx_prod` (`u32`): written by the proxy.
    pub const RX_PROD: u64 = 128;
    /// `rx_cons` (`u32`): written by the guest.
    pub const RX_CONS: u64 = 192;
    /// `rx_want_signal` (`u32`): set by the guest when it found the receive ring empty,
    /// taken (swapped to 0) by the proxy when it announces frames.
    pub const RX_WANT_SIGNAL: u64 = 256;
}

/// Argument of port [`crate::hypercall::port::NETRING`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetRing {
    /// [`NETRING_SETUP`] or [`NETRING_KICK`].
    pub op: u32,
    /// Setup: entries per ring (a power of two, [`MIN_SLOTS`]..=[`MAX_SLOTS`]).
    pub slots: u32,
    /// Setup: guest-physical address of the area (4 KiB-aligned, [`Layout::size`] bytes).
    pub gpa: u64,
    /// Setup: bytes per frame buffer (a multiple of 64, [`MIN_BUF`]..=[`MAX_BUF`]).
    pub buf: u32,
    /// Out: 0, or a negative errno.
    pub ret: i32,
    /// Setup: `NETRING_F_*` bits ([`NETRING_F_VNET_HDR`]); other bits must be 0.
    pub flags: u32,
    /// 0.
    pub reserved: u32,
}

const _: () = {
    assert!(size_of::<NetRing>() == 32);
    assert!(offset_of!(NetRing, gpa) == 8 && offset_of!(NetRing, ret) == 20 && offset_of!(NetRing, flags) == 24);
    assert!(MAX_BUF == 65600);
};

/// Where the parts of an area lie, as offsets from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Entries per ring.
    pub slots: u32,
    /// Bytes per frame buffer.
    pub buf: u32,
    /// The transmit lengths (`u32` each).
    pub tx_len: u64,
    /// The receive lengths (`u32` each).
    pub rx_len: u64,
    /// The transmit buffers.
    pub tx_buf: u64,
    /// The receive buffers.
    pub rx_buf: u64,
    /// Bytes of the whole area.
    pub size: u64,
}

impl Layout {
    /// The layout of `slots` entries of `buf` bytes, or `None` if either is out of range.
    pub const fn new(slots: u32, buf: u32) -> Option<Layout> {
        if !slots.is_power_of_two() || slots < MIN_SLOTS || slots > MAX_SLOTS {
            return None;
        }
        if buf < MIN_BUF || buf > MAX_BUF || !buf.is_multiple_of(64) {
            return None;
        }
        let page = crate::PAGE_SIZE;
        let lens = (8 * slots as u64).div_ceil(page) * page;
        let tx_buf = page + lens;
        let rx_buf = tx_buf + slots as u64 * buf as u64;
        Some(Layout {
            slots,
            buf,
            tx_len: page,
            rx_len: page + 4 * slots as u64,
            tx_buf,
            rx_buf,
            size: rx_buf + slots as u64 * buf as u64,
        })
    }

    /// Offset of the length of transmit entry `index` (free-running).
    pub const fn tx_len_at(&self, index: u32) -> u64 {
        self.tx_len + 4 * (index & (self.slots - 1)) as u64
    }

    /// Offset of the buffer of transmit entry `index`.
    pub const fn tx_buf_at(&self, index: u32) -> u64 {
        self.tx_buf + (index & (self.slots - 1)) as u64 * self.buf as u64
    }

    /// Offset of the length of receive entry `index`.
    pub const fn rx_len_at(&self, index: u32) -> u64 {
        self.rx_len + 4 * (index & (self.slots - 1)) as u64
    }

    /// Offset of the buffer of receive entry `index`.
    pub const fn rx_buf_at(&self, index: u32) -> u64 {
        self.rx_buf + (index & (self.slots - 1)) as u64 * self.buf as u64
    }
}

/// Entries between a consumer index `cons` and a producer index `prod` (free-running), or
/// `None` if the producer claims more than a ring of `slots` holds (a corrupt index).
pub const fn pending(prod: u32, cons: u32, slots: u32) -> Option<u32> {
    let n = prod.wrapping_sub(cons);
    if n > slots {
        None
    } else {
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_checked_and_disjoint() {
        assert!(Layout::new(6, 2048).is_none(), "not a power of two");
        assert!(Layout::new(4, 2048).is_none() && Layout::new(2048, 2048).is_none());
        assert!(Layout::new(64, 1500).is_none() && Layout::new(64, 1024).is_none());
        assert!(Layout::new(64, MAX_BUF + 64).is_none());
        let l = Layout::new(128, 9024).unwrap();
        assert_eq!(l.tx_len, 4096);
        assert_eq!(l.rx_len, 4096 + 512);
        assert_eq!(l.tx_buf, 8192);
        assert_eq!(l.rx_buf, 8192 + 128 * 9024);
        assert_eq!(l.size, 8192 + 2 * 128 * 9024);
        assert!(control::RX_WANT_SIGNAL + 4 <= l.tx_len);
        // Entries wrap: index 128 is entry 0.
        assert_eq!(l.tx_buf_at(128), l.tx_buf_at(0));
        assert_eq!(l.rx_len_at(129), l.rx_len + 4);
        assert_eq!(l.rx_buf_at(127) + 9024, l.size);
        let big = Layout::new(MAX_SLOTS, MAX_BUF).unwrap();
        assert_eq!(big.tx_buf, 4096 + 8192);
    }

    #[test]
    fn pending_counts_across_the_wrap() {
        assert_eq!(pending(5, 5, 8), Some(0));
        assert_eq!(pending(3, u32::MAX - 1, 8), Some(5));
        assert_eq!(pending(8, 0, 8), Some(8));
        assert_eq!(pending(9, 0, 8), None);
        assert_eq!(pending(0, 1, 8), None, "a consumer ahead of its producer");
    }
}

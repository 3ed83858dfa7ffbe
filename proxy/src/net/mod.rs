//! Host networking for the guest: the NIC behind the original uhyve's network hypercalls
//! (`NETSTAT`, `NETINFO`, `NETWRITE`, `NETREAD`; `libhermit-abi.md` §7.1, §7.4), backed by a
//! host tap device or by `passt` (user mode), with the receive interrupt of [`irq`].
//!
//! Contract with the kernel (ARCHITECTURE.md "Host networking", "Receive interrupt"): one
//! frame per `NETWRITE`/`NETREAD`, a batch per `NETWRITEV`/`NETREADV`; after `NETINFO` the
//! proxy raises vector 0x2B on vCPU 0 once when a frame waits, and again only after a
//! `NETREAD` found nothing or a `NETREADV` filled fewer buffers than it offered. With the
//! descriptor rings ([`ring`], `NETRING`) the receive thread fills the guest's receive ring
//! itself and announces frames only when the guest asked for it (`rx_want_signal`); the
//! fast channel's poller sends what the guest publishes in the transmit ring.
//!
//! Where each part is: [`hypercalls`] the handlers; [`open`] the NIC's set-up over [`tap`] or
//! [`passt`]; [`device`] a frame at a time through the proxy; [`rx`] the interrupt and the
//! receive thread; [`ring_io`] frames between the device and the rings of [`ring`]; [`poller`]
//! the fast channel's poller on the network. Frame formats are in [`frames`], the rest
//! ([`capture`], [`handshake`], [`probe`], [`turn`], [`starve`], [`irq`]) in a file each.

pub mod capture;
mod device;
pub mod frames;
mod handshake;
mod hypercalls;
mod idle_rx;
pub mod irq;
mod open;
mod passt;
mod poller;
mod probe;
pub mod ring;
mod ring_io;
mod rx;
mod rxwait;
pub mod starve;
mod tap;
mod turn;

pub use hypercalls::{netinfo, netmtu, netread, netreadv, netring, netstat, netwrite, netwritev};
pub use idle_rx::take_quiet_exit;
pub use open::{offloads_off, TUNSETOFFLOAD_IOCTL};
pub use poller::{awaiting_peer, flush_tx, peer_slow, poll_tx, poller_parked, streaming_out};
pub use ring_io::ring_summary;

use std::os::fd::OwnedFd;
use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex, Once, OnceLock};

use crate::guest::GuestRam;
use frames::StreamDecoder;
use irq::RxIrq;
use vmm_sys_util::eventfd::EventFd;

/// Where the guest's frames go.
enum Backend {
    /// A tap device (non-blocking): one `read`/`write` per frame; with `vnet` each frame
    /// is preceded by a virtio-net header (`IFF_VNET_HDR`), which the proxy adds (zero) and
    /// strips unless the guest's rings carry it themselves (offloads negotiated).
    Tap { fd: OwnedFd, vnet: bool },
    /// passt's stream socket (blocking writes of whole records; reads only when `poll`
    /// says so, under the decoder's lock), and frames the proxy adds for the guest
    /// ([`handshake`]), delivered before passt's.
    Stream { fd: OwnedFd, rx: Mutex<StreamDecoder>, tx: Mutex<()>, injected: Mutex<Vec<Vec<u8>>> },
}

/// The guest's network interface.
pub struct Nic {
    backend: Backend,
    mac: [u8; 6],
    irq: OnceLock<RxIrq>,
    /// Whether the next waiting frame raises the interrupt.
    armed: Mutex<bool>,
    rearmed: Condvar,
    watcher: Once,
    /// `HERMIT_CAPTURE_NET`: the pcap file every frame goes to.
    capture: Option<capture::Capture>,
    /// With `FEATURE_NET_NOTIFY`: guest RAM and the address of the header extension's
    /// `net_rx_signal` (`net_rx_polling` follows it).
    notify: OnceLock<(GuestRam, u64)>,
    /// What the guest's TCP connections should use as buffers ([`Nic::tcp_buffer`]).
    tcp_buffer: usize,
    /// What `NETMTU` reports: the tap's MTU, at most [`tap::MTU_MAX`], or [`passt::MTU`].
    mtu: u32,
    /// The descriptor rings, once the guest announced them (`NETRING`).
    ring: OnceLock<ring::Ring>,
    /// Announcements that raised the interrupt, and those a polling guest core took from
    /// `net_rx_signal` alone (for `HERMIT_VERBOSE`).
    announced: [std::sync::atomic::AtomicU64; 2],
    /// Wakes the receive thread in ring mode when the proxy queued a frame of its own
    /// ([`handshake`]) or the poller took the tap over ([`Nic::poll_rx`]); created
    /// before the system-call filter.
    wake: EventFd,
    /// The fast channel's poller reads the tap for the receive ring (while it polls); the
    /// receive thread waits on `handed_back` meanwhile instead of in `poll` on the tap.
    rx_by_poller: AtomicBool,
    /// When the receive thread took the tap back from a stalled poller: the poller leaves it
    /// for [`poller::RX_REVOKE_FOR`], or until it parks.
    rx_revoked: Mutex<Option<std::time::Instant>>,
    /// Reads of the tap by the poller (the receive thread checks that they go on).
    rx_poller_reads: std::sync::atomic::AtomicU64,
    /// Guards the hand-back of the tap to the receive thread.
    rx_back: Mutex<()>,
    handed_back: Condvar,
    /// The host peer's answers to small frames, for the poller's placement ([`turn`]).
    turns: turn::Turnarounds,
    /// Idle vCPUs reading the tap themselves during a bulk receive ([`idle_rx`]).
    idle_rx: idle_rx::IdleRx,
}

#[cfg(test)]
mod tests;

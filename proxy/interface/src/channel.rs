//! The fast channel: hypercalls handed to a polling host thread through shared memory.
//!
//! An extension of the original protocol. A hypercall normally costs a VM exit; on PVM
//! hosts an `out` from CPL 3 costs about 55 µs. When the loader offers
//! [`crate::header::FEATURE_FAST_CHANNEL`], the kernel announces a control block followed by
//! one slot per core. A request is the same `(port, argument address)` pair as the port
//! protocol, so both paths share one set of handlers on the host.
//!
//! Protocol (all accesses to `state`, `port`, `arg` and the control block are atomics on
//! guest memory):
//! 1. The guest writes `port` and `arg` into its core's slot and stores [`SLOT_REQUEST`]
//!    into `state`, then (after a full fence) reads `host_state`. A request whose argument
//!    struct fits into the slot's `data` (since revision 3) is placed there.
//! 2. If the host is [`HOST_POLLING`], the guest spins until `state` becomes [`SLOT_DONE`],
//!    then stores [`SLOT_IDLE`].
//! 3. If the host is [`HOST_PARKED`], the guest tries to take the request back by swapping
//!    `REQUEST` to `IDLE`; if that succeeds it issues the plain `out` instead. If the host
//!    already claimed the slot, the guest waits for `DONE` as in step 2.
//!
//! The host claims a request by swapping `REQUEST` to [`SLOT_BUSY`], serves it and stores
//! `DONE`. Before it parks it stores `HOST_PARKED`, issues a full fence and scans all slots
//! once more, so a request is never lost. Every served port exit sets `HOST_POLLING` again
//! and wakes the poller for its next spin window.
//!
//! A polling host also keeps a heartbeat in `scans`: a count it advances about every
//! microsecond while it polls (wrapping; never left at zero once it counts). A guest whose
//! request is still unclaimed after a microsecond watches it: a count that stands still for a
//! few microseconds means the host descheduled its poller (a busy host), and the guest takes
//! the request back at once instead of waiting out its claim timeout; while the count still
//! stands at the value it stalled at, later requests go to the port after that first
//! microsecond. A count of zero means the host does not count (an older loader): the guest
//! relies on the timeout alone. The count lives on its own cache line, apart from
//! `host_state`, and neither side touches that line on the quick path of a request (written
//! on every scan and read by every request, it moved between the CPUs twice per call).

use core::cell::UnsafeCell;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicU32, AtomicU64};

/// Host state: no thread is polling; the guest must use the port protocol.
pub const HOST_PARKED: u32 = 0;
/// Host state: a host thread is polling the slots.
pub const HOST_POLLING: u32 = 1;

/// Flag of the heartbeat count ([`ChannelControl::scans`]): the host drains the transmit
/// ring (a frame can take tens of microseconds to write), so a count that stands still for a
/// few microseconds is no descheduled poller yet. Older guests see distinct counts.
pub const SCANS_DRAINING: u32 = 1 << 31;

/// Slot state: free.
pub const SLOT_IDLE: u32 = 0;
/// Slot state: a request waits for the host.
pub const SLOT_REQUEST: u32 = 1;
/// Slot state: the host is serving the request.
pub const SLOT_BUSY: u32 = 2;
/// Slot state: the host has finished; results are in the argument struct.
pub const SLOT_DONE: u32 = 3;

/// The control block at the start of the channel area: two cache lines, so that the host's
/// counting (written on every scan) does not evict the state a guest reads with each request.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct ChannelControl {
    /// [`HOST_PARKED`] or [`HOST_POLLING`], written by the host.
    pub host_state: AtomicU32,
    /// Reserved, zero.
    pub reserved: [u32; 15],
    /// The polling host's heartbeat count, or zero if it does not count. With
    /// [`SCANS_DRAINING`] set the host is writing the NIC's transmit frames, beating once a
    /// frame rather than once a microsecond, and serves file calls between the frames.
    pub scans: AtomicU32,
    /// Number of requests the host served through the channel (statistics, written with the
    /// heartbeat and when the host parks).
    pub served: AtomicU32,
    /// Reserved, zero.
    pub reserved2: [u32; 14],
}

/// One request slot; slot `i` belongs to core `i`. Two cache lines: the request and room
/// for its argument struct.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct ChannelSlot {
    /// `SLOT_*` state.
    pub state: AtomicU32,
    /// Hypercall port number.
    pub port: AtomicU32,
    /// Guest-physical address of the argument struct (the value an `out` would carry).
    pub arg: AtomicU64,
    /// Room for the argument struct of a request that fits ([`SLOT_DATA_SIZE`] bytes): the
    /// guest may place it here and pass its address in `arg`. The host finds the arguments
    /// on the lines it claims the request on, and the guest its results on the line that says
    /// done, instead of each side fetching another line from the other's CPU. The host reads
    /// and writes it as any argument struct, through `arg`.
    pub data: UnsafeCell<[u64; SLOT_DATA_SIZE / 8]>,
}

/// Bytes of [`ChannelSlot::data`].
pub const SLOT_DATA_SIZE: usize = 112;

/// Bytes of a channel area with `slots` slots.
pub const fn channel_size(slots: usize) -> usize {
    size_of::<ChannelControl>() + slots * size_of::<ChannelSlot>()
}

/// Offset of slot `i` from the start of the channel area.
pub const fn slot_offset(i: usize) -> usize {
    size_of::<ChannelControl>() + i * size_of::<ChannelSlot>()
}

/// Offset of [`ChannelControl::host_state`].
pub const HOST_STATE_OFFSET: usize = offset_of!(ChannelControl, host_state);
/// Offset of [`ChannelControl::served`].
pub const SERVED_OFFSET: usize = offset_of!(ChannelControl, served);
/// Offset of [`ChannelControl::scans`].
pub const SCANS_OFFSET: usize = offset_of!(ChannelControl, scans);
/// Offset of [`ChannelSlot::state`] inside a slot.
pub const SLOT_STATE_OFFSET: usize = offset_of!(ChannelSlot, state);
/// Offset of [`ChannelSlot::port`] inside a slot.
pub const SLOT_PORT_OFFSET: usize = offset_of!(ChannelSlot, port);
/// Offset of [`ChannelSlot::arg`] inside a slot.
pub const SLOT_ARG_OFFSET: usize = offset_of!(ChannelSlot, arg);
/// Offset of [`ChannelSlot::data`] inside a slot.
pub const SLOT_DATA_OFFSET: usize = offset_of!(ChannelSlot, data);

/// Upper bound on the slots a loader accepts.
pub const MAX_SLOTS: usize = 512;

const _: () = {
    assert!(size_of::<ChannelControl>() == 128);
    assert!(size_of::<ChannelSlot>() == 128);
    assert!(SLOT_PORT_OFFSET == 4 && SLOT_ARG_OFFSET == 8 && SLOT_DATA_OFFSET == 16);
    assert!(SLOT_DATA_OFFSET + SLOT_DATA_SIZE == size_of::<ChannelSlot>());
    assert!(HOST_STATE_OFFSET == 0 && SCANS_OFFSET == 64 && SERVED_OFFSET == 68);
    assert!(channel_size(2) == 384);
};

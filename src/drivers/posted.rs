//! Posted host calls: a request whose result the guest knows in advance, handed to the
//! fast channel's poller without waiting for it.
//!
//! Some calls cannot fail once the guest has checked their arguments: releasing a record lock
//! (`F_SETLK` with `F_UNLCK`) or an `flock` lock on a file the proxy opened for the guest.
//! SQLite's unix VFS makes two of them per point lookup (the `PENDING` byte after taking
//! `SHARED`, and `SHARED` itself at the end), each a full round trip to the poller. [`post`]
//! places such a request in this core's channel slot and returns at once; the poller serves
//! it as any other, and whoever uses the slot next ([`settle`], at the start of every
//! hypercall of this core and before the guest publishes transmit frames) first waits for it
//! to complete. The time the poller needs for it then overlaps with the program's own work
//! until its next host call. On a busy host, where the poller is often off its CPU and
//! requests fall back to port exits, a posted request the poller has not taken when the next
//! call comes travels with that call in one exit (`FILEOP` `CHAIN`, when the loader offers
//! [`FEATURE_CHAINED_CALLS`]) instead of costing an exit of its own.
//!
//! Order, as another process can observe it: the posted request is served before any later
//! host call of the guest (every call settles first, `EXIT` and the console's output
//! included), before any frame it publishes in the NIC's transmit ring, and the proxy ends the
//! run only through a later request. A request is posted only while the host says its poller
//! polls (after the request is published and a full fence: either the guest sees the poller
//! parked and makes the call itself, or the poller's last scan before parking serves it), so
//! it is never left unserved. What a reader can see differently from Linux: the lock is
//! released a little later than `fcntl` returned, when the poller next scans (under a
//! microsecond on a quiet host; beside busy host CPUs, as late as the poller's next time slice
//! or this guest's next host call, whichever comes first). A failure of the host's call
//! (`ENOLCK` when the host is out of memory; a network file system's error) cannot reach the
//! program: it is logged when the guest settles the request.
//!
//! Only a guest with one channel slot (one vCPU) posts: with several, a call on one core
//! could reach the host before another core's posted one that preceded it in the program
//! (one thread unlocks, then tells another, which writes to a socket). Not under QEMU either
//! (no request there falls back to the port, so nothing would be gained by the care below).

use core::mem::size_of;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use hermit_interface::channel::{self, ChannelControl, ChannelSlot};
use hermit_interface::header::FEATURE_CHAINED_CALLS;
use hermit_interface::hypercall::{file_op, port, FileOp};

use super::hypercall::{claimed, has_feature, own_slot, port_exit, posting_allowed, reclaim, submit, wait_done};
use crate::arch::{percore, preempt_disable, preempt_enable};
use crate::config::HYPERCALL_AREA_SIZE;

/// Whether this core's slot holds a posted request that nobody has waited for yet.
static POSTED: AtomicBool = AtomicBool::new(false);
/// The port of the posted request (for the port, if the guest takes it back).
static POSTED_PORT: AtomicU32 = AtomicU32::new(0);
/// Offset of the posted request's `i64` result in its argument struct.
static POSTED_RESULT: AtomicUsize = AtomicUsize::new(0);

/// Posts the hypercall `port` whose argument struct `build` makes, given the guest address
/// the struct is placed at (so that it may point into itself, e.g. a `FILEOP` request at the
/// lock that follows it), without waiting for the host; `result` is the offset of its `i64`
/// result, which must come back non-negative. Returns false if the request cannot be posted
/// (no channel, several slots, QEMU, the poller parked): the caller then makes the call.
///
/// Only for requests whose result the caller knows in advance and whose effects nobody can
/// tell apart from a call that completed before the guest's next host call.
pub fn post<T: Copy>(port: u16, result: usize, build: impl FnOnce(u64) -> T) -> bool {
    const { assert!(size_of::<T>() <= channel::SLOT_DATA_SIZE) };
    assert!(result + size_of::<i64>() <= size_of::<T>());
    if !posting_allowed() {
        return false;
    }
    preempt_disable();
    let Some((control, slot)) = own_slot() else {
        preempt_enable();
        return false;
    };
    settle(control, slot, false);
    let data = slot.data.get().cast::<T>();
    // SAFETY: the slot belongs to this core and is idle (settled above; preemption is disabled,
    // so no other request of this core starts meanwhile); `data` has room for a `T` (asserted
    // above), and the host reads it only once the request is published.
    unsafe { data.write_unaligned(build(data as u64)) };
    submit(slot, port, data as u64);
    if control.host_state.load(Ordering::SeqCst) != channel::HOST_POLLING && reclaim(slot) {
        preempt_enable();
        return false;
    }
    POSTED_PORT.store(u32::from(port), Ordering::Relaxed);
    POSTED_RESULT.store(result, Ordering::Relaxed);
    POSTED.store(true, Ordering::Relaxed);
    preempt_enable();
    true
}

/// Waits for a posted request of this core to complete, if there is one: a host call or
/// anything else another process could observe must not overtake it.
pub fn settle_own() {
    if !POSTED.load(Ordering::Relaxed) {
        return;
    }
    preempt_disable();
    if let Some((control, slot)) = own_slot() {
        settle(control, slot, false);
    }
    preempt_enable();
}

/// Completes the posted request in `slot`, if any, as a waiting call would. One the poller
/// did not take (it stalled) goes through the port: alone, or with `carry` (the caller has a
/// request of its own to send and room for it, see [`carry`]) left in the slot for the
/// caller; returns whether it was left so. Preemption is disabled (the slot is this core's).
pub(super) fn settle(control: &ChannelControl, slot: &ChannelSlot, carry: bool) -> bool {
    if !POSTED.load(Ordering::Relaxed) {
        return false;
    }
    POSTED.store(false, Ordering::Relaxed);
    let at = POSTED_RESULT.load(Ordering::Relaxed);
    if claimed(control, slot) {
        wait_done(slot);
        // SAFETY: the host completed the request and released the slot; the result lies
        // inside the argument struct in the slot's data (checked by `post`), and nothing
        // reuses the slot while preemption is disabled.
        check(unsafe { slot.data.get().cast::<u8>().add(at).cast::<i64>().read_unaligned() });
        return false;
    }
    if carry && has_feature(FEATURE_CHAINED_CALLS) && POSTED_PORT.load(Ordering::Relaxed) == u32::from(port::FILEOP) {
        return true;
    }
    // Taken back: through the port, from this core's argument area below 4 GiB. Addresses
    // inside the request may point into the slot's data, which stays as it is until the call
    // returns.
    let area = percore().hypercall_area.load(Ordering::Relaxed) as *mut u8;
    // SAFETY: the area belongs to this core and holds at least a slot's data
    // (`HYPERCALL_AREA_SIZE`); preemption is disabled, so nothing else of this core uses
    // either meanwhile. `area` is below 4 GiB, as the port protocol needs.
    let result = unsafe {
        core::ptr::copy_nonoverlapping(slot.data.get().cast::<u8>(), area, channel::SLOT_DATA_SIZE);
        port_exit(POSTED_PORT.load(Ordering::Relaxed) as u16, area as u32);
        area.add(at).cast::<i64>().read_unaligned()
    };
    check(result);
    false
}

/// Where [`carry`] places the caller's own request in the argument area, after the chain.
const CARRIED_AT: usize = 128;

/// The largest request that can carry a posted one.
pub const CARRY_ROOM: usize = HYPERCALL_AREA_SIZE - CARRIED_AT;

/// Sends the posted `FILEOP` request that [`settle`] left in `slot` and the caller's request
/// `(port, arg)` in one port exit (`FILEOP` `CHAIN`: the host serves them in this order), and
/// copies the caller's results back. Preemption is disabled.
pub(super) fn carry<T: Copy>(slot: &ChannelSlot, port: u16, arg: &mut T) {
    assert!(size_of::<T>() <= CARRY_ROOM);
    let area = percore().hypercall_area.load(Ordering::Relaxed) as *mut u8;
    let posted = slot.data.get() as u64;
    let chain = FileOp { op: file_op::CHAIN, buf: posted, arg0: i64::from(port), ..FileOp::default() };
    // SAFETY: the area belongs to this core, is below 4 GiB and large enough for the chain
    // and `T` (asserted above; `FileOp` fits before CARRIED_AT); preemption is disabled, so
    // nothing else of this core uses it or the slot (whose data holds the posted request,
    // idle after `settle` took it back) until the call returns.
    let result = unsafe {
        let own = area.add(CARRIED_AT).cast::<T>();
        own.write_unaligned(*arg);
        area.cast::<FileOp>().write_unaligned(FileOp { path: own as u64, ..chain });
        port_exit(port::FILEOP, area as u32);
        *arg = own.read_unaligned();
        (posted as *const u8).add(POSTED_RESULT.load(Ordering::Relaxed)).cast::<i64>().read_unaligned()
    };
    check(result);
}

/// Reports a posted request that failed (the program was told it succeeded).
fn check(result: i64) {
    if result < 0 {
        log::warn!("a posted host call (port {:#x}) failed with {result}", POSTED_PORT.load(Ordering::Relaxed));
    }
}

const _: () = {
    assert!(HYPERCALL_AREA_SIZE >= channel::SLOT_DATA_SIZE);
    assert!(size_of::<FileOp>() <= CARRIED_AT && CARRIED_AT.is_multiple_of(64));
};

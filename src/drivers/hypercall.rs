//! Hypercalls to the loader: the uhyve port protocol, and the fast channel when offered.
//!
//! [`call`] copies the argument struct into this core's argument area (below 4 GiB, because
//! the port protocol passes a 32-bit guest-physical address), hands it to the host and
//! copies the results back. With the fast channel ([`hermit_interface::channel`]) a polling
//! host thread picks the request up without a VM exit, and a struct that fits travels in the
//! core's slot itself (one cache line less to move each way); otherwise the `out` traps to
//! the host.
//! A request spins on its slot alone for [`WATCH_NS`] (a polling host claims it sooner); one
//! still unclaimed then watches the host's heartbeat count. A request the host has not
//! claimed within [`CLAIM_TIMEOUT_NS`], or sooner once the count has stood still for
//! [`STALL_NS`] (its poller is descheduled on a busy host; longer limits while the host
//! writes the NIC's transmit frames, [`DRAIN_STALL_NS`]), is taken back and sent through
//! the port. The count at such a stall is remembered ([`STALLED_AT`]): while it has not moved
//! since, the poller is still off its CPU and later requests take the port after their first
//! [`WATCH_NS`], so a missed request costs one exit and little wait before it. A request
//! posted without waiting ([`super::posted`]) is completed at the start of the next call.
//! A call that may keep the host busy for milliseconds (`fsync`) takes the port at once
//! ([`call_sleeping`]), so that the vCPU thread sleeps in the host instead of spinning.
//!
//! Under QEMU ([`header::FEATURE_QEMU`], [`hermit_interface::qemu`]) no port exit reaches
//! the proxy: the channel is in place before the first call, every request goes through it,
//! and when the host's poller is parked the guest rings the doorbell port and waits for the
//! host instead of taking the request back.

use core::mem::size_of;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

use hermit_interface::channel::{self, ChannelControl, ChannelSlot};
use hermit_interface::header::{self, HeaderExt};
use hermit_interface::hypercall::{port, ChannelSetup};

use super::heartbeat::Heartbeat;
use crate::arch::{core_id, outl, pause, percore, preempt_disable, preempt_enable};
use crate::config::HYPERCALL_AREA_SIZE;

/// Features the loader offered (`header::FEATURE_*`); zero under the original uhyve.
pub(crate) static FEATURES: AtomicU64 = AtomicU64::new(0);

/// Guest-physical address of the channel area, or zero.
static CHANNEL: AtomicU64 = AtomicU64::new(0);

/// Number of slots in the channel area.
static CHANNEL_SLOTS: AtomicU32 = AtomicU32::new(0);

/// Under QEMU: requests never fall back to the port.
static CHANNEL_ONLY: AtomicBool = AtomicBool::new(false);

/// Address of the loader's doorbell register for port 0 once mapped, or zero (use `out`).
static DOORBELL: AtomicU64 = AtomicU64::new(0);

/// The host's scan count when a request last found its poller stalled, or zero.
static STALLED_AT: AtomicU32 = AtomicU32::new(0);

/// The first core's argument area.
#[repr(C, align(64))]
struct Area([u8; HYPERCALL_AREA_SIZE]);
static mut BSP_AREA: Area = Area([0; HYPERCALL_AREA_SIZE]);

/// The header extension, if the loader wrote one of this kernel's revision
/// ([`header::EXT_VERSION`]; see [`foreign_loader`] for the others).
pub fn header_ext() -> Option<&'static HeaderExt> {
    let ext = raw_ext();
    (ext.magic == header::EXT_MAGIC && ext.version == header::EXT_VERSION).then_some(ext)
}

/// The extension protocol revision of a loader that wrote an extension block of another
/// revision than this kernel's, whose fields and fast channel this kernel would misread.
pub fn foreign_loader() -> Option<u32> {
    let ext = raw_ext();
    (ext.magic == header::EXT_MAGIC && ext.version != header::EXT_VERSION).then_some(ext.version)
}

/// The extension block as the loader left it (zero under the original uhyve).
fn raw_ext() -> &'static HeaderExt {
    let addr = crate::arch::header() as *const _ as usize + header::offset::EXT;
    // SAFETY: the extension block lies inside the image's header page (interface crate
    // asserts the bounds) and is only read after the loader wrote it before boot.
    unsafe { &*(addr as *const HeaderExt) }
}

/// Publishes the program break and the lowest kernel allocation from the top of RAM in the
/// header extension (this project's loader populates host memory ahead of them); nothing
/// under loaders without the extension.
pub fn publish_memory(heap_break: u64, kernel_low: u64) {
    let Some(ext) = header_ext() else { return };
    for (field, value) in
        [(core::ptr::addr_of!(ext.heap_break), heap_break), (core::ptr::addr_of!(ext.kernel_low), kernel_low)]
    {
        // SAFETY: the field is a naturally aligned u64 of the extension block, which the
        // kernel owns for writing; the loader only reads it (atomically).
        unsafe { AtomicU64::from_ptr(field.cast_mut()) }.store(value, Ordering::Release);
    }
}

/// Publishes the address of the kernel's task table (`hermit_interface::tasks`) in the
/// header extension for the loader's GDB stub; nothing under loaders without the extension.
pub fn publish_task_table(addr: u64) {
    let Some(ext) = header_ext() else { return };
    // SAFETY: as in `publish_memory`: an aligned u64 of the extension block that the kernel
    // owns for writing.
    unsafe { AtomicU64::from_ptr(core::ptr::addr_of!(ext.task_table).cast_mut()) }.store(addr, Ordering::Release);
}

/// The header extension's count of cores that are not halted and its mask of them, which
/// the scheduler keeps for the loader (its population thread stays off the host CPUs that
/// busy vCPUs use); `None` under loaders without the extension.
pub fn busy_cores() -> Option<(&'static AtomicU64, &'static AtomicU64)> {
    let ext = header_ext()?;
    // SAFETY: as in `publish_memory`: an aligned u64 of the extension block that the kernel
    // owns for writing; the loader only reads it.
    let count = unsafe { AtomicU64::from_ptr(core::ptr::addr_of!(ext.busy_cores).cast_mut()) };
    // SAFETY: as above.
    let mask = unsafe { AtomicU64::from_ptr(core::ptr::addr_of!(ext.busy_mask).cast_mut()) };
    Some((count, mask))
}

/// Gives the first core its argument area and records the loader's features.
pub fn init_bsp() {
    // The static is handed to core 0 alone.
    let area = core::ptr::addr_of_mut!(BSP_AREA) as u64;
    percore().hypercall_area.store(area, Ordering::Relaxed);
    if let Some(ext) = header_ext() {
        FEATURES.store(ext.features, Ordering::Relaxed);
    }
    if has_feature(header::FEATURE_QEMU) {
        let slots = crate::arch::header().possible_cpus.max(1);
        CHANNEL_SLOTS.store(slots, Ordering::Relaxed);
        CHANNEL_ONLY.store(true, Ordering::Relaxed);
        CHANNEL.store(hermit_interface::qemu::CHANNEL_GPA, Ordering::Release);
    }
}

/// Maps the loader's doorbell ([`HeaderExt::doorbell`]), if it offers one, so that port
/// hypercalls exit as MMIO writes instead of `out` (cheaper from CPL 3 on PVM); `map` maps
/// a 2 MiB page of device registers.
pub fn init_doorbell(map: impl FnOnce(u64) -> bool) {
    let Some(ext) = header_ext() else { return };
    let bell = ext.doorbell;
    if bell != 0 && map(bell) {
        DOORBELL.store(bell, Ordering::Relaxed);
    }
}

/// The port hypercall `port` with argument `value`: a write to the doorbell if there is one,
/// else `out`.
///
/// # Safety
/// As [`outl`]: for hypercall ports `value` is the address of a valid argument struct below
/// 4 GiB that stays alive and untouched until this returns.
pub(super) unsafe fn port_exit(port: u16, value: u32) {
    let bell = DOORBELL.load(Ordering::Relaxed);
    if bell == 0 {
        // SAFETY: by the caller's contract.
        unsafe { outl(port, value) }
    } else {
        // SAFETY: the doorbell's page is mapped (`init_doorbell`); its register for `port`
        // lies in the window; the rest is the caller's contract.
        unsafe { crate::arch::doorbell(bell + 4 * u64::from(port), value) }
    }
}

/// Whether the loader serves `feature` (`header::FEATURE_*`).
pub fn has_feature(feature: u64) -> bool {
    FEATURES.load(Ordering::Relaxed) & feature != 0
}

/// Announces the fast channel with one slot per core, if the loader offers it.
pub fn init_channel(cores: usize) {
    if !has_feature(header::FEATURE_FAST_CHANNEL) || CHANNEL_ONLY.load(Ordering::Relaxed) {
        return;
    }
    let bytes = channel::channel_size(cores);
    let layout = core::alloc::Layout::from_size_align(bytes, 64).expect("channel layout");
    // SAFETY: a non-zero-sized layout; the area lives for the rest of the run.
    let area = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if area.is_null() {
        log::warn!("no memory for the fast channel, using port I/O");
        return;
    }
    set_timeouts();
    let mut setup = ChannelSetup { gpa: area as u64, slots: cores as u32, ret: 0 };
    call(port::CHANNEL, &mut setup);
    if setup.ret == 0 {
        CHANNEL_SLOTS.store(cores as u32, Ordering::Relaxed);
        CHANNEL.store(area as u64, Ordering::Release);
        log::info!("fast channel with {cores} slot(s) at {:#x}", area as u64);
    } else {
        log::warn!("loader refused the fast channel ({}), using port I/O", setup.ret);
    }
}

/// Whether the loader's fast-channel poller says it polls (it then also takes what the
/// NIC's transmit ring holds, see `net_ring`); false without the channel. The caller has
/// published its work and issued a full fence before it looks.
pub fn host_polling() -> bool {
    channel_control().is_some_and(|control| control.host_state.load(Ordering::SeqCst) == channel::HOST_POLLING)
}

/// The channel's control block, if the channel is in use.
fn channel_control() -> Option<&'static ChannelControl> {
    let base = CHANNEL.load(Ordering::Acquire);
    // SAFETY: the channel area was allocated and announced (or placed by QEMU's loader) and
    // is never freed; its control block is at its start.
    (base != 0).then(|| unsafe { &*(base as *const ChannelControl) })
}

/// Performs hypercall `port` with `arg` (one of the `#[repr(C)]` structs of
/// [`hermit_interface::hypercall`]) and copies the host's results back into it.
///
/// Through the fast channel a struct that fits travels in the core's slot itself
/// ([`ChannelSlot::data`]); otherwise, and for the port, in the core's argument area.
/// Preemption stays disabled throughout: the argument area and the channel slot belong to
/// the core, so another task of this core must not start a hypercall meanwhile.
pub fn call<T: Copy>(port: u16, arg: &mut T) {
    call_via(port, arg, true);
}

/// Performs hypercall `port` as [`call`] does, but through the port unless only the channel
/// reaches the host (QEMU): for a call that may keep the host busy for milliseconds (`fsync`
/// on a busy disk). Through the channel the vCPU would spin for the result on its host CPU,
/// where the host kernel's own work for the call (I/O completions, the file system's
/// journal, per-CPU workers that cannot move) then waits behind it; the vCPU thread that
/// makes the call itself sleeps in the host as a native process does. One exit costs tens of
/// microseconds, such a call milliseconds.
pub fn call_sleeping<T: Copy>(port: u16, arg: &mut T) {
    call_via(port, arg, CHANNEL_ONLY.load(Ordering::Relaxed));
}

/// [`call`], through the channel if `use_channel` (and it is in use), else through the port.
fn call_via<T: Copy>(port: u16, arg: &mut T, use_channel: bool) {
    const { assert!(size_of::<T>() <= HYPERCALL_AREA_SIZE) };
    preempt_disable();
    let slot = own_slot();
    if let Some((control, slot)) = slot {
        // A posted request of this core completes before this one reaches the host; one the
        // poller did not take goes with this one through the port.
        if super::posted::settle(control, slot, size_of::<T>() <= super::posted::CARRY_ROOM) {
            super::posted::carry(slot, port, arg);
            preempt_enable();
            return;
        }
    }
    if let Some((control, slot)) = slot.filter(|_| use_channel && size_of::<T>() <= channel::SLOT_DATA_SIZE) {
        let data = slot.data.get().cast::<T>();
        // SAFETY: the slot belongs to this core and is idle (preemption is disabled, so no
        // other request of this core is under way); `data` has room for a `T` (checked
        // above) and the host touches it only while a request is posted.
        unsafe { data.write_unaligned(*arg) };
        if post(control, slot, port, data as u64) {
            // SAFETY: as above; the host has written its results and released the slot.
            *arg = unsafe { data.read_unaligned() };
            preempt_enable();
            return;
        }
    }
    let area = percore().hypercall_area.load(Ordering::Relaxed) as *mut T;
    // SAFETY: the area belongs to this core, is large enough (asserted above) and aligned
    // to 64; with preemption disabled no other task of this core uses it until we are done
    // (tasks do not migrate).
    unsafe { area.write_unaligned(*arg) };
    match slot {
        Some((control, slot))
            if use_channel && size_of::<T>() > channel::SLOT_DATA_SIZE && post(control, slot, port, area as u64) => {}
        // SAFETY: `area` is this core's argument area (below 4 GiB), filled above.
        _ => unsafe { port_exit(port, area as u32) },
    }
    // SAFETY: as above; the host has written its results.
    *arg = unsafe { area.read_unaligned() };
    preempt_enable();
}

/// Whether requests may be posted without waiting ([`super::posted`]): the channel is in use
/// with one slot, and requests may fall back to the port (not under QEMU).
pub(super) fn posting_allowed() -> bool {
    CHANNEL_SLOTS.load(Ordering::Relaxed) == 1
        && !CHANNEL_ONLY.load(Ordering::Relaxed)
        && CHANNEL.load(Ordering::Relaxed) != 0
}

/// The control block and this core's slot, if the channel is in use.
pub(super) fn own_slot() -> Option<(&'static ChannelControl, &'static ChannelSlot)> {
    let control = channel_control()?;
    let core = core_id() as usize;
    if core >= CHANNEL_SLOTS.load(Ordering::Relaxed) as usize {
        return None;
    }
    let slot = control as *const ChannelControl as usize + channel::slot_offset(core);
    // SAFETY: the channel area was allocated for `CHANNEL_SLOTS` slots and announced to the
    // host; it is never freed.
    Some((control, unsafe { &*(slot as *const ChannelSlot) }))
}

/// Hands `(port, gpa)` to the host through `slot`; returns whether the host performed it, or
/// false if the guest took it back (the host's poller is parked or stalled): the caller then
/// performs it through the port.
fn post(control: &ChannelControl, slot: &ChannelSlot, port: u16, gpa: u64) -> bool {
    submit(slot, port, gpa);
    if CHANNEL_ONLY.load(Ordering::Relaxed) {
        if control.host_state.load(Ordering::SeqCst) != channel::HOST_POLLING {
            // SAFETY: a byte to QEMU's doorbell device, which only wakes the host's poller.
            unsafe { crate::arch::outb(hermit_interface::qemu::DOORBELL_PORT, 0) };
        }
        wait_done(slot);
        return true;
    }
    if control.host_state.load(Ordering::SeqCst) != channel::HOST_POLLING && reclaim(slot) {
        return false;
    }
    if !claimed(control, slot) {
        return false;
    }
    wait_done(slot);
    true
}

/// Publishes the request `(port, gpa)` in `slot`, followed by a full fence (the caller then
/// reads the host's state: either it sees the poller parked, or the poller's last scan before
/// parking sees the request).
pub(super) fn submit(slot: &ChannelSlot, port: u16, gpa: u64) {
    slot.port.store(u32::from(port), Ordering::Relaxed);
    slot.arg.store(gpa, Ordering::Relaxed);
    slot.state.store(channel::SLOT_REQUEST, Ordering::Release);
    fence(Ordering::SeqCst);
}

/// Waits until a polling host claims the request in `slot`; false if the guest took it back
/// (the poller stalled or did not claim it in time): the caller then sends it through the
/// port.
pub(super) fn claimed(control: &ChannelControl, slot: &ChannelSlot) -> bool {
    // A polling host claims a request within a microsecond: spin on the slot alone for
    // WATCH_NS. Only a request still unclaimed then reads the host's scan count, which the
    // poller rewrites every microsecond or so: reading it on every request cost a cache-line
    // transfer each time. A count that still stands where an earlier request saw it stall
    // means the poller is still off its CPU: take the port at once. One that stands still for
    // STALL_NS, or a request unclaimed after CLAIM_TIMEOUT_NS, is a descheduled poller (a
    // busy host): take the request back and exit instead of spinning for a host time slice.
    let start = crate::arch::rdtsc();
    let mut heartbeat: Option<Heartbeat> = None;
    while slot.state.load(Ordering::Acquire) == channel::SLOT_REQUEST {
        let now = crate::arch::rdtsc();
        let waited = now.wrapping_sub(start);
        if waited > WATCH_CYCLES.load(Ordering::Relaxed) {
            let scans = control.scans.load(Ordering::Relaxed);
            let beat = heartbeat.get_or_insert_with(|| Heartbeat::new(scans, now));
            // A host that writes the transmit ring's frames beats once a frame: a longer
            // stillness is no stall yet, and it serves file calls between the frames.
            let draining = scans & channel::SCANS_DRAINING != 0;
            let (stall, timeout) =
                if draining { (&DRAIN_STALL_CYCLES, &DRAIN_TIMEOUT_CYCLES) } else { (&STALL_CYCLES, &TIMEOUT_CYCLES) };
            let known = !draining && scans != 0 && scans == STALLED_AT.load(Ordering::Relaxed);
            let stalled = beat.stalled(scans, now, stall.load(Ordering::Relaxed));
            if known || stalled || waited > timeout.load(Ordering::Relaxed) {
                if stalled {
                    STALLED_AT.store(scans, Ordering::Relaxed);
                }
                if reclaim(slot) {
                    return false;
                }
            }
        }
        pause();
    }
    true
}

/// Waits until the host has completed the request in `slot`, then frees the slot.
pub(super) fn wait_done(slot: &ChannelSlot) {
    while slot.state.load(Ordering::Acquire) != channel::SLOT_DONE {
        pause();
    }
    slot.state.store(channel::SLOT_IDLE, Ordering::Relaxed);
}

/// Takes the request in `slot` back unless the host has claimed it; false if the host
/// claimed it first (it will complete it).
pub(super) fn reclaim(slot: &ChannelSlot) -> bool {
    slot.state.compare_exchange(channel::SLOT_REQUEST, channel::SLOT_IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok()
}

/// How long a request may wait in the channel for the host to claim it before the guest
/// takes it back and uses the port: a few times the claim latency of a polling host, well
/// below one port exit (about 55 us on PVM).
const CLAIM_TIMEOUT_NS: u64 = 20_000;

/// How long the host's scan count ([`ChannelControl::scans`]) may stand still before the
/// guest takes its unclaimed request back: a polling host writes it every microsecond or so,
/// and a poller that yielded its CPU on a busy host is gone for a time slice.
const STALL_NS: u64 = 5_000;

/// [`STALL_NS`] and [`CLAIM_TIMEOUT_NS`] while the host drains the NIC's transmit ring
/// ([`channel::SCANS_DRAINING`]): it beats once a frame (a 64 KiB frame's write to the tap
/// takes tens of microseconds) and serves file calls between frames. A web server's reads of
/// 64 KiB while it sent were port exits before, 981 of 1,070, about 90 µs each on PVM.
const DRAIN_STALL_NS: u64 = 50_000;
const DRAIN_TIMEOUT_NS: u64 = 100_000;

/// How long a request spins on its slot alone before it watches the host's scan count: a
/// polling host claims within a microsecond, and the count's cache line is the host's.
const WATCH_NS: u64 = 1_000;

/// [`WATCH_NS`], [`STALL_NS`] and [`CLAIM_TIMEOUT_NS`] in TSC cycles, set with the channel
/// (the clock is known by then), so that a request does no 128-bit division.
static WATCH_CYCLES: AtomicU64 = AtomicU64::new(0);
static STALL_CYCLES: AtomicU64 = AtomicU64::new(0);
static TIMEOUT_CYCLES: AtomicU64 = AtomicU64::new(0);
static DRAIN_STALL_CYCLES: AtomicU64 = AtomicU64::new(0);
static DRAIN_TIMEOUT_CYCLES: AtomicU64 = AtomicU64::new(0);

/// Sets the cycle counts of the claim timeouts from the TSC clock.
fn set_timeouts() {
    let clock = crate::time::clock();
    WATCH_CYCLES.store(clock.ns_to_cycles(WATCH_NS), Ordering::Relaxed);
    STALL_CYCLES.store(clock.ns_to_cycles(STALL_NS), Ordering::Relaxed);
    TIMEOUT_CYCLES.store(clock.ns_to_cycles(CLAIM_TIMEOUT_NS), Ordering::Relaxed);
    DRAIN_STALL_CYCLES.store(clock.ns_to_cycles(DRAIN_STALL_NS), Ordering::Relaxed);
    DRAIN_TIMEOUT_CYCLES.store(clock.ns_to_cycles(DRAIN_TIMEOUT_NS), Ordering::Relaxed);
}

/// Ends the guest with `code` as the program's exit status.
pub fn exit(code: i32) -> ! {
    let mut code = code;
    call(port::EXIT, &mut code);
    // The host does not return from EXIT; if it does, stay here.
    loop {
        pause();
    }
}

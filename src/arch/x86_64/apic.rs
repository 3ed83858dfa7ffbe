//! The local APIC: timer, inter-processor interrupts, EOI, and start-up of secondary cores
//! under QEMU.
//!
//! Two modes, chosen once at boot from CPUID ([`init`]):
//! - **x2APIC** with the TSC-deadline timer (every KVM host, PVM included): registers are
//!   MSRs, written through the CPL-0 trampoline.
//! - **xAPIC** (QEMU's TCG, which emulates neither x2APIC nor the TSC-deadline timer before
//!   QEMU 8.1): registers are the memory page at 0xFEE00000, mapped uncached and written
//!   directly from CPL 3; the timer runs in one-shot mode, its count computed from the
//!   deadline with the APIC-timer frequency measured against the TSC at boot (divider 128:
//!   deadlines up to 2^32 * 128 timer ticks ahead, 9 minutes at QEMU's 1 GHz, are exact;
//!   later ones fire at that bound and are re-armed by the scheduler).
//!
//! Every core enables its APIC at boot, so that a peer can always interrupt it; this
//! project's loader has usually done that already ([`hermit_interface::apic`]). A core that
//! runs one task and never sleeps still takes no interrupts at all.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::cpu::{pause, rdtsc};
use super::msr;
use super::percore::{block_of, percore};

use hermit_interface::apic::{APIC_BASE_X2APIC_ENABLED, LVT_TIMER, SVR};
pub use hermit_interface::apic::{SPURIOUS_VECTOR, WAKEUP_VECTOR};
use hermit_interface::header::FEATURE_APIC_PREPARED;

/// Physical (and virtual) address of the xAPIC register page.
pub const XAPIC_BASE: u64 = 0xFEE0_0000;

/// Whether the kernel drives the xAPIC (memory-mapped) instead of the x2APIC.
static XAPIC: AtomicBool = AtomicBool::new(false);

/// xAPIC mode: the address of the EOI register, read by the CPL-0 interrupt trampoline (0 in
/// x2APIC mode, where the trampoline writes the EOI MSR).
pub static XAPIC_EOI_REGISTER: AtomicU64 = AtomicU64::new(0);

/// xAPIC mode: APIC-timer ticks (after the divider) per 2^32 TSC cycles.
static TICKS_PER_TSC: AtomicU64 = AtomicU64::new(0);

/// xAPIC register offsets.
const XAPIC_EOI: u64 = 0xB0;
const XAPIC_SVR: u64 = 0xF0;
const XAPIC_ICR_LOW: u64 = 0x300;
const XAPIC_ICR_HIGH: u64 = 0x310;
const XAPIC_LVT_TIMER: u64 = 0x320;
const XAPIC_INITIAL_COUNT: u64 = 0x380;
const XAPIC_CURRENT_COUNT: u64 = 0x390;
const XAPIC_DIVIDE: u64 = 0x3E0;
/// Divide configuration 1010b: the timer counts at 1/128 of the APIC bus clock.
const DIVIDE_BY_128: u32 = 0b1010;

/// Chooses the mode: x2APIC with the TSC-deadline timer if CPUID has both (`leaf1_ecx` bits 21
/// and 24), else the xAPIC, whose page is then mapped with `map_device`. Runs once on the
/// first core before the APIC is used.
pub fn init(leaf1_ecx: u32, map_device: impl FnOnce(u64) -> bool) -> Result<(), &'static str> {
    // The CPUID wrapper has removed hidden features; x2APIC and TSC deadline are never hidden.
    if leaf1_ecx & (1 << 21) != 0 && leaf1_ecx & (1 << 24) != 0 {
        return Ok(());
    }
    if !map_device(XAPIC_BASE) {
        return Err("cannot map the xAPIC registers");
    }
    XAPIC.store(true, Ordering::Relaxed);
    XAPIC_EOI_REGISTER.store(XAPIC_BASE + XAPIC_EOI, Ordering::Relaxed);
    Ok(())
}

/// Whether the xAPIC (with its one-shot timer) is in use.
pub fn is_xapic() -> bool {
    XAPIC.load(Ordering::Relaxed)
}

fn xapic_write(reg: u64, value: u32) {
    // SAFETY: the xAPIC page is mapped uncached at XAPIC_BASE (`init`); `reg` is one of its
    // 16-byte-aligned 32-bit registers.
    unsafe { ((XAPIC_BASE + reg) as *mut u32).write_volatile(value) };
}

fn xapic_read(reg: u64) -> u32 {
    // SAFETY: as in `xapic_write`.
    unsafe { ((XAPIC_BASE + reg) as *const u32).read_volatile() }
}

/// Puts this core's local APIC into x2APIC mode with the timer in TSC-deadline mode (or, in
/// xAPIC mode, software-enabled with a one-shot timer), unless the loader already did (four
/// trampoline trips saved per core).
pub fn enable() {
    let block = percore();
    if block.apic_ready.load(Ordering::Relaxed) != 0 {
        return;
    }
    if is_xapic() {
        xapic_write(XAPIC_SVR, SVR as u32);
        xapic_write(XAPIC_DIVIDE, DIVIDE_BY_128);
        xapic_write(XAPIC_LVT_TIMER, (LVT_TIMER & 0xff) as u32);
        if TICKS_PER_TSC.load(Ordering::Relaxed) == 0 {
            calibrate();
        }
    } else if !crate::drivers::hypercall::has_feature(FEATURE_APIC_PREPARED) {
        let base = msr::read(msr::APIC_BASE);
        // SAFETY: enabling x2APIC (bits 10 and 11) from the enabled xAPIC state, software-enabling
        // the APIC with our spurious vector, and unmasking the timer in TSC-deadline mode.
        unsafe {
            msr::write(msr::APIC_BASE, base | APIC_BASE_X2APIC_ENABLED);
            msr::write(msr::X2APIC_SVR, SVR);
            msr::write(msr::X2APIC_LVT_TIMER, LVT_TIMER);
        }
    }
    block.apic_ready.store(1, Ordering::Release);
}

/// Measures the xAPIC timer against the TSC: three 2 ms windows in which the timer counts
/// down from the maximum; the window whose start and end are bracketed most tightly by TSC
/// reads wins (a vCPU descheduled between the register access and the TSC read would
/// distort its window).
fn calibrate() {
    let window = crate::time::clock().ns_to_cycles(2_000_000).max(1);
    let mut best: Option<(u64, u64, u64)> = None;
    for _ in 0..3 {
        let before = rdtsc();
        xapic_write(XAPIC_INITIAL_COUNT, u32::MAX);
        let start = rdtsc();
        while rdtsc().wrapping_sub(start) < window {
            pause();
        }
        let read = rdtsc();
        let ticks = u64::from(u32::MAX - xapic_read(XAPIC_CURRENT_COUNT));
        let after = rdtsc();
        // The count was loaded within [before, start] and read within [read, after].
        let slack = start.wrapping_sub(before) + after.wrapping_sub(read);
        let elapsed = (read / 2 + after / 2).wrapping_sub(before / 2 + start / 2);
        if best.is_none_or(|(s, _, _)| slack < s) {
            best = Some((slack, ticks, elapsed));
        }
    }
    xapic_write(XAPIC_INITIAL_COUNT, 0);
    let (slack, ticks, elapsed) = best.unwrap_or((0, 1, 1));
    let ratio = ((u128::from(ticks.max(1)) << 32) / u128::from(elapsed.max(1))) as u64;
    TICKS_PER_TSC.store(ratio.max(1), Ordering::Relaxed);
    log::info!("xAPIC timer: {ticks} ticks (divider 128) in {elapsed} TSC cycles (bracketed within {slack})");
}

/// Arms this core's timer to fire at TSC value `deadline` (0 disarms it).
pub fn set_deadline(deadline: u64) {
    enable();
    if is_xapic() {
        xapic_write(XAPIC_INITIAL_COUNT, one_shot_count(deadline, rdtsc()));
        return;
    }
    // SAFETY: writing the TSC deadline only schedules (or cancels) the timer interrupt.
    unsafe { msr::write(msr::TSC_DEADLINE, deadline) };
}

/// The one-shot count for `deadline` at TSC `now`: 0 (disarmed) for no deadline, at least 1
/// for a past one, at most `u32::MAX`; rounded up, so that the timer does not fire early.
fn one_shot_count(deadline: u64, now: u64) -> u32 {
    if deadline == 0 {
        return 0;
    }
    let delta = u128::from(deadline.saturating_sub(now));
    let ticks = ((delta * u128::from(TICKS_PER_TSC.load(Ordering::Relaxed))) >> 32) + 1;
    ticks.clamp(1, u128::from(u32::MAX)) as u32
}

/// Sends the wake-up IPI to core `id` (x2APIC id = vCPU id under KVM).
pub fn wake(id: u32) {
    enable();
    let target = block_of(id as usize);
    if target.apic_ready.load(Ordering::Acquire) == 0 {
        // The target has not enabled its APIC, so it is not halted: it polls its queue.
        return;
    }
    send_ipi(id, WAKEUP_VECTOR);
}

/// Sends a fixed interrupt with `vector` to core `id`, whose APIC must be up.
pub fn send_ipi(id: u32, vector: u8) {
    send_icr(id, u32::from(vector));
}

/// Writes the interrupt command `low` (vector, delivery mode, level) for APIC `id`.
fn send_icr(id: u32, low: u32) {
    if is_xapic() {
        // The high half first: writing the low half sends.
        xapic_write(XAPIC_ICR_HIGH, id << 24);
        xapic_write(XAPIC_ICR_LOW, low);
        return;
    }
    // SAFETY: an IPI with one of our vectors, or INIT/start-up, to an existing core.
    unsafe { msr::write(msr::X2APIC_ICR, (u64::from(id) << 32) | u64::from(low)) };
}

/// Starts core `id` the way a PC does (INIT, then two start-up IPIs to `vector`, whose
/// page holds real-mode code): used under QEMU, where the loader cannot start vCPUs.
pub fn start_core(id: u32, vector: u8) {
    const INIT: u32 = 0x4500;
    const STARTUP: u32 = 0x4600;
    send_icr(id, INIT);
    spin_us(10);
    send_icr(id, STARTUP | u32::from(vector));
    spin_us(200);
    send_icr(id, STARTUP | u32::from(vector));
}

fn spin_us(us: u64) {
    let cycles = crate::time::clock().ns_to_cycles(us * 1000);
    let start = rdtsc();
    while rdtsc().wrapping_sub(start) < cycles {
        pause();
    }
}

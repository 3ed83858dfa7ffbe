//! x86_64: the CPL-0 entry and trampolines, descriptor tables, paging and per-core data.

// Host unit tests compile only the pure modules (`xstate`, `requirements`).
#[cfg(not(test))]
pub mod apic;
#[cfg(not(test))]
pub mod cpu;
#[cfg(not(test))]
mod entry;
#[cfg(not(test))]
pub mod fault;
#[cfg(not(test))]
mod gdt;
#[cfg(not(test))]
mod idt;
#[cfg(not(test))]
pub mod msr;
#[cfg(not(test))]
pub mod paging;
#[cfg(not(test))]
pub mod percore;
#[cfg(not(test))]
pub mod port;
#[cfg(not(test))]
pub mod preempt;
pub mod requirements;
#[cfg(not(test))]
pub mod smp;
#[cfg(not(test))]
pub mod tlb;
#[cfg(not(test))]
mod trap;
pub mod xstate;

#[cfg(not(test))]
use hermit_interface::header::KernelHeader;

#[cfg(not(test))]
pub use entry::boot_tsc;

/// Why the CPU cannot run the kernel.
#[cfg(not(test))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuProblem {
    /// A required feature is missing (named).
    Lacks(&'static str),
    /// The extended-state setup is unusable (described).
    Unusable(&'static str),
}

/// Checks the CPU against what the kernel needs ([`requirements`]) and sets up how the
/// preemption path saves vector state ([`xstate`]); `hide` is the loader's `HERMIT_CPU_HIDE`
/// mask. Returns the save plan and the XCR0 in force (0 without XSAVE). Runs once, on the
/// first core, before anything that needs those features.
#[cfg(not(test))]
pub fn init_cpu(hide: u64) -> Result<(xstate::SavePlan, u64), CpuProblem> {
    cpu::set_hidden(hide);
    let (leaf1, leaf7) = (cpu::cpuid(1, 0), cpu::cpuid(7, 0));
    if let Some(what) = requirements::missing_feature(leaf1, leaf7) {
        return Err(CpuProblem::Lacks(what));
    }
    let mut state = requirements::xstate_features(leaf1, leaf7);
    if state.xsave {
        state.xcr0 = cpu::xcr0();
        let mask = xstate::save_mask(&state);
        for (i, component) in state.components.iter_mut().enumerate().skip(2) {
            if mask & (1 << i) != 0 {
                let [size, offset, _, _] = cpu::cpuid(0xd, i as u32);
                *component = (offset, size);
            }
        }
    }
    let plan = xstate::plan(&state).map_err(CpuProblem::Unusable)?;
    preempt::init_xsave(plan);
    let avx_saved = matches!(plan, xstate::SavePlan::Xsave { mask, .. } if mask & xstate::AVX != 0);
    let fma = requirements::fma_usable(leaf1, leaf7, avx_saved);
    crate::syscalls::memory::sys_fma_usable.store(u32::from(fma), core::sync::atomic::Ordering::Relaxed);
    Ok((plan, state.xcr0))
}

#[cfg(not(test))]
/// The boot header the loader filled in (the first bytes of the image).
pub fn header() -> &'static KernelHeader {
    // SAFETY: `_start` is the first byte of the image and of the 0xC4-byte header laid out by
    // `entry.rs` from the same struct definition; the loader writes it before the first
    // instruction runs and afterwards only `cpu_online` changes, which is read atomically
    // through `percore::online_counter`.
    unsafe { &*(core::ptr::addr_of!(entry::_start) as *const KernelHeader) }
}

#[cfg(not(test))]
/// The kernel message ring at image + 0x5000.
pub fn kmsg_area() -> *mut u8 {
    core::ptr::addr_of!(entry::kmessages) as *mut u8
}

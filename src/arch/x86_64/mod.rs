//! x86_64: the CPL-0 entry and trampolines, descriptor tables, paging and per-core data.

pub mod apic;
pub mod cpu;
mod entry;
pub mod fault;
mod gdt;
mod idt;
pub mod msr;
pub mod paging;
pub mod percore;
pub mod port;
pub mod preempt;
pub mod smp;
pub mod tlb;
mod trap;

use hermit_interface::header::KernelHeader;

pub use entry::boot_tsc;

/// The boot header the loader filled in (the first bytes of the image).
pub fn header() -> &'static KernelHeader {
    // SAFETY: `_start` is the first byte of the image and of the 0xC4-byte header laid out by
    // `entry.rs` from the same struct definition; the loader writes it before the first
    // instruction runs and afterwards only `cpu_online` changes, which is read atomically
    // through `percore::online_counter`.
    unsafe { &*(core::ptr::addr_of!(entry::_start) as *const KernelHeader) }
}

/// The kernel message ring at image + 0x5000.
pub fn kmsg_area() -> *mut u8 {
    core::ptr::addr_of!(entry::kmessages) as *mut u8
}

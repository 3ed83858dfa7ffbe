//! Architecture support. Only x86_64 exists; the rest of the kernel uses this explicit list.

mod x86_64;

pub use x86_64::apic;
pub use x86_64::cpu::{pause, rdtsc};
pub use x86_64::paging::{identity_map_ram, punch_guard_pages};
pub use x86_64::percore::{
    block_of, core_id, current_task, percore, preempt_disable, preempt_enable, set_current_task, PerCore,
};
pub use x86_64::port::outl;
pub use x86_64::preempt::{hermit_switch, init_xsave, prepare_stack};
pub use x86_64::smp::prepare_secondary;
pub use x86_64::{boot_tsc, fault, header, kmsg_area, tlb};

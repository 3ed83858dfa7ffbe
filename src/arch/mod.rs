//! Architecture support. Only x86_64 exists; the rest of the kernel uses this explicit list.

mod x86_64;

#[cfg(not(test))]
pub use x86_64::xstate;

#[cfg(not(test))]
pub use x86_64::apic;
#[cfg(not(test))]
pub use x86_64::cpu::{pause, rdtsc};
#[cfg(not(test))]
pub use x86_64::paging::{identity_map_ram, map_device, punch_guard_pages};
#[cfg(not(test))]
pub use x86_64::percore::{
    block_of, core_id, current_task, percore, preempt_disable, preempt_enable, preempt_enable_deferred,
    set_current_task, PerCore,
};
#[cfg(not(test))]
pub use x86_64::port::{doorbell, inl, outb, outl};
#[cfg(not(test))]
pub use x86_64::preempt::{hermit_switch, prepare_stack};
#[cfg(not(test))]
pub use x86_64::smp::{continue_on_boot_stack, prepare_stacks};
#[cfg(not(test))]
pub use x86_64::{boot_tsc, cpu, fault, header, init_cpu, kmsg_area, tlb, CpuProblem};

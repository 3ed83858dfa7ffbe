//! Architecture support. Only x86_64 exists; the rest of the kernel uses this explicit list.

mod x86_64;

pub use x86_64::cpu::{pause, rdtsc, write_fs_base};
pub use x86_64::paging::{identity_map_ram, punch_guard_page};
pub use x86_64::percore::{core_id, current_task, percore, set_current_task, PerCore};
pub use x86_64::port::outl;
pub use x86_64::smp::{idle, prepare_secondary};
pub use x86_64::{boot_tsc, fault, header, kmsg_area};

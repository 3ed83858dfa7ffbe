//! Memory: the guest-physical layout, page-table entries, the kernel heap and `sbrk`.
//!
//! Guest memory is identity-mapped (virtual == physical) with large pages, all of it up front,
//! so the application takes no page faults at run time. The application heap grows upward from
//! the original `HEAP_START`; the kernel takes stacks and page tables downward from the top.
// Host unit tests compile only the arithmetic here, without the code that uses all of it.
#![cfg_attr(test, allow(dead_code))]

pub mod classes;
pub mod pagetable;
pub mod region;
pub mod tls;

#[cfg(not(test))]
mod backing;
#[cfg(not(test))]
mod global;
#[cfg(not(test))]
pub mod malloc;

#[cfg(not(test))]
pub use global::{alloc_frames, alloc_table, heap_start, init, ram_bytes, sbrk};

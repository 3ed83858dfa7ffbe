//! Drivers: the hypercall transport to the loader and the kernel console.

pub mod console;
pub mod heartbeat;
pub mod hypercall;
pub mod ivshmem;
pub mod net;
pub mod net_ring;
pub mod posted;

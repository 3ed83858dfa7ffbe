//! Synchronisation primitives of the kernel.

pub mod recursive;
pub mod spinlock;

pub use recursive::RecursiveLock;
pub use spinlock::SpinLock;

//! Synchronisation primitives of the kernel: spin lock (preemption disabled while held),
//! futex, recursive lock and semaphore.

pub mod futex;
pub mod recursive;
pub mod semaphore;
pub mod spinlock;

pub use recursive::RecursiveLock;
pub use semaphore::Semaphore;
pub use spinlock::SpinLock;

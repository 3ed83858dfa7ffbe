//! The task table: how the loader's GDB stub finds the kernel's tasks in guest memory.
//!
//! An addition to the original protocol. The kernel publishes the guest address of one
//! [`TaskTable`] in [`crate::header::HeaderExt::task_table`]. The table names the head of an
//! intrusive, singly linked list of the live tasks (not the cores' idle tasks) and the byte
//! offsets of the fields the stub reads in a task; the per-core blocks tell which task each
//! core runs. A task that no core runs has its callee-saved registers in the frame of its
//! last voluntary switch at its saved stack pointer ([`switch`]).
//!
//! Everything the loader reads there is guest data: it bounds the walk
//! ([`MAX_WALK`]) and checks every address against guest RAM.

use core::mem::{offset_of, size_of};

/// [`TaskTable::magic`] ("HTT1" in memory).
pub const TASK_TABLE_MAGIC: u32 = u32::from_le_bytes(*b"HTT1");

/// [`TaskTable::version`] described by this crate.
pub const TASK_TABLE_VERSION: u32 = 1;

/// Most tasks a loader walks before it gives up on the list (a cycle or garbage).
pub const MAX_WALK: usize = 1 << 16;

/// The table, a static of the kernel's image. Fields are written once before the first
/// task starts, except `head`, which changes as tasks start and end.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskTable {
    /// [`TASK_TABLE_MAGIC`].
    pub magic: u32,
    /// [`TASK_TABLE_VERSION`].
    pub version: u32,
    /// Address of the first live task, 0 if none; the newest task comes first.
    pub head: u64,
    /// Offset in a task of the next task's address (u64, 0 at the end).
    pub off_next: u32,
    /// Offset in a task of its id (u32, what `sys_getpid` returns in it).
    pub off_id: u32,
    /// Offset in a task of its saved stack pointer (u64; meaningful while no core runs it).
    pub off_rsp: u32,
    /// Offset in a task of its priority (u8).
    pub off_prio: u32,
    /// Offset in a task of its wait state (u32: [`WAIT_NONE`], [`WAIT_BLOCKED`], ...).
    pub off_wait: u32,
    /// Offset in a task of its home core (u32).
    pub off_core: u32,
    /// Address of core 0's per-core block.
    pub percore: u64,
    /// Bytes between two cores' per-core blocks.
    pub percore_stride: u32,
    /// Offset in a per-core block of the running task's address (u64).
    pub off_current: u32,
}

const _: () = {
    assert!(offset_of!(TaskTable, head) == 8);
    assert!(offset_of!(TaskTable, off_next) == 16);
    assert!(offset_of!(TaskTable, percore) == 40);
    assert!(offset_of!(TaskTable, off_current) == 52);
    assert!(size_of::<TaskTable>() == 56);
};

/// Wait state: running or ready to run.
pub const WAIT_NONE: u32 = 0;
/// Wait state: blocked (a lock, a join, a sleep, ...).
pub const WAIT_BLOCKED: u32 = 1;

/// The frame a voluntary switch leaves at a task's saved stack pointer: word indices.
pub mod switch {
    /// FS base (the task's thread pointer).
    pub const FS_BASE: usize = 0;
    /// MXCSR in the low half, the x87 control word in bits 32..47.
    pub const MXCSR_FCW: usize = 1;
    /// R15.
    pub const R15: usize = 2;
    /// R14.
    pub const R14: usize = 3;
    /// R13.
    pub const R13: usize = 4;
    /// R12.
    pub const R12: usize = 5;
    /// RBX.
    pub const RBX: usize = 6;
    /// RBP.
    pub const RBP: usize = 7;
    /// The return address: where the task continues.
    pub const RIP: usize = 8;
    /// Words in the frame; the task's RSP after the switch returns is the saved stack
    /// pointer plus `WORDS * 8`.
    pub const WORDS: usize = 9;
}

//! The task table the loader's GDB stub reads (`hermit_interface::tasks`).
//!
//! Every task from `spawn` or `run_main` is linked into an intrusive list ([`Task::next`])
//! until it ends; the table gives the list's head and the offsets of the fields the stub
//! reads, and its address goes into the header extension. Links change under a spin lock,
//! and a task is fully initialised before it is linked, so a stub that stops every core
//! reads a consistent list unless a core was stopped inside [`link`] or [`unlink`] (then a
//! task may be missing from one stop).

use core::cell::UnsafeCell;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicU64, Ordering};

use hermit_interface::tasks::{TaskTable, TASK_TABLE_MAGIC, TASK_TABLE_VERSION};

use super::task::Task;
use crate::arch::{block_of, PerCore};
use crate::synch::SpinLock;

/// The table, at a fixed address in the image.
struct Table(UnsafeCell<TaskTable>);

// SAFETY: the table is written once by `publish` before any task is linked, and afterwards
// only its `head` changes, atomically, under `LINKS`.
unsafe impl Sync for Table {}

static TABLE: Table = Table(UnsafeCell::new(TaskTable {
    magic: 0,
    version: TASK_TABLE_VERSION,
    head: 0,
    off_next: offset_of!(Task, next) as u32,
    off_id: offset_of!(Task, id) as u32,
    off_rsp: offset_of!(Task, rsp) as u32,
    off_prio: offset_of!(Task, prio) as u32,
    off_wait: offset_of!(Task, wait) as u32,
    off_core: offset_of!(Task, core) as u32,
    percore: 0,
    percore_stride: size_of::<PerCore>() as u32,
    off_current: offset_of!(PerCore, current_task) as u32,
}));

/// Serialises changes of the links.
static LINKS: SpinLock<()> = SpinLock::new(());

/// The table's `head` as an atomic.
fn head() -> &'static AtomicU64 {
    // SAFETY: `head` is a naturally aligned u64 inside a static that lives forever; every
    // access after `publish` is atomic.
    unsafe { AtomicU64::from_ptr(core::ptr::addr_of_mut!((*TABLE.0.get()).head)) }
}

/// Completes the table and tells the loader where it is (before the first task starts).
pub fn publish() {
    let table = TABLE.0.get();
    // SAFETY: called once on the first core before any task is linked; nobody else writes
    // the table yet, and the loader only reads it once its address is published below.
    unsafe {
        (*table).percore = block_of(0) as *const PerCore as u64;
        (*table).magic = TASK_TABLE_MAGIC;
    }
    crate::drivers::hypercall::publish_task_table(table as u64);
}

/// Links `task`, which must stay alive until [`unlink`].
pub fn link(task: &Task) {
    let _guard = LINKS.lock();
    task.next.store(head().load(Ordering::Relaxed), Ordering::Relaxed);
    head().store(task as *const Task as u64, Ordering::Release);
}

/// Unlinks `task` (nothing if it is not linked).
pub fn unlink(task: &Task) {
    let _guard = LINKS.lock();
    let me = task as *const Task as u64;
    let mut link = head();
    loop {
        let at = link.load(Ordering::Relaxed);
        if at == 0 {
            return;
        }
        if at == me {
            link.store(task.next.load(Ordering::Relaxed), Ordering::Release);
            return;
        }
        // SAFETY: every linked task is alive until it unlinks itself, which needs `LINKS`.
        link = unsafe { &(*(at as *const Task)).next };
    }
}

//! Named constants of the kernel: limits, sizes and debug switches.
// Host unit tests compile only the hardware-independent modules, which use a few of these.
#![cfg_attr(test, allow(dead_code))]

/// Maximum number of cores (as the original `MAX_CORES`).
pub const MAX_CORES: usize = 512;

/// Size of a page.
pub const PAGE_SIZE: usize = 0x1000;

/// Size of a large page.
pub const LARGE_PAGE_SIZE: usize = 0x20_0000;

/// Stack of the task that runs `main`. The original used 256 KiB; applications written for
/// Linux expect megabytes of stack, so the main task gets 8 MiB (the Linux default).
pub const MAIN_STACK_SIZE: usize = 8 << 20;

/// Stack of a thread (the original `DEFAULT_STACK_SIZE`); a guard page lies below it.
pub const DEFAULT_STACK_SIZE: usize = 256 << 10;

/// Time slice of tasks of equal priority on one core (the original's 10 ms tick).
pub const TIME_SLICE_NS: u64 = 10_000_000;

/// How long an idle core polls for work before it halts (a halted core needs an IPI).
pub const IDLE_SPIN_NS: u64 = 500_000;

/// The most by which an idle core arms its timer ahead of a sleeper's deadline before it halts
/// (`scheduler::timer_lead`): a halt here ends 90-130 µs after its timer on a quiet host, up to
/// a few hundred on a busy one, and the core polls for the lead.
pub const MAX_TIMER_LEAD_NS: u64 = 300_000;

/// An idle core whose next deadline is less than this (plus the timer's lead) away polls until
/// it instead of halting: a halt costs two exits and ends about the lead late, so a shorter
/// one saves the host little CPU and costs the sleeper its precision.
pub const MIN_HALT_NS: u64 = 100_000;

/// A wait of a vCPU for its host CPU this long (a timed halt or a woken core up this late, a
/// gap this long in the idle spin) is a host time slice given to other work
/// (`scheduler::host_busy`); a quiet host made one per about 1,500 halts.
pub const HOST_WAIT_NS: u64 = 1_000_000;

/// How long an idle core spins only briefly once two such waits came within this time.
pub const HOST_BUSY_NS: u64 = 100_000_000;

/// The idle spin meanwhile: it still answers a request/response exchange without interrupts.
pub const HOST_BUSY_SPIN_NS: u64 = 50_000;

/// How long a new task that stays on its creator's core is left to it before an idle core
/// may steal it (`Task::steal_after`): long enough for a creator that joins next to get
/// from its wake-up IPI (50-70 µs on PVM) to its `pthread_join`.
pub const CREATOR_GRACE_NS: u64 = 200_000;

/// An idle core stops polling and halts when a core it woke with an IPI has not come up
/// after this long (`CoreSched::late_wake`): a halted vCPU normally runs again 110-160 µs
/// after the IPI on this project's PVM hosts.
pub const WAKE_LATE_NS: u64 = 250_000;

/// Gap between the end of the image and the heap (`HEAP_START` of the original).
pub const HEAP_GAP: usize = 16 << 10;

/// Start of the kernel heap in guest memory (below the image, unused by every loader).
pub const KERNEL_HEAP_START: usize = 0x20_0000;

/// End of the kernel heap: the image starts here.
pub const KERNEL_HEAP_END: usize = 0x80_0000;

/// Stack of the CPL-3 fault reporter on each core.
pub const FAULT_STACK_SIZE: usize = 64 << 10;

/// Stacks the CPU switches to on an exception or interrupt (IST1, IST2).
pub const IST_STACK_SIZE: usize = 8 << 10;

/// Size of the boot stack of the first core.
pub const BOOT_STACK_SIZE: usize = 64 << 10;

/// Number of timer ticks per second reported by `sys_get_ticks` (the original `TIMER_FREQ`).
pub const TIMER_FREQ: u64 = 100;

/// Priority of the main task (the original `NORMAL_PRIO`).
pub const NORMAL_PRIO: u8 = 8;

/// Lowest priority of a task (0 belongs to the idle tasks).
pub const MIN_PRIO: u8 = 1;

/// Highest priority of a task (the original's `MAX_PRIO - 1`).
pub const MAX_PRIO: u8 = 31;

/// Bytes of the per-core hypercall argument area (the largest struct is `CmdSize`).
pub const HYPERCALL_AREA_SIZE: usize = 2048;

//! From the CPL-0 entry to `libc_start`: the boot flow of the kernel, at CPL 3.
//!
//! 1. [`rust_entry`]: per-core block, IDT, fault stack; secondary cores start their
//!    scheduler and idle loop.
//! 2. Loader features, clock, log.
//! 3. Memory: kernel heap, map RAM beyond the boot tables, the heap region.
//! 4. Scheduler and local APIC of the first core, stacks of the other cores, fast channel,
//!    argv/envp from the loader.
//! 5. The main task with its stack, guard page and TLS runs `libc_start(argc, argv, envp)`;
//!    the boot context becomes the first core's idle loop.

mod args;
mod panic;

use core::sync::atomic::{AtomicU32, Ordering};

use hermit_interface::KERNEL_START;

use crate::arch::{self, PerCore};
use crate::drivers::hypercall;

/// Entered from the CPL-0 entry on each core, at CPL 3.
pub extern "C" fn rust_entry(core: u32, _block: *mut PerCore) -> ! {
    arch::fault::init_core(core as usize);
    if core != 0 {
        crate::scheduler::init_core(core);
        arch::apic::enable();
        online_counter().fetch_add(1, Ordering::SeqCst);
        crate::scheduler::idle();
    }
    boot_first_core()
}

fn boot_first_core() -> ! {
    hypercall::init_bsp();
    let header = arch::header();
    let ext = hypercall::header_ext();
    let khz = ext.map(|e| e.tsc_khz).filter(|k| *k != 0).unwrap_or(u64::from(header.cpu_freq) * 1000);
    crate::time::init(khz, ext.map_or(0, |e| e.realtime_ns));
    crate::logging::init();

    let limit = header.limit;
    if crate::mm::init(KERNEL_START, header.image_size, limit).is_err() {
        boot_failure("guest memory is too small for the image");
    }
    if arch::identity_map_ram(limit, &mut crate::mm::alloc_table).is_err() {
        boot_failure("cannot map guest memory");
    }
    crate::scheduler::init_core(0);
    arch::apic::enable();
    arch::init_xsave();
    let cores = header.possible_cpus.clamp(1, crate::config::MAX_CORES as u32);
    for id in 1..cores as usize {
        if arch::prepare_secondary(id).is_err() {
            boot_failure("not enough memory for the secondary cores");
        }
    }
    hypercall::init_channel(cores as usize);
    let args = args::fetch();
    // As the original, main starts once every core is up (programs size thread pools by
    // the online count); the loader starts core i when i cores are online.
    online_counter().fetch_add(1, Ordering::SeqCst);
    while online_counter().load(Ordering::SeqCst) < cores {
        arch::pause();
    }
    log::info!(
        "HermitCore (Rust) booted in {} us: {} MiB RAM, heap at {:#x}, {} argument(s)",
        crate::time::uptime_ns() / 1000,
        limit >> 20,
        crate::mm::heap_start(),
        args.argc
    );
    args::publish(args);
    let errno = crate::scheduler::run_main(cores, main_task);
    log::error!("cannot create the main task: error {}", errno.0);
    boot_failure("cannot create the main task")
}

/// The header's `cpu_online`: each core adds itself; the loader starts the next core when
/// the count reaches its number.
fn online_counter() -> &'static AtomicU32 {
    // SAFETY: `cpu_online` is a naturally aligned u32 in the header page (offset 0x20), which
    // lives as long as the kernel; the loader only reads it.
    unsafe { AtomicU32::from_ptr(core::ptr::addr_of!(arch::header().cpu_online) as *mut u32) }
}

/// First function of the main task: runs the C library's start-up and `main`, then ends
/// the program with main's value.
extern "C" fn main_task(_: u64) -> i32 {
    let args = args::published();
    // SAFETY: `libc_start` is crt0's entry (libhermit-abi.md §3.3); argv and envp are
    // NULL-terminated arrays of NUL-terminated strings that live forever.
    let ret = unsafe { crate::libc::start(args.argc, args.argv, args.envp) };
    hypercall::exit(ret)
}

/// Reports a failure before `main` and ends the guest.
fn boot_failure(what: &str) -> ! {
    let mut line = crate::fmt::StackWriter::<160>::new();
    line.push_bytes(b"[hermit] boot failed: ");
    line.push_bytes(what.as_bytes());
    line.push_bytes(b"\n");
    crate::drivers::console::emergency(line.as_bytes());
    hypercall::exit(crate::errno::ENOMEM.neg())
}

//! From the CPL-0 entry to `libc_start`: the boot flow of the kernel, at CPL 3.
//!
//! 1. [`rust_entry`]: per-core block, IDT, fault stack; secondary cores start their
//!    scheduler and idle loop.
//! 2. Loader features, clock, log.
//! 3. Memory: kernel heap, map RAM beyond the boot tables, the heap region.
//! 4. Scheduler and local APIC of the first core, every core's stacks between guard pages
//!    (the first core's idle loop moves to its own), fast channel, argv/envp from the loader.
//! 5. The main task with its stack, guard page and TLS runs `libc_start(argc, argv, envp)`;
//!    the boot context becomes the first core's idle loop.

mod args;
mod panic;

use core::fmt::Write as _;
use core::sync::atomic::{AtomicU32, Ordering};

use hermit_interface::header::FEATURE_QEMU;
use hermit_interface::KERNEL_START;

use crate::arch::xstate::SavePlan;
use crate::arch::{self, PerCore};
use crate::drivers::hypercall;
use crate::errno::{Errno, ENODEV, ENOMEM, EPROTO};

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
    if let Some(revision) = hypercall::foreign_loader() {
        // A loader of another build: its header extension and fast channel do not match
        // ours, and guessing would hang or corrupt memory (the original protocol is intact).
        let mut line = crate::fmt::StackWriter::<224>::new();
        let _ = write!(
            line,
            "the loader speaks extension protocol revision {revision}, this kernel revision {}: run the image \
             with the proxy of its own build (or HERMIT_UHYVE_COMPAT=1)",
            hermit_interface::header::EXT_VERSION
        );
        boot_failure(&[core::str::from_utf8(line.as_bytes()).unwrap_or("")], EPROTO);
    }
    let header = arch::header();
    let ext = hypercall::header_ext();
    let cpu = match arch::init_cpu(ext.map_or(0, |e| e.cpu_hide)) {
        Ok(cpu) => cpu,
        Err(arch::CpuProblem::Lacks(what)) => boot_failure(&["the CPU lacks ", what], ENODEV),
        Err(arch::CpuProblem::Unusable(why)) => boot_failure(&[why], ENODEV),
    };
    let khz = ext.map(|e| e.tsc_khz).filter(|k| *k != 0).unwrap_or(u64::from(header.cpu_freq) * 1000);
    if khz == 0 {
        boot_failure(&["the TSC frequency is unknown (the loader left the header's cpu_freq at 0)"], ENODEV);
    }
    crate::time::init(khz, ext.map_or(0, |e| e.realtime_ns), ext.map_or(0, |e| e.monotonic_ns));
    crate::logging::init();
    match cpu {
        (SavePlan::Xsave { mask, bytes }, xcr0) => {
            log::info!("vector state: XSAVE of components {mask:#x} in {bytes} bytes (XCR0 in force {xcr0:#x})")
        }
        (SavePlan::Fxsave, _) => log::info!("vector state: FXSAVE (no usable XSAVE)"),
    }

    let limit = header.limit;
    if crate::mm::init(KERNEL_START, header.image_size, limit).is_err() {
        boot_failure(&["guest memory is too small for the image"], ENOMEM);
    }
    if arch::identity_map_ram(limit, &mut crate::mm::alloc_table).is_err() {
        boot_failure(&["cannot map guest memory"], ENOMEM);
    }
    let leaf1_ecx = arch::cpu::cpuid(1, 0)[2];
    if let Err(why) = arch::apic::init(leaf1_ecx, |addr| arch::map_device(addr, &mut crate::mm::alloc_table).is_ok()) {
        boot_failure(&[why], ENOMEM);
    }
    crate::drivers::hypercall::init_doorbell(|addr| arch::map_device(addr, &mut crate::mm::alloc_table).is_ok());
    crate::scheduler::init_core(0);
    arch::apic::enable();
    let cores = header.possible_cpus.clamp(1, crate::config::MAX_CORES as u32);
    if arch::prepare_stacks(cores as usize).is_err() {
        boot_failure(&["not enough memory for the cores' stacks and their guard pages"], ENOMEM);
    }
    hypercall::init_channel(cores as usize);
    let args = args::fetch();
    // As the original, main starts once every core is up (programs size thread pools by
    // the online count); the loader starts core i when i cores are online.
    online_counter().fetch_add(1, Ordering::SeqCst);
    if hypercall::has_feature(FEATURE_QEMU) {
        start_cores(cores);
    }
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
    crate::fs::fd::set_socket_bit(args::env_value(&args, "HERMIT_SOCKET_FD_BIT") != Some(b"0"));
    args::publish(args);
    let errno = crate::scheduler::run_main(cores, main_task);
    log::error!("cannot create the main task: error {}", errno.0);
    boot_failure(&["cannot create the main task"], ENOMEM)
}

/// The header's `cpu_online`: each core adds itself; the loader starts the next core when
/// the count reaches its number.
fn online_counter() -> &'static AtomicU32 {
    // SAFETY: `cpu_online` is a naturally aligned u32 in the header page (offset 0x20), which
    // lives as long as the kernel; the loader only reads it.
    unsafe { AtomicU32::from_ptr(core::ptr::addr_of!(arch::header().cpu_online) as *mut u32) }
}

/// Starts cores `1..cores` one after another with start-up IPIs (under QEMU, whose vCPUs
/// wait for them): each learns its number from `current_boot_id`, as under uhyve, and the
/// next starts once it is online. A core that does not come up within 10 s (TCG on a
/// loaded host is slow) ends the boot.
fn start_cores(cores: u32) {
    // SAFETY: `current_boot_id` is a naturally aligned u32 of the header page; no core reads
    // it until the start-up IPI below.
    let boot_id = unsafe { AtomicU32::from_ptr(core::ptr::addr_of!(arch::header().current_boot_id) as *mut u32) };
    for id in 1..cores {
        boot_id.store(id, Ordering::SeqCst);
        arch::apic::start_core(id, hermit_interface::qemu::SIPI_VECTOR);
        let deadline = crate::time::deadline_after(10_000_000_000);
        while online_counter().load(Ordering::SeqCst) <= id {
            if arch::rdtsc() > deadline {
                boot_failure(&["a secondary core did not start (start-up IPI)"], ENODEV);
            }
            arch::pause();
        }
    }
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

/// Reports a failure before `main` (the message is the concatenation of `what`) and ends the
/// guest with `-errno`.
fn boot_failure(what: &[&str], errno: Errno) -> ! {
    let mut line = crate::fmt::StackWriter::<256>::new();
    line.push_bytes(b"[hermit] boot failed: ");
    for part in what {
        line.push_bytes(part.as_bytes());
    }
    line.push_bytes(b"\n");
    crate::drivers::console::emergency(line.as_bytes());
    hypercall::exit(errno.neg())
}

//! Which host CPU each vCPU thread and the polling channel thread run on, read without a system call, and the CPUs that leaves to a helper thread.
//!
//! A vCPU thread spends its time inside `KVM_RUN`, so it cannot say where it runs; but the
//! host kernel keeps the `cpu_id` of every thread's rseq area (registered by glibc 2.35 and
//! later) current: it rewrites it before a thread returns to user mode *or enters a guest*
//! after it was moved (`TIF_NOTIFY_RESUME` is part of the work KVM does before each guest
//! entry). Each vCPU thread publishes the address of its area once ([`register`]); any other
//! thread of the proxy then reads the CPU with one load ([`cpu_of`]). Without rseq (glibc
//! 2.34, which the proxy still supports and which lacks `__rseq_offset`, so it is looked up
//! at run time; or `__rseq_size` 0, e.g. `GLIBC_TUNABLES=glibc.pthread.rseq=0`) nothing is
//! known, and callers fall back to what they did before.
//!
//! The fast channel's poller publishes its area the same way ([`register_poller`]), and when
//! it last served a host call of the program ([`stamp_calls`]; the kernel's `POPULATE`
//! requests do not count): while a program calls the host, a helper thread on the poller's
//! CPU makes those calls wait, or fall back to exits.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// vCPUs whose thread is tracked: the width of the kernel's `busy_mask`.
pub const TRACKED: usize = 64;

/// Address of vCPU `i`'s rseq area (0: not published).
static AREAS: [AtomicUsize; TRACKED] = [const { AtomicUsize::new(0) }; TRACKED];

/// The channel poller's use, for the population thread.
static POLLER: PollerUse = PollerUse::new();

/// Where the poller runs and when it last served a call of the program.
struct PollerUse {
    /// Address of the poller's rseq area (0: not published).
    area: AtomicUsize,
    /// Whether it served a call of the program since its last stamp.
    called: AtomicBool,
    /// When it stamped one last (nanoseconds after [`since_epoch`]'s epoch, 0: never).
    called_at: AtomicU64,
}

impl PollerUse {
    const fn new() -> Self {
        Self { area: AtomicUsize::new(0), called: AtomicBool::new(false), called_at: AtomicU64::new(0) }
    }

    fn called(&self) {
        self.called.store(true, Ordering::Relaxed);
    }

    fn stamp(&self, now: Instant) {
        if self.called.swap(false, Ordering::Relaxed) {
            self.called_at.store(since_epoch(now), Ordering::Relaxed);
        }
    }

    fn cpu(&self, now: Instant, rest: Duration) -> Option<u32> {
        let at = self.called_at.load(Ordering::Relaxed);
        if at == 0 || since_epoch(now).saturating_sub(at) >= rest.as_nanos() as u64 {
            return None;
        }
        area_cpu(self.area.load(Ordering::Acquire))
    }
}

/// Offset of `cpu_id` in `struct rseq` (after `cpu_id_start`).
const CPU_ID: usize = 4;

/// Offset of each thread's rseq area from its thread pointer, if glibc registers areas big
/// enough to hold `cpu_id`: its `__rseq_offset` and `__rseq_size` (glibc 2.35 and later).
fn rseq_offset() -> Option<isize> {
    static OFFSET: OnceLock<Option<isize>> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks a symbol up
        // among the loaded objects.
        let offset = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr()) };
        // SAFETY: as above.
        let size = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr()) };
        if offset.is_null() || size.is_null() {
            return None;
        }
        // SAFETY: glibc defines `__rseq_size` as a `const unsigned int` set before `main`.
        let size = unsafe { *size.cast::<u32>() };
        // SAFETY: and `__rseq_offset` as a `const ptrdiff_t`, likewise.
        let offset = unsafe { *offset.cast::<isize>() };
        (size as usize >= CPU_ID + 4).then_some(offset)
    })
}

/// In the thread of vCPU `id`: publishes where its rseq area is, if glibc registered one.
pub fn register(id: u32) {
    let Some(slot) = AREAS.get(id as usize) else { return };
    if let Some(area) = own_area() {
        slot.store(area, Ordering::Release);
    }
}

/// In the channel's poller thread: publishes where its rseq area is, as [`register`].
pub fn register_poller() {
    if let Some(area) = own_area() {
        POLLER.area.store(area, Ordering::Release);
    }
}

/// In the poller, for each request it serves that is a call of the program (not the
/// kernel's `POPULATE`).
pub fn guest_called() {
    POLLER.called();
}

/// In the poller, after a scan that served requests, at `now`: records the time if one of
/// them was a call of the program ([`guest_called`]).
pub fn stamp_calls(now: Instant) {
    POLLER.stamp(now);
}

/// The host CPU the poller runs on (or last ran on, if parked) when it served a call of the
/// program less than `rest` ago: the program calls the host, with pauses, and the next call
/// finds the poller there. `None` otherwise, or where it runs is unknown.
pub fn poller_cpu(rest: Duration) -> Option<u32> {
    POLLER.cpu(Instant::now(), rest)
}

/// Nanoseconds from a process-wide epoch (the first call) to `at`, at least 1.
fn since_epoch(at: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// The address of the calling thread's rseq area, if glibc registered one.
fn own_area() -> Option<usize> {
    let offset = rseq_offset()?;
    let tp: usize;
    // SAFETY: on x86_64 Linux `fs:0` holds the thread pointer itself (the TLS ABI's TCB
    // self-pointer); reading it has no side effect.
    unsafe { core::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    Some(tp.wrapping_add_signed(offset))
}

/// The host CPU vCPU `id`'s thread runs on, or last ran on if it is not running; `None` if
/// its thread has not published its rseq area or the kernel has not filled it in.
pub fn cpu_of(id: u32) -> Option<u32> {
    area_cpu(AREAS.get(id as usize)?.load(Ordering::Acquire))
}

/// The CPU in the rseq area at `area` (0: none).
fn area_cpu(area: usize) -> Option<u32> {
    if area == 0 {
        return None;
    }
    // SAFETY: `area` is the rseq area of a vCPU thread or of the poller, in its static TLS
    // block, which lives as long as the thread; neither ends before the process. The kernel
    // writes the aligned u32 with a plain store; this only reads it.
    let cpu = unsafe { AtomicU32::from_ptr((area + CPU_ID) as *mut u32) }.load(Ordering::Relaxed);
    // RSEQ_CPU_ID_UNINITIALIZED (-1) and RSEQ_CPU_ID_REGISTRATION_FAILED (-2) are not CPUs.
    (cpu < libc::CPU_SETSIZE as u32).then_some(cpu)
}

/// The CPUs of `allowed` that no busy vCPU runs on: vCPU `i` is busy when bit `i` of `busy`
/// is set, and `cpu_of(i)` says where it runs. `None` when a busy vCPU's CPU is unknown.
pub fn free_cpus(allowed: &[u32], busy: u64, cpu_of: impl Fn(u32) -> Option<u32>) -> Option<Vec<u32>> {
    let mut taken = Vec::new();
    for id in (0..TRACKED as u32).filter(|i| busy & (1 << i) != 0) {
        taken.push(cpu_of(id)?);
    }
    Some(allowed.iter().copied().filter(|cpu| !taken.contains(cpu)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_vcpus_take_their_cpus() {
        let at = |id: u32| [Some(3), Some(0), None].get(id as usize).copied().flatten();
        assert_eq!(free_cpus(&[0, 1, 2, 3], 0, at), Some(vec![0, 1, 2, 3]), "all halted");
        assert_eq!(free_cpus(&[0, 1, 2, 3], 0b01, at), Some(vec![0, 1, 2]));
        assert_eq!(free_cpus(&[0, 1, 2, 3], 0b11, at), Some(vec![1, 2]));
        assert_eq!(free_cpus(&[0, 3], 0b11, at), Some(vec![]), "nothing left: the caller waits");
        assert_eq!(free_cpus(&[0, 1], 0b100, at), None, "a busy vCPU whose CPU is unknown");
        assert_eq!(free_cpus(&[0, 1], 1 << 63, at), None);
    }

    #[test]
    fn a_registered_thread_reads_its_own_cpu() {
        // vCPU slot 63 in a test thread: what `cpu_of` reads is the CPU the thread is on.
        std::thread::spawn(|| {
            register(63);
            if rseq_offset().is_none() {
                return; // no rseq in this environment: nothing is published
            }
            // SAFETY: sched_getcpu has no arguments.
            let now = unsafe { libc::sched_getcpu() };
            let read = cpu_of(63).expect("registered");
            // The thread may move between the two reads; on any host it stays an allowed CPU.
            assert!(read == now as u32 || crate::affinity::allowed_cpus().contains(&read), "{read} vs {now}");
            AREAS[63].store(0, Ordering::Release); // the area ends with this thread
        })
        .join()
        .unwrap();
        assert_eq!(cpu_of(62), None, "not registered");
        assert_eq!(cpu_of(1000), None);
    }

    #[test]
    fn the_poller_counts_for_a_while_after_a_call_of_the_program() {
        // A use of its own (the process-wide one follows the channel tests' requests).
        let poller = PollerUse::new();
        let rest = Duration::from_millis(50);
        since_epoch(Instant::now()); // the epoch starts before the times below
        let t0 = Instant::now();
        std::thread::spawn(move || {
            if let Some(area) = own_area() {
                poller.area.store(area, Ordering::Release);
            }
            poller.stamp(t0);
            assert_eq!(poller.cpu(t0, rest), None, "no call of the program yet");
            poller.called();
            poller.stamp(t0);
            let read = poller.cpu(t0 + rest / 2, rest);
            assert_eq!(poller.cpu(t0 + rest, rest), None, "as long ago as the rest");
            poller.stamp(t0 + rest * 2);
            assert_eq!(poller.cpu(t0 + rest * 2, rest), None, "no call since: rested");
            if rseq_offset().is_some() {
                let read = read.expect("called just now");
                assert!(crate::affinity::allowed_cpus().contains(&read), "{read}");
            } else {
                assert_eq!(read, None, "no rseq: where it runs is unknown");
            }
        })
        .join()
        .unwrap();
    }
}

//! Which host CPU each vCPU thread runs on, read without a system call, and the CPUs that leaves to a helper thread.
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

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// vCPUs whose thread is tracked: the width of the kernel's `busy_mask`.
pub const TRACKED: usize = 64;

/// Address of vCPU `i`'s rseq area (0: not published).
static AREAS: [AtomicUsize; TRACKED] = [const { AtomicUsize::new(0) }; TRACKED];

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
    let Some(offset) = rseq_offset() else { return };
    let tp: usize;
    // SAFETY: on x86_64 Linux `fs:0` holds the thread pointer itself (the TLS ABI's TCB
    // self-pointer); reading it has no side effect.
    unsafe { core::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    slot.store(tp.wrapping_add_signed(offset), Ordering::Release);
}

/// The host CPU vCPU `id`'s thread runs on, or last ran on if it is not running; `None` if
/// its thread has not published its rseq area or the kernel has not filled it in.
pub fn cpu_of(id: u32) -> Option<u32> {
    let area = AREAS.get(id as usize)?.load(Ordering::Acquire);
    if area == 0 {
        return None;
    }
    // SAFETY: `area` is the rseq area of a vCPU thread, in its static TLS block, which lives
    // as long as the thread; vCPU threads end only with the process. The kernel writes the
    // aligned u32 with a plain store; this only reads it.
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
}

//! The poller's trade of a host CPU with vCPU threads that have no CPU to spare: it moves them itself, and gives the CPU back as soon as the guest has more busy cores than CPUs left.
//!
//! Where the guest has fewer vCPUs than the proxy has CPUs, each vCPU thread keeps off the
//! poller's CPU by itself at its port exits (`Channel::keep_vcpus_apart`). With as many
//! vCPUs as CPUs (or more) a trade takes a CPU that a vCPU may need, and a guest that turns
//! to computing makes no port exit; so here the poller sets the vCPU threads' affinity
//! itself (the system-call filter names their thread ids, which exist before it,
//! `vcpu::prepare`), only while the guest's busy cores (`busy_cores`, kept by its scheduler:
//! a core is busy unless halted) fit in the CPUs left to them, and it undoes the trade the
//! moment they do not (checked at every scan, and every [`CHECK_PARKED`] while parked).
//! The guest controls only whether its own vCPUs share CPUs: the poller stays on one CPU
//! and the vCPU threads on the others, as the proxy's other threads may at any time.

use std::time::Duration;

use crate::traded::Traded;

/// How often a parked poller that holds a vCPU's CPU looks at the guest's busy cores.
pub const CHECK_PARKED: Duration = Duration::from_millis(1);

/// The vCPU threads and the proxy's CPUs; the CPU the poller took from them, while a trade
/// is on, is the poller's [`Traded`] record (the vCPU threads keep off it).
pub struct Swap {
    /// Thread ids of the vCPU threads.
    tids: Vec<i32>,
    /// The proxy's CPUs.
    cpus: Vec<u32>,
}

/// Why a trade was given back.
#[derive(Debug, PartialEq, Eq)]
pub enum GiveBack {
    /// The guest's busy cores outnumbered the CPUs left to its vCPU threads.
    Busy,
    /// The poller rested long enough that the vCPU threads should move freely again.
    Rested,
}

impl Swap {
    /// For vCPU threads `tids` on the proxy's `cpus`; `None` where there is nothing to
    /// trade (one CPU, thread ids unknown).
    pub fn new(tids: &[i32], cpus: &[u32]) -> Option<Self> {
        (cpus.len() >= 2 && !tids.is_empty() && tids.iter().all(|&tid| tid > 0))
            .then(|| Self { tids: tids.to_vec(), cpus: cpus.to_vec() })
    }

    /// Whether `busy` busy guest cores fit in the CPUs a trade leaves to the vCPU threads.
    pub fn room(&self, busy: u64) -> bool {
        busy < self.cpus.len() as u64
    }

    /// In the poller: takes `cpu` (one of the proxy's) when `busy` cores fit in the rest
    /// (also from a trade of another CPU: the busy vCPU moved there since); the poller pins
    /// itself there and every vCPU thread to the others, at once, and records it in `traded`.
    /// Returns whether a new trade is on; a failed move gives everything back.
    pub fn take(&self, traded: &mut Traded, cpu: u32, busy: u64) -> bool {
        if traded.cpu() == Some(cpu) || !self.room(busy) {
            return false;
        }
        let Some(others) = crate::affinity::cpus_but(&self.cpus, cpu) else { return false };
        traded.set(Some(cpu));
        let moved = crate::affinity::pin_thread(0, &[cpu]).is_ok()
            && self.tids.iter().all(|&tid| crate::affinity::pin_thread(tid, &others).is_ok());
        if !moved {
            self.release(traded);
        }
        moved
    }

    /// In the poller: gives the CPU back, if `traded` holds one, when `busy` cores no longer
    /// fit in the rest or `rested` (the poller parked long enough that the vCPUs should move
    /// freely again); returns why it did.
    pub fn give_back_if(&self, traded: &mut Traded, busy: u64, rested: bool) -> Option<GiveBack> {
        traded.cpu()?;
        let why = if !self.room(busy) {
            GiveBack::Busy
        } else if rested {
            GiveBack::Rested
        } else {
            return None;
        };
        self.release(traded);
        Some(why)
    }

    /// Every vCPU thread and the poller get the proxy's CPUs back; the trade ends.
    fn release(&self, traded: &mut Traded) {
        traded.set(None);
        for &tid in &self.tids {
            let _ = crate::affinity::pin_thread(tid, &self.cpus);
        }
        let _ = crate::affinity::pin_thread(0, &self.cpus);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The affinity of thread `tid` (0: the caller).
    fn affinity_of(tid: i32) -> Vec<u32> {
        // SAFETY: cpu_set_t is plain data, written by the kernel with its own size.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::sched_getaffinity(tid, size_of::<libc::cpu_set_t>(), &mut set) }, 0);
        // SAFETY: `cpu` is below CPU_SETSIZE.
        (0..libc::CPU_SETSIZE as u32).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu as usize, &set) }).collect()
    }

    #[test]
    fn nothing_to_trade_on_one_cpu_or_without_threads() {
        assert!(Swap::new(&[5], &[0]).is_none());
        assert!(Swap::new(&[], &[0, 1]).is_none());
        assert!(Swap::new(&[0], &[0, 1]).is_none(), "0 is no thread id");
        assert!(Swap::new(&[5, 6], &[0, 1]).is_some_and(|s| s.room(1) && !s.room(2)));
    }

    #[test]
    fn a_trade_moves_the_threads_and_busy_cores_undo_it() {
        let cpus = crate::affinity::allowed_cpus();
        if cpus.len() < 2 {
            return;
        }
        // A real thread stands for a vCPU: it reports its id and waits.
        let (tid_sent, tid) = std::sync::mpsc::channel();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let vcpu = std::thread::spawn(move || {
            // SAFETY: gettid has no arguments.
            tid_sent.send(unsafe { libc::gettid() }).unwrap();
            let _ = wait.recv();
        });
        let tid = tid.recv().unwrap();
        // The poller's part runs in a thread of its own, whose affinity it changes.
        let all = cpus.clone();
        std::thread::spawn(move || {
            let swap = Swap::new(&[tid], &all).unwrap();
            let mut traded = Traded::default();
            let cpu = all[0];
            assert!(!swap.take(&mut traded, cpu, all.len() as u64), "no room: every CPU is busy");
            assert_eq!(traded.cpu(), None);
            assert!(swap.take(&mut traded, cpu, 1));
            assert_eq!(traded.cpu(), Some(cpu));
            assert!(!swap.take(&mut traded, cpu, 1), "taken already");
            assert_eq!(affinity_of(0), vec![cpu]);
            assert_eq!(affinity_of(tid), all[1..].to_vec());
            assert_eq!(swap.give_back_if(&mut traded, 1, false), None, "still room");
            assert_eq!(
                swap.give_back_if(&mut traded, 2, false),
                Some(GiveBack::Busy),
                "two busy cores on one CPU fewer"
            );
            assert_eq!(traded.cpu(), None);
            assert_eq!(affinity_of(tid), all);
            assert_eq!(affinity_of(0), all);
            assert!(swap.take(&mut traded, cpu, 1));
            assert_eq!(swap.give_back_if(&mut traded, 0, true), Some(GiveBack::Rested));
            assert_eq!(affinity_of(tid), all);
            assert_eq!(swap.give_back_if(&mut traded, 5, true), None, "nothing held");
        })
        .join()
        .unwrap();
        done.send(()).unwrap();
        vcpu.join().unwrap();
    }
}

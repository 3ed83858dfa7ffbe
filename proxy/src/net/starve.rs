//! Whether the vCPU threads that send a guest→host stream wait for their host CPU: their run delay in the host scheduler, from `/proc/self/task/<tid>/schedstat`.
//!
//! On a 2-CPU host the host program that reads a stream from the guest runs beside the
//! vCPU that sends it or beside the channel's poller, and the host keeps it where it is.
//! Beside the vCPU the two split that CPU and the stream runs at a third to half its speed
//! (ARCHITECTURE.md, "Host networking"); the poller then trades CPUs with the vCPU, as it
//! does when the peer of a request/response exchange answers slowly ([`super::turn`]).
//! The sign is the vCPU threads' run delay (the second field of `schedstat`: time spent
//! runnable, waiting for a CPU). It grows only while a thread wants to run, so a guest that
//! halts between its frames (it does so often in the slow runs, waiting for the host's
//! acknowledgements) does not hide it, and a halted vCPU does not count as starved. The
//! files are opened once and read with `pread` (about 1 µs each here), once per [`WINDOW`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// How long each look at the run delay spans.
const WINDOW: Duration = Duration::from_millis(3);

/// Share of a window the vCPU threads (together) waited for a CPU above which they count as
/// starved.
const STARVED: f64 = 0.2;

/// Starved windows in a row that make a verdict: one could be a burst of other work.
const IN_A_ROW: u32 = 2;

/// The state of the check, kept by the poller.
pub struct Starve {
    /// The vCPU threads' `schedstat` files (empty: unknown, never starved).
    files: Vec<File>,
    /// When the window began, and each thread's run delay then (ns).
    since: Option<(Instant, Vec<u64>)>,
    /// Starved windows in a row so far.
    starved: u32,
    /// The vCPU whose thread waited longest in the last window.
    worst: Option<u32>,
}

/// The run delay (ns) in the text of a `schedstat` file: its second field.
fn parse_delay(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

impl Starve {
    /// For the vCPU threads `tids` of this process; none known if a file cannot be opened
    /// (a file sandbox under Landlock allows no `/proc` file but two).
    pub fn open(tids: &[i32]) -> Self {
        let files: Option<Vec<File>> =
            tids.iter().map(|tid| File::open(format!("/proc/self/task/{tid}/schedstat")).ok()).collect();
        Self { files: files.unwrap_or_default(), since: None, starved: 0, worst: None }
    }

    /// Each vCPU thread's run delay (ns).
    fn delays(&self) -> Option<Vec<u64>> {
        self.files
            .iter()
            .map(|file| {
                let mut buf = [0u8; 96];
                let n = file.read_at(&mut buf, 0).ok()?;
                parse_delay(&buf[..n])
            })
            .collect()
    }

    /// The vCPU (its index among the threads given to [`Starve::open`]) whose thread waited
    /// longest in the last window judged.
    pub fn starving(&self) -> Option<u32> {
        self.worst
    }

    /// At each of the poller's scans: after every [`WINDOW`] of a guest→host stream
    /// (`streaming`), whether the vCPU threads were starved ([`IN_A_ROW`] windows of it make
    /// `Some(true)`); `None` between windows and outside such streams.
    pub fn verdict(&mut self, now: Instant, streaming: bool) -> Option<bool> {
        if !streaming || self.files.is_empty() {
            self.since = None;
            self.starved = 0;
            return None;
        }
        let Some((at, before)) = self.since.take() else {
            self.since = self.delays().map(|ns| (now, ns));
            return None;
        };
        let wall = now.saturating_duration_since(at);
        if wall < WINDOW {
            self.since = Some((at, before));
            return None;
        }
        let ns = self.delays()?;
        let waited: Vec<u64> = ns.iter().zip(&before).map(|(now, then)| now.saturating_sub(*then)).collect();
        self.since = Some((now, ns));
        let (worst, _) = waited.iter().enumerate().max_by_key(|&(_, w)| *w)?;
        self.worst = u32::try_from(worst).ok();
        let sum: u64 = waited.iter().sum();
        if (sum as f64) < wall.as_nanos() as f64 * STARVED {
            self.starved = 0;
            return Some(false);
        }
        self.starved += 1;
        if self.starved < IN_A_ROW {
            return None;
        }
        self.starved = 0;
        Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_field_is_the_run_delay() {
        assert_eq!(parse_delay(b"165188211 22271897 31\n"), Some(22_271_897));
        assert_eq!(parse_delay(b"1 2"), Some(2));
        assert_eq!(parse_delay(b"165188211\n"), None);
        assert_eq!(parse_delay(b"1 x 3\n"), None);
        assert_eq!(parse_delay(b""), None);
    }

    #[test]
    fn a_thread_that_waits_for_its_cpu_is_starved_one_that_sleeps_is_not() {
        // SAFETY: gettid has no arguments.
        let me = unsafe { libc::gettid() };
        let mut starve = Starve::open(&[me]);
        assert!(starve.delays().is_some(), "this thread's schedstat is readable");
        assert_eq!(starve.verdict(Instant::now(), false), None, "no stream");
        // Sleeping: no run delay, never starved.
        assert_eq!(starve.verdict(Instant::now(), true), None, "the first look starts a window");
        std::thread::sleep(WINDOW * 2);
        assert_eq!(starve.verdict(Instant::now(), true), Some(false));
        // Two threads pinned to one CPU, this one and a spinning one, share it: each waits
        // about half the time.
        let Some(&cpu) = crate::affinity::allowed_cpus().first() else { return };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                crate::affinity::pin_thread(0, &[cpu]).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            crate::affinity::pin_thread(0, &[cpu]).unwrap();
            let mut starve = Starve::open(&[me]);
            let start = Instant::now();
            let mut verdicts = Vec::new();
            while start.elapsed() < Duration::from_millis(200) && !verdicts.contains(&Some(true)) {
                verdicts.push(starve.verdict(Instant::now(), true));
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(verdicts.contains(&Some(true)), "{verdicts:?}");
            assert_eq!(starve.starving(), Some(0), "the one thread given");
        });
        crate::affinity::unpin();
    }

    #[test]
    fn unknown_threads_are_never_starved() {
        let mut starve = Starve::open(&[i32::MAX]);
        assert_eq!(starve.verdict(Instant::now(), true), None);
        std::thread::sleep(WINDOW);
        assert_eq!(starve.verdict(Instant::now(), true), None);
    }
}

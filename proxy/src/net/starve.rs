//! Whether the vCPU threads that send a guest→host stream wait for their host CPU: their run delay in the host scheduler, from `/proc/self/task/<tid>/schedstat`.
//!
//! On a 2-CPU host the host program that reads a stream from the guest runs beside the
//! vCPU that sends it or beside the channel's poller, and the host keeps it where it is.
//! Beside the vCPU the two split that CPU and the stream runs at a third to half its speed
//! (ARCHITECTURE.md, "Host networking"); the poller then trades CPUs with the vCPU, as it
//! does when the peer of a request/response exchange answers slowly ([`super::turn`]).
//! The sign is the vCPU threads' run delay (the second field of `schedstat`: time spent
//! runnable, waiting for a CPU). It grows only while a thread wants to run, so a guest that
//! halts between its frames (it does so often in the slow runs) does not hide it, and a
//! halted vCPU does not count as starved. The files are opened once and read with `pread`
//! (about 1 µs each here), once per [`WINDOW`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// How long each look at the run delay spans.
const WINDOW: Duration = Duration::from_millis(3);

/// Share of a window the vCPU threads (together) waited for a CPU above which they count as
/// starved: beside the reader 0.25-0.8 per window, alone 0-0.2 (0.1-0.2 about every 10 ms
/// at load 3, other sessions' work).
const STARVED: f64 = 0.2;

/// Starved windows in a row that make a verdict: one could be a burst of other work.
const IN_A_ROW: u32 = 2;

/// The state of the check, kept by the poller.
pub struct Starve {
    /// The vCPU threads' `schedstat` files (empty: unknown, never starved).
    files: Vec<File>,
    windows: Windows,
}

/// The judgement over windows of run delays, apart from where they come from.
#[derive(Default)]
struct Windows {
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

/// Each thread's run delay (ns) from its `schedstat` file.
fn delays(files: &[File]) -> Option<Vec<u64>> {
    files
        .iter()
        .map(|file| {
            let mut buf = [0u8; 96];
            let n = file.read_at(&mut buf, 0).ok()?;
            parse_delay(&buf[..n])
        })
        .collect()
}

impl Windows {
    /// Forgets the window (no stream).
    fn reset(&mut self) {
        self.since = None;
        self.starved = 0;
    }

    /// Whether a window that began has run its length at `now` (a first look starts one).
    fn due(&self, now: Instant) -> bool {
        self.since.as_ref().is_none_or(|(at, _)| now.saturating_duration_since(*at) >= WINDOW)
    }

    /// Takes the run delays `now` (`None`: unreadable, nothing judged); after a window,
    /// whether the threads were starved ([`IN_A_ROW`] windows of it make `Some(true)`).
    fn judge(&mut self, now: Instant, delays: Option<Vec<u64>>) -> Option<bool> {
        let delays = delays?;
        let (at, before) = self.since.replace((now, delays.clone()))?;
        let wall = now.saturating_duration_since(at);
        let waited: Vec<u64> = delays.iter().zip(&before).map(|(now, then)| now.saturating_sub(*then)).collect();
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

impl Starve {
    /// For the vCPU threads `tids` of this process; none known if a file cannot be opened
    /// (a file sandbox under Landlock allows no `/proc` file but two).
    pub fn open(tids: &[i32]) -> Self {
        let files: Option<Vec<File>> =
            tids.iter().map(|tid| File::open(format!("/proc/self/task/{tid}/schedstat")).ok()).collect();
        Self { files: files.unwrap_or_default(), windows: Windows::default() }
    }

    /// At each of the poller's scans: after every [`WINDOW`] of a guest→host stream
    /// (`streaming`), whether the vCPU threads were starved; `None` between windows and
    /// outside such streams.
    pub fn verdict(&mut self, now: Instant, streaming: bool) -> Option<bool> {
        if !streaming || self.files.is_empty() {
            self.windows.reset();
            return None;
        }
        if !self.windows.due(now) {
            return None;
        }
        self.windows.judge(now, delays(&self.files))
    }

    /// The vCPU (its index among the threads given to [`Starve::open`]) whose thread waited
    /// longest in the last window judged.
    pub fn starving(&self) -> Option<u32> {
        self.windows.worst
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
    fn windows_in_a_row_make_a_verdict() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut w = Windows::default();
        assert!(w.due(ms(0)));
        assert_eq!(w.judge(ms(0), Some(vec![0, 0])), None, "the first look starts a window");
        assert!(!w.due(ms(2)) && w.due(ms(3)));
        // 0.1 of 3 ms: alone on its CPU, now and then another thread's turn.
        assert_eq!(w.judge(ms(3), Some(vec![300_000, 0])), Some(false));
        // Two vCPU threads waited 0.6 and 0.3 ms of 3 (0.3 together): one window is not enough.
        assert_eq!(w.judge(ms(6), Some(vec![900_000, 300_000])), None);
        assert_eq!(w.worst, Some(0));
        // Then the second thread waited most: the verdict names it.
        assert_eq!(w.judge(ms(9), Some(vec![1_000_000, 1_200_000])), Some(true));
        assert_eq!(w.worst, Some(1));
        // Starved and not in turns make no verdict.
        for (i, waited) in [2_000_000u64, 0, 2_000_000, 0].into_iter().enumerate() {
            let before = w.since.as_ref().unwrap().1[0];
            let verdict = w.judge(ms(12 + 3 * i as u64), Some(vec![before + waited, 1_200_000]));
            assert_eq!(verdict, if waited == 0 { Some(false) } else { None });
        }
        assert_eq!(w.judge(ms(30), None), None, "unreadable: nothing judged");
        w.reset();
        assert!(w.due(ms(30)));
        assert_eq!(w.judge(ms(30), Some(vec![0, 0])), None, "a new start");
    }

    #[test]
    fn a_thread_that_shares_its_cpu_with_a_spinning_one_waits() {
        // SAFETY: gettid has no arguments.
        let me = unsafe { libc::gettid() };
        let starve = Starve::open(&[me]);
        let first = delays(&starve.files).expect("this thread's schedstat is readable");
        let Some(&cpu) = crate::affinity::allowed_cpus().first() else { return };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        let spun = Duration::from_millis(200);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                crate::affinity::pin_thread(0, &[cpu]).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            crate::affinity::pin_thread(0, &[cpu]).unwrap();
            let start = Instant::now();
            while start.elapsed() < spun {
                std::hint::spin_loop();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        crate::affinity::unpin();
        // The two took turns: this one waited about half the time (a loaded host adds more).
        let waited = delays(&starve.files).unwrap()[0] - first[0];
        assert!(waited as u128 >= spun.as_nanos() / 4, "waited {waited} ns of {spun:?}");
    }

    #[test]
    fn unknown_threads_are_never_starved() {
        let mut starve = Starve::open(&[i32::MAX]);
        assert!(starve.files.is_empty());
        assert_eq!(starve.verdict(Instant::now(), true), None);
        std::thread::sleep(WINDOW);
        assert_eq!(starve.verdict(Instant::now(), true), None);
    }
}

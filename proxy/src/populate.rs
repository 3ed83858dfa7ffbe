//! Background population of guest RAM: host memory ahead of what the guest uses, within what the host can spare.
//!
//! The guest's first touch of a 2 MiB page costs the host an allocation and zeroing of a huge
//! page (milliseconds); done ahead of time by a host thread, the touch costs a shadow-MMU
//! fill. The kernel publishes its program break and the lowest address of its allocations
//! from the top of RAM (stacks, page tables) in the header extension
//! ([`hermit_interface::header::HeaderExt`]); the thread keeps populated the heap up to the
//! break plus [`HEAP_AHEAD`] and the kernel's memory from [`STACK_AHEAD`] below its lowest
//! allocation, one 2 MiB chunk at a time ([`GuestRam::populate`]), never while the host's `MemAvailable` is below
//! a margin ([`memory_margin`]). When the break moves down, whole chunks above the new
//! break plus the look-ahead are given back (`MADV_DONTNEED`). Without the published values
//! (the original kernel, `HERMIT_UHYVE_COMPAT=1`) it populates the look-ahead above the heap
//! start and below the end of RAM only.
//!
//! The thread runs at normal priority, paced: after each chunk it sleeps [`PACE`] times as
//! long as the chunk took, so it uses at most a quarter of a CPU. It used to run at idle
//! priority, but on a busy host the kernel then left it without a CPU for seconds in the
//! middle of faulting in a chunk, and the guest, touching that chunk next, waited for it
//! (`malloc(1 MiB)` plus its first writes beside four busy host loops, on a host already at
//! load 14: 3.7-46 M cycles per MiB, median 8 M over 8 runs; paced at normal priority
//! 1.9-28 M, median 2.7 M over 10; without population 2.2-24 M, median 3.7 M). It checks
//! [`stop`] between chunks.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::guest::GuestRam;

/// Granularity of population and release: one huge page.
pub const CHUNK: u64 = 2 << 20;

/// Populated room above the program break (the malloc benchmark's 256 MiB of fresh blocks
/// find host memory ready).
pub const HEAP_AHEAD: u64 = 256 << 20;

/// Populated room below the kernel's lowest allocation from the top (new thread stacks).
pub const STACK_AHEAD: u64 = 64 << 20;

/// Short runs end before population starts, so they do not pay for memory they never use.
const DELAY: Duration = Duration::from_millis(50);

/// How often an idle population thread looks at the published break again.
const POLL: Duration = Duration::from_millis(5);

/// After each chunk the thread sleeps this many times as long as the chunk took.
const PACE: u32 = 3;

/// How long it waits when the host is short of memory.
const MEMORY_WAIT: Duration = Duration::from_millis(200);

/// Set when the run ends; the thread stops before its next chunk.
static STOP: AtomicBool = AtomicBool::new(false);

/// Guest RAM as one index space: the RAM regions in address order, the device hole left out.
/// Heap and kernel allocations each move monotonically through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `(guest-physical start, length)` of each region, ascending.
    ranges: Vec<(u64, u64)>,
}

impl Layout {
    /// The layout of `ranges` (`(start, length)`, ascending, as [`crate::guest::ram_ranges`]).
    pub fn new(ranges: Vec<(u64, u64)>) -> Self {
        Self { ranges }
    }

    /// Bytes of RAM.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(_, len)| len).sum()
    }

    /// Number of chunks (the last may be partial).
    pub fn chunks(&self) -> u64 {
        self.len().div_ceil(CHUNK)
    }

    /// Index of guest-physical `gpa`; an address in the hole or past the end maps to the
    /// next region's start or the end.
    pub fn index(&self, gpa: u64) -> u64 {
        let mut before = 0;
        for &(start, len) in &self.ranges {
            if gpa < start {
                return before;
            }
            if gpa - start <= len {
                return before + (gpa - start);
            }
            before += len;
        }
        before
    }

    /// Guest-physical range `(start, length)` of chunk `chunk` (never crosses a region,
    /// since every region but the last ends on a chunk boundary).
    pub fn chunk_range(&self, chunk: u64) -> Option<(u64, u64)> {
        let mut first = chunk.checked_mul(CHUNK)?;
        for &(start, len) in &self.ranges {
            if first < len {
                return Some((start + first, CHUNK.min(len - first)));
            }
            first -= len;
        }
        None
    }
}

/// What the kernel reported about its memory (guest-physical addresses; 0: not published).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Start of the application heap (known to the loader).
    pub heap_start: u64,
    /// The program break.
    pub heap_break: u64,
    /// Lowest address the kernel took from the top of RAM.
    pub kernel_low: u64,
}

/// Chunks to keep populated: the heap's `[first, end)` and the kernel's `[first, end)`.
pub fn wanted(layout: &Layout, usage: Usage) -> [(u64, u64); 2] {
    let total = layout.len();
    let start = layout.index(usage.heap_start);
    let brk = if usage.heap_break == 0 { start } else { layout.index(usage.heap_break).max(start) };
    let low = if usage.kernel_low == 0 { total } else { layout.index(usage.kernel_low).max(brk) };
    let heap_end = brk.saturating_add(HEAP_AHEAD).min(low);
    let kernel_start = low.saturating_sub(STACK_AHEAD).max(heap_end);
    [(start / CHUNK, heap_end.div_ceil(CHUNK)), (kernel_start / CHUNK, total.div_ceil(CHUNK))]
}

/// Memory the host keeps for itself: 1/16 of its RAM, at least 256 MiB.
pub fn memory_margin(host_total: u64) -> u64 {
    (host_total / 16).max(256 << 20)
}

/// `(MemTotal, MemAvailable)` in bytes from the text of `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        kib.checked_mul(1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

/// One bit per chunk: populated by this thread (or given back).
struct Populated(Vec<u64>);

impl Populated {
    fn get(&self, chunk: u64) -> bool {
        self.0.get((chunk / 64) as usize).is_some_and(|w| w & (1 << (chunk % 64)) != 0)
    }

    fn set(&mut self, chunk: u64, on: bool) {
        if let Some(word) = self.0.get_mut((chunk / 64) as usize) {
            if on {
                *word |= 1 << (chunk % 64);
            } else {
                *word &= !(1 << (chunk % 64));
            }
        }
    }
}

/// Reads `(MemTotal, MemAvailable)` through a descriptor opened before the guest starts (no
/// `open` later).
struct HostMemory(Option<std::fs::File>);

impl HostMemory {
    fn open() -> Self {
        Self(std::fs::File::open("/proc/meminfo").ok())
    }

    /// Whether one more chunk leaves the host its margin (true if it cannot tell).
    fn can_spare_chunk(&self) -> bool {
        let Some(file) = &self.0 else { return true };
        let mut buf = [0u8; 4096];
        let Ok(n) = file.read_at(&mut buf, 0) else { return true };
        let Some((total, available)) = parse_meminfo(&String::from_utf8_lossy(&buf[..n])) else { return true };
        available >= memory_margin(total) + CHUNK
    }
}

/// Starts the population thread for `ram`, whose kernel header is at `entry`; `heap_start`
/// is where the application heap begins.
pub fn start(ram: GuestRam, entry: u64, heap_start: u64) {
    let host = HostMemory::open();
    let spawned =
        std::thread::Builder::new().name("populate".into()).spawn(move || run(&ram, &host, entry, heap_start));
    drop(spawned); // without the thread, the guest faults pages in itself
}

/// Ends population: the thread stops before its next chunk (it finishes the current one at
/// normal priority, or dies with the process).
pub fn stop() {
    STOP.store(true, Ordering::SeqCst);
}

fn run(ram: &GuestRam, host: &HostMemory, entry: u64, heap_start: u64) {
    std::thread::sleep(DELAY);
    let layout = Layout::new(ram.regions().into_iter().map(|(gpa, _, len)| (gpa, len)).collect());
    let mut done = Populated(vec![0; layout.chunks().div_ceil(64) as usize]);
    let mut heap_high = 0u64;
    while !STOP.load(Ordering::Relaxed) {
        let usage = Usage { heap_start, heap_break: ram.heap_break(entry), kernel_low: ram.kernel_low(entry) };
        let [heap, kernel] = wanted(&layout, usage);
        // Give back what lies above a lowered break plus the look-ahead.
        for chunk in heap.1..heap_high.min(kernel.0) {
            if done.get(chunk) {
                if let Some((gpa, len)) = layout.chunk_range(chunk) {
                    ram.release(gpa, len);
                }
                done.set(chunk, false);
            }
        }
        heap_high = heap.1;
        let next = (heap.0..heap.1).chain((kernel.0..kernel.1).rev()).find(|c| !done.get(*c));
        let Some(chunk) = next else {
            std::thread::sleep(POLL);
            continue;
        };
        if !host.can_spare_chunk() {
            std::thread::sleep(MEMORY_WAIT);
            continue;
        }
        let Some((gpa, len)) = layout.chunk_range(chunk) else { break };
        let started = std::time::Instant::now();
        if !ram.populate(gpa, len) {
            break;
        }
        done.set(chunk, true);
        // At normal priority, paced to a quarter of a CPU at most.
        std::thread::sleep(started.elapsed() * PACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::{ram_ranges, GAP_END, GAP_START};

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    #[test]
    fn the_index_space_skips_the_hole() {
        let l = Layout::new(ram_ranges(8 * GIB));
        assert_eq!(l.len(), 8 * GIB - (GAP_END - GAP_START));
        assert_eq!(l.index(0x1000), 0x1000);
        assert_eq!(l.index(GAP_START + 5), GAP_START);
        assert_eq!(l.index(GAP_END + 7), GAP_START + 7);
        assert_eq!(l.index(u64::MAX), l.len());
        assert_eq!(l.chunk_range(GAP_START / CHUNK), Some((GAP_END, CHUNK)));
        assert_eq!(l.chunk_range(l.chunks()), None);
        // A size that is not a whole number of chunks ends in a partial chunk.
        let odd = Layout::new(ram_ranges(33 * MIB));
        assert_eq!(odd.chunks(), 17);
        assert_eq!(odd.chunk_range(16), Some((32 * MIB, MIB)));
    }

    #[test]
    fn population_follows_the_break_and_the_stacks() {
        let l = Layout::new(ram_ranges(32 * GIB));
        let usage = Usage { heap_start: 10 * MIB, heap_break: 12 * MIB, kernel_low: 32 * GIB - 10 * MIB };
        let [heap, kernel] = wanted(&l, usage);
        assert_eq!(heap, (5, (12 * MIB + HEAP_AHEAD) / CHUNK));
        let top = l.chunks();
        assert_eq!(kernel, (top - (10 * MIB + STACK_AHEAD) / CHUNK, top));
        // What a sleeping 32 GiB guest gets: far below 1 GiB.
        let bytes = (heap.1 - heap.0 + kernel.1 - kernel.0) * CHUNK;
        assert!(bytes < 400 * MIB, "{bytes}");
        // Touching 2 GiB moves the heap window with the break.
        let [heap, _] = wanted(&l, Usage { heap_break: 2 * GIB + 12 * MIB, ..usage });
        assert_eq!(heap.1 * CHUNK, 2 * GIB + 12 * MIB + HEAP_AHEAD);
    }

    #[test]
    fn unknown_usage_populates_the_look_ahead_only() {
        let l = Layout::new(ram_ranges(32 * GIB));
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: 0, kernel_low: 0 });
        assert_eq!(heap, (5, (10 * MIB + HEAP_AHEAD) / CHUNK));
        assert_eq!(kernel, (l.chunks() - STACK_AHEAD / CHUNK, l.chunks()));
    }

    #[test]
    fn heap_and_kernel_windows_never_overlap() {
        let l = Layout::new(ram_ranges(64 * MIB));
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: 20 * MIB, kernel_low: 50 * MIB });
        assert_eq!(heap, (5, 25));
        assert_eq!(kernel, (25, 32));
        // A published value below the heap start (a hostile guest) is clamped.
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: 1, kernel_low: 2 });
        assert!(heap.0 <= heap.1 && heap.1 <= kernel.0 && kernel.0 <= kernel.1);
        // Values past the end of RAM are clamped too.
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: u64::MAX, kernel_low: u64::MAX });
        assert_eq!((heap.1, kernel), (32, (32, 32)));
    }

    #[test]
    fn host_memory_is_parsed_and_kept() {
        let text = "MemTotal:       24683792 kB\nMemFree:        19880632 kB\nMemAvailable:   23387940 kB\n";
        assert_eq!(parse_meminfo(text), Some((24683792 * 1024, 23387940 * 1024)));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
        assert_eq!(memory_margin(24 * GIB), 1536 * MIB);
        assert_eq!(memory_margin(GIB), 256 * MIB);
    }
}

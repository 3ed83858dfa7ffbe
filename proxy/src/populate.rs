//! Population of guest RAM: host memory ahead of what the guest uses, and at once for what it takes, within what the host can spare.
//!
//! The guest's first touch of a 2 MiB page costs the host an allocation and zeroing of a huge
//! page (about 0.4 M cycles on our hosts); done by the host beforehand, the touch costs a
//! shadow-MMU fill. Two paths back guest RAM, one chunk of 2 MiB at a time
//! ([`GuestRam::populate`]), never while the host's `MemAvailable` is below a margin
//! ([`memory_margin`]), and both record what they did in one table ([`Backing`]):
//!
//! - **On request** ([`Backing::request`], the `POPULATE` host call): when the kernel moves
//!   its program break, or takes stacks from the top of RAM, past what the loader has
//!   published as backed ([`HeaderExt::heap_ready`](hermit_interface::header::HeaderExt),
//!   `kernel_ready`), it asks for the new range and waits for it. Its growth therefore never
//!   depends on the population thread being scheduled, and a chunk the guest took is never
//!   populated twice.
//! - **Ahead**, in a host thread: it keeps the heap backed from the break up to the break
//!   plus [`HEAP_AHEAD`] and the kernel's memory from [`STACK_AHEAD`] below its lowest
//!   allocation, as the kernel publishes them in the header extension. Chunks below the
//!   break are the guest's already (it touched them, or asked for them): the thread starts
//!   at the break, where the next allocations land, instead of catching up from the heap
//!   start behind a guest that allocates quickly. When the break moves down, whole chunks
//!   above the new break plus the look-ahead are given back (`MADV_DONTNEED`). Without the
//!   published values (the original kernel, `HERMIT_UHYVE_COMPAT=1`) it populates the
//!   look-ahead above the heap start and below the end of RAM only.
//!
//! The thread runs at normal priority from the first request that grows the heap past its
//! first chunk: the program allocates. Until then, a program that computes in the memory it
//! has would only lose host CPU time to it (and the host its memory). Under a kernel that
//! makes no requests (the original) it starts [`DELAY`] after the start.
//! While the break rises (the guest allocates now) and the published frontier is less than
//! half the look-ahead beyond it, it works without pause; otherwise it sleeps [`PACE`] times
//! as long as each chunk took, so that it uses at most a quarter of a CPU; a request cuts the
//! pause short. (Without pause whenever the frontier was near, it zeroed 128 MiB beside a
//! program that had allocated nothing yet, during the first second of every run, and cost
//! single-thread compute a few per cent even from another host CPU.)
//! With nothing to do (all backed, or every host CPU taken by a busy vCPU) it looks again
//! after [`POLL`], then twice as long each time up to [`POLL_MAX`].
//! While the kernel reports a busy core for every host CPU the proxy may use (`busy_cores` in
//! the header extension, [`all_busy`]) it populates nothing: it would take a CPU from a vCPU
//! (a two-thread OpenMP run then waits at every barrier for the preempted one). A request
//! waits for a chunk the thread is faulting in at that moment at most [`BUSY_WAIT`], then
//! faults it in itself: an idle-priority thread, starved for seconds inside a chunk, once made
//! the guest wait for it (`malloc(1 MiB)` plus its first writes beside four busy host loops,
//! on a host already at load 14, took 3.7-46 M cycles per MiB). It checks [`stop`] between
//! chunks.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use hermit_interface::header::{offset, HeaderExt};

use crate::guest::GuestRam;

/// Granularity of population and release: one huge page.
pub const CHUNK: u64 = 2 << 20;

/// Populated room above the program break (the malloc benchmark's 256 MiB of fresh blocks
/// find host memory ready).
pub const HEAP_AHEAD: u64 = 256 << 20;

/// Populated room below the kernel's lowest allocation from the top (new thread stacks).
pub const STACK_AHEAD: u64 = 64 << 20;

/// Short runs end before population ahead starts, so they do not pay for memory they never use.
const DELAY: Duration = Duration::from_millis(50);

/// How often an idle population thread looks at the published break again, at first; each
/// further look with nothing to do waits twice as long, up to [`POLL_MAX`] (a request, which
/// means the guest allocates, wakes it at once).
const POLL: Duration = Duration::from_millis(5);

/// The longest wait between two looks with nothing to do. Every wake-up of the thread beside
/// a computing vCPU may preempt it (an exit on PVM): 5 ms naps cost a two-thread OpenMP run
/// about 60 preemptions of its vCPUs in 2 s.
const POLL_MAX: Duration = Duration::from_millis(80);

/// After each chunk the thread sleeps this many times as long as the chunk took (unless the
/// guest is about to reach the populated frontier).
const PACE: u32 = 3;

/// How long a request waits for a chunk the thread is faulting in at that moment before it
/// faults it in itself (a chunk takes 0.2 ms on a quiet host; a descheduled thread may take
/// a time slice or more).
const BUSY_WAIT: Duration = Duration::from_millis(1);

/// How long the thread sleeps at a time while it waits for the heap to grow (the request
/// that grows it wakes the thread at once).
const GROWTH_WAIT: Duration = Duration::from_secs(1);

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

    /// End of the highest region (the end of guest RAM).
    pub fn end(&self) -> u64 {
        self.ranges.last().map_or(0, |(start, len)| start + len)
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

/// Chunks to keep populated ahead of the guest: the heap's `[first, end)` (from the chunk
/// that holds the break) and the kernel's `[first, end)`.
pub fn wanted(layout: &Layout, usage: Usage) -> [(u64, u64); 2] {
    let total = layout.len();
    let start = layout.index(usage.heap_start);
    let brk = if usage.heap_break == 0 { start } else { layout.index(usage.heap_break).max(start) };
    let low = if usage.kernel_low == 0 { total } else { layout.index(usage.kernel_low).max(brk) };
    let heap_end = brk.saturating_add(HEAP_AHEAD).min(low);
    let kernel_start = low.saturating_sub(STACK_AHEAD).max(heap_end);
    [(brk.min(heap_end) / CHUNK, heap_end.div_ceil(CHUNK)), (kernel_start / CHUNK, total.div_ceil(CHUNK))]
}

/// Whether `busy` guest cores (running tasks or polling for work: not halted) leave none
/// of `host_cpus` host CPUs to the population thread.
pub fn all_busy(busy: u64, host_cpus: u64) -> bool {
    busy >= host_cpus.max(1)
}

/// The next wait of a thread with nothing to do, the `idle`-th in a row (counted up):
/// [`POLL`], doubling up to [`POLL_MAX`].
pub fn backoff(idle: &mut u32) -> Duration {
    let wait = POLL.saturating_mul(1 << (*idle).min(8)).min(POLL_MAX);
    *idle = idle.saturating_add(1);
    wait
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

/// One bit per chunk: backed by population (on request or ahead), or given back; and the
/// ends of the contiguous backed ranges at the heap's start and at the top of RAM.
struct Populated {
    bits: Vec<u64>,
    /// First chunk at or above the heap's first that is not backed.
    heap_mark: u64,
    /// Chunks from here to the end are backed.
    top_mark: u64,
    /// The chunk the population thread is faulting in right now.
    busy: Option<u64>,
}

impl Populated {
    fn new(chunks: u64, heap_first: u64) -> Self {
        Self { bits: vec![0; chunks.div_ceil(64) as usize], heap_mark: heap_first, top_mark: chunks, busy: None }
    }

    fn get(&self, chunk: u64) -> bool {
        self.bits.get((chunk / 64) as usize).is_some_and(|w| w & (1 << (chunk % 64)) != 0)
    }

    /// Records `chunk` (below `chunks`) as backed or not and moves the marks.
    fn set(&mut self, chunk: u64, on: bool, heap_first: u64) {
        let Some(word) = self.bits.get_mut((chunk / 64) as usize) else { return };
        if on {
            *word |= 1 << (chunk % 64);
            while self.get(self.heap_mark) {
                self.heap_mark += 1;
            }
            while self.top_mark > 0 && self.get(self.top_mark - 1) {
                self.top_mark -= 1;
            }
        } else {
            *word &= !(1 << (chunk % 64));
            if chunk >= heap_first {
                self.heap_mark = self.heap_mark.min(chunk);
            }
            self.top_mark = self.top_mark.max(chunk + 1);
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

    /// Whether `chunks` more chunks leave the host its margin (true if it cannot tell).
    fn can_spare(&self, chunks: u64) -> bool {
        let Some(file) = &self.0 else { return true };
        let mut buf = [0u8; 4096];
        let Ok(n) = file.read_at(&mut buf, 0) else { return true };
        let Some((total, available)) = parse_meminfo(&String::from_utf8_lossy(&buf[..n])) else { return true };
        available >= memory_margin(total).saturating_add(chunks.saturating_mul(CHUNK))
    }
}

/// What is backed, shared by the population thread and the `POPULATE` requests.
pub struct Backing {
    ram: GuestRam,
    /// The kernel header (`e_entry`).
    entry: u64,
    heap_start: u64,
    layout: Layout,
    host: HostMemory,
    /// Host CPUs the proxy may use.
    allowed: Vec<u32>,
    done: Mutex<Populated>,
    /// Signalled when a chunk is done: wakes the thread (a request means the guest is
    /// allocating) and requests waiting for the thread's chunk.
    changed: Condvar,
    /// Chunks populated ahead by the thread, and on request.
    ahead: AtomicU64,
    requested: AtomicU64,
    /// `POPULATE` requests served.
    requests: AtomicU64,
    /// Set by the first request that grows the heap past its first chunk: the program
    /// allocates, and population ahead begins.
    grown: AtomicBool,
    /// Nanoseconds spent faulting chunks in, on request and ahead.
    requested_ns: AtomicU64,
    ahead_ns: AtomicU64,
    /// Chunks the thread faulted in on host CPUs it restricted itself to (away from busy
    /// vCPUs), and times it waited because they left it none.
    moves: AtomicU64,
    kept_off: AtomicU64,
}

impl Backing {
    /// The table for `ram`, whose kernel header is at `entry`; `heap_start` is where the
    /// application heap begins. Nothing is populated yet.
    pub fn new(ram: GuestRam, entry: u64, heap_start: u64) -> Arc<Self> {
        let layout = Layout::new(ram.regions().into_iter().map(|(gpa, _, len)| (gpa, len)).collect());
        let done = Mutex::new(Populated::new(layout.chunks(), layout.index(heap_start) / CHUNK));
        Arc::new(Self {
            ram,
            entry,
            heap_start,
            layout,
            host: HostMemory::open(),
            allowed: crate::affinity::allowed_cpus(),
            done,
            changed: Condvar::new(),
            ahead: AtomicU64::new(0),
            requested: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            grown: AtomicBool::new(false),
            requested_ns: AtomicU64::new(0),
            ahead_ns: AtomicU64::new(0),
            moves: AtomicU64::new(0),
            kept_off: AtomicU64::new(0),
        })
    }

    /// Starts the population thread (population ahead of the guest).
    pub fn start_ahead(self: &Arc<Self>) {
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("populate".into()).spawn(move || me.run());
        drop(spawned); // without the thread, the guest's requests still back what it takes
    }

    /// Whether `chunk` is backed, after waiting at most [`BUSY_WAIT`] if the thread is
    /// faulting it in right now.
    fn wait_for_thread(&self, chunk: u64) -> bool {
        let Ok(done) = self.done.lock() else { return false };
        let Ok((done, _)) =
            self.changed.wait_timeout_while(done, BUSY_WAIT, |d| !d.get(chunk) && d.busy == Some(chunk))
        else {
            return false;
        };
        done.get(chunk)
    }

    /// Backs guest-physical `[start, start + len)` now (the `POPULATE` request): 0 when it
    /// is backed, `-ENOMEM` if the host's margin left part of it, `-EINVAL` if the range
    /// does not end inside guest RAM. Parts in the device hole have nothing to back.
    pub fn request(&self, start: u64, len: u64) -> i64 {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let ram_end = self.layout.end();
        let Some(end) = start.checked_add(len).filter(|e| *e <= ram_end) else { return -i64::from(libc::EINVAL) };
        let (first, last) = (self.layout.index(start) / CHUNK, self.layout.index(end).div_ceil(CHUNK));
        let mut checked = false;
        let mut ret = 0;
        for chunk in first..last {
            if self.wait_for_thread(chunk) {
                continue;
            }
            // One look at the host's memory per request (a read of /proc/meminfo costs
            // tens of microseconds).
            if !checked && !self.host.can_spare(last - chunk) {
                ret = -i64::from(libc::ENOMEM);
                break;
            }
            checked = true;
            let Some((gpa, len)) = self.layout.chunk_range(chunk) else { break };
            let started = std::time::Instant::now();
            if !self.ram.populate(gpa, len) {
                break;
            }
            self.requested_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.requested.fetch_add(1, Ordering::Relaxed);
            // Wakes the thread when the heap grows past its first chunk (the program
            // allocates; boot's requests for the pretouched chunks and stacks do not).
            let heap_first = self.layout.index(self.heap_start) / CHUNK;
            let kernel_low = self.layout.index(self.ram.kernel_low(self.entry));
            let grows = chunk > heap_first && chunk * CHUNK < kernel_low;
            if grows {
                self.grown.store(true, Ordering::Relaxed);
            }
            self.mark(chunk, true, grows);
        }
        ret
    }

    /// Sleeps up to `time` or until a chunk is done (a request wakes the thread early).
    fn nap(&self, time: Duration) {
        if let Ok(done) = self.done.lock() {
            let _ = self.changed.wait_timeout(done, time);
        }
    }

    /// The table, locked.
    fn table(&self) -> Option<MutexGuard<'_, Populated>> {
        self.done.lock().ok()
    }

    /// Records `chunk` as populated or given back, and publishes the contiguous backed
    /// ranges (`heap_ready`, `kernel_ready`) to the kernel.
    fn mark(&self, chunk: u64, on: bool, wake: bool) {
        let Ok(mut done) = self.done.lock() else { return };
        done.set(chunk, on, self.layout.index(self.heap_start) / CHUNK);
        if done.busy == Some(chunk) {
            done.busy = None;
        }
        let (heap, top) = (done.heap_mark, done.top_mark);
        drop(done);
        if wake {
            self.changed.notify_all();
        }
        let gpa = |chunk: u64| self.layout.chunk_range(chunk).map_or(self.layout.end(), |(gpa, _)| gpa);
        let ext = self.entry + offset::EXT as u64;
        let _ = self.ram.store_u64(ext + std::mem::offset_of!(HeaderExt, heap_ready) as u64, gpa(heap));
        let _ = self.ram.store_u64(ext + std::mem::offset_of!(HeaderExt, kernel_ready) as u64, gpa(top));
    }

    fn is_done(&self, chunk: u64) -> bool {
        self.table().is_some_and(|d| d.get(chunk))
    }

    /// One line for `HERMIT_VERBOSE`: what population did.
    pub fn summary(&self) -> String {
        let mib = |chunks: &AtomicU64| (chunks.load(Ordering::Relaxed) * CHUNK) >> 20;
        let ms = |ns: &AtomicU64| ns.load(Ordering::Relaxed) as f64 * 1e-6;
        format!(
            "populated {} MiB at the kernel's request ({} requests), {} MiB ahead of it; faulting in took {:.1} ms on request, {:.1} ms ahead (wall time); {} chunks on host CPUs it chose away from busy vCPUs, {} waits for one",
            mib(&self.requested),
            self.requests.load(Ordering::Relaxed),
            mib(&self.ahead),
            ms(&self.requested_ns),
            ms(&self.ahead_ns),
            self.moves.load(Ordering::Relaxed),
            self.kept_off.load(Ordering::Relaxed)
        )
    }

    fn run(&self) {
        // A request before the delay is over means the guest allocates: start at once.
        self.nap(DELAY);
        // Our kernel (it asked for its boot memory, or published its break) asks for all it
        // takes, so until its heap grows there is nothing to be ahead of: a program that
        // computes in the memory it has keeps the host's CPUs and memory to itself.
        // The request that grows the heap wakes it (no wake-ups meanwhile beside a computing
        // vCPU: each may preempt it).
        while !self.grown.load(Ordering::Relaxed)
            && (self.requests.load(Ordering::Relaxed) > 0 || self.ram.heap_break(self.entry) != 0)
        {
            if STOP.load(Ordering::Relaxed) {
                return;
            }
            if let Ok(done) = self.done.lock() {
                // Looked at under the lock that the request's notification takes: not missed.
                let _ = self.changed.wait_timeout_while(done, GROWTH_WAIT, |_| !self.grown.load(Ordering::Relaxed));
            }
        }
        let mut idle = 0;
        let (ram, layout) = (&self.ram, &self.layout);
        let mut heap_high = 0u64;
        // The break when the previous chunk was chosen: the guest allocates while it rises.
        let mut last_break = 0u64;
        let mut placed = self.allowed.clone();
        while !STOP.load(Ordering::Relaxed) {
            let usage = Usage {
                heap_start: self.heap_start,
                heap_break: ram.heap_break(self.entry),
                kernel_low: ram.kernel_low(self.entry),
            };
            let [heap, kernel] = wanted(layout, usage);
            let allocating = usage.heap_break > last_break;
            last_break = usage.heap_break;
            // Give back what lies above a lowered break plus the look-ahead.
            for chunk in heap.1..heap_high.min(kernel.0) {
                if self.is_done(chunk) {
                    if let Some((gpa, len)) = layout.chunk_range(chunk) {
                        ram.release(gpa, len);
                    }
                    self.mark(chunk, false, false);
                }
            }
            heap_high = heap.1;
            // With a busy vCPU on every host CPU the proxy may use, the thread would take a
            // CPU from one of them; the guest's requests back what it takes meanwhile.
            if allocating {
                idle = 0;
            }
            if all_busy(ram.busy_cores(self.entry), self.allowed.len() as u64) {
                self.nap(backoff(&mut idle));
                continue;
            }
            let next = self.table().and_then(|mut done| {
                let next = (heap.0..heap.1).chain((kernel.0..kernel.1).rev()).find(|c| !done.get(*c))?;
                done.busy = Some(next);
                Some(next)
            });
            let Some(chunk) = next else {
                self.nap(backoff(&mut idle));
                continue;
            };
            if !self.host.can_spare(1) {
                self.unclaim();
                self.nap(MEMORY_WAIT);
                continue;
            }
            if !self.keep_off_vcpus(&mut placed) {
                self.unclaim();
                self.nap(backoff(&mut idle));
                continue;
            }
            idle = 0;
            let Some((gpa, len)) = layout.chunk_range(chunk) else { break };
            let started = std::time::Instant::now();
            if !ram.populate(gpa, len) {
                break;
            }
            self.ahead_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.ahead.fetch_add(1, Ordering::Relaxed);
            self.mark(chunk, true, true);
            self.spread(&mut placed);
            // Paced to a quarter of a CPU at most, unless the guest allocates and is about to
            // reach the populated frontier (a request cuts the pause short).
            if !allocating || chunk >= heap.1 || (chunk - heap.0) * CHUNK >= HEAP_AHEAD / 2 {
                self.nap(started.elapsed() * PACE);
            }
        }
        self.unclaim();
    }

    /// In the thread, before a chunk: restricts it to the host CPUs (of those the proxy may
    /// use) where no busy vCPU runs, nor the fast channel's poller when it served a call of
    /// the program less than [`crate::channel::RELEASE_AFTER`] ago or holds a CPU by a trade,
    /// `placed` being its current set; false when they leave none. Left to itself the host
    /// scheduler often woke the thread on the CPU of the one computing vCPU while the other
    /// CPU idled (its vCPU halted): CoreMark on one thread then lost up to a quarter of its
    /// score. Beside the poller of a program that calls the host, each chunk (2-7 ms on cold
    /// host pages) made those calls wait or fall back to exits (SQLite's inserts: 2-5 times
    /// as many exits). On the CPU the poller took by a trade, where the host peer of a
    /// network ping-pong runs, chunks faulted in after the first connection's socket buffers
    /// moved the break made rounds wait 0.5-2 ms (p99 of 5,000 rounds 570-590 us, 200-670 us
    /// when the ping-pong started after the population). Where a busy vCPU's CPU is unknown
    /// (no rseq) the thread keeps the proxy's whole set.
    fn keep_off_vcpus(&self, placed: &mut Vec<u32>) -> bool {
        let busy = self.ram.busy_mask(self.entry);
        let mut free = crate::hostcpu::free_cpus(&self.allowed, busy, crate::hostcpu::cpu_of)
            .unwrap_or_else(|| self.allowed.clone());
        // The poller's CPU too while the program calls the host (not just the kernel's
        // requests for memory): its calls would wait for the poller, or fall back to exits;
        // and the CPU it took by a trade, where a network peer runs.
        if let Some(poller) = crate::hostcpu::poller_cpu(crate::channel::RELEASE_AFTER) {
            free.retain(|&cpu| cpu != poller);
        }
        if let Some(traded) = crate::traded::traded_cpu() {
            free.retain(|&cpu| cpu != traded);
        }
        if free.is_empty() {
            self.kept_off.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if free != *placed && crate::affinity::pin_thread(0, &free).is_ok() {
            self.moves.fetch_add(1, Ordering::Relaxed);
            *placed = free;
        }
        true
    }

    /// In the thread, after a chunk: takes the proxy's whole set of CPUs back, so that the
    /// thread, which sleeps until its next chunk, can end on any CPU when the run ends.
    /// Left pinned between chunks to one CPU that two busy host loops shared, it delayed
    /// the end of 4 of 1,400 runs by 1.1-3.9 s (`proxy.exit-under-load`; none of 1,600 with
    /// the whole set back after each chunk; the mechanism is not established).
    fn spread(&self, placed: &mut Vec<u32>) {
        if *placed != self.allowed && crate::affinity::pin_thread(0, &self.allowed).is_ok() {
            placed.clone_from(&self.allowed);
        }
    }

    /// The thread gives up its claim on a chunk.
    fn unclaim(&self) {
        if let Some(mut done) = self.table() {
            done.busy = None;
        }
        self.changed.notify_all();
    }
}

/// Ends population: the thread stops before its next chunk (it finishes the current one at
/// normal priority, or dies with the process).
pub fn stop() {
    STOP.store(true, Ordering::SeqCst);
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
        // From the chunk of the break: below it the guest has taken its memory already.
        assert_eq!(heap, (6, (12 * MIB + HEAP_AHEAD) / CHUNK));
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
        assert_eq!(heap, (10, 25));
        assert_eq!(kernel, (25, 32));
        // A published value below the heap start (a hostile guest) is clamped.
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: 1, kernel_low: 2 });
        assert!(heap.0 <= heap.1 && heap.1 <= kernel.0 && kernel.0 <= kernel.1);
        // Values past the end of RAM are clamped too.
        let [heap, kernel] = wanted(&l, Usage { heap_start: 10 * MIB, heap_break: u64::MAX, kernel_low: u64::MAX });
        assert_eq!((heap.1, kernel), (32, (32, 32)));
    }

    #[test]
    fn population_waits_while_vcpus_fill_the_host() {
        assert!(!all_busy(0, 2), "an idle guest, or a kernel that does not publish the count");
        assert!(!all_busy(1, 2));
        assert!(all_busy(2, 2));
        assert!(all_busy(8, 2), "more vCPUs than host CPUs");
        assert!(all_busy(1, 0));
    }

    #[test]
    fn idle_looks_back_off() {
        let mut idle = 0;
        let waits: Vec<u128> = (0..7).map(|_| backoff(&mut idle).as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 80, 80]);
        idle = u32::MAX;
        assert_eq!(backoff(&mut idle), POLL_MAX);
    }

    #[test]
    fn host_memory_is_parsed_and_kept() {
        let text = "MemTotal:       24683792 kB\nMemFree:        19880632 kB\nMemAvailable:   23387940 kB\n";
        assert_eq!(parse_meminfo(text), Some((24683792 * 1024, 23387940 * 1024)));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
        assert_eq!(memory_margin(24 * GIB), 1536 * MIB);
        assert_eq!(memory_margin(GIB), 256 * MIB);
    }

    #[test]
    fn the_marks_follow_contiguous_backing() {
        let mut p = Populated::new(40, 5);
        assert_eq!((p.heap_mark, p.top_mark), (5, 40));
        p.set(6, true, 5);
        assert_eq!(p.heap_mark, 5);
        p.set(5, true, 5);
        assert_eq!(p.heap_mark, 7);
        p.set(39, true, 5);
        p.set(37, true, 5);
        assert_eq!(p.top_mark, 39);
        p.set(38, true, 5);
        assert_eq!(p.top_mark, 37);
        // Given back: both marks retreat past it.
        p.set(5, false, 5);
        assert_eq!(p.heap_mark, 5);
        p.set(38, false, 5);
        assert_eq!(p.top_mark, 39);
        // Chunks below the heap leave the heap mark alone; out of range is ignored.
        p.set(2, false, 5);
        p.set(100, true, 5);
        assert_eq!(p.heap_mark, 5);
    }

    #[test]
    fn requests_back_guest_ram_and_publish_it() {
        const ENTRY: u64 = 0x80_0000;
        let ram = GuestRam::new(32 * MIB, true).unwrap();
        let heap = 10 * MIB;
        let backing = Backing::new(ram.clone(), ENTRY, heap);
        let ext = ENTRY + offset::EXT as u64;
        let published = |field: usize| ram.read::<u64>(ext + field as u64).unwrap();
        ram.write::<u64>(heap + 8, 0x5555).unwrap();
        assert_eq!(backing.request(heap, 3 * MIB), 0);
        assert_eq!(ram.read::<u64>(heap + 8).unwrap(), 0x5555, "contents are kept");
        assert_eq!(published(std::mem::offset_of!(HeaderExt, heap_ready)), heap + 4 * MIB);
        assert_eq!(published(std::mem::offset_of!(HeaderExt, kernel_ready)), 32 * MIB);
        assert_eq!(backing.request(30 * MIB, 2 * MIB), 0);
        assert_eq!(published(std::mem::offset_of!(HeaderExt, kernel_ready)), 30 * MIB);
        // Already backed: nothing more is populated.
        assert_eq!(backing.request(heap, MIB), 0);
        assert_eq!(backing.requested.load(Ordering::Relaxed), 3);
        assert_eq!(backing.request(0, 0), 0);
        // Ranges that do not end inside RAM are refused.
        assert_eq!(backing.request(31 * MIB, 2 * MIB), -i64::from(libc::EINVAL));
        assert_eq!(backing.request(u64::MAX, 2), -i64::from(libc::EINVAL));
        assert!(
            backing.summary().contains("populated 6 MiB at the kernel's request (6 requests)"),
            "{}",
            backing.summary()
        );
    }
}

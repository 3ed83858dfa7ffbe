//! The host side of the fast channel ([`hermit_interface::channel`]): a thread that polls the
//! guest's request slots while the guest makes host calls, so that they cost no VM exit.
//!
//! The poller backs off adaptively ([`IdleBudget`]): it may spin idle only as long as the
//! requests it served pay for. A request that came within [`STREAM_GAP`] of the previous one
//! (a program that works on host files: SQLite's lock, seek and read calls, a compressor's
//! reads and writes) earns twice its gap, so the poller stays through gaps of that length; a
//! request after a longer pause earns one exit's worth ([`EXIT_COST`]), and all of it is
//! capped at [`MAX_IDLE`]. When the budget is spent the poller parks and the guest falls back
//! to port I/O until the next port exit wakes it. A guest that computes and calls the host
//! rarely therefore costs about one exit's worth of host CPU per call, and a stream of calls
//! keeps the poller spinning. Idle for longer than [`STREAM_GAP`], it yields the host CPU to
//! other threads (the vCPUs, other programs) after each empty scan. A port exit while it
//! spins (a request it did not claim in time) costs the budget one exit's worth. It counts
//! its scans in the channel's control block, so that a guest sees at once when the host has
//! descheduled it and takes the port instead of waiting for a claim. And it keeps off the CPU
//! of the vCPU that calls ([`Placement`]): the scheduler tends to wake it there, where the
//! two take turns and every request stalls into an exit. When the guest has fewer vCPUs than
//! the proxy has CPUs, that move pins the poller to one CPU and the vCPU threads keep off it
//! from their next port exit on, until it has rested for a while ([`Channel::keep_vcpus_apart`]):
//! left free, the scheduler moved the vCPU onto the poller's CPU again whenever its own got
//! busy. The same restriction follows a trade ([`Trade`]): when the host peer of a network
//! ping-pong answers slowly, it runs beside the vCPU and stays there, so the poller takes
//! that vCPU's CPU and the vCPU leaves it; and so when the vCPU that sends a stream to the
//! host waits for its CPU, which the host's reader of the stream shares ([`crate::net::starve`]).

use std::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use hermit_interface::channel::{
    channel_size, slot_offset, HOST_PARKED, HOST_POLLING, HOST_STATE_OFFSET, MAX_SLOTS, SCANS_DRAINING, SCANS_OFFSET,
    SERVED_OFFSET, SLOT_ARG_OFFSET, SLOT_BUSY, SLOT_DONE, SLOT_PORT_OFFSET, SLOT_REQUEST, SLOT_STATE_OFFSET,
};

use crate::guest::{GuestError, GuestRam};
use crate::host::Host;
use crate::hypercall::{dispatch, Outcome};
use crate::swap::{GiveBack, Swap};
use crate::traded::Traded;

/// What a VM exit for a port hypercall costs the guest on PVM: about 21 us through the
/// doorbell (an MMIO write from CPL 3 that the loader serves; `out` at the emulated CPL 0,
/// which the kernel uses only without a doorbell, e.g. under the GDB stub, costs about 51):
/// the idle spinning one channel request pays for at least. (50 us while every exit was an
/// `out`; the poller of a guest that calls the host every millisecond or so then spun more
/// than twice as long after each call as the exit it might save costs.)
pub const EXIT_COST: Duration = Duration::from_micros(22);

/// The longest gap between two requests that the poller spins through: a request that
/// follows the previous one this closely earns twice its gap. Spinning through such a gap
/// costs the host at most about fourteen doorbell exits' worth of CPU (six when this was
/// chosen, with 50 us `out` exits; not retuned with [`EXIT_COST`]: zlib's calls come about
/// 120 us apart on a quiet host and further apart on a busy one) and saves the guest one
/// exit (about 21 us of its time and as much host CPU in the loader); a longer gap is a
/// guest that computes, and spinning through it would cost more CPU than it saves time.
pub const STREAM_GAP: Duration = Duration::from_micros(300);

/// The most idle spinning the poller saves up (about 40 requests' worth).
pub const MAX_IDLE: Duration = Duration::from_millis(2);

/// Idle spinning still paid for: served requests earn it ([`IdleBudget::earn`], up to
/// [`MAX_IDLE`]), a port exit earns as a request (it is what woke the poller), and idle
/// scanning spends it. The poller parks when it is used up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdleBudget {
    left: Duration,
}

impl IdleBudget {
    /// Credits `requests` requests that came `gap` after the previous request: twice the gap
    /// each if it is at most [`STREAM_GAP`] (enough to spin through the next such gap), else
    /// [`EXIT_COST`] each.
    pub fn earn(&mut self, requests: u32, gap: Duration) {
        let each = if gap <= STREAM_GAP { gap.saturating_mul(2).max(EXIT_COST) } else { EXIT_COST };
        self.left = self.left.saturating_add(each.saturating_mul(requests)).min(MAX_IDLE);
    }

    /// Spends `idle` of spinning; returns whether anything is left.
    pub fn spend(&mut self, idle: Duration) -> bool {
        self.left = self.left.saturating_sub(idle);
        !self.left.is_zero()
    }
}

/// What the channel did, for `HERMIT_VERBOSE`'s summary at exit.
#[derive(Debug, Default)]
struct Stats {
    /// Port exits served while the channel existed (each wakes or re-arms the poller).
    exits: AtomicU64,
    /// Times the poller parked.
    parks: AtomicU64,
    /// Nanoseconds the poller spent polling (awake), idle or serving.
    polling_ns: AtomicU64,
    /// Times the poller found itself on the CPU of the vCPU that last exited and moved.
    moves: AtomicU64,
    /// Requests the poller served (published to the guest's control block with the heartbeat).
    served: AtomicU64,
    /// Times a vCPU thread restricted itself to keep off the poller's CPU.
    vcpus_kept_off: AtomicU64,
    /// Times the poller traded CPUs with a vCPU ([`Trade`]), and how many of them for a
    /// guest→host stream whose vCPU waited for its CPU ([`crate::net::starve`]).
    trades: AtomicU64,
    stream_trades: AtomicU64,
    /// Trades with vCPU threads that have no CPU to spare given back because the guest's
    /// busy cores outnumbered the CPUs left, and after the poller rested ([`Swap`]).
    given_back_busy: AtomicU64,
    given_back_rested: AtomicU64,
}

/// A validated channel area and its poller.
pub struct Channel {
    gpa: u64,
    slots: u32,
    started: Once,
    spinning: AtomicBool,
    /// Port exits while the poller was spinning: requests it did not claim in time.
    missed: AtomicU32,
    /// The host CPU the vCPU thread that last made a port exit ran on (-1: unknown).
    vcpu_cpu: AtomicI32,
    /// The proxy's CPUs, when the vCPU threads keep off the poller's CPU (empty: they do not).
    apart: Vec<u32>,
    /// The proxy's CPUs, for vCPU threads that `HERMIT_CPU_AFFINITY` does not pin (empty:
    /// it pins them, or another monitor runs them).
    cpus: Vec<u32>,
    /// The one CPU the poller is pinned to in that case, also after it traded CPUs with a
    /// vCPU (-1: none yet).
    poller_cpu: AtomicI32,
    /// When the poller last parked, in nanoseconds after `epoch`.
    parked_at: AtomicU64,
    /// The time base of `parked_at`.
    epoch: Instant,
    wake: Mutex<bool>,
    wakeup: Condvar,
    stats: Stats,
}

impl Channel {
    /// Checks an area the guest announced: aligned, inside RAM, a sane number of slots.
    pub fn validate(ram: &GuestRam, gpa: u64, slots: u32) -> Result<Channel, GuestError> {
        if slots == 0 || slots as usize > MAX_SLOTS {
            return Err(GuestError::Invalid(format!("fast channel with {slots} slots (1 to {MAX_SLOTS})")));
        }
        if !gpa.is_multiple_of(64) {
            return Err(GuestError::Invalid(format!("fast channel at unaligned address {gpa:#x}")));
        }
        let size = channel_size(slots as usize) as u64;
        let mut probe = vec![0u8; size as usize];
        ram.read_bytes(gpa, &mut probe)?;
        Ok(Channel {
            gpa,
            slots,
            started: Once::new(),
            spinning: AtomicBool::new(false),
            missed: AtomicU32::new(0),
            vcpu_cpu: AtomicI32::new(-1),
            apart: Vec::new(),
            cpus: Vec::new(),
            poller_cpu: AtomicI32::new(-1),
            parked_at: AtomicU64::new(0),
            epoch: Instant::now(),
            wake: Mutex::new(false),
            wakeup: Condvar::new(),
            stats: Stats::default(),
        })
    }

    /// One line for `HERMIT_VERBOSE`: requests the poller served, port exits, parks and
    /// the time it polled.
    pub fn summary(&self) -> String {
        let served = self.served();
        format!(
            "fast channel: {served} requests served by the poller, {} port exits, {} parks, {} ms polled, \
             {} moves off a vCPU's CPU, {} trades of CPUs with a vCPU ({} for a starved stream, {} given back as \
             the guest got busy, {} after a rest){}",
            self.stats.exits.load(Ordering::Relaxed),
            self.stats.parks.load(Ordering::Relaxed),
            self.stats.polling_ns.load(Ordering::Relaxed) / 1_000_000,
            self.stats.moves.load(Ordering::Relaxed),
            self.stats.trades.load(Ordering::Relaxed),
            self.stats.stream_trades.load(Ordering::Relaxed),
            self.stats.given_back_busy.load(Ordering::Relaxed),
            self.stats.given_back_rested.load(Ordering::Relaxed),
            match self.poller_cpu.load(Ordering::Relaxed) {
                cpu if cpu >= 0 => format!(
                    ", poller on CPU {cpu} and vCPU threads off it ({} restrictions)",
                    self.stats.vcpus_kept_off.load(Ordering::Relaxed)
                ),
                _ => String::new(),
            }
        )
    }

    /// Makes the poller and the vCPU threads keep apart when there is room (`cpus`, the
    /// proxy's CPUs, outnumber the slots, i.e. the vCPUs): once the poller finds itself on
    /// a calling vCPU's CPU it pins itself to one other CPU, and each vCPU thread keeps off
    /// that CPU from its next port exit on while the poller is active ([`RELEASE_AFTER`]).
    /// For vCPU threads of this proxy that `HERMIT_CPU_AFFINITY` does not pin (not QEMU's,
    /// whose doorbell thread kicks). With as many vCPUs as CPUs or more the poller may still
    /// trade CPUs with them, moving them itself ([`Swap`]).
    pub fn keep_vcpus_apart(mut self, cpus: Vec<u32>) -> Self {
        if (self.slots as usize) < cpus.len() {
            self.apart = cpus.clone();
        }
        self.cpus = cpus;
        self
    }

    /// Requests the poller has served so far.
    pub fn served(&self) -> u64 {
        self.stats.served.load(Ordering::Relaxed)
    }

    /// Starts the poller (first call) and makes it spin for another window; called after
    /// every port exit once the channel exists.
    pub fn kick(&self, host: &Arc<Host>) {
        self.stats.exits.fetch_add(1, Ordering::Relaxed);
        // SAFETY: sched_getcpu has no arguments (glibc reads it from rseq or the vDSO).
        self.vcpu_cpu.store(unsafe { libc::sched_getcpu() }, Ordering::Relaxed);
        let parked_ns = (self.epoch.elapsed().as_nanos() as u64).saturating_sub(self.parked_at.load(Ordering::Relaxed));
        let active = self.spinning.load(Ordering::Acquire) || parked_ns < RELEASE_AFTER.as_nanos() as u64;
        self.keep_off_poller(active);
        self.started.call_once(|| {
            let host = Arc::clone(host);
            std::thread::Builder::new()
                .name("hermit-channel".into())
                .spawn(move || {
                    // Started by a vCPU thread, which may be pinned.
                    crate::affinity::unpin();
                    poll(&host)
                })
                .expect("cannot start the fast-channel thread");
        });
        // SeqCst, paired with the poller's store before its last scan (`poll`).
        if self.spinning.load(Ordering::SeqCst) {
            self.missed.fetch_add(1, Ordering::Relaxed);
        } else {
            *self.wake.lock().expect("channel lock") = true;
            self.wakeup.notify_one();
        }
    }

    /// In a vCPU thread (at a port exit): while the poller is `active` (spinning, or parked
    /// for less than [`RELEASE_AFTER`]) and pinned to a CPU, keeps off that CPU; after a
    /// longer rest takes the proxy's CPUs back, so that a guest that computes between rare
    /// calls is free to move (a vCPU that cannot leave a CPU another process keeps busy makes
    /// a sleeping program's timers overshoot). A vCPU that then meets the poller again keeps
    /// off it from its next exit on.
    fn keep_off_poller(&self, active: bool) {
        thread_local! {
            /// The poller CPU this vCPU thread keeps off (-1: none).
            static KEPT_OFF: std::cell::Cell<i32> = const { std::cell::Cell::new(-1) };
        }
        let poller = if active { self.poller_cpu.load(Ordering::Relaxed) } else { -1 };
        if self.apart.is_empty() || KEPT_OFF.get() == poller {
            return;
        }
        let cpus =
            if poller < 0 { Some(self.apart.clone()) } else { crate::affinity::cpus_but(&self.apart, poller as u32) };
        if let Some(cpus) = cpus {
            if crate::affinity::pin_thread(0, &cpus).is_ok() {
                KEPT_OFF.set(poller);
                if poller >= 0 {
                    self.stats.vcpus_kept_off.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// In the poller: takes the CPU of the vCPU that last made a port exit ([`Trade`]), or
    /// `hint`, the CPU of the vCPU whose thread waited for it (a starved stream).
    /// Where the vCPUs are fewer than the CPUs (`apart`), that vCPU keeps off it from its
    /// next exit on, as from any CPU the poller is pinned to, and every vCPU keeps a CPU of
    /// its own. Otherwise (`swap`: as many vCPUs as CPUs or more) the poller moves the vCPU
    /// threads off it itself, and only while the guest's busy cores fit in the CPUs left
    /// (a vCPU thread can take its CPUs back only at a port exit, which a guest that
    /// computes does not make; the poller gives them back, [`Swap`]). False where it cannot
    /// be done: the vCPU's CPU is unknown or not one of ours, no room, or
    /// `HERMIT_CPU_AFFINITY` pins the vCPU threads (neither `apart` nor `swap`).
    fn trade_cpus(&self, host: &Host, swap: Option<&Swap>, traded: &mut Traded, hint: Option<u32>) -> bool {
        let mut vcpu = self.vcpu_cpu.load(Ordering::Relaxed);
        if self.apart.is_empty() {
            // The CPU of the vCPU that starved (`hint`), else of the one busy vCPU now (its
            // rseq area), else where it last made a port exit (a ping-pong over the rings
            // makes few).
            let mask = host.ram.busy_mask(host.entry);
            let busy = (mask.count_ones() == 1).then(|| mask.trailing_zeros()).and_then(crate::hostcpu::cpu_of);
            if let Some(cpu) = hint.or(busy) {
                vcpu = cpu as i32;
            }
            let Some(swap) = swap.filter(|_| vcpu >= 0 && self.cpus.contains(&(vcpu as u32))) else { return false };
            if !swap.take(traded, vcpu as u32, host.ram.busy_cores(host.entry)) {
                return false;
            }
            self.poller_cpu.store(vcpu, Ordering::Relaxed);
            self.stats.trades.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if let Some(cpu) = hint {
            vcpu = cpu as i32;
        }
        // SAFETY: sched_getcpu has no arguments (glibc reads it from rseq or the vDSO).
        let here = unsafe { libc::sched_getcpu() };
        if vcpu < 0 || vcpu == here || !self.apart.contains(&(vcpu as u32)) {
            return false;
        }
        if crate::affinity::pin_thread(0, &[vcpu as u32]).is_err() {
            return false;
        }
        if hint.is_some() {
            // A stream makes few port exits, at which the vCPU would leave by itself: move
            // its thread now, as its next exit would (the system-call filter allows it), and
            // forget where it exited last, which is the poller's CPU now.
            if let Some(others) = crate::affinity::cpus_but(&self.apart, vcpu as u32) {
                for &tid in crate::affinity::vcpu_threads() {
                    let _ = crate::affinity::pin_thread(tid, &others);
                }
            }
            self.vcpu_cpu.store(-1, Ordering::Relaxed);
        }
        traded.set(Some(vcpu as u32));
        self.poller_cpu.store(vcpu, Ordering::Relaxed);
        self.stats.trades.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// In the poller: ends a trade with vCPU threads that have no CPU to spare when the
    /// guest's busy cores no longer fit in the CPUs left, or when `rested`; returns whether
    /// it did.
    fn give_back(&self, host: &Host, swap: Option<&Swap>, traded: &mut Traded, rested: bool) -> bool {
        let Some(swap) = swap.filter(|_| traded.cpu().is_some()) else { return false };
        let counter = match swap.give_back_if(traded, host.ram.busy_cores(host.entry), rested) {
            None => return false,
            Some(GiveBack::Busy) => &self.stats.given_back_busy,
            Some(GiveBack::Rested) => &self.stats.given_back_rested,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.poller_cpu.store(-1, Ordering::Relaxed);
        true
    }

    /// Serves every pending request once; returns how many there were.
    fn scan(&self, host: &Host) -> u32 {
        // Frames the guest published in the NIC's transmit ring are work like requests; file
        // calls that come while they are written are served between them (`serve_file_calls`).
        let mut draining = false;
        let mut served = crate::net::poll_tx(host, || {
            draining = true;
            self.beat(host, SCANS_DRAINING);
            self.serve_file_calls(host);
        });
        if draining {
            self.beat(host, 0);
        }
        if served > 0 {
            // The program's frames count as its calls: the population thread keeps off our CPU.
            crate::hostcpu::guest_called();
        }
        self.serve_pending(host, |outcome| {
            served += 1;
            finish(host, outcome);
        });
        served
    }

    /// Advances the heartbeat count (never zero) with `flag` ([`SCANS_DRAINING`] or none).
    /// Only the poller writes it.
    fn beat(&self, host: &Host, flag: u32) {
        let Ok(scans) = host.ram.atomic_u32(self.gpa + SCANS_OFFSET as u64) else { return };
        let count = (scans.load(Ordering::Relaxed) & !SCANS_DRAINING).wrapping_add(1) & !SCANS_DRAINING;
        scans.store(count.max(1) | flag, Ordering::Release);
    }

    /// Serves the pending requests that are file calls ([`overtakes_frames`]), between the
    /// frames of a transmit ring being written. A guest that sends a stream while it reads a
    /// file (a web server) used to find the poller's heartbeat standing still for the whole
    /// drain of 64 KiB frames, took its read back after 5 µs and made it a port exit: 981 of
    /// 1,070 reads of 64 KiB, about 90 µs each on PVM, where the read itself takes 15.
    fn serve_file_calls(&self, host: &Host) {
        self.serve_pending_where(host, overtakes_frames, |outcome| finish(host, outcome));
    }

    /// Claims and serves every pending request once, handing each outcome to `done` after
    /// the slot is marked done (a fatal one stays claimed, never done); returns whether there
    /// was one.
    pub(crate) fn serve_pending(&self, host: &Host, done: impl FnMut(Outcome)) -> bool {
        self.serve_pending_where(host, |_| true, done)
    }

    /// [`Channel::serve_pending`] for the requests whose port `wanted` accepts (read before
    /// the claim; the others stay for a later scan).
    fn serve_pending_where(&self, host: &Host, wanted: impl Fn(u32) -> bool, mut done: impl FnMut(Outcome)) -> bool {
        let mut served = false;
        for i in 0..self.slots as usize {
            let slot = self.gpa + slot_offset(i) as u64;
            let Ok(state) = host.ram.atomic_u32(slot + SLOT_STATE_OFFSET as u64) else { continue };
            if state.load(Ordering::Acquire) != SLOT_REQUEST {
                continue;
            }
            // The port is written before the state, which was read with acquire.
            let asked = host.ram.atomic_u32(slot + SLOT_PORT_OFFSET as u64).map(|p| p.load(Ordering::Relaxed));
            if matches!(asked, Ok(port) if !wanted(port))
                || state.compare_exchange(SLOT_REQUEST, SLOT_BUSY, Ordering::AcqRel, Ordering::Acquire).is_err()
            {
                continue;
            }
            served = true;
            let port = host.ram.atomic_u32(slot + SLOT_PORT_OFFSET as u64).map(|p| p.load(Ordering::Acquire));
            let arg = host.ram.load_u64(slot + SLOT_ARG_OFFSET as u64);
            let outcome = match (port, arg) {
                (Ok(port), Ok(arg)) => {
                    if port != u32::from(hermit_interface::hypercall::port::POPULATE) {
                        crate::hostcpu::guest_called();
                    }
                    serve(host, port, arg)
                }
                _ => Outcome::Fatal("unreadable fast-channel slot".into()),
            };
            // A fatal request is never released: the guest must not see it completed and go
            // on (it ran on for a moment before the process ended, and a hostile guest that
            // polls its slot could act on "served").
            if !matches!(outcome, Outcome::Fatal(_)) {
                state.store(SLOT_DONE, Ordering::Release);
            }
            // Counted in the proxy's own memory: the control block's copy shares a cache line
            // with the heartbeat and is written with it.
            self.stats.served.fetch_add(1, Ordering::Relaxed);
            done(outcome);
        }
        served
    }
}

/// Acts on a served request's outcome: the end of the program, or a fatal guest error.
fn finish(host: &Host, outcome: Outcome) {
    match outcome {
        Outcome::Continue => {}
        Outcome::Exit(code) => host.finish(code),
        Outcome::Fatal(what) => host.fatal(&what),
    }
}

/// Whether a request on `port` may be served before transmit frames the guest published
/// earlier: the file calls. No promise ties them to the network's frames (on Linux a `write`
/// to a file after a `send` may be seen before the segments leave); the network's own calls
/// and the end of the program keep their place after the frames.
fn overtakes_frames(port: u32) -> bool {
    use hermit_interface::hypercall::port::{CLOSE, FILEOP, FSTAT, LSEEK, OPEN, READ, STAT, WRITE};
    [READ, WRITE, OPEN, CLOSE, LSEEK, STAT, FSTAT, FILEOP].iter().any(|&p| u32::from(p) == port)
}

/// Serves one channel request. The slot's port field is 32 bits wide; a value that is not a
/// 16-bit I/O port is refused like an unknown port, never truncated to one.
pub fn serve(host: &Host, port: u32, arg: u64) -> Outcome {
    match u16::try_from(port) {
        Ok(port) => dispatch(host, port, arg),
        Err(_) => Outcome::Fatal(format!("the guest used unknown hypercall port {port:#x} (fast channel)")),
    }
}

/// The poller: parked until kicked, then polling until its [`IdleBudget`] is spent.
fn poll(host: &Arc<Host>) {
    let channel = host.channel.get().expect("poller without a channel");
    let Ok(host_state) = host.ram.atomic_u32(channel.gpa + HOST_STATE_OFFSET as u64) else { return };
    let Ok(served) = host.ram.atomic_u32(channel.gpa + SERVED_OFFSET as u64) else { return };
    // Where the poller runs, for the population thread, which keeps off its CPU while the
    // program calls the host.
    crate::hostcpu::register_poller();
    // Writes the heartbeat and the served count: one cache line, which a guest reads only
    // while its request waits unclaimed.
    let beat = || {
        served.store(channel.stats.served.load(Ordering::Relaxed) as u32, Ordering::Relaxed);
        channel.beat(host, 0);
    };
    let mut budget = IdleBudget::default();
    let mut placement = Placement::new(crate::affinity::allowed_cpus(), !channel.apart.is_empty());
    // When the last request was served (or the port exit that woke us came); none at first.
    let mut last_request: Option<Instant> = None;
    let mut trade = Trade::default();
    // Trades for a guest->host stream whose vCPU waits for its CPU (`starve`), apart.
    let mut stream_trade = Trade::with_gap(STREAM_TRADE_GAP);
    // The CPU a trade took, while it stands (the poller may move off it in the apart case).
    let mut traded = Traded::default();
    // Trades with vCPU threads that have no CPU to spare (none where they keep apart).
    let swap = if channel.apart.is_empty() { Swap::new(crate::affinity::vcpu_threads(), &channel.cpus) } else { None };
    // The run delay of the vCPU threads, where a trade can move them.
    let mut starve = crate::net::starve::Starve::open(if swap.is_some() || !channel.apart.is_empty() {
        crate::affinity::vcpu_threads()
    } else {
        &[]
    });
    loop {
        {
            let parked = Instant::now();
            let mut woken = channel.wake.lock().expect("channel lock");
            while !*woken {
                if swap.is_some() && traded.cpu().is_some() {
                    // Holding a vCPU's CPU: look at the guest's busy cores now and then.
                    woken = channel.wakeup.wait_timeout(woken, crate::swap::CHECK_PARKED).expect("channel lock").0;
                    if !*woken {
                        channel.give_back(host, swap.as_ref(), &mut traded, parked.elapsed() >= RELEASE_AFTER);
                    }
                } else {
                    woken = channel.wakeup.wait(woken).expect("channel lock");
                }
            }
            *woken = false;
        }
        // The port exit that woke us is a request the channel could have served: it earns as
        // one, after the gap since the previous request (a guest whose calls came just too
        // far apart for the last budget gets enough to spin through such a gap now).
        let woke = Instant::now();
        budget.earn(1, last_request.map_or(Duration::MAX, |at| woke - at));
        channel.missed.store(0, Ordering::Relaxed);
        traded.set_polling(true);
        channel.spinning.store(true, Ordering::Release);
        host_state.store(HOST_POLLING, Ordering::SeqCst);
        let mut last = woke;
        let mut since_request = woke;
        // When the heartbeat was last written: each write takes the line from a guest that
        // reads it, so it is written every HEARTBEAT_PERIOD, not on every scan.
        let mut beaten: Option<Instant> = None;
        loop {
            // The host peer answers slowly (it runs beside the vCPU), or the vCPU that sends
            // a stream to the host waits for its CPU (the host's reader shares it): take the
            // vCPU's CPU.
            let peer = crate::net::peer_slow(host);
            let starved = starve.verdict(last, crate::net::streaming_out(host));
            if let Some(slow) = peer {
                if trade.due(last, slow) && channel.trade_cpus(host, swap.as_ref(), &mut traded, None) {
                    placement.avoided = None;
                }
            } else if let Some(slow) = starved {
                // The CPU of the vCPU that waited most.
                let cpu = starve.starving().and_then(crate::hostcpu::cpu_of);
                if stream_trade.due(last, slow) && channel.trade_cpus(host, swap.as_ref(), &mut traded, cpu) {
                    placement.avoided = None;
                    channel.stats.stream_trades.fetch_add(1, Ordering::Relaxed);
                }
            }
            // A trade with vCPU threads that have no CPU to spare ends when the guest's busy
            // cores no longer fit in the rest.
            if channel.give_back(host, swap.as_ref(), &mut traded, false) {
                placement.avoided = None;
            }
            let holding = swap.is_some() && traded.cpu().is_some();
            // On the CPU of the vCPU that calls (the scheduler puts a woken thread beside its
            // waker): neither can run while the other does. Move to another CPU (unless it
            // was just taken from the vCPU, which leaves at its next port exit, or the vCPU
            // threads were moved off it).
            let moved = if trade.settling(last) || stream_trade.settling(last) || holding {
                None
            } else {
                placement.beside(channel.vcpu_cpu.load(Ordering::Relaxed))
            };
            if let Some(pinned) = moved {
                traded.set(None);
                channel.stats.moves.fetch_add(1, Ordering::Relaxed);
                if let Some(cpu) = pinned {
                    channel.poller_cpu.store(cpu as i32, Ordering::Relaxed);
                }
            }
            // The heartbeat tells a waiting guest that the poller is on a CPU.
            if beaten.is_none_or(|at| last - at >= HEARTBEAT_PERIOD) {
                beat();
                beaten = Some(last);
            }
            let served = channel.scan(host);
            let now = Instant::now();
            // Requests that went to the port while we polled: spinning did not save them.
            let missed = channel.missed.swap(0, Ordering::Relaxed);
            if missed > 0 && !budget.spend(EXIT_COST.saturating_mul(missed)) {
                break;
            }
            if served > 0 {
                crate::hostcpu::stamp_calls(now);
                // The gap before these requests: from the previous one to this scan's start.
                budget.earn(served, last.saturating_duration_since(since_request));
                since_request = now;
            } else if !budget.spend((now - last).min(MAX_SCAN_STEP)) {
                break;
            } else if now - since_request < STREAM_GAP && !crate::net::awaiting_peer(host) {
                // A program that calls the host computes a little between calls: stay on
                // the CPU, a yield would make its next call wait for the host's scheduler.
                std::hint::spin_loop();
            } else {
                // A quieter guest, or one that waits for the host peer's answer to a small
                // frame we wrote: give the CPU to whoever else wants it between scans. The
                // peer our write woke may be beside us, and the host does not always let it
                // preempt a spinning thread: without the yield it waited until STREAM_GAP
                // had passed (ARCHITECTURE.md, "Host networking", the tail of the rounds).
                std::thread::yield_now();
            }
            last = now;
        }
        beat();
        traded.set_polling(false);
        host_state.store(HOST_PARKED, Ordering::SeqCst);
        channel.parked_at.store(channel.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        // Before the last scan: a kick from now on wakes the next park, and one that still
        // saw us spinning came after a request this scan finds. Cleared after the scan, a
        // QEMU doorbell rung between the two (the guest saw PARKED) was taken for a missed
        // port exit and never woke the poller: the request waited for ever.
        channel.spinning.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // A request may have arrived after the last scan but before the guest saw PARKED.
        if channel.scan(host) > 0 {
            since_request = Instant::now();
        }
        // The network's receive thread reads the tap again while we are parked.
        crate::net::poller_parked(host);
        last_request = Some(since_request);
        channel.stats.parks.fetch_add(1, Ordering::Relaxed);
        let polled = u64::try_from(woke.elapsed().as_nanos()).unwrap_or(u64::MAX);
        channel.stats.polling_ns.fetch_add(polled, Ordering::Relaxed);
    }
}

/// Where the poller may run: the proxy's CPUs except the one the calling vCPU last ran on,
/// when the poller finds itself there; with `single`, just one of the others.
struct Placement {
    /// The CPUs the proxy may use.
    cpus: Vec<u32>,
    /// The CPU the poller currently keeps off, if any.
    avoided: Option<u32>,
    /// Whether the poller pins itself to one CPU (the vCPU threads keep off it).
    single: bool,
}

impl Placement {
    fn new(cpus: Vec<u32>, single: bool) -> Self {
        Self { cpus, avoided: None, single }
    }

    /// If the poller runs on `vcpu`'s CPU, restricts it to the others (when there are any),
    /// or to the last of them with `single`; returns `None` if it did not move, else the
    /// one CPU it is pinned to, if it is pinned to one.
    fn beside(&mut self, vcpu: i32) -> Option<Option<u32>> {
        // SAFETY: sched_getcpu has no arguments (glibc reads it from rseq or the vDSO).
        let here = unsafe { libc::sched_getcpu() };
        if here < 0 || here != vcpu || self.avoided == Some(here as u32) {
            return None;
        }
        let others = crate::affinity::cpus_but(&self.cpus, here as u32)?;
        let target = target_cpus(others, self.single);
        self.avoided = Some(here as u32);
        crate::affinity::pin_thread(0, &target).ok()?;
        Some(if self.single { target.first().copied() } else { None })
    }
}

/// The CPUs the poller pins itself to among `others`: all of them, or with `single` the
/// last one (the vCPU threads then keep off that one alone).
fn target_cpus(others: Vec<u32>, single: bool) -> Vec<u32> {
    match (single, others.last()) {
        (true, Some(&last)) => vec![last],
        _ => others,
    }
}

/// When the poller trades CPUs with a vCPU: the host scheduler keeps the host peer of a
/// request/response exchange on the CPU it last ran on, and beside a spinning vCPU every
/// answer waits for that CPU (ping-pong rounds of 60-90 us against 15-20 beside the
/// poller; ARCHITECTURE.md, "Who gets the host's two CPUs"). When most of the peer's
/// answers were slow ([`crate::net::peer_slow`]) the poller takes the CPU of the vCPU and
/// the vCPU keeps off it, so the peer stays where it is and finds the poller beside it. At
/// most every [`TRADE_GAP`]; a trade that did not help (slow again within twice the gap)
/// doubles the gap, up to [`TRADE_GAP_MAX`]; a fast verdict resets it.
#[derive(Debug)]
struct Trade {
    at: Option<Instant>,
    gap: Duration,
    /// The gap a fast verdict resets it to.
    base: Duration,
}

impl Default for Trade {
    fn default() -> Self {
        Self::with_gap(TRADE_GAP)
    }
}

impl Trade {
    /// Trades at most every `base`, the gap doubling for trades that do not help.
    fn with_gap(base: Duration) -> Self {
        Self { at: None, gap: base, base }
    }

    /// Whether to trade at `now`, given the latest verdict (`slow`).
    fn due(&mut self, now: Instant, slow: bool) -> bool {
        if !slow {
            self.gap = self.base;
            return false;
        }
        let since = self.at.map(|at| now.saturating_duration_since(at));
        if since.is_some_and(|since| since < self.gap) {
            return false;
        }
        if since.is_some_and(|since| since < self.gap * 2) {
            self.gap = (self.gap * 2).min(TRADE_GAP_MAX);
        }
        self.at = Some(now);
        true
    }

    /// Whether a trade is recent enough that the vCPU may not have left yet.
    fn settling(&self, now: Instant) -> bool {
        self.at.is_some_and(|at| now.saturating_duration_since(at) < TRADE_SETTLE)
    }
}

/// The shortest time between two trades.
const TRADE_GAP: Duration = Duration::from_millis(20);
/// The same for trades for a starved stream: two of its verdicts. A stream of 64 MiB lasts
/// 25-60 ms, and where the host's reader followed the vCPU to its new CPU (it did, after a
/// trade, in one or two runs of ten) a second trade 20 ms later came near its end.
const STREAM_TRADE_GAP: Duration = Duration::from_millis(6);
/// The longest, for trades that do not help.
const TRADE_GAP_MAX: Duration = Duration::from_secs(2);
/// How long after a trade the poller stays on the vCPU's CPU while the vCPU has not left
/// (it leaves at its next port exit; a ping-pong makes one every few rounds).
const TRADE_SETTLE: Duration = Duration::from_millis(2);

/// How long the poller must have rested before a vCPU thread that keeps off its CPU takes
/// the proxy's CPUs back at its next port exit: far longer than the pauses of a program that
/// works on host files (the poller parks in them under load, and the exit wakes it at once).
pub(crate) const RELEASE_AFTER: Duration = Duration::from_millis(100);

/// How often a polling host rewrites its heartbeat: well within the guest's stall limit (5 us),
/// and rarely enough that the line stays with a guest that reads it.
const HEARTBEAT_PERIOD: Duration = Duration::from_micros(1);

/// The most one empty scan counts as idle spinning: a longer gap since the previous scan
/// means the host descheduled the poller (or it yielded), which costs no CPU.
const MAX_SCAN_STEP: Duration = Duration::from_micros(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        Host::new(ram, 0x80_0000, Vec::new(), Vec::new(), false, true, true)
    }

    #[test]
    fn idle_spinning_is_paid_for_by_saved_exits() {
        let far = Duration::from_millis(10);
        let mut budget = IdleBudget::default();
        assert!(!budget.spend(Duration::ZERO), "nothing earned, nothing to spend");
        budget.earn(1, far);
        assert!(budget.spend(EXIT_COST / 2));
        assert!(!budget.spend(EXIT_COST / 2), "a lone request pays for one exit's worth of spinning");
        // A stream of requests saves up to MAX_IDLE, no more.
        budget.earn(1_000_000, far);
        assert!(budget.spend(MAX_IDLE - Duration::from_micros(1)));
        assert!(!budget.spend(Duration::from_micros(1)));
        budget.earn(u32::MAX, Duration::MAX);
        assert!(!budget.spend(Duration::MAX), "no overflow either way");
    }

    #[test]
    fn a_stream_of_calls_keeps_the_poller_through_its_gaps() {
        // A compressor's calls 120 us apart: each pays for the next gap and a margin.
        let gap = Duration::from_micros(120);
        let mut budget = IdleBudget::default();
        budget.earn(1, gap);
        for _ in 0..100 {
            assert!(budget.spend(gap), "parked inside a 120 us gap");
            budget.earn(1, gap);
        }
        // Calls 1 ms apart (a guest that computes) earn one exit's worth each: the poller
        // parks long before the next one.
        let mut budget = IdleBudget::default();
        budget.earn(1, Duration::from_millis(1));
        assert!(!budget.spend(EXIT_COST));
        // Close calls never earn less than one exit's worth each.
        budget.earn(3, Duration::from_micros(1));
        assert!(budget.spend(EXIT_COST * 3 - Duration::from_micros(1)));
        assert!(!budget.spend(Duration::from_micros(1)));
    }

    #[test]
    fn only_file_calls_overtake_transmit_frames() {
        use hermit_interface::hypercall::port;
        let host = host();
        let channel = Channel::validate(&host.ram, 0x10_0000, 2).unwrap();
        let slot = |i: usize, field: usize| host.ram.atomic_u32(channel.gpa + (slot_offset(i) + field) as u64).unwrap();
        // An exit and a seek wait (the seek's argument, zeros at address 0, asks for
        // descriptor 0's offset).
        for (i, asked) in [(0, port::EXIT), (1, port::LSEEK)] {
            slot(i, SLOT_PORT_OFFSET).store(u32::from(asked), Ordering::Relaxed);
            slot(i, SLOT_STATE_OFFSET).store(SLOT_REQUEST, Ordering::Release);
        }
        channel.serve_file_calls(&host);
        assert_eq!(slot(0, SLOT_STATE_OFFSET).load(Ordering::Acquire), SLOT_REQUEST, "the exit keeps its place");
        assert_ne!(slot(1, SLOT_STATE_OFFSET).load(Ordering::Acquire), SLOT_REQUEST, "the file call was taken");
        assert!(!overtakes_frames(u32::from(port::NETWRITE)) && !overtakes_frames(u32::from(port::NETRING)));
        assert!(overtakes_frames(u32::from(port::FILEOP)) && overtakes_frames(u32::from(port::READ)));
    }

    #[test]
    fn a_poller_apart_from_the_vcpus_takes_one_cpu() {
        assert_eq!(target_cpus(vec![0, 1, 3], false), vec![0, 1, 3]);
        assert_eq!(target_cpus(vec![0, 1, 3], true), vec![3]);
        assert_eq!(target_cpus(vec![1], true), vec![1]);
        // Room only when the proxy has more CPUs than the guest vCPUs.
        let ram = GuestRam::new(32 << 20, false).unwrap();
        let one = Channel::validate(&ram, 0x10_0000, 1).unwrap();
        assert_eq!(one.keep_vcpus_apart(vec![0, 1]).apart, vec![0, 1]);
        let two = Channel::validate(&ram, 0x10_0000, 2).unwrap();
        assert!(two.keep_vcpus_apart(vec![0, 1]).apart.is_empty());
    }

    #[test]
    fn trades_back_off_when_they_do_not_help() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut trade = Trade::default();
        assert!(!trade.due(ms(0), false), "fast answers: no trade");
        assert!(trade.due(ms(1), true));
        assert!(trade.settling(ms(2)) && !trade.settling(ms(4)));
        assert!(!trade.due(ms(10), true), "within the gap");
        assert!(trade.due(ms(25), true), "slow again soon after: the gap doubles");
        assert!(!trade.due(ms(60), true));
        assert!(trade.due(ms(66), true));
        assert_eq!(trade.gap, TRADE_GAP * 4);
        for n in 1..40 {
            trade.due(ms(66 + n * 3000), true);
            trade.due(ms(66 + n * 3000 + 1), true);
        }
        assert!(trade.gap <= TRADE_GAP_MAX);
        assert!(!trade.due(ms(200_000), false));
        assert_eq!(trade.gap, TRADE_GAP, "a fast verdict resets it");
        // Trades for a starved stream: their own, shorter gap.
        let mut stream = Trade::with_gap(STREAM_TRADE_GAP);
        assert!(stream.due(ms(0), true));
        assert!(!stream.due(ms(5), true));
        assert!(stream.due(ms(6), true), "starved again at once: the gap doubles");
        assert!(!stream.due(ms(17), true));
        assert!(stream.due(ms(18), true));
        assert!(!stream.due(ms(19), false));
        assert_eq!(stream.gap, STREAM_TRADE_GAP, "back to its own gap, not the peer's");
    }

    #[test]
    fn ports_are_checked_not_truncated() {
        let host = host();
        host.ram.write::<i32>(0x10_0000, 7).unwrap();
        assert_eq!(serve(&host, 0x540, 0x10_0000), Outcome::Exit(7));
        for port in [0x1_0540, 0xffff_0540, u32::MAX] {
            match serve(&host, port, 0x10_0000) {
                Outcome::Fatal(what) => assert!(what.contains(&format!("{port:#x}")), "{what}"),
                other => panic!("port {port:#x} was served: {other:?}"),
            }
        }
    }
}

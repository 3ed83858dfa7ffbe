//! The fuzzing engine: a corpus, havoc mutations and behaviour feedback, on stable Rust.
//!
//! cargo-fuzz needs a nightly compiler and this project builds with a pinned stable one, so
//! the targets run in this small loop instead. Each target turns the input bytes into a
//! structured request (through `arbitrary`) or uses them directly, runs the code under test
//! and returns a *signature* of what happened (which checks refused the input, which results
//! came back). An input whose signature was not seen before joins the corpus, so the loop
//! works its way into deeper states without compiler coverage instrumentation. A panic or a
//! violated property is a crash: its input is written to a file and the run fails.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest corpus kept per target; new entries then replace random old ones.
const MAX_CORPUS: usize = 4096;

/// How long a target runs: `HERMIT_FUZZ_SECONDS` (default 5).
pub fn budget() -> Duration {
    let secs = std::env::var("HERMIT_FUZZ_SECONDS").ok().and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(5.0);
    Duration::from_secs_f64(secs.max(0.0))
}

/// xorshift64*: a fast generator; the seed comes from `HERMIT_FUZZ_SEED` or the clock.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `true` with probability 1/`n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Values that often sit on a boundary of some check.
const INTERESTING: [u64; 24] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xfff,
    0x1000,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x20_0000,
    0x80_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 1,
    u64::MAX - 0xfff,
];

/// Applies 1 to 8 random byte-level mutations to `data`; with `focus`, positions fall into
/// the first `focus` bytes seven times in eight (the headers of a large image). `other` is a
/// second corpus entry to splice from.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize, focus: usize) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = data.len();
        let pos = |rng: &mut Rng, len: usize| {
            if focus > 0 && len > focus && !rng.one_in(8) {
                rng.below(focus)
            } else {
                rng.below(len.max(1))
            }
        };
        match rng.below(10) {
            0 if len > 0 => {
                let p = pos(rng, len);
                data[p] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let p = pos(rng, len);
                data[p] = rng.next() as u8;
            }
            2 | 3 if len > 0 => {
                // An interesting value, 1, 2, 4 or 8 bytes wide, little endian.
                let width = 1 << rng.below(4);
                let mut value = INTERESTING[rng.below(INTERESTING.len())];
                if rng.one_in(4) {
                    value = value.wrapping_add(rng.below(33) as u64).wrapping_sub(16);
                }
                let p = pos(rng, len);
                let end = (p + width).min(len);
                data[p..end].copy_from_slice(&value.to_le_bytes()[..end - p]);
            }
            4 if len > 0 => {
                // Add or subtract a small amount from a 1-, 2-, 4- or 8-byte field.
                let width = 1 << rng.below(4);
                let p = pos(rng, len);
                let end = (p + width).min(len);
                let mut buf = [0u8; 8];
                buf[..end - p].copy_from_slice(&data[p..end]);
                let value = u64::from_le_bytes(buf).wrapping_add(rng.below(65) as u64).wrapping_sub(32);
                data[p..end].copy_from_slice(&value.to_le_bytes()[..end - p]);
            }
            5 if len > 1 => {
                let start = pos(rng, len);
                let n = 1 + rng.below((len - start).min(64));
                data.drain(start..start + n);
            }
            6 if len < max_len => {
                let p = rng.below(len + 1);
                let n = 1 + rng.below(32.min(max_len - len));
                let fill = rng.next() as u8;
                let bytes: Vec<u8> = (0..n).map(|_| if rng.one_in(2) { fill } else { rng.next() as u8 }).collect();
                data.splice(p..p, bytes);
            }
            7 if len > 1 => {
                // Copy a chunk within the input.
                let from = rng.below(len);
                let to = pos(rng, len);
                let n = 1 + rng.below((len - from).min(len - to).min(32));
                data.copy_within(from..from + n, to);
            }
            8 if !other.is_empty() => {
                // Splice: a piece of another corpus entry over or into this one.
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(64));
                let to = rng.below(len + 1);
                let end = (to + n).min(len);
                data.splice(to..end, other[from..from + n].iter().copied());
            }
            9 if len > 0 => {
                let cut = rng.below(len);
                data.truncate(cut.max(1));
            }
            _ => {
                if len < max_len {
                    data.push(rng.next() as u8);
                }
            }
        }
        data.truncate(max_len);
    }
}

/// What one execution found wrong: a message (its first line names the kind of failure).
pub type Failure = String;

/// A fuzz target: seed inputs and the function that runs one input.
pub struct Target<F: FnMut(&[u8]) -> Result<u64, Failure>> {
    /// Name for reports and crash files.
    pub name: &'static str,
    /// Starting corpus (each should be a meaningful, valid input).
    pub seeds: Vec<Vec<u8>>,
    /// Longest input the mutator produces.
    pub max_len: usize,
    /// Mutations prefer the first `focus` bytes of longer inputs (0: anywhere).
    pub focus: usize,
    /// Runs one input: its behaviour signature, or the property it violated.
    pub exec: F,
}

/// The numbers of one run.
#[derive(Debug)]
pub struct Report {
    /// The target.
    pub name: &'static str,
    /// The generator's seed (`HERMIT_FUZZ_SEED` repeats a run).
    pub seed: u64,
    /// Inputs executed.
    pub execs: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// CPU time of the fuzzing thread (user and system).
    pub cpu: Duration,
    /// Distinct behaviour signatures seen.
    pub signatures: usize,
    /// Final corpus size.
    pub corpus: usize,
    /// One line per unique crash: the failure and the file holding its input.
    pub crashes: Vec<String>,
}

impl std::fmt::Display for Report {
    /// One line of numbers, then one line per crash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "fuzz {}: {} executions in {secs:.1} s, {:.1} s CPU ({:.0} exec/s), {} signatures, corpus {}, {} unique crashes (seed {})",
            self.name,
            self.execs,
            self.cpu.as_secs_f64(),
            self.execs as f64 / secs.max(1e-9),
            self.signatures,
            self.corpus,
            self.crashes.len(),
            self.seed
        )?;
        for crash in &self.crashes {
            write!(f, "\n  crash: {crash}")?;
        }
        Ok(())
    }
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid out-pointer; RUSAGE_THREAD reads the calling thread's times.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Where crash inputs go: `HERMIT_FUZZ_ARTIFACTS`, or `hermit-fuzz` in the temporary directory.
fn artifact_dir() -> PathBuf {
    std::env::var_os("HERMIT_FUZZ_ARTIFACTS").map_or_else(|| std::env::temp_dir().join("hermit-fuzz"), PathBuf::from)
}

/// The message of the last panic on this thread, recorded by the hook [`run`] installs.
static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs `input` once; a panic becomes a failure that names its location.
pub fn execute<F: FnMut(&[u8]) -> Result<u64, Failure>>(exec: &mut F, input: &[u8]) -> Result<u64, Failure> {
    match panic::catch_unwind(AssertUnwindSafe(|| exec(input))) {
        Ok(result) => result,
        Err(payload) => {
            let recorded = PANIC.lock().map(|mut p| p.take()).unwrap_or(None);
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(recorded.unwrap_or_else(|| format!("panic: {text}")))
        }
    }
}

/// The key that makes two crashes "the same": a panic's location, else the failure's text
/// up to its first colon (targets put the kind of failure first, the numbers after).
fn crash_key(failure: &str) -> String {
    let first = failure.lines().next().unwrap_or("");
    let kind = if first.starts_with("panic") { first } else { first.split(':').next().unwrap_or("") };
    // Numbers (decimal or 0x-hex) differ between instances of one failure.
    let mut key = String::new();
    let mut chars = kind.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
            }
        } else if !c.is_ascii_digit() {
            key.push(c);
        }
    }
    key
}

/// Fuzzes `target` for `budget`; returns the numbers and prints them on one line.
pub fn run<F: FnMut(&[u8]) -> Result<u64, Failure>>(mut target: Target<F>, mut budget: Duration) -> Report {
    let seed = std::env::var("HERMIT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng::new(seed);
    // Panics on this thread are recorded as crashes; other threads' go to the usual hook.
    let previous_hook: std::sync::Arc<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send> = panic::take_hook().into();
    let fuzz_thread = std::thread::current().id();
    let chained = std::sync::Arc::clone(&previous_hook);
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != fuzz_thread {
            return chained(info);
        }
        let location = info.location().map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let text = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(format!("panic{location}\n{text}"));
        }
    }));

    // HERMIT_FUZZ_REPLAY=<file>: run that one input instead (to debug a crash).
    if let Some(file) = std::env::var_os("HERMIT_FUZZ_REPLAY") {
        let input = std::fs::read(&file).unwrap_or_else(|e| panic!("HERMIT_FUZZ_REPLAY {file:?}: {e}"));
        target.seeds = vec![input];
        budget = Duration::ZERO;
    }
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut crashes: Vec<String> = Vec::new();
    let mut crash_keys: HashSet<String> = HashSet::new();
    let mut execs = 0u64;
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut record =
        |input: &[u8], outcome: Result<u64, Failure>, corpus: &mut Vec<Vec<u8>>, rng: &mut Rng| match outcome {
            Ok(signature) => {
                if seen.insert(signature) {
                    if corpus.len() < MAX_CORPUS {
                        corpus.push(input.to_vec());
                    } else {
                        let victim = rng.below(corpus.len());
                        corpus[victim] = input.to_vec();
                    }
                }
            }
            Err(failure) => {
                if crash_keys.insert(crash_key(&failure)) {
                    let dir = artifact_dir();
                    let mut h = DefaultHasher::new();
                    input.hash(&mut h);
                    let file = dir.join(format!("{}-crash-{:016x}.bin", target.name, h.finish()));
                    let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, input));
                    let place = match saved {
                        Ok(()) => file.display().to_string(),
                        Err(e) => format!("(not saved: {e})"),
                    };
                    crashes.push(format!("{} -> {place}", failure.replace('\n', " | ")));
                }
            }
        };
    for seed_input in std::mem::take(&mut target.seeds) {
        let outcome = execute(&mut target.exec, &seed_input);
        execs += 1;
        record(&seed_input, outcome, &mut corpus, &mut rng);
    }
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut input = Vec::with_capacity(target.max_len);
    while start.elapsed() < budget {
        // Check the clock every 64 executions.
        for _ in 0..64 {
            let parent = rng.below(corpus.len());
            let other = rng.below(corpus.len());
            input.clear();
            input.extend_from_slice(&corpus[parent]);
            let other = corpus[other].clone();
            mutate(&mut rng, &mut input, &other, target.max_len, target.focus);
            let outcome = execute(&mut target.exec, &input);
            execs += 1;
            record(&input, outcome, &mut corpus, &mut rng);
        }
    }
    drop(panic::take_hook());
    panic::set_hook(Box::new(move |info| previous_hook(info)));
    let report = Report {
        name: target.name,
        seed,
        execs,
        elapsed: start.elapsed(),
        cpu: thread_cpu().saturating_sub(cpu_start),
        signatures: seen.len(),
        corpus: corpus.len(),
        crashes,
    };
    eprintln!("{report}");
    report
}

/// A short deterministic run for every `cargo test`: each of the target's seeds mutated 48
/// times from a fixed seed; panics with the input at the first failure, and unless more than
/// `min_kinds` behaviours were seen (the seeds reach into the target).
pub fn bounded_run<F: FnMut(&[u8]) -> Result<u64, Failure>>(mut target: Target<F>, min_kinds: usize) {
    let mut rng = Rng::new(0x5eed);
    let mut kinds = std::collections::HashSet::new();
    for seed in target.seeds.clone() {
        let mut input = seed;
        for _ in 0..48 {
            match (target.exec)(&input) {
                Ok(sig) => kinds.insert(sig),
                Err(e) => panic!("{e}\ninput: {}", input.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            };
            mutate(&mut rng, &mut input, &[], target.max_len, 0);
        }
    }
    assert!(kinds.len() > min_kinds, "{} behaviours", kinds.len());
}

/// A signature from any hashable description of a behaviour.
pub fn signature(what: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    what.hash(&mut h);
    h.finish()
}

/// Runs `exec` on each regression input (hex, [`unhex`]); panics at the first failure.
pub fn replay(mut exec: impl FnMut(&[u8]) -> Result<u64, Failure>, inputs: &[&str]) {
    for hex in inputs {
        exec(&unhex(hex)).unwrap();
    }
}

/// Bytes from a hexadecimal string (regression inputs are kept in the source as hex).
pub fn unhex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_respects_the_length_bound() {
        let mut rng = Rng::new(7);
        let mut data = vec![1u8; 10];
        for _ in 0..10_000 {
            mutate(&mut rng, &mut data, b"other", 40, 0);
            assert!(data.len() <= 40);
        }
    }

    #[test]
    fn the_engine_finds_a_planted_bug_and_reports_it() {
        // A two-byte magic guarded by one comparison each: feedback makes it reachable.
        let target = Target {
            name: "planted",
            seeds: vec![b"xx".to_vec()],
            max_len: 8,
            focus: 0,
            exec: |d: &[u8]| match d {
                [b'H', b'R', ..] => Err("planted bug".to_string()),
                [b'H', ..] => Ok(1),
                _ => Ok(0),
            },
        };
        let report = run(target, Duration::from_secs(1));
        assert_eq!(report.crashes.len(), 1, "{report:?}");
        // The planted crash's input was saved like a real one: the test leaves no file behind.
        let saved = report.crashes[0].rsplit_once(" -> ").map(|(_, path)| PathBuf::from(path));
        assert!(saved.as_ref().is_some_and(|p| p.is_file()), "{report:?}");
        std::fs::remove_file(saved.unwrap()).unwrap();
    }
}

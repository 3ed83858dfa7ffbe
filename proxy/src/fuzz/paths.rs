//! Fuzz target: the path policy as the guest meets it (`sandbox::Paths::open` in host mode:
//! the string filter `files::check_path`, `openat2` without magic links, `files::inspect`).
//!
//! Paths are built from components that matter to the policy (`/proc`, `self`,
//! `thread-self`, this process's id and its threads' ids, `task`, `fd`, `..`, `.`, empty
//! components, `/dev/kvm`, `/dev/fd/N`, symlinks in a scratch directory) and raw bytes.
//! Property: no panic, and no open succeeds on one of the forbidden objects; the oracle
//! looks at what was actually opened (device and inode, `/proc/self/fd/N`), not at the
//! policy's own string logic. The string filter alone is not the enforcement: it lets
//! through spellings (`/proc///<pid>`, a symlink to `/dev/kvm`) that the open refuses.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

use super::engine::{self, signature, Failure, Target};
use crate::files::check_path;
use crate::sandbox::Paths;

#[derive(Arbitrary, Debug)]
enum Part {
    Named(u8),
    Pid,
    /// One of this process's thread ids (`/proc/self/task`).
    Tid(u8),
    Number(u16),
    Dots(u8),
    Slashes(u8),
    Raw(Vec<u8>),
}

const NAMES: [&str; 16] = [
    "proc",
    "self",
    "thread-self",
    "task",
    "mem",
    "maps",
    "environ",
    "fd",
    "dev",
    "kvm",
    "root",
    "cwd",
    "exe",
    "scratch",
    "link-to-proc",
    "link-to-kvm",
];

#[derive(Arbitrary, Debug)]
struct Input {
    absolute: bool,
    parts: Vec<Part>,
}

/// Objects the guest must never get: (device, inode) of the devices, and the proxy's
/// `/proc` directories (its own and its threads').
struct Forbidden {
    devices: Vec<(u64, u64)>,
    pid: u32,
}

impl Forbidden {
    fn new() -> Self {
        let devices = ["/dev/kvm", "/dev/mem", "/dev/kmem", "/dev/port"]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| (m.dev(), m.ino()))
            .collect();
        Self { devices, pid: std::process::id() }
    }

    /// Whether the existing object at `path` must be refused, as the host kernel resolves it.
    fn contains(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        self.judge(path, &meta)
    }

    /// Whether the object `meta` describes, reached through `path`, must be refused.
    fn judge(&self, path: &Path, meta: &std::fs::Metadata) -> Option<String> {
        if self.devices.contains(&(meta.dev(), meta.ino())) {
            return Some("a forbidden device".into());
        }
        let real = std::fs::canonicalize(path).ok()?;
        let mut parts = real.components().skip(1);
        let (Some(first), Some(second)) = (parts.next(), parts.next()) else { return None };
        if first.as_os_str() != "proc" {
            return None;
        }
        let id: u32 = second.as_os_str().to_str()?.parse().ok()?;
        // /proc/<id> is this process or one of its threads when /proc/<pid>/task/<id> exists.
        let own = id == self.pid || Path::new(&format!("/proc/{}/task/{id}", self.pid)).exists();
        own.then(|| format!("the proxy's own /proc/{id}"))
    }
}

/// The current thread ids of this process.
fn tids() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_string())).collect())
        .unwrap_or_default()
}

/// The state of the target: the forbidden set, thread ids, a scratch directory with links.
pub struct Harness {
    forbidden: Forbidden,
    tids: Vec<String>,
    scratch: PathBuf,
}

impl Harness {
    /// A harness whose scratch directory (under `dir`) holds symlinks to `/proc` and `/dev/kvm`.
    pub fn new(dir: &Path) -> Self {
        let scratch = dir.join(format!("hermit-fuzz-paths-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&scratch);
        let _ = std::os::unix::fs::symlink("/proc", scratch.join("link-to-proc"));
        let _ = std::os::unix::fs::symlink("/dev/kvm", scratch.join("link-to-kvm"));
        Self { forbidden: Forbidden::new(), tids: tids(), scratch }
    }

    fn path(&self, input: &Input) -> Vec<u8> {
        let mut out: Vec<u8> = if input.absolute { b"/".to_vec() } else { Vec::new() };
        for (i, part) in input.parts.iter().take(24).enumerate() {
            if i > 0 && !out.ends_with(b"/") {
                out.push(b'/');
            }
            match part {
                Part::Named(n) => {
                    let name = NAMES[usize::from(*n) % NAMES.len()];
                    if name == "scratch" {
                        out.extend_from_slice(self.scratch.as_os_str().as_bytes());
                    } else {
                        out.extend_from_slice(name.as_bytes());
                    }
                }
                Part::Pid => out.extend_from_slice(self.forbidden.pid.to_string().as_bytes()),
                Part::Tid(t) => {
                    if let Some(tid) = self.tids.get(usize::from(*t) % self.tids.len().max(1)) {
                        out.extend_from_slice(tid.as_bytes());
                    }
                }
                Part::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Part::Dots(n) => out.extend_from_slice(&b"..."[..usize::from(n % 3) + 1]),
                Part::Slashes(n) => out.extend_from_slice(&b"///"[..usize::from(n % 3)]),
                Part::Raw(bytes) => out.extend(bytes.iter().copied().filter(|b| *b != 0).take(32)),
            }
        }
        out
    }

    /// Runs one input.
    pub fn exec(&mut self, data: &[u8]) -> Result<u64, Failure> {
        let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return Ok(0) };
        let bytes = self.path(&input);
        let path = CString::new(bytes.clone()).map_err(|_| "harness built a path with NUL")?;
        let verdict = check_path(&path);
        if bytes.is_empty() && verdict != Err(libc::ENOENT) {
            return Err(format!("empty path: {verdict:?}"));
        }
        let opened = Paths::Host.open(&path, libc::O_RDONLY | libc::O_NONBLOCK, 0);
        if let Ok(fd) = &opened {
            let fd_path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            let what = std::fs::read_link(&fd_path)
                .ok()
                .zip(std::fs::metadata(&fd_path).ok())
                .and_then(|(real, meta)| self.forbidden.judge(&real, &meta));
            if let Some(what) = what {
                return Err(format!("the guest opened {what}: {:?}", String::from_utf8_lossy(&bytes)));
            }
        }
        let host_path = Path::new(std::ffi::OsStr::from_bytes(&bytes));
        if let (Some(what), Ok(_)) = (self.forbidden.contains(host_path), &opened) {
            return Err(format!("the guest opened {what}: {:?}", String::from_utf8_lossy(&bytes)));
        }
        let exists = std::fs::symlink_metadata(host_path).is_ok();
        Ok(signature((verdict, opened.err(), exists, input.absolute, input.parts.len().min(8))))
    }
}

/// The target; seeds name the proxy's own `/proc` entries in several spellings.
pub fn target(dir: &Path) -> Target<impl FnMut(&[u8]) -> Result<u64, Failure>> {
    let mut harness = Harness::new(dir);
    let mut rng = engine::Rng::new(7);
    let seeds = (0..64).map(|_| (0..48).map(|_| rng.next() as u8).collect()).collect();
    Target { name: "paths", seeds, max_len: 512, focus: 0, exec: move |d: &[u8]| harness.exec(d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Crash inputs found by this target, replayed (each must now pass).
    const REGRESSIONS: &[&str] = &[
        // "/proc/<tid>/." with the id of a thread other than the main one was allowed.
        "c343be1f02000009c38f636b81636363cfb23002003ec3c1c600e99cfcbf2435b59cd5d5d59f5cd54101d56306d5d543d5d55692d5fc\
         bf2435b589018b05f979b46acd4e5646be04411023cf81bc1fd1d3cd4e5646",
        // "/proc///<pid>": passes the string filter; the open must still refuse it.
        "d9e3b6a01900f005ffbdbdbebfc7bdc2a5bb96cb01faa553dfc2c2a5c2bdc2a5bbbd00000000",
        // A symbolic link to /dev/kvm in a scratch directory: refused on the opened object.
        "807b0194ac0d0d850d0d830d1fe20d08a1970d0d0de70d0dd20d0a0d960d6f32cd50ea03674b918b012467093783af04\
         5f090970e98e15000100181753620935e70909e6d5084609c0d309",
    ];

    #[test]
    fn regressions() {
        let mut h = Harness::new(&std::env::temp_dir());
        engine::replay(|input| h.exec(input), REGRESSIONS);
        let _ = std::fs::remove_dir_all(&h.scratch);
    }

    #[test]
    #[ignore = "fuzzing: run with --ignored, HERMIT_FUZZ_SECONDS sets the time"]
    fn fuzz_paths() {
        let dir = std::env::var_os("HERMIT_FUZZ_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let report = engine::run(target(&dir), engine::budget());
        let _ = std::fs::remove_dir_all(dir.join(format!("hermit-fuzz-paths-{}", std::process::id())));
        assert!(report.crashes.is_empty(), "crashes: {:#?}", report.crashes);
    }
}

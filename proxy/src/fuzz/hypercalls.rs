//! Fuzz target: the hypercall dispatcher (`hypercall::dispatch`) against fake guest memory.
//!
//! Guest RAM is a real `GuestRam` of 2 MiB with page tables for guest-virtual buffers (4 KiB,
//! 2 MiB and 1 GiB pages, some pointing outside RAM). Each input becomes one hypercall: a
//! port, an argument address, field values written into the request area (descriptors,
//! pointers to paths and buffers, raw and boundary values), path strings and page-table
//! changes. Properties: no panic; guest memory changes only where the port's request may
//! write (its result fields and output buffers, computed here from the protocol, with an
//! own page walk); results are counts within the request or `-errno`; `EXIT` returns the
//! guest's code, unknown ports stop the guest; refused paths give `EACCES`.
//!
//! Host safety: the working directory is a scratch directory; requests that would create,
//! remove or write through an absolute path or one with `..` are not executed (counted as
//! skipped), absolute paths are only opened read-only and without `O_CREAT`/`O_TRUNC`, and the
//! standard descriptors point to `/dev/null` while the target runs.

use std::collections::HashSet;
use std::ffi::CString;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use hermit_interface::hypercall::{file_op, port, CmdLine, FileOp, NetBatch, NetRead, Open, Populate, Read, Write};
use hermit_interface::netring::NetRing;

use super::engine::{self, signature, Failure, Target};
use crate::files::FileTable;
use crate::guest::GuestRam;
use crate::host::Host;
use crate::hypercall::{dispatch, Outcome};
use oracle::{chain_parts, simulate_cmdval, writable};
use safety::{request_path, safe_for_host, scratch, Isolation};

mod oracle;
mod safety;

/// Guest RAM size.
const RAM: usize = 2 << 20;
/// The image address: the header; page tables start at `ENTRY + 0x1000`.
const ENTRY: u64 = 0x1_0000;
const PML4: u64 = ENTRY + 0x1000;
const PDPT: u64 = ENTRY + 0x2000;
const PD: u64 = ENTRY + 0x3000;
const PT: u64 = ENTRY + 0x4000;
/// Where requests normally sit, and how many bytes of it the input may set.
const REQUEST: u64 = 0x2_0000;
const REQUEST_LEN: u64 = 0x800;
/// Path strings, 256 bytes per slot.
const STRINGS: u64 = 0x2_1000;
const STRING_SLOTS: u64 = 16;
/// Physical pages behind the 4 KiB mappings: `0x10_0000..0x20_0000`.
const DATA: u64 = 0x10_0000;
/// Guest-virtual base of the 4 KiB mappings (PT under PD[0]); PD[1] is a 2 MiB page onto
/// physical 0, PDPT[1] a 1 GiB page onto physical 0 (mostly beyond RAM).
const VIRT_SMALL: u64 = 0x10_0000;
const VIRT_LARGE: u64 = 0x20_0000;
const VIRT_HUGE: u64 = 0x4000_0000;

const PRESENT_RW: u64 = 0x3;
const LARGE: u64 = 0x80;

/// Absolute paths the harness may hand to the dispatcher (only to read or stat them); the
/// first ones must be refused.
const ABSOLUTE: [&str; 10] = [
    "/dev/kvm",
    "/proc/self/mem",
    "/proc/thread-self/environ",
    "/dev/../dev/kvm",
    "/proc/self/fd/0",
    "/dev/null",
    "/dev/zero",
    "/etc/hostname",
    "/nonexistent/file",
    "/proc/version",
];
/// How many entries of [`ABSOLUTE`] the path policy must refuse.
const REFUSED: usize = 5;

/// Relative path components (no `..`: the scratch directory must contain every change).
const NAMES: [&str; 8] = ["f0", "f1", "dir", "new", ".", "x\u{00e9}", "dir/f2", "long-name-long-name-long-name"];

#[derive(Arbitrary, Debug)]
enum PortPick {
    Known(u8),
    Raw(u16),
}

/// Every port the protocol defines, and WRITE and FILEOP (which carries many operations) a
/// second time: they get more inputs.
const PORTS: [u16; port::ORIGINAL.len() + port::EXTENSIONS.len() + 2] = {
    let mut all = [port::WRITE; port::ORIGINAL.len() + port::EXTENSIONS.len() + 2];
    let mut i = 0;
    while i < port::ORIGINAL.len() {
        all[i] = port::ORIGINAL[i];
        i += 1;
    }
    let mut j = 0;
    while j < port::EXTENSIONS.len() {
        all[i + j] = port::EXTENSIONS[j];
        j += 1;
    }
    all[i + j] = port::FILEOP;
    all
};

#[derive(Arbitrary, Debug)]
enum Addr {
    /// Inside the request area (most requests).
    Request(u16),
    /// A path slot.
    String(u8),
    /// Anywhere in RAM.
    Phys(u32),
    /// Just below the end of RAM.
    NearEnd(u16),
    Raw(u64),
}

impl Addr {
    fn resolve(&self) -> u64 {
        match *self {
            Addr::Request(off) => REQUEST + u64::from(off) % REQUEST_LEN,
            Addr::String(slot) => STRINGS + u64::from(slot) % STRING_SLOTS * 256,
            Addr::Phys(a) => u64::from(a) % RAM as u64,
            Addr::NearEnd(back) => (RAM as u64).wrapping_sub(u64::from(back) % 64),
            Addr::Raw(a) => a,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    Small(i8),
    /// A descriptor: 0-2, one the harness opened for the guest, or any number.
    Fd(u8),
    Address(Addr),
    /// A guest-virtual buffer address: 4 KiB, 2 MiB or 1 GiB mapping, or unmapped.
    Virt(u8, u32),
    /// A length: small, a page, near RAM size, huge.
    Len(u8, u32),
    Flags(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
struct Field {
    offset: u8,
    wide: bool,
    value: Value,
}

#[derive(Arbitrary, Debug)]
enum PathPick {
    Relative(u8, u8),
    Absolute(u8),
    Raw(Vec<u8>),
    /// No NUL within the slot (runs into the next one).
    Unterminated(u8),
}

#[derive(Arbitrary, Debug)]
struct Call {
    mode: u8,
    port: PortPick,
    arg: Addr,
    fields: Vec<Field>,
    paths: Vec<(u8, PathPick)>,
    table_writes: Vec<(u8, u16, u64)>,
}

/// Descriptors the harness opens (in the scratch directory) and gives the guest.
const GUEST_FILES: usize = 3;

/// The state of one run: the host, guest memory's initial contents, descriptors.
pub struct Harness {
    host: Host,
    base: Vec<u8>,
    /// Guest memory for the current request: `base` except in the pages `pre_dirty`.
    pre: Vec<u8>,
    pre_dirty: Vec<usize>,
    /// Pages in which guest RAM may differ from `base` now.
    ram_dirty: Vec<usize>,
    guest_fds: Vec<i32>,
    baseline_fds: HashSet<i32>,
    scratch: PathBuf,
    execs: u64,
    /// Requests not run because they could touch host files outside the scratch directory.
    pub skipped: u64,
    /// The other end of the NIC: `NETREAD` finds a frame from it, `NETWRITE`'s frames go there.
    net_peer: std::os::unix::net::UnixDatagram,
}

/// The process's open descriptors (without the one that listed them).
fn open_fds() -> HashSet<i32> {
    let listed: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    // SAFETY: F_GETFD only queries a descriptor's flags.
    listed.into_iter().filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0).collect()
}

/// Page size of the harness's change tracking.
const PAGE: usize = 4096;

/// Writes `bytes` at `at` as far as `buf` reaches; records the pages written in `dirty`.
fn put(buf: &mut [u8], dirty: &mut Vec<usize>, at: u64, bytes: &[u8]) {
    let Ok(at) = usize::try_from(at) else { return };
    if at < buf.len() {
        let n = bytes.len().min(buf.len() - at);
        buf[at..at + n].copy_from_slice(&bytes[..n]);
        dirty.extend(at / PAGE..=(at + n.max(1) - 1) / PAGE);
    }
}

fn get<const N: usize>(buf: &[u8], at: u64) -> Option<[u8; N]> {
    let at = usize::try_from(at).ok()?;
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn get_u64(buf: &[u8], at: u64) -> Option<u64> {
    get::<8>(buf, at).map(u64::from_le_bytes)
}

fn get_u32(buf: &[u8], at: u64) -> Option<u32> {
    get::<4>(buf, at).map(u32::from_le_bytes)
}

fn get_i32(buf: &[u8], at: u64) -> Option<i32> {
    get::<4>(buf, at).map(i32::from_le_bytes)
}

impl Harness {
    /// A harness working in `scratch` (which it empties now and then).
    pub fn new(scratch: PathBuf) -> Self {
        let ram = GuestRam::new(RAM as u64, false).expect("guest RAM for the harness");
        let args = ["/path/to/app", "first", &"x".repeat(300)].map(|s| CString::new(s).unwrap()).to_vec();
        let env = ["HOME=/root", "A=1"].map(|s| CString::new(s).unwrap()).to_vec();
        let backing = crate::populate::Backing::new(ram.clone(), ENTRY, 0);
        let host = Host::new(ram, ENTRY, args, env, false, true, true);
        let _ = host.backing.set(backing);
        let (nic, net_peer) = std::os::unix::net::UnixDatagram::pair().expect("a socket pair for the NIC");
        nic.set_nonblocking(true).expect("a non-blocking NIC");
        net_peer.set_nonblocking(true).expect("a non-blocking NIC peer");
        let _ = host.net.set(std::sync::Arc::new(crate::net::Nic::over_socket(nic.into(), false, [2, 0, 0, 0, 0, 1])));
        let mut base = vec![0u8; RAM];
        // Page tables: PML4[0] -> PDPT; PDPT[0] -> PD, PDPT[1] a 1 GiB page at 0;
        // PD[0] -> PT (4 KiB pages onto DATA, every 16th unmapped), PD[1] a 2 MiB page at 0.
        put(&mut base, &mut Vec::new(), PML4, &(PDPT | PRESENT_RW).to_le_bytes());
        put(&mut base, &mut Vec::new(), PDPT, &(PD | PRESENT_RW).to_le_bytes());
        put(&mut base, &mut Vec::new(), PDPT + 8, &(LARGE | PRESENT_RW).to_le_bytes());
        put(&mut base, &mut Vec::new(), PD, &(PT | PRESENT_RW).to_le_bytes());
        put(&mut base, &mut Vec::new(), PD + 8, &(LARGE | PRESENT_RW).to_le_bytes());
        for i in 0..256u64 {
            let entry = if i % 16 == 15 { 0 } else { (DATA + i * 0x1000) | PRESENT_RW };
            put(&mut base, &mut Vec::new(), PT + (VIRT_SMALL >> 12) * 8 + i * 8, &entry.to_le_bytes());
        }
        // A page mapped beyond RAM.
        put(&mut base, &mut Vec::new(), PT + (VIRT_SMALL >> 12) * 8 + 3 * 8, &(0x7fff_f000 | PRESENT_RW).to_le_bytes());
        for (i, b) in base[DATA as usize..].iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        std::fs::create_dir_all(&scratch).expect("scratch directory");
        let mut harness = Harness {
            host,
            pre: base.clone(),
            pre_dirty: Vec::new(),
            ram_dirty: (0..RAM / PAGE).collect(),
            base,
            guest_fds: Vec::new(),
            baseline_fds: HashSet::new(),
            scratch,
            execs: 0,
            skipped: 0,
            net_peer,
        };
        harness.reset_files();
        harness
    }

    /// Empties the scratch directory and opens the guest's files afresh.
    fn reset_files(&mut self) {
        for fd in self.guest_fds.drain(..) {
            // SAFETY: the harness opened this descriptor and owns it.
            unsafe { libc::close(fd) };
        }
        if let Ok(entries) = std::fs::read_dir(&self.scratch) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
        let _ = std::fs::create_dir(self.scratch.join("dir"));
        for i in 0..GUEST_FILES {
            let path = CString::new(self.scratch.join(format!("f{i}")).into_os_string().into_encoded_bytes())
                .expect("scratch path");
            // SAFETY: a valid NUL-terminated path; no memory is passed.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC, 0o600) };
            assert!(fd >= 0, "cannot create a scratch file");
            // SAFETY: as above; a few bytes for reads to return.
            unsafe { libc::write(fd, b"scratch file contents\n".as_ptr().cast(), 22) };
            self.guest_fds.push(fd);
        }
        self.baseline_fds = open_fds();
    }

    fn value(&self, v: &Value) -> u64 {
        match *v {
            Value::Small(n) => n as i64 as u64,
            Value::Fd(i) => match i % 8 {
                0..=2 => u64::from(i % 3),
                3..=5 => self.guest_fds[usize::from(i % 8 - 3)] as u64,
                6 => u64::from(i),
                _ => 1000,
            },
            Value::Address(ref a) => a.resolve(),
            Value::Virt(kind, off) => match kind % 4 {
                0 => VIRT_SMALL + u64::from(off) % 0x10_0000,
                1 => VIRT_LARGE + u64::from(off) % (RAM as u64),
                2 => VIRT_HUGE + u64::from(off),
                _ => 0x8000_0000_0000 + u64::from(off),
            },
            Value::Len(kind, n) => match kind % 4 {
                0 => u64::from(n) % 64,
                1 => u64::from(n) % 0x3000,
                2 => (RAM as u64).wrapping_add(u64::from(n % 16)).wrapping_sub(8),
                _ => u64::MAX - u64::from(n % 16),
            },
            Value::Flags(f) => {
                let choices = [
                    libc::O_RDONLY,
                    libc::O_WRONLY | libc::O_CREAT,
                    libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    libc::O_WRONLY | libc::O_APPEND,
                    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                    libc::O_TMPFILE | libc::O_RDWR,
                    libc::O_PATH,
                ];
                choices[usize::from(f) % choices.len()] as u32 as u64
            }
            Value::Raw(r) => r,
        }
    }

    /// Builds guest memory for `call` into `self.pre`; returns the port and argument.
    fn build(&mut self, call: &Call) -> (u16, u64) {
        for page in self.pre_dirty.drain(..) {
            let range = page * PAGE..(page + 1) * PAGE;
            self.pre[range.clone()].copy_from_slice(&self.base[range]);
        }
        for (slot, pick) in &call.paths {
            let at = STRINGS + u64::from(*slot) % STRING_SLOTS * 256;
            let bytes: Vec<u8> = match pick {
                PathPick::Relative(a, b) => {
                    let a = NAMES[usize::from(*a) % NAMES.len()];
                    let path = if b % 3 == 0 { a.to_string() } else { format!("{a}/{}", NAMES[usize::from(*b) % 8]) };
                    [path.as_bytes(), b"\0"].concat()
                }
                PathPick::Absolute(i) => [ABSOLUTE[usize::from(*i) % ABSOLUTE.len()].as_bytes(), b"\0"].concat(),
                PathPick::Raw(raw) => raw.iter().copied().take(255).collect(),
                PathPick::Unterminated(c) => vec![c | 1; 256],
            };
            put(&mut self.pre, &mut self.pre_dirty, at, &bytes);
        }
        let tables = [PML4, PDPT, PD, PT];
        for (table, index, value) in &call.table_writes {
            let at = tables[usize::from(*table) % 4] + u64::from(index % 512) * 8;
            put(&mut self.pre, &mut self.pre_dirty, at, &value.to_le_bytes());
        }
        let arg = call.arg.resolve();
        for field in &call.fields {
            let value = self.value(&field.value);
            let at = arg.wrapping_add(u64::from(field.offset % 72));
            let bytes = value.to_le_bytes();
            put(&mut self.pre, &mut self.pre_dirty, at, if field.wide { &bytes[..] } else { &bytes[..4] });
        }
        let port = match call.port {
            PortPick::Known(i) => PORTS[usize::from(i) % PORTS.len()],
            PortPick::Raw(p) => p,
        };
        (port, arg)
    }

    /// Runs one input.
    pub fn exec(&mut self, data: &[u8]) -> Result<u64, Failure> {
        let Ok(call) = Call::arbitrary_take_rest(Unstructured::new(data)) else { return Ok(0) };
        self.execs += 1;
        if self.execs.is_multiple_of(256) {
            self.reset_files();
        }
        let (port, arg) = self.build(&call);
        if !safe_for_host(port, &self.pre, arg) {
            self.skipped += 1;
            return Ok(signature("skipped"));
        }
        let host = &mut self.host;
        host.extensions = call.mode & 1 == 0;
        host.fast_channel = call.mode & 2 == 0;
        host.channel.take();
        let mut files = FileTable::default();
        for fd in &self.guest_fds {
            files.insert(*fd);
        }
        *host.files.get_mut().map_err(|_| "file table poisoned")? = files;
        let (_, ram_at, ram_len) = host.ram.regions()[0];
        assert_eq!(ram_len, RAM as u64, "one RAM region");
        let ram_at = ram_at as *mut u8;
        self.ram_dirty.extend_from_slice(&self.pre_dirty);
        self.ram_dirty.sort_unstable();
        self.ram_dirty.dedup();
        for page in self.ram_dirty.drain(..) {
            // SAFETY: `ram_at..+RAM` is guest RAM, a live mapping owned by `host`; no other
            // thread touches it, and no reference into it is held across the copy.
            unsafe { std::ptr::copy_nonoverlapping(self.pre.as_ptr().add(page * PAGE), ram_at.add(page * PAGE), PAGE) };
        }

        if (port == port::NETREAD || port == port::NETREADV) && arg % 3 != 0 {
            // A frame waits (of a length from the request's address), or none.
            let frame: Vec<u8> = (0..(arg % 3000) as usize + 14).map(|i| i as u8).collect();
            let _ = self.net_peer.send(&frame);
        }
        let outcome = dispatch(&self.host, port, arg);
        let mut sink = [0u8; 128];
        while self.net_peer.recv(&mut sink).is_ok() {}

        // SAFETY: the mapping stays alive as long as `self.host`, and nothing writes to it
        // while this view exists (the dispatcher has returned; no poller thread was started).
        let post: &[u8] = unsafe { std::slice::from_raw_parts(ram_at, RAM) };
        let changed: Vec<usize> =
            (0..RAM / PAGE).filter(|p| post[p * PAGE..(p + 1) * PAGE] != self.pre[p * PAGE..(p + 1) * PAGE]).collect();
        self.ram_dirty.extend_from_slice(&changed);
        self.ram_dirty.extend_from_slice(&self.pre_dirty);
        // Close what the request opened, so that descriptors do not pile up.
        for fd in open_fds().difference(&self.baseline_fds) {
            // SAFETY: a descriptor that appeared during the request; nothing else uses it.
            unsafe { libc::close(*fd) };
        }
        self.check(port, arg, &outcome, post, &changed)?;
        let ret_class = |off: usize| get_i32(post, arg.wrapping_add(off as u64)).map(|r| r.clamp(-200, 1));
        let kind = match &outcome {
            Outcome::Continue => "continue".to_string(),
            Outcome::Exit(_) => "exit".to_string(),
            Outcome::Fatal(what) => {
                what.split(':').next().unwrap_or("").chars().filter(|c| !c.is_ascii_digit()).collect()
            }
        };
        Ok(signature((port, call.mode & 3, kind, ret_class(4), ret_class(16), ret_class(12))))
    }

    /// The properties of one finished request.
    fn check(&self, port: u16, arg: u64, outcome: &Outcome, post: &[u8], changed: &[usize]) -> Result<(), Failure> {
        let extensions = self.host.extensions;
        // Memory outside what the port may write is unchanged.
        if port == port::CMDVAL {
            let mut expected = self.pre.clone();
            simulate_cmdval(&mut expected, arg, &self.host.args, &self.host.env);
            if let Some(i) = (expected != post).then(|| (0..RAM).find(|&i| expected[i] != post[i])).flatten() {
                return Err(format!(
                    "CMDVAL wrote guest memory it should not: byte {i:#x} is {:#x}, expected {:#x}",
                    post[i], expected[i]
                ));
            }
        } else {
            let host = &self.host;
            let cmdline_len = host.args.iter().chain(&host.env).map(|s| s.as_bytes_with_nul().len() as u64).sum();
            let allowed = writable(port, arg, &self.pre, extensions, cmdline_len);
            let bytes = changed.iter().flat_map(|p| p * PAGE..(p + 1) * PAGE);
            for i in bytes.filter(|&i| self.pre[i] != post[i]) {
                let i = i as u64;
                if !allowed.iter().any(|(s, e)| (*s..*e).contains(&i)) {
                    return Err(format!(
                        "port {port:#x} wrote outside its request: byte {i:#x} changed (arg {arg:#x}, outcome {outcome:?})"
                    ));
                }
            }
        }
        let known = PORTS.contains(&port);
        let is_ext = port::EXTENSIONS.contains(&port);
        if (!known || (is_ext && !extensions)) && !matches!(outcome, Outcome::Fatal(_)) {
            return Err(format!("unknown port {port:#x} did not stop the guest: {outcome:?}"));
        }
        if let Outcome::Exit(code) = outcome {
            // EXIT, or a chain that ends with it.
            let (port, arg) = match chain_parts(&self.pre, arg) {
                Some((_, second_port, second)) if port == port::FILEOP => (second_port, second),
                _ => (port, arg),
            };
            if port != port::EXIT || get_i32(&self.pre, arg) != Some(*code) {
                return Err(format!("exit code {code} is not the guest's (port {port:#x})"));
            }
        }
        if *outcome != Outcome::Continue {
            return Ok(());
        }
        // Results: a count within the request or a failure (-errno, or -1 in compat mode).
        let failure_ok = |r: i64| if extensions { (-4095..0).contains(&r) } else { r == -1 };
        let read_i64 = |mem: &[u8], off: usize| get::<8>(mem, arg.wrapping_add(off as u64)).map(i64::from_le_bytes);
        match port {
            port::WRITE | port::READ => {
                let len = read_i64(&self.pre, offset_of!(Write, len)).unwrap_or(0) as u64;
                let off = if port == port::WRITE { offset_of!(Write, len) } else { offset_of!(Read, ret) };
                let r = read_i64(post, off).unwrap_or(0);
                if !(failure_ok(r) || (r >= 0 && r as u64 <= len)) {
                    return Err(format!("transfer result {r} for a request of {len} bytes (port {port:#x})"));
                }
            }
            port::OPEN => {
                let r = get_i32(post, arg.wrapping_add(offset_of!(Open, ret) as u64)).unwrap_or(0);
                let path = request_path(&self.pre, arg).unwrap_or_default();
                let refused = ABSOLUTE[..REFUSED].iter().any(|p| p.as_bytes() == path.as_slice());
                let expected = if extensions { -libc::EACCES } else { -1 };
                if refused && r != expected {
                    return Err(format!("refused path {:?} opened: result {r}", String::from_utf8_lossy(&path)));
                }
                if !(r >= 0 || failure_ok(i64::from(r))) {
                    return Err(format!("open result {r}"));
                }
            }
            port::CLOSE => {
                let fd = get_i32(&self.pre, arg).unwrap_or(0);
                let r = get_i32(post, arg.wrapping_add(4)).unwrap_or(0);
                let owned = (0..=2).contains(&fd) || self.guest_fds.contains(&fd);
                if !owned && r != if extensions { -libc::EBADF } else { -1 } {
                    return Err(format!("close of a descriptor the guest does not own: result {r}"));
                }
            }
            port::POPULATE => {
                let r = read_i64(post, offset_of!(Populate, ret)).unwrap_or(0);
                let start = read_i64(&self.pre, offset_of!(Populate, start)).unwrap_or(0) as u64;
                let len = read_i64(&self.pre, offset_of!(Populate, len)).unwrap_or(0) as u64;
                let inside = start.checked_add(len).is_some_and(|end| end <= RAM as u64);
                let expected: &[i64] = if inside { &[0, -(libc::ENOMEM as i64)] } else { &[-(libc::EINVAL as i64)] };
                if !expected.contains(&r) {
                    return Err(format!("POPULATE of {start:#x}+{len:#x} returned {r}"));
                }
            }
            port::FILEOP => {
                let r = read_i64(post, offset_of!(FileOp, ret)).unwrap_or(0);
                let op = get_i32(&self.pre, arg).unwrap_or(-1) as u32;
                let len = read_i64(&self.pre, offset_of!(FileOp, len)).unwrap_or(0) as u64;
                let bounded = matches!(op, file_op::PREAD | file_op::PWRITE | file_op::READLINK | file_op::GETDENTS);
                if op == file_op::CHAIN {
                    // The second request may have written over the chain itself.
                    let (first, _, second) = chain_parts(&self.pre, arg).unwrap_or((arg, 0, arg));
                    let own = arg..arg.saturating_add(size_of::<FileOp>() as u64);
                    let touched = |at: u64| own.start < at.saturating_add(128) && at < own.end;
                    if r != 0 && !touched(first) && !touched(second) {
                        return Err(format!("FILEOP CHAIN result {r}"));
                    }
                } else if !(failure_ok(r) || (r >= 0 && (!bounded || r as u64 <= len))) {
                    return Err(format!("FILEOP {op} result {r} for a buffer of {len} bytes"));
                }
            }
            port::NETWRITEV | port::NETREADV => {
                let ret = get_i32(post, arg.wrapping_add(offset_of!(NetBatch, ret) as u64)).unwrap_or(0);
                let count = get_u32(&self.pre, arg.wrapping_add(offset_of!(NetBatch, count) as u64)).unwrap_or(0);
                if !(ret == -1 || (ret >= 0 && ret as u32 <= count)) {
                    return Err(format!("port {port:#x}: ret {ret} for {count} frames"));
                }
            }
            port::NETRING => {
                let ret = get_i32(post, arg.wrapping_add(offset_of!(NetRing, ret) as u64)).unwrap_or(0);
                if ret != -libc::ENODEV {
                    return Err(format!("NETRING without a receive interrupt: ret {ret}"));
                }
            }
            port::NETWRITE | port::NETREAD => {
                let ret = get_i32(post, arg.wrapping_add(offset_of!(NetRead, ret) as u64)).unwrap_or(0);
                let asked = read_i64(&self.pre, offset_of!(NetRead, len)).unwrap_or(0) as u64;
                let len = read_i64(post, offset_of!(NetRead, len)).unwrap_or(0) as u64;
                if !(ret == -1 || (ret == 0 && len <= asked)) {
                    return Err(format!("port {port:#x}: ret {ret}, length {len} for {asked}"));
                }
            }
            port::CMDLINE => {
                let host = &self.host;
                let strings = host.args.iter().chain(&host.env).map(|s| s.as_bytes_with_nul());
                let size: u64 = strings.clone().map(|s| s.len() as u64).sum();
                let buf = get_u64(&self.pre, arg.wrapping_add(offset_of!(CmdLine, buf) as u64)).unwrap_or(0);
                let capacity = get_u64(&self.pre, arg.wrapping_add(offset_of!(CmdLine, size) as u64)).unwrap_or(0);
                // The strings may land on the request itself; then neither result can be checked.
                let request = arg..arg.saturating_add(size_of::<CmdLine>() as u64);
                if buf != 0 && buf < request.end && request.start < buf.saturating_add(size) {
                    return Ok(());
                }
                let got = get_u64(post, arg.wrapping_add(offset_of!(CmdLine, size) as u64));
                if got != Some(size) {
                    return Err(format!("CMDLINE reported size {got:?}, the strings take {size}"));
                }
                let copied = usize::try_from(buf).ok().and_then(|b| post.get(b..b.checked_add(size as usize)?));
                let fits = buf != 0 && capacity >= size;
                if fits && copied.is_some_and(|c| c != strings.flatten().copied().collect::<Vec<u8>>()) {
                    return Err("CMDLINE copied something other than argv and the environment".to_string());
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Seeds: random byte strings (`arbitrary` turns any bytes into a call); the corpus grows
/// from the behaviours they reach.
fn seeds() -> Vec<Vec<u8>> {
    let mut rng = engine::Rng::new(42);
    (0..64).map(|_| (0..256).map(|_| rng.next() as u8).collect()).collect()
}

/// Fuzzes the dispatcher for `budget`; returns the report and how many inputs were skipped.
pub fn fuzz(budget: std::time::Duration) -> (engine::Report, u64) {
    let dir = scratch();
    let isolation = Isolation::new(&dir);
    let mut harness = Harness::new(dir.clone());
    let target =
        Target { name: "hypercalls", seeds: seeds(), max_len: 1024, focus: 0, exec: |d: &[u8]| harness.exec(d) };
    let report = engine::run(target, budget);
    let skipped = harness.skipped;
    drop(harness);
    drop(isolation);
    let _ = std::fs::remove_dir_all(&dir);
    (report, skipped)
}

#[cfg(test)]
mod tests {
    use super::oracle::walk;
    use super::*;

    #[test]
    #[ignore = "fuzzing: run with --ignored, HERMIT_FUZZ_SECONDS sets the time"]
    fn fuzz_hypercalls() {
        let (report, skipped) = fuzz(engine::budget());
        eprintln!("{report}\n  {skipped} inputs not run for host safety");
        assert!(report.crashes.is_empty(), "crashes: {:#?}", report.crashes);
    }

    #[test]
    fn own_walk_agrees_with_the_fixture() {
        let h = Harness::new(scratch().with_extension("walk"));
        assert_eq!(walk(&h.base, VIRT_SMALL + 0x10), Some((DATA + 0x10, DATA + 0x1000)));
        assert_eq!(walk(&h.base, VIRT_SMALL + 15 * 0x1000), None);
        assert_eq!(walk(&h.base, VIRT_LARGE + 0x123), Some((0x123, 0x20_0000)));
        assert_eq!(walk(&h.base, VIRT_HUGE + 5), Some((5, 0x4000_0000)));
        let _ = std::fs::remove_dir_all(scratch().with_extension("walk"));
    }
}

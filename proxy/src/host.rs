//! The state a running guest shares between its vCPU threads and the channel poller, and
//! the ways a run ends.

use std::ffi::CString;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use hermit_interface::header::{offset, HeaderExt};
use hermit_interface::{KMSG_OFFSET, KMSG_SIZE};

use crate::channel::Channel;
use crate::files::FileTable;
use crate::guest::GuestRam;
use crate::sandbox::Paths;

/// Everything the hypercall handlers need.
pub struct Host {
    /// Guest RAM.
    pub ram: GuestRam,
    /// Address of the image and its header (`e_entry`).
    pub entry: u64,
    /// Root of the guest page tables for virtual buffers (`entry + 0x1000`).
    pub page_root: u64,
    /// `argv` for the guest (the image path first).
    pub args: Vec<CString>,
    /// The environment for the guest (`NAME=value`).
    pub env: Vec<CString>,
    /// Descriptors the guest owns.
    pub files: Mutex<FileTable>,
    /// How guest paths reach host files (set once before the guest runs; see [`Host::paths`]).
    paths: OnceLock<Paths>,
    /// Verbose mode: kernel console to stderr, `.kmsg` at exit.
    pub verbose: bool,
    /// Whether the extension hypercalls and the header extension are offered (not in
    /// original-uhyve compatibility mode, where host errors are also reported as -1).
    pub extensions: bool,
    /// Whether the fast channel is offered.
    pub fast_channel: bool,
    /// Set once the kernel used an extension (it is this project's kernel).
    pub ext_seen: AtomicBool,
    /// The fast channel, once the kernel announced it.
    pub channel: OnceLock<Channel>,
    /// The GDB stub's control of the vCPUs (`HERMIT_DEBUG`), set before the guest runs.
    pub debugger: OnceLock<std::sync::Arc<crate::gdb::Control>>,
    /// What population has backed (`HERMIT_POPULATE`), set before the guest runs.
    pub backing: OnceLock<Arc<crate::populate::Backing>>,
    /// The network interface, if the guest has one (set before the guest runs).
    pub net: OnceLock<Arc<crate::net::Nic>>,
    /// Serialises the end of the run (several threads may end it at once).
    ending: Mutex<()>,
}

impl Host {
    /// A host for `ram` with the image at `entry`.
    pub fn new(
        ram: GuestRam,
        entry: u64,
        args: Vec<CString>,
        env: Vec<CString>,
        verbose: bool,
        extensions: bool,
        fast_channel: bool,
    ) -> Self {
        Self {
            ram,
            entry,
            page_root: entry + hermit_interface::BOOT_PML4_OFFSET,
            args,
            env,
            files: Mutex::new(FileTable::default()),
            paths: OnceLock::new(),
            verbose,
            extensions,
            fast_channel,
            ext_seen: AtomicBool::new(false),
            channel: OnceLock::new(),
            debugger: OnceLock::new(),
            net: OnceLock::new(),
            backing: OnceLock::new(),
            ending: Mutex::new(()),
        }
    }

    /// How guest paths reach host files: what [`Host::set_paths`] gave, else host paths as
    /// they are.
    pub fn paths(&self) -> &Paths {
        static HOST_PATHS: Paths = Paths::Host;
        self.paths.get().unwrap_or(&HOST_PATHS)
    }

    /// Sets the path resolution (the file sandbox) before the guest runs; a second call is
    /// ignored.
    pub fn set_paths(&self, paths: Paths) {
        let _ = self.paths.set(paths);
    }

    /// Ends the process with the guest's exit code (its low 8 bits, as the original).
    pub fn finish(&self, code: i32) -> ! {
        crate::net::flush_tx(self);
        if let Some(debugger) = self.debugger.get() {
            debugger.exiting(code);
        }
        let _guard = self.ending.lock();
        if code == -libc::EFAULT && !self.ext_seen.load(Ordering::Relaxed) {
            // What the original proxy said when its kernel ended a program after a fault.
            eprintln!("Did HermitCore receive an exception?");
        }
        self.dump_kmsg();
        end(code & 0xff)
    }

    /// Shares the host between the run's threads and makes it the one [`fatal`] ends (the
    /// first host shared in the process; unit tests share none).
    pub fn shared(self) -> Arc<Host> {
        let host = Arc::new(self);
        let _ = RUN.set(Arc::downgrade(&host));
        host
    }

    /// Ends the run because of something the guest did wrong. The message is printed under
    /// the ending lock: two threads that find the same fault (the poller and the network
    /// receive thread reading one bad ring) print it once.
    pub fn fatal(&self, what: &str) -> ! {
        if let Some(debugger) = self.debugger.get() {
            debugger.exiting(1);
        }
        let _guard = self.ending.lock();
        // One write: stderr is unbuffered and `eprintln!` writes each piece apart, so another
        // thread's output could land between "proxy: " and the message.
        let line = format!("proxy: {what}; stopping the guest\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        self.dump_kmsg();
        end(1)
    }

    /// Ends the run because GDB killed the guest (status 137, as a process killed with
    /// SIGKILL).
    pub fn killed(&self) -> ! {
        let _guard = self.ending.lock();
        self.dump_kmsg();
        end(128 + libc::SIGKILL)
    }

    /// In verbose mode, prints what population and the fast channel did (a line each) and the
    /// kernel's `.kmsg` ring in order.
    fn dump_kmsg(&self) {
        if !self.verbose {
            return;
        }
        if let Some(backing) = self.backing.get() {
            eprintln!("proxy: {}", backing.summary());
        }
        if let Some(channel) = self.channel.get() {
            eprintln!("proxy: {}", channel.summary());
        }
        if let Some(rings) = crate::net::ring_summary(self) {
            eprintln!("proxy: {rings}");
        }
        let mut ring = vec![0u8; KMSG_SIZE];
        if self.ram.read_bytes(self.entry + KMSG_OFFSET, &mut ring).is_err() {
            return;
        }
        let written_at = self.entry + offset::EXT as u64 + std::mem::offset_of!(HeaderExt, kmsg_written) as u64;
        let written = self.ram.read::<u64>(written_at).unwrap_or(0);
        let text: Vec<u8> = if written == 0 {
            ring.iter().copied().take_while(|b| *b != 0).collect()
        } else if written as usize <= KMSG_SIZE {
            ring[..written as usize].to_vec()
        } else {
            let start = (written as usize) % KMSG_SIZE;
            ring[start..].iter().chain(&ring[..start]).copied().collect()
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "--- kernel log (.kmsg) ---");
        let _ = err.write_all(&text);
        if !text.ends_with(b"\n") {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "--- end of kernel log ---");
    }
}

/// The run's host, for threads that hold no handle to it ([`fatal`]).
static RUN: OnceLock<Weak<Host>> = OnceLock::new();

/// Ends the run because of something the guest did wrong, found by a thread that holds no
/// handle to the host (the network receive thread): as [`Host::fatal`] (the message, the
/// ending lock, GDB's notice, `HERMIT_VERBOSE`'s summary and kernel log, status 1). Before
/// the host is shared (never in a run), only the message and status 1.
pub(crate) fn fatal(what: &str) -> ! {
    match RUN.get().and_then(Weak::upgrade) {
        Some(host) => host.fatal(what),
        None => {
            eprintln!("proxy: {what}; stopping the guest");
            end(1)
        }
    }
}

/// Ends the process at once: population stops, output is flushed, and `_exit` leaves
/// without unmapping guest RAM or running exit handlers, so nothing waits for a host thread
/// that is starved of CPU or holds the address-space lock.
pub(crate) fn end(status: i32) -> ! {
    crate::populate::stop();
    crate::net::offloads_off();
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; every guest-visible effect (host files) is already
    // in the host kernel.
    unsafe { libc::_exit(status) }
}

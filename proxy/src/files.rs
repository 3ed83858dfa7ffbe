//! The host files a guest may use: its own descriptors, and objects that are not the
//! hypervisor itself.
//!
//! The guest sees host descriptor numbers, as with the original uhyve, but only those it
//! opened (plus the proxy's stdin, stdout and stderr) are accepted; the proxy's own
//! descriptors (the KVM device, the VM, the image) are out of reach.
//!
//! What a guest opens is judged twice. [`check_path`] refuses the obvious spellings of the
//! proxy's own `/proc` entries and the memory devices before anything is opened. The real
//! enforcement is [`inspect`], after opening, on the object the host kernel actually
//! returned, so that symbolic links, `..`, bind mounts and thread ids do not matter: a
//! character device that gives the host's memory or the KVM device ([`forbidden_device`]), and
//! anything in procfs under the proxy's pid or one of its thread ids ([`proc_path_is_own`])
//! is closed again and refused with `EACCES`. Magic links (`/proc/<pid>/fd/N`, `/dev/fd/N`,
//! `exe`, `cwd`, `root`) are never followed (see `sandbox::resolve`).

use std::collections::HashSet;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Descriptors the guest may use.
#[derive(Debug, Default)]
pub struct FileTable {
    open: HashSet<i32>,
}

impl FileTable {
    /// Whether `fd` belongs to the guest (0, 1, 2 always do).
    pub fn allows(&self, fd: i32) -> bool {
        (0..=2).contains(&fd) || self.open.contains(&fd)
    }

    /// Records a descriptor the host opened for the guest.
    pub fn insert(&mut self, fd: i32) {
        self.open.insert(fd);
    }

    /// Forgets a descriptor; returns whether the guest owned it.
    pub fn remove(&mut self, fd: i32) -> bool {
        self.open.remove(&fd)
    }
}

/// Lexically normalises an absolute path: no empty or `.` components, `..` applied (at the
/// root it stays at the root). A relative path is returned with its leading `..` kept.
fn normalize(path: &[u8]) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if parts.last().is_some_and(|p| *p != b"..") => {
                parts.pop();
            }
            b".." if path.starts_with(b"/") => {}
            other => parts.push(other),
        }
    }
    parts
}

/// First, string-level filter for a host path the guest names (without `HERMIT_MOUNT`):
/// `Err(errno)` for an empty path (`ENOENT`) and for the obvious spellings of the KVM and
/// memory devices and of the proxy's own `/proc` entries (`EACCES`). Pure and cheap; it is
/// not the enforcement (an object reached by another spelling is refused by [`inspect`]),
/// it only avoids opening such objects at all.
pub fn check_path(path: &CStr) -> Result<(), i32> {
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Err(libc::ENOENT);
    }
    if !bytes.starts_with(b"/") {
        return Ok(());
    }
    let parts = normalize(bytes);
    let forbidden = match parts.as_slice() {
        [b"dev", dev] => matches!(*dev, b"kvm" | b"mem" | b"kmem" | b"port"),
        [b"proc", b"self" | b"thread-self", ..] => true,
        [b"proc", pid, ..] => *pid == own_pid().as_bytes(),
        _ => false,
    };
    if forbidden {
        Err(libc::EACCES)
    } else {
        Ok(())
    }
}

/// Character devices a guest never gets, as `(major, minor)`: `/dev/mem`, `/dev/kmem`,
/// `/dev/port` and `/dev/kvm` (misc 232).
const FORBIDDEN_DEVICES: [(u32, u32); 4] = [(1, 1), (1, 2), (1, 4), (10, 232)];

/// Whether a character device with number `rdev` gives the host's memory or the KVM device
/// (`kvm_rdev`: the number of this host's `/dev/kvm`, if it differs from the usual 10:232).
pub fn forbidden_device(rdev: u64, kvm_rdev: Option<u64>) -> bool {
    let id = (libc::major(rdev), libc::minor(rdev));
    FORBIDDEN_DEVICES.contains(&id) || kvm_rdev == Some(rdev)
}

/// Whether a procfs object at `path` (as `/proc/self/fd/N` names it; procfs may be mounted
/// anywhere) belongs to the proxy: some component is a number for which `is_own` holds (the
/// proxy's pid or one of its thread ids, also as `/proc/<pid>/task/<tid>`), or is `self` or
/// `thread-self` (never shown by the kernel, refused anyway).
pub fn proc_path_is_own(path: &[u8], is_own: impl Fn(u32) -> bool) -> bool {
    path.split(|b| *b == b'/').any(|part| match part {
        b"self" | b"thread-self" => true,
        digits if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(digits).ok().and_then(|s| s.parse::<u32>().ok()).is_some_and(&is_own)
        }
        _ => false,
    })
}

/// The proxy's pid in decimal, asked once (every path a guest names is checked against it,
/// and `getpid` is a system call each time).
fn own_pid() -> &'static str {
    static PID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PID.get_or_init(|| std::process::id().to_string())
}

/// Whether `id` is the proxy's pid or the id of one of its threads (now).
fn is_own_task(id: u32) -> bool {
    if id == std::process::id() {
        return true;
    }
    let Ok(path) = std::ffi::CString::new(format!("/proc/self/task/{id}")) else { return false };
    // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` is a valid out-pointer.
    unsafe { libc::stat(path.as_ptr(), &mut st) == 0 }
}

/// The device number of this host's `/dev/kvm`, read once.
fn kvm_rdev() -> Option<u64> {
    static RDEV: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *RDEV.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/dev/kvm").ok().map(|m| m.rdev())
    })
}

/// Reads this early (before a sandbox hides `/dev`), so that [`inspect`] knows it later.
pub fn prepare() {
    let _ = kvm_rdev();
}

/// Checks an object the host opened for the guest: `Err(EACCES)` for a forbidden device or
/// the proxy's own procfs entries (the caller closes the descriptor); on success the
/// object's status (a `stat` request needs no second `fstat`).
pub fn inspect(fd: BorrowedFd<'_>) -> Result<libc::stat, i32> {
    // SAFETY: an all-zero `stat`/`statfs` is a valid value of the plain C struct.
    let (mut st, mut fs): (libc::stat, libc::statfs) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: `fd` is a live descriptor and `st` a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(libc::EACCES);
    }
    if st.st_mode & libc::S_IFMT == libc::S_IFCHR && forbidden_device(st.st_rdev, kvm_rdev()) {
        return Err(libc::EACCES);
    }
    // SAFETY: as above, for `fstatfs`.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut fs) } != 0 {
        return Err(libc::EACCES);
    }
    if fs.f_type != libc::PROC_SUPER_MAGIC {
        return Ok(st);
    }
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        Ok(link) => {
            use std::os::unix::ffi::OsStrExt;
            if proc_path_is_own(link.as_os_str().as_bytes(), is_own_task) {
                Err(libc::EACCES)
            } else {
                Ok(st)
            }
        }
        Err(_) => Err(libc::EACCES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), i32> {
        check_path(&std::ffi::CString::new(p).unwrap())
    }

    #[test]
    fn refuses_the_obvious_spellings() {
        assert_eq!(check("/dev/kvm"), Err(libc::EACCES));
        assert_eq!(check("/proc/self/mem"), Err(libc::EACCES));
        assert_eq!(check("/proc/thread-self/environ"), Err(libc::EACCES));
        assert_eq!(check(&format!("/proc/{}/maps", std::process::id())), Err(libc::EACCES));
        assert_eq!(check("/dev/../dev/kvm"), Err(libc::EACCES));
        assert_eq!(check("//dev/./mem"), Err(libc::EACCES));
        assert_eq!(check("/../../proc/self"), Err(libc::EACCES));
        assert_eq!(check(""), Err(libc::ENOENT));
    }

    #[test]
    fn allows_ordinary_and_new_files() {
        assert_eq!(check("/etc/hostname"), Ok(()));
        assert_eq!(check("/tmp/does-not-exist-yet/file"), Ok(()));
        assert_eq!(check("relative.txt"), Ok(()));
        assert_eq!(check("/proc/1/status"), Ok(()));
        assert_eq!(check("/dev/null"), Ok(()));
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(b"/a/./b//c/../d"), vec![&b"a"[..], b"b", b"d"]);
        assert_eq!(normalize(b"/../x"), vec![&b"x"[..]]);
        assert_eq!(normalize(b"../x"), vec![&b".."[..], b"x"]);
    }

    #[test]
    fn memory_and_kvm_devices() {
        assert!(forbidden_device(libc::makedev(1, 1), None));
        assert!(forbidden_device(libc::makedev(1, 2), None));
        assert!(forbidden_device(libc::makedev(1, 4), None));
        assert!(forbidden_device(libc::makedev(10, 232), None));
        assert!(forbidden_device(libc::makedev(10, 99), Some(libc::makedev(10, 99))));
        assert!(!forbidden_device(libc::makedev(1, 3), None)); // /dev/null
        assert!(!forbidden_device(libc::makedev(1, 8), Some(libc::makedev(10, 232))));
        // /dev/random
    }

    #[test]
    fn own_proc_entries() {
        let own = |id: u32| id == 1234 || id == 1240;
        assert!(proc_path_is_own(b"/proc/1234/mem", own));
        assert!(proc_path_is_own(b"/proc/1240/environ", own));
        assert!(proc_path_is_own(b"/proc/1234/task/1240/mem", own));
        assert!(proc_path_is_own(b"/mnt/otherproc/1240/maps", own));
        assert!(proc_path_is_own(b"/proc/self", own));
        assert!(!proc_path_is_own(b"/proc/99/mem", own));
        assert!(!proc_path_is_own(b"/proc/meminfo", own));
        assert!(!proc_path_is_own(b"/proc/12345/status", own));
        assert!(!proc_path_is_own(b"/proc/99999999999999999999/x", own));
    }

    #[test]
    fn inspect_refuses_own_proc_and_allows_files() {
        use std::os::fd::AsFd;
        let own = std::fs::File::open(format!("/proc/{}/status", std::process::id())).unwrap();
        assert_eq!(inspect(own.as_fd()).err(), Some(libc::EACCES));
        let other = std::fs::File::open("/proc/1/status").unwrap();
        assert!(inspect(other.as_fd()).is_ok());
        let ordinary = std::fs::File::open("/proc/meminfo").unwrap();
        assert!(inspect(ordinary.as_fd()).is_ok());
        let null = std::fs::File::open("/dev/null").unwrap();
        assert!(inspect(null.as_fd()).is_ok());
    }

    #[test]
    fn inspect_refuses_other_threads_of_the_proxy() {
        use std::os::fd::AsFd;
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() }).unwrap();
            done_rx.recv().unwrap();
        });
        let tid = rx.recv().unwrap();
        let f = std::fs::File::open(format!("/proc/{tid}/environ")).unwrap();
        assert_eq!(inspect(f.as_fd()).err(), Some(libc::EACCES));
        let f = std::fs::File::open(format!("/proc/{}/task/{tid}/stat", std::process::id())).unwrap();
        assert_eq!(inspect(f.as_fd()).err(), Some(libc::EACCES));
        done_tx.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn table_tracks_guest_descriptors() {
        let mut t = FileTable::default();
        assert!(t.allows(1) && !t.allows(5));
        t.insert(5);
        assert!(t.allows(5));
        assert!(t.remove(5) && !t.remove(5));
    }
}

//! The host files a guest may use: its own descriptors, and paths that cannot reach the
//! hypervisor itself.
//!
//! The guest sees host descriptor numbers, as with the original uhyve, but only those it
//! opened (plus the proxy's stdin, stdout and stderr) are accepted; the proxy's own
//! descriptors (the KVM device, the VM, the image) are out of reach. Paths that would give
//! the guest the KVM device or the proxy's memory (`/proc/<pid>/mem` and friends) are refused.

use std::collections::HashSet;
use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

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

/// Resolves `path` as far as it exists: the existing part canonicalised, the rest appended.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(full) = std::fs::canonicalize(path) {
        return full;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// Whether `resolved` (an absolute path) lies in `/proc/<id>` of this process or of one of
/// its threads: `/proc/<tid>` is not listed in `/proc` but reaches the same memory.
fn is_own_proc(resolved: &Path) -> bool {
    let mut parts = resolved.components();
    let (Some(Component::RootDir), Some(Component::Normal(proc)), Some(Component::Normal(id))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(id) = id.to_str().and_then(|s| s.parse::<u32>().ok()) else { return false };
    proc == "proc" && (id == std::process::id() || Path::new("/proc/self/task").join(id.to_string()).exists())
}

/// Checks a guest path; `Err(errno)` if the guest must not open it.
pub fn check_path(path: &CStr) -> Result<(), i32> {
    let path = Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
    if path.as_os_str().is_empty() {
        return Err(libc::ENOENT);
    }
    let resolved = resolve(path);
    let forbidden = resolved == Path::new("/dev/kvm")
        || resolved == Path::new("/dev/mem")
        || resolved == Path::new("/dev/kmem")
        || resolved == Path::new("/dev/port")
        || is_own_proc(&resolved)
        || resolved.starts_with("/proc/self")
        || resolved.starts_with("/proc/thread-self");
    if forbidden {
        Err(libc::EACCES)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), i32> {
        check_path(&std::ffi::CString::new(p).unwrap())
    }

    #[test]
    fn refuses_the_hypervisor_and_own_memory() {
        assert_eq!(check("/dev/kvm"), Err(libc::EACCES));
        assert_eq!(check("/proc/self/mem"), Err(libc::EACCES));
        assert_eq!(check(&format!("/proc/{}/maps", std::process::id())), Err(libc::EACCES));
        assert_eq!(check("/dev/../dev/kvm"), Err(libc::EACCES));
        assert_eq!(check(""), Err(libc::ENOENT));
    }

    #[test]
    fn refuses_the_proc_entries_of_other_threads() {
        // Found by the paths fuzz target: /proc/<tid> of a thread other than the main one
        // is the proxy's memory too (issue 8).
        // The id of the calling thread: /proc/thread-self links to "<pid>/task/<tid>".
        let tid =
            || std::fs::read_link("/proc/thread-self").unwrap().file_name().unwrap().to_str().unwrap().to_string();
        let other = std::thread::spawn(tid).join().unwrap();
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let (tell, told) = std::sync::mpsc::channel();
        let alive = std::thread::spawn(move || {
            tell.send(tid()).unwrap();
            wait.recv().ok();
        });
        let running = told.recv().unwrap();
        for id in [running, tid(), other] {
            if id != std::process::id().to_string() && Path::new(&format!("/proc/self/task/{id}")).exists() {
                assert_eq!(check(&format!("/proc/{id}/mem")), Err(libc::EACCES));
                assert_eq!(check(&format!("/proc/{id}/.")), Err(libc::EACCES));
            }
        }
        drop(stop);
        alive.join().unwrap();
        assert_eq!(check("/proc/1/status"), if std::process::id() == 1 { Err(libc::EACCES) } else { Ok(()) });
    }

    #[test]
    fn allows_ordinary_and_new_files() {
        assert_eq!(check("/etc/hostname"), Ok(()));
        assert_eq!(check("/tmp/does-not-exist-yet/file"), Ok(()));
        assert_eq!(check("relative.txt"), Ok(()));
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

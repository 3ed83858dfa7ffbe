//! Confining the guest: path resolution below strings, the `HERMIT_MOUNT` file sandbox
//! (mount table, `openat2`, Landlock) and the proxy's system-call filter (seccomp).
//!
//! Order of a run: [`prepare`] (mount directories opened, before the image runs), [`confine`]
//! (in `vm::build`, before any other proxy thread exists), [`filter`] (just before the first
//! guest instruction, on every thread).

mod landlock;
pub mod mounts;
mod resolve;
pub mod seccomp;

pub use resolve::Paths;

use mounts::{MountSpec, MountTable};

/// Opens what the guest may reach: the mount directories with `HERMIT_MOUNT`, else host
/// paths as they are. Refuses a kernel without `openat2` (Linux 5.6).
pub fn prepare(specs: &[MountSpec]) -> Result<Paths, String> {
    crate::files::prepare();
    let _ = resolve::host_cwd();
    if !resolve::openat2_available() {
        return Err("this host kernel has no openat2 (Linux 5.6 or later is needed)".into());
    }
    if specs.is_empty() {
        return Ok(Paths::Host);
    }
    let mut canonical = Vec::new();
    for spec in specs {
        let dir =
            std::fs::canonicalize(&spec.host).map_err(|e| format!("cannot mount {}: {e}", spec.host.display()))?;
        if !dir.is_dir() {
            return Err(format!("cannot mount {}: not a directory", spec.host.display()));
        }
        canonical.push((spec.clone(), dir));
    }
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).unwrap_or_else(|_| "/".into());
    let mut table = MountTable::build(&canonical, &cwd).map_err(|e| format!("mounts: {e}"))?;
    table.open()?;
    Ok(Paths::Mounts(table))
}

/// Confines the calling thread and all threads it starts: not dumpable (other processes of
/// the user cannot read or trace the proxy), and with mounts the Landlock ruleset (with a
/// warning where the kernel has no Landlock). Run before the proxy starts other threads.
/// `signal_children`: see [`landlock::restrict`].
pub fn confine(paths: &Paths, verbose: bool, signal_children: bool) -> Result<(), String> {
    // SAFETY: PR_SET_DUMPABLE takes an integer and changes only this process's attribute.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let Paths::Mounts(table) = paths else { return Ok(()) };
    let enforced = landlock::restrict(table, signal_children)?;
    if enforced == landlock::Enforced::Not {
        eprintln!(
            "proxy: warning: this kernel does not enforce Landlock; HERMIT_MOUNT is enforced by openat2 (RESOLVE_BENEATH) alone"
        );
    } else if verbose {
        eprintln!("proxy: Landlock {enforced:?} enforced for {} mount(s)", table.mounts.len());
    }
    Ok(())
}

/// Installs the system-call filter on every proxy thread unless `enabled` is false
/// (`HERMIT_SECCOMP=0`); see [`seccomp::install`] for `selftest` and `vcpu_threads`.
pub fn filter(enabled: bool, selftest: bool, debug: bool, verbose: bool, vcpu_threads: &[i32]) -> Result<(), String> {
    if !enabled {
        return Ok(());
    }
    let allowed = seccomp::install(selftest, debug, vcpu_threads)?;
    if verbose {
        eprintln!("proxy: seccomp filter installed, {allowed} system calls allowed");
    }
    Ok(())
}

//! The Landlock ruleset of `HERMIT_MOUNT`: the host kernel lets the proxy reach only the
//! mounted trees (read-only ones without write rights), whatever a path resolves to.

use landlock::{
    Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    ABI,
};

use super::mounts::MountTable;

/// The Landlock ABI whose rights the ruleset asks for; older kernels get what they support
/// (best effort), newer ones are not asked for more.
const TARGET_ABI: ABI = ABI::V6;

/// Files the proxy itself may still read after setup (host facts, never reachable by the
/// guest, whose paths stay beneath the mounts): `/proc/cpuinfo` for the TSC frequency and
/// `/proc/meminfo` for the memory population limit.
const HOST_FACTS: [&str; 2] = ["/proc/cpuinfo", "/proc/meminfo"];

/// What the sandbox achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Enforced {
    /// Every requested right is enforced.
    Fully,
    /// An older kernel: the file rights it knows are enforced.
    Partially,
    /// No Landlock in this kernel: `openat2` alone confines the guest.
    Not,
}

/// Restricts the calling thread, and every thread it starts later, to the mounts: read and
/// write rights beneath a read-write mount, read rights beneath a read-only one, no TCP
/// `bind`/`connect`, no abstract UNIX sockets of processes outside and, unless
/// `signal_children` (a QEMU child started before, outside the domain, must get the parent-death
/// signal; the seccomp filter allows no `kill` anyway), no signals to them.
/// Must run before the proxy starts its other threads (Landlock before ABI 8 restricts only
/// the calling thread).
pub fn restrict(table: &MountTable, signal_children: bool) -> Result<Enforced, String> {
    let err = |e: landlock::RulesetError| format!("cannot set up the Landlock sandbox: {e}");
    let all = AccessFs::from_all(TARGET_ABI);
    let mut ruleset = Ruleset::default()
        .handle_access(all)
        .map_err(err)?
        .handle_access(AccessNet::from_all(TARGET_ABI))
        .map_err(err)?
        .scope(if signal_children { Scope::AbstractUnixSocket.into() } else { Scope::from_all(TARGET_ABI) })
        .map_err(err)?
        .create()
        .map_err(err)?;
    for mount in &table.mounts {
        let access = if mount.read_only { AccessFs::from_read(TARGET_ABI) } else { all };
        let dir = PathFd::new(&mount.host).map_err(|e| format!("cannot open mount {}: {e}", mount.host.display()))?;
        ruleset = ruleset.add_rule(PathBeneath::new(dir, access)).map_err(err)?;
    }
    for fact in HOST_FACTS {
        if let Ok(file) = PathFd::new(fact) {
            ruleset = ruleset.add_rule(PathBeneath::new(file, AccessFs::ReadFile)).map_err(err)?;
        }
    }
    let status = ruleset.restrict_self().map_err(err)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        _ => Enforced::Not,
    })
}

#[cfg(test)]
mod tests {
    use super::super::mounts::{MountSpec, MountTable};
    use super::*;
    use std::io::ErrorKind;
    use std::path::Path;

    #[test]
    fn restricts_a_thread_to_its_mounts() {
        let root = std::env::temp_dir().join(format!("proxy-landlock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("rw")).unwrap();
        std::fs::create_dir_all(root.join("ro")).unwrap();
        std::fs::write(root.join("ro/file"), b"ro").unwrap();
        std::fs::write(root.join("outside"), b"outside").unwrap();
        let specs = vec![
            (MountSpec { host: root.join("rw"), guest: None, read_only: false }, root.join("rw")),
            (MountSpec { host: root.join("ro"), guest: None, read_only: true }, root.join("ro")),
        ];
        let table = MountTable::build(&specs, Path::new("/")).unwrap();
        let thread_root = root.clone();
        // Landlock restricts only the calling thread: the test's other threads stay free.
        let enforced = std::thread::spawn(move || {
            let root = thread_root;
            let enforced = restrict(&table, false).unwrap();
            if enforced == Enforced::Not {
                return enforced;
            }
            let denied = |r: std::io::Result<()>| matches!(r, Err(e) if e.kind() == ErrorKind::PermissionDenied);
            assert!(denied(std::fs::read("/etc/hostname").map(drop)));
            assert!(denied(std::fs::read(root.join("outside")).map(drop)));
            assert!(denied(std::fs::write(root.join("new-outside"), b"x")));
            std::fs::write(root.join("rw/new"), b"x").unwrap();
            std::fs::create_dir(root.join("rw/dir")).unwrap();
            assert_eq!(std::fs::read(root.join("ro/file")).unwrap(), b"ro");
            assert!(denied(std::fs::write(root.join("ro/file"), b"x")));
            assert!(denied(std::fs::write(root.join("ro/new"), b"x")));
            assert!(denied(std::fs::remove_file(root.join("ro/file"))));
            assert!(std::fs::read("/proc/meminfo").is_ok());
            enforced
        })
        .join()
        .unwrap();
        assert!(root.join("rw/new").exists() && !root.join("new-outside").exists());
        std::fs::remove_dir_all(&root).unwrap();
        if enforced == Enforced::Not {
            eprintln!("this kernel has no Landlock; the restriction was not tested");
        } else {
            assert_eq!(enforced, Enforced::Fully);
        }
    }
}

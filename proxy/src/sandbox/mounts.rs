//! The mount table of `HERMIT_MOUNT`: which host trees the guest sees at which guest paths.
//!
//! Everything here is pure (parsing and guest-path arithmetic), except [`MountTable::open`],
//! which opens one directory descriptor per mount at setup; every later guest access is
//! resolved beneath one of them (`sandbox::resolve`).

use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// One `<host dir>[:<guest path>][:ro]` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    /// The host directory, as written.
    pub host: PathBuf,
    /// Where the guest sees it (absolute); `None`: at the host directory's absolute path.
    pub guest: Option<String>,
    /// Writes, creation and removal are refused.
    pub read_only: bool,
}

/// Parses a comma-separated list of `<host dir>[:<guest path>][:ro|:rw]` (the syntax of
/// `HERMIT_MOUNT` and of `--mount`). Host paths cannot contain `:` or `,`.
pub fn parse_specs(text: &str) -> Result<Vec<MountSpec>, String> {
    let mut specs = Vec::new();
    for item in text.split(',') {
        if item.trim().is_empty() {
            return Err(format!("empty mount in {text:?}"));
        }
        let mut parts: Vec<&str> = item.split(':').collect();
        let mut read_only = false;
        if parts.len() > 1 {
            match *parts.last().expect("at least two parts") {
                "ro" => {
                    read_only = true;
                    parts.pop();
                }
                "rw" => {
                    parts.pop();
                }
                _ => {}
            }
        }
        let (host, guest) = match parts.as_slice() {
            [host] => (*host, None),
            [host, guest] => (*host, Some(*guest)),
            _ => return Err(format!("mount {item:?}: expected <host dir>[:<guest path>][:ro]")),
        };
        if host.is_empty() {
            return Err(format!("mount {item:?}: the host directory is empty"));
        }
        if let Some(guest) = guest {
            if !guest.starts_with('/') {
                return Err(format!("mount {item:?}: the guest path {guest:?} must be absolute (or ro/rw)"));
            }
        }
        specs.push(MountSpec { host: PathBuf::from(host), guest: guest.map(str::to_string), read_only });
    }
    Ok(specs)
}

/// The components of an absolute guest path, lexically normalised: no empty or `.`
/// components, `..` removes the previous one and stays at the root. (Unlike POSIX, `..`
/// after a symbolic link goes back lexically; escapes are impossible either way.)
pub fn guest_components(path: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            other => parts.push(other.to_vec()),
        }
    }
    parts
}

/// A mount: the guest path's components, the host directory, read-only or not.
#[derive(Debug)]
pub struct Mount {
    /// Guest path, normalised.
    pub guest: Vec<Vec<u8>>,
    /// Host directory, canonical.
    pub host: PathBuf,
    /// Refuse writes.
    pub read_only: bool,
    /// The host directory, opened at setup (`O_PATH`).
    pub dir: Option<OwnedFd>,
}

/// All mounts and the guest's working directory.
#[derive(Debug, Default)]
pub struct MountTable {
    /// The mounts, in the order given.
    pub mounts: Vec<Mount>,
    /// The guest's working directory, normalised.
    pub cwd: Vec<Vec<u8>>,
}

/// Where a guest path lands: mount `index`, and the path below its directory (empty for the
/// mount point itself).
#[derive(Debug, PartialEq, Eq)]
pub struct Located {
    /// Index into [`MountTable::mounts`].
    pub index: usize,
    /// Components below the mount's directory.
    pub rest: Vec<Vec<u8>>,
}

impl MountTable {
    /// Builds the table from canonical host directories (pure): each guest path defaults to
    /// the host path; two mounts at one guest path are refused. The working directory is
    /// `host_cwd` mapped into guest path space if it lies in a mount, else `/`.
    pub fn build(specs: &[(MountSpec, PathBuf)], host_cwd: &Path) -> Result<MountTable, String> {
        use std::os::unix::ffi::OsStrExt;
        let mut mounts: Vec<Mount> = Vec::new();
        for (spec, canonical) in specs {
            let guest_text = spec.guest.clone().unwrap_or_else(|| canonical.to_string_lossy().into_owned());
            let guest = guest_components(guest_text.as_bytes());
            if mounts.iter().any(|m| m.guest == guest) {
                return Err(format!("two mounts at guest path {guest_text}"));
            }
            mounts.push(Mount { guest, host: canonical.clone(), read_only: spec.read_only, dir: None });
        }
        // A read-only tree inside a writable one is writable through the writable mount: a
        // symbolic link the guest makes there (`ro -> <the tree>`) resolves beneath it.
        for ro in mounts.iter().filter(|m| m.read_only) {
            if let Some(rw) = mounts.iter().find(|m| !m.read_only && ro.host.starts_with(&m.host)) {
                return Err(format!(
                    "read-only mount {} lies inside writable mount {}, through which the guest could write it",
                    ro.host.display(),
                    rw.host.display()
                ));
            }
        }
        // The cwd maps through the mount with the longest host prefix.
        let cwd = mounts
            .iter()
            .filter_map(|m| host_cwd.strip_prefix(&m.host).ok().map(|rest| (m, rest)))
            .max_by_key(|(m, _)| m.host.components().count())
            .map(|(m, rest)| {
                let mut cwd = m.guest.clone();
                cwd.extend(rest.components().map(|c| c.as_os_str().as_bytes().to_vec()));
                cwd
            })
            .unwrap_or_default();
        Ok(MountTable { mounts, cwd })
    }

    /// Opens each mount's host directory (`O_PATH | O_DIRECTORY`, not following a final
    /// symbolic link: the directory was canonicalised).
    pub fn open(&mut self) -> Result<(), String> {
        for mount in &mut self.mounts {
            let dir = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
                .open(&mount.host)
                .map_err(|e| format!("cannot open mount {}: {e}", mount.host.display()))?;
            mount.dir = Some(dir.into());
        }
        Ok(())
    }

    /// Finds the mount that holds guest path `path` (relative to the guest's working
    /// directory unless absolute): the one with the longest guest path that is a prefix.
    /// `None` if the path is outside every mount.
    pub fn locate(&self, path: &[u8]) -> Option<Located> {
        let parts = if path.starts_with(b"/") {
            guest_components(path)
        } else {
            let mut joined = self.cwd.join(&b'/');
            joined.insert(0, b'/');
            joined.push(b'/');
            joined.extend_from_slice(path);
            guest_components(&joined)
        };
        self.mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| parts.starts_with(&m.guest))
            .max_by_key(|(_, m)| m.guest.len())
            .map(|(index, m)| Located { index, rest: parts[m.guest.len()..].to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(host: &str, guest: Option<&str>, ro: bool) -> MountSpec {
        MountSpec { host: host.into(), guest: guest.map(Into::into), read_only: ro }
    }

    #[test]
    fn parses_specs() {
        assert_eq!(parse_specs("/srv/data").unwrap(), vec![spec("/srv/data", None, false)]);
        assert_eq!(parse_specs("/srv/data:ro").unwrap(), vec![spec("/srv/data", None, true)]);
        assert_eq!(
            parse_specs("/srv/data:/data:ro,out:/out:rw,x:/").unwrap(),
            vec![spec("/srv/data", Some("/data"), true), spec("out", Some("/out"), false), spec("x", Some("/"), false)]
        );
        assert!(parse_specs("").is_err());
        assert!(parse_specs("/a,,/b").is_err());
        assert!(parse_specs(":/data").is_err());
        assert!(parse_specs("/a:data").is_err());
        assert!(parse_specs("/a:/b:/c").is_err());
        assert!(parse_specs("/a:/b:ro:ro").is_err());
    }

    #[test]
    fn components() {
        let c = |p: &str| {
            guest_components(p.as_bytes()).into_iter().map(|v| String::from_utf8(v).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(c("/a/./b//c/"), ["a", "b", "c"]);
        assert_eq!(c("/a/../../../etc"), ["etc"]);
        assert!(c("/").is_empty());
    }

    fn table(mounts: &[(&str, Option<&str>)], cwd: &str) -> MountTable {
        let specs: Vec<(MountSpec, PathBuf)> =
            mounts.iter().map(|(h, g)| (spec(h, *g, false), PathBuf::from(h))).collect();
        MountTable::build(&specs, Path::new(cwd)).unwrap()
    }

    fn rest(t: &MountTable, p: &str) -> Option<(usize, String)> {
        t.locate(p.as_bytes()).map(|l| {
            let parts: Vec<String> = l.rest.into_iter().map(|v| String::from_utf8(v).unwrap()).collect();
            (l.index, parts.join("/"))
        })
    }

    #[test]
    fn locates_paths() {
        let t =
            table(&[("/srv/data", Some("/data")), ("/srv/data/inner", Some("/data/in")), ("/home/u", None)], "/tmp");
        assert_eq!(rest(&t, "/data/a/b"), Some((0, "a/b".into())));
        assert_eq!(rest(&t, "/data"), Some((0, String::new())));
        assert_eq!(rest(&t, "/data/in/x"), Some((1, "x".into())));
        assert_eq!(rest(&t, "/home/u/f"), Some((2, "f".into())));
        assert_eq!(rest(&t, "/data/../etc/hostname"), None);
        assert_eq!(rest(&t, "/data/a/../../data/b"), Some((0, "b".into())));
        assert_eq!(rest(&t, "/datax"), None);
        assert_eq!(rest(&t, "/etc/hostname"), None);
        // cwd outside every mount: "/".
        assert!(t.cwd.is_empty());
        assert_eq!(rest(&t, "data/f"), Some((0, "f".into())));
        assert_eq!(rest(&t, "../../data/f"), Some((0, "f".into())));
    }

    #[test]
    fn cwd_maps_into_guest_paths() {
        let t = table(&[("/srv/data", Some("/data")), ("/srv/data/inner", Some("/in"))], "/srv/data/inner/sub");
        assert_eq!(t.cwd, vec![b"in".to_vec(), b"sub".to_vec()]);
        assert_eq!(rest(&t, "f"), Some((1, "sub/f".into())));
        assert_eq!(rest(&t, "../f"), Some((1, "f".into())));
        assert_eq!(rest(&t, "../../etc/passwd"), None);
        let t = table(&[("/srv/data", Some("/data"))], "/srv/data");
        assert_eq!(rest(&t, "x"), Some((0, "x".into())));
    }

    #[test]
    fn refuses_duplicates() {
        let specs = vec![
            (spec("/a", Some("/m"), false), PathBuf::from("/a")),
            (spec("/b", Some("/m/"), true), PathBuf::from("/b")),
        ];
        assert!(MountTable::build(&specs, Path::new("/")).is_err());
    }

    /// A read-only mount inside a writable one (its host directory below the other's) is
    /// refused: the guest made a link `l -> ro` in the writable mount and truncated
    /// `/w/l/file`, a file of the read-only mount. The other way round is kept.
    #[test]
    fn refuses_a_read_only_tree_inside_a_writable_one() {
        let build = |a: (&str, bool), b: (&str, bool)| {
            let specs = vec![
                (spec(a.0, Some("/a"), a.1), PathBuf::from(a.0)),
                (spec(b.0, Some("/b"), b.1), PathBuf::from(b.0)),
            ];
            MountTable::build(&specs, Path::new("/")).map(drop)
        };
        let err = build(("/srv", false), ("/srv/etc", true)).unwrap_err();
        assert!(err.contains("read-only mount /srv/etc lies inside writable mount /srv"), "{err}");
        assert!(build(("/srv/etc", true), ("/srv", false)).is_err(), "in either order");
        assert!(build(("/srv", false), ("/srv", true)).is_err(), "the same tree");
        assert_eq!(build(("/srv", true), ("/srv/out", false)), Ok(()), "writable inside read-only");
        assert_eq!(build(("/srv", true), ("/srv/etc", true)), Ok(()));
        assert_eq!(build(("/srv/a", false), ("/srv/ab", true)), Ok(()), "a sibling, not a subdirectory");
    }
}

//! The `HERMIT_*` environment variables the proxy reads.

use std::fmt;

use crate::sandbox::mounts::{parse_specs, MountSpec};
use hermit_interface::cpu;

/// Default guest memory (the original uhyve's 512 MiB).
pub const DEFAULT_MEM: u64 = 512 << 20;

/// Smallest guest memory that holds the image area and a heap.
pub const MIN_MEM: u64 = 32 << 20;

/// Largest guest memory the kernel can map (one page-directory-pointer table).
pub const MAX_MEM: u64 = 512 << 30;

/// Largest number of vCPUs (the kernel's `MAX_CORES`).
pub const MAX_CPUS: u32 = 512;

/// vCPUs allowed per host CPU the proxy may run on: beyond one a warning, beyond this many
/// a refusal (time-shared vCPUs spin for each other, and boot slows down with each).
pub const CPUS_PER_HOST_CPU: u32 = 4;

/// Which monitor runs the image (`HERMIT_ISLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isle {
    /// The built-in KVM hypervisor with the uhyve protocol.
    Uhyve,
    /// `qemu-system-x86_64` with the proxy serving the fast channel (`crate::qemu`).
    Qemu,
}

/// The original's TCP port of the proxy protocol (`HERMIT_PORT`); its QEMU monitor
/// listened on the next one.
pub const DEFAULT_PORT: u16 = 18766;

/// GDB's port (`HERMIT_DEBUG_PORT`), the original's and QEMU's `-s` default.
pub const DEFAULT_DEBUG_PORT: u16 = 1234;

/// Settings of the QEMU monitor (`HERMIT_ISLE=qemu`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuConfig {
    /// The QEMU binary (`HERMIT_QEMU`, default `qemu-system-x86_64` from `PATH`).
    pub binary: String,
    /// Use KVM when `/dev/kvm` works (`HERMIT_KVM`, default on); else TCG.
    pub kvm: bool,
    /// Telnet port of QEMU's monitor on 127.0.0.1 (`HERMIT_MONITOR`), if any.
    pub monitor: Option<u16>,
    /// TCP port on which QEMU waits for GDB before the first instruction (`HERMIT_DEBUG`,
    /// `HERMIT_DEBUG_PORT`), if any.
    pub debug: Option<u16>,
    /// More QEMU arguments, split at white space (`HERMIT_QEMU_ARGS`, e.g. `-d int`).
    pub extra: Vec<String>,
}

/// The guest's network interface (`HERMIT_NETIF`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Netif {
    /// A host tap device by name.
    Tap(String),
    /// An open descriptor of an attached tap (`@<fd>`).
    Fd(i32),
    /// User-mode networking through `passt` (`user`).
    User,
}

/// The addresses written into the header with a tap when none is given (the original's).
pub const TAP_DEFAULTS: [[u8; 4]; 3] = [[10, 0, 5, 2], [10, 0, 5, 1], [255, 255, 255, 0]];

/// The proxy's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Monitor.
    pub isle: Isle,
    /// Number of vCPUs.
    pub cpus: u32,
    /// Guest memory in bytes.
    pub mem: u64,
    /// Kernel console to stderr and `.kmsg` dump at exit.
    pub verbose: bool,
    /// Back guest memory with transparent huge pages.
    pub hugepages: bool,
    /// Populate guest memory: what the kernel takes, on its request (`HERMIT_POPULATE` not 0).
    pub populate: bool,
    /// Also populate ahead of the guest in a paced host thread (`HERMIT_POPULATE` neither 0
    /// nor `demand`).
    pub populate_ahead: bool,
    /// Offer the fast hypercall channel to the kernel.
    pub fast_channel: bool,
    /// Offer the NIC's shared-memory descriptor rings (`HERMIT_NET_RING` not 0).
    pub net_ring: bool,
    /// Open a tap with the virtio-net header and offer the kernel its offloads
    /// (`HERMIT_NET_OFFLOAD` not 0).
    pub net_offload: bool,
    /// Offer idle vCPUs to read the tap themselves during a bulk receive
    /// (`HERMIT_NET_IDLE_RECV` not 0; `FEATURE_NET_IDLE_RECV`).
    pub net_idle_recv: bool,
    /// Behave exactly like the original uhyve: no header extension, no extension
    /// hypercalls, no CPU preparation, and host errors reported as a bare -1.
    pub uhyve_compat: bool,
    /// Static IPv4 configuration for uhyve networking (header fields).
    pub ip: Option<[u8; 4]>,
    /// Gateway.
    pub gateway: Option<[u8; 4]>,
    /// Netmask.
    pub mask: Option<[u8; 4]>,
    /// The network interface (`HERMIT_NETIF`), if any.
    pub netif: Option<Netif>,
    /// Its MAC address (`HERMIT_NETIF_MAC`; random and locally administered when `None`).
    pub mac: Option<[u8; 6]>,
    /// Host loopback TCP ports forwarded to the guest in user mode (`HERMIT_APP_PORT`).
    pub app_ports: Vec<u16>,
    /// The pcap file of the NIC's frames (`HERMIT_CAPTURE_NET`: 1 for the original's
    /// `qemu-vlan0.pcap` in the working directory, or a path).
    pub capture_net: Option<std::path::PathBuf>,
    /// passt's own capture of what it exchanges with the guest (`HERMIT_PASST_PCAP`, user
    /// mode only; made absolute, as passt leaves the working directory).
    pub passt_pcap: Option<std::path::PathBuf>,
    /// The file sandbox (`HERMIT_MOUNT`, `--mount`): empty for host paths as they are.
    pub mounts: Vec<MountSpec>,
    /// Install the system-call filter (`HERMIT_SECCOMP`, default on).
    pub seccomp: bool,
    /// Make a forbidden system call right after installing the filter (a test of it;
    /// `HERMIT_SECCOMP_SELFTEST=1`).
    pub seccomp_selftest: bool,
    /// Wait for GDB on this TCP port of 127.0.0.1 before the guest runs (`HERMIT_DEBUG=1`,
    /// `HERMIT_DEBUG_PORT`, default 1234).
    pub debug: Option<u16>,
    /// CPU features hidden from the guest (`HERMIT_CPU_HIDE`, `hermit_interface::cpu` bits).
    pub cpu_hide: u64,
    /// The QEMU settings (read whatever the monitor; used with [`Isle::Qemu`]).
    pub qemu: QemuConfig,
    /// Host CPU of each vCPU (`HERMIT_CPU_AFFINITY`, a taskset list; vCPU i on the i-th);
    /// `None`: unpinned.
    pub cpu_affinity: Option<Vec<u32>>,
}

/// A variable with a value the proxy cannot use.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A value of any length is shown by its start: the message stays one readable line.
        const SHOWN: usize = 120;
        match self.value.char_indices().nth(SHOWN) {
            None => write!(f, "{}={:?}: {}", self.var, self.value, self.reason),
            Some((cut, _)) => {
                let (start, len) = (&self.value[..cut], self.value.len());
                write!(f, "{}={start:?}... ({len} bytes): {}", self.var, self.reason)
            }
        }
    }
}

impl Config {
    /// Reads the settings through `get` (normally `std::env::var`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let err = |var: &'static str, value: &str, reason: &str| ConfigError {
            var,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let isle = match get("HERMIT_ISLE").as_deref().map(str::trim) {
            None | Some("") | Some("uhyve") => Isle::Uhyve,
            Some("qemu") => Isle::Qemu,
            Some(other) => {
                return Err(err("HERMIT_ISLE", other, "unknown monitor; supported: uhyve (the default) and qemu"))
            }
        };
        let cpus = match get("HERMIT_CPUS") {
            None => 1,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_CPUS).contains(&n) => n,
                _ => return Err(err("HERMIT_CPUS", &v, &format!("expected a number from 1 to {MAX_CPUS}"))),
            },
        };
        let mem = match get("HERMIT_MEM") {
            None => DEFAULT_MEM,
            Some(v) => match parse_size(&v) {
                Some(n) if (MIN_MEM..=MAX_MEM).contains(&n) => n,
                Some(_) => return Err(err("HERMIT_MEM", &v, "must be between 32M and 512G")),
                None => return Err(err("HERMIT_MEM", &v, "expected a size such as 512M, 2G or 1048576")),
            },
        };
        let flag = |var: &str, default: bool| get(var).map_or(default, |v| !matches!(v.trim(), "0" | ""));
        let address = |var: &'static str| -> Result<Option<[u8; 4]>, ConfigError> {
            match get(var) {
                None => Ok(None),
                Some(v) => parse_ipv4(&v).map(Some).ok_or_else(|| err(var, &v, "expected an IPv4 address")),
            }
        };
        let mounts = match get("HERMIT_MOUNT") {
            None => Vec::new(),
            Some(v) if v.trim().is_empty() => Vec::new(),
            Some(v) => parse_specs(&v).map_err(|reason| err("HERMIT_MOUNT", &v, &reason))?,
        };
        let debug_port = match get("HERMIT_DEBUG_PORT") {
            None => DEFAULT_DEBUG_PORT,
            Some(v) => match v.trim().parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(err("HERMIT_DEBUG_PORT", &v, "expected a TCP port from 1 to 65535")),
            },
        };
        let debug = flag("HERMIT_DEBUG", false).then_some(debug_port);
        if debug.is_some() && isle == Isle::Uhyve && flag("HERMIT_UHYVE_COMPAT", false) {
            return Err(err(
                "HERMIT_DEBUG",
                "1",
                "the GDB stub needs the kernel's debug traps, which HERMIT_UHYVE_COMPAT=1 does not offer",
            ));
        }
        let monitor = match get("HERMIT_MONITOR").as_deref().map(str::trim) {
            None | Some("") | Some("0") => None,
            Some("1") => Some(DEFAULT_PORT + 1),
            Some(v) => match v.parse::<u16>() {
                Ok(p) if p > 1 => Some(p),
                _ => return Err(err("HERMIT_MONITOR", v, "expected 0, 1 (the default port) or a TCP port number")),
            },
        };
        let qemu = QemuConfig {
            binary: get("HERMIT_QEMU").filter(|b| !b.trim().is_empty()).unwrap_or("qemu-system-x86_64".into()),
            kvm: flag("HERMIT_KVM", true),
            monitor,
            debug,
            extra: get("HERMIT_QEMU_ARGS").map_or(Vec::new(), |a| a.split_whitespace().map(String::from).collect()),
        };
        let cpu_affinity = match get("HERMIT_CPU_AFFINITY") {
            None => None,
            Some(v) if v.trim().is_empty() => None,
            Some(v) => {
                let list = crate::affinity::parse_list(&v).map_err(|e| err("HERMIT_CPU_AFFINITY", &v, &e))?;
                if list.len() < cpus as usize {
                    let reason = format!("lists {} host CPU(s) for {cpus} vCPUs (HERMIT_CPUS)", list.len());
                    return Err(err("HERMIT_CPU_AFFINITY", &v, &reason));
                }
                Some(list)
            }
        };
        let netif = match get("HERMIT_NETIF").as_deref().map(str::trim) {
            None | Some("") => None,
            Some("user") => Some(Netif::User),
            Some(v) => match v.strip_prefix('@') {
                Some(fd) => Some(Netif::Fd(fd.parse().map_err(|_| err("HERMIT_NETIF", v, "expected @<descriptor>"))?)),
                None => Some(Netif::Tap(v.to_string())),
            },
        };
        let mac = match get("HERMIT_NETIF_MAC") {
            None => None,
            Some(v) => Some(
                crate::net::frames::parse_mac(&v)
                    .ok_or_else(|| err("HERMIT_NETIF_MAC", &v, "expected a unicast MAC address xx:xx:xx:xx:xx:xx"))?,
            ),
        };
        let app_ports = match get("HERMIT_APP_PORT") {
            None => Vec::new(),
            Some(v) => parse_ports(&v).map_err(|reason| err("HERMIT_APP_PORT", &v, &reason))?,
        };
        // Under QEMU the original forwarded HERMIT_APP_PORT through QEMU's user-mode network
        // (`-redir`/hostfwd) without any other setting: there it implies user mode.
        let netif =
            if netif.is_none() && !app_ports.is_empty() && isle == Isle::Qemu { Some(Netif::User) } else { netif };
        if !app_ports.is_empty() && netif != Some(Netif::User) {
            let value = get("HERMIT_APP_PORT").unwrap_or_default();
            return Err(err("HERMIT_APP_PORT", &value, "forwards ports only with HERMIT_NETIF=user"));
        }
        let capture_net = match get("HERMIT_CAPTURE_NET").as_deref().map(str::trim) {
            None | Some("") | Some("0") => None,
            Some("1") => Some(crate::net::capture::DEFAULT_FILE.into()),
            Some(path) => Some(std::path::PathBuf::from(path)),
        };
        if capture_net.is_some() && netif.is_none() {
            let value = get("HERMIT_CAPTURE_NET").unwrap_or_default();
            return Err(err(
                "HERMIT_CAPTURE_NET",
                &value,
                "records the frames of the guest's network interface, and there is none: set HERMIT_NETIF",
            ));
        }
        let passt_pcap = match get("HERMIT_PASST_PCAP").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(path) if netif != Some(Netif::User) => {
                return Err(err("HERMIT_PASST_PCAP", path, "is passt's capture, only with HERMIT_NETIF=user"));
            }
            Some(path) => Some(std::path::absolute(path).map_err(|e| err("HERMIT_PASST_PCAP", path, &e.to_string()))?),
        };
        Ok(Config {
            capture_net,
            passt_pcap,
            isle,
            debug,
            cpus,
            mem,
            verbose: flag("HERMIT_VERBOSE", false),
            hugepages: flag("HERMIT_HUGEPAGE", true),
            populate: flag("HERMIT_POPULATE", true),
            populate_ahead: flag("HERMIT_POPULATE", true)
                && get("HERMIT_POPULATE").is_none_or(|v| v.trim() != "demand"),
            fast_channel: flag("HERMIT_FASTCALL", true),
            net_ring: flag("HERMIT_NET_RING", true),
            net_offload: flag("HERMIT_NET_OFFLOAD", true),
            net_idle_recv: flag("HERMIT_NET_IDLE_RECV", true),
            uhyve_compat: flag("HERMIT_UHYVE_COMPAT", false),
            ip: address("HERMIT_IP")?,
            gateway: address("HERMIT_GATEWAY")?,
            mask: address("HERMIT_MASK")?,
            netif,
            mac,
            app_ports,
            mounts,
            seccomp: flag("HERMIT_SECCOMP", true),
            seccomp_selftest: flag("HERMIT_SECCOMP_SELFTEST", false),
            cpu_hide: match get("HERMIT_CPU_HIDE") {
                None => 0,
                Some(v) => parse_cpu_hide(&v).ok_or_else(|| {
                    let names: Vec<&str> = cpu::HIDE_NAMES.iter().map(|(name, _)| *name).collect();
                    err("HERMIT_CPU_HIDE", &v, &format!("expected a comma-separated list of {}", names.join(", ")))
                })?,
            },
            qemu,
            cpu_affinity,
        })
    }
}

impl Config {
    /// Checks the number of vCPUs against the `host_cpus` the proxy may run on: at most
    /// [`CPUS_PER_HOST_CPU`] times as many; returns a warning when there are more vCPUs than
    /// host CPUs.
    pub fn check_cpus(&self, host_cpus: u32) -> Result<Option<String>, ConfigError> {
        let host_cpus = host_cpus.max(1);
        let bound = host_cpus.saturating_mul(CPUS_PER_HOST_CPU).min(MAX_CPUS);
        if self.cpus > bound {
            return Err(ConfigError {
                var: "HERMIT_CPUS",
                value: self.cpus.to_string(),
                reason: format!(
                    "more than {CPUS_PER_HOST_CPU} vCPUs per host CPU (this host gives the proxy {host_cpus}); \
                     at most {bound} are accepted"
                ),
            });
        }
        Ok((self.cpus > host_cpus).then(|| {
            format!(
                "warning: HERMIT_CPUS={} is more than the {host_cpus} host CPU(s) the proxy may use; \
                 the vCPUs will share them",
                self.cpus
            )
        }))
    }
}

/// Parses a size with an optional K, M, G or T suffix (powers of 1024), as uhyve did.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 10),
        (i, 'm' | 'M') => (&text[..i], 20),
        (i, 'g' | 'G') => (&text[..i], 30),
        (i, 't' | 'T') => (&text[..i], 40),
        _ => (text, 0),
    };
    let value: u64 = digits.trim().parse().ok()?;
    value.checked_mul(1u64 << shift)
}

/// Parses a comma-separated list of feature names (`avx512,xsave`) into `HIDE_*` bits.
pub fn parse_cpu_hide(text: &str) -> Option<u64> {
    text.split(',').map(str::trim).filter(|name| !name.is_empty()).try_fold(0, |bits, name| {
        cpu::HIDE_NAMES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, bit)| bits | bit)
    })
}

/// Parses a comma-separated list of TCP ports.
/// Each port at most once: passt refuses to forward one port twice (and stopped at start).
pub fn parse_ports(text: &str) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for item in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let port = item.parse::<u16>().ok().filter(|n| *n > 0);
        let port = port.ok_or("expected port numbers 1-65535, comma-separated")?;
        if ports.contains(&port) {
            return Err(format!("port {port} is listed twice"));
        }
        ports.push(port);
    }
    Ok(ports)
}

/// Parses a dotted IPv4 address.
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let addr: std::net::Ipv4Addr = text.trim().parse().ok()?;
    Some(addr.octets())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!((c.isle, c.cpus, c.mem, c.verbose), (Isle::Uhyve, 1, 512 << 20, false));
        assert!(c.hugepages && c.populate && c.populate_ahead && c.fast_channel && c.seccomp && !c.seccomp_selftest);
        assert!(c.mounts.is_empty());
    }

    #[test]
    fn sandbox_settings() {
        let c = config(&[("HERMIT_MOUNT", "/srv/in:/in:ro,out"), ("HERMIT_SECCOMP", "0")]).unwrap();
        assert_eq!(c.mounts.len(), 2);
        assert!(c.mounts[0].read_only && c.mounts[0].guest.as_deref() == Some("/in"));
        assert!(!c.mounts[1].read_only && c.mounts[1].guest.is_none());
        assert!(!c.seccomp);
        let e = config(&[("HERMIT_MOUNT", "/a:relative")]).unwrap_err();
        assert!(e.to_string().contains("must be absolute"), "{e}");
        assert!(config(&[("HERMIT_MOUNT", "")]).unwrap().mounts.is_empty());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("-1M"), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(config(&[("HERMIT_MEM", "2G")]).unwrap().mem, 2 << 30);
        assert!(config(&[("HERMIT_MEM", "1M")]).is_err());
        assert!(config(&[("HERMIT_MEM", "lots")]).is_err());
    }

    #[test]
    fn cpu_affinity_lists() {
        assert_eq!(config(&[]).unwrap().cpu_affinity, None);
        let two = config(&[("HERMIT_CPUS", "2"), ("HERMIT_CPU_AFFINITY", "1,0")]).unwrap();
        assert_eq!(two.cpu_affinity, Some(vec![1, 0]));
        let e = config(&[("HERMIT_CPUS", "3"), ("HERMIT_CPU_AFFINITY", "0-1")]).unwrap_err();
        assert!(e.to_string().contains("lists 2 host CPU(s) for 3 vCPUs"), "{e}");
        assert!(config(&[("HERMIT_CPU_AFFINITY", "0,x")]).is_err());
    }

    #[test]
    fn monitors_and_cpus() {
        assert_eq!(config(&[("HERMIT_ISLE", "qemu")]).unwrap().isle, Isle::Qemu);
        let e = config(&[("HERMIT_ISLE", "3")]).unwrap_err();
        assert!(e.to_string().contains("supported: uhyve (the default) and qemu"), "{e}");
        assert_eq!(config(&[("HERMIT_CPUS", "2")]).unwrap().cpus, 2);
        assert!(config(&[("HERMIT_CPUS", "0")]).is_err());
        assert!(config(&[("HERMIT_CPUS", "many")]).is_err());
    }

    #[test]
    fn long_values_are_shown_by_their_start() {
        let long = "7".repeat(100_000);
        let e = config(&[("HERMIT_CPUS", &long)]).unwrap_err().to_string();
        assert!(e.len() < 300 && e.contains("(100000 bytes)"), "{}", &e[..300.min(e.len())]);
        let e = config(&[("HERMIT_CPUS", &"é".repeat(200))]).unwrap_err().to_string();
        assert!(e.contains("(400 bytes)"), "{e}");
        assert_eq!(
            config(&[("HERMIT_CPUS", "0")]).unwrap_err().to_string(),
            format!("HERMIT_CPUS=\"0\": expected a number from 1 to {MAX_CPUS}")
        );
    }

    #[test]
    fn vcpus_beyond_the_host_warn_and_are_bounded() {
        let c = |n: &str| config(&[("HERMIT_CPUS", n)]).unwrap();
        assert_eq!(c("2").check_cpus(2), Ok(None));
        let warning = c("3").check_cpus(2).unwrap().unwrap();
        assert!(warning.contains("more than the 2 host CPU(s)"), "{warning}");
        assert!(c("8").check_cpus(2).unwrap().is_some());
        let e = c("9").check_cpus(2).unwrap_err();
        assert!(e.to_string().contains("at most 8 are accepted"), "{e}");
        assert!(c("64").check_cpus(2).is_err());
        assert_eq!(c("64").check_cpus(64), Ok(None));
        assert_eq!(c("512").check_cpus(512), Ok(None));
        assert!(c("1").check_cpus(0).unwrap().is_none());
    }

    #[test]
    fn debugger() {
        assert_eq!(config(&[]).unwrap().debug, None);
        assert_eq!(config(&[("HERMIT_DEBUG", "1")]).unwrap().debug, Some(1234));
        assert_eq!(config(&[("HERMIT_DEBUG", "0"), ("HERMIT_DEBUG_PORT", "4000")]).unwrap().debug, None);
        assert_eq!(config(&[("HERMIT_DEBUG", "1"), ("HERMIT_DEBUG_PORT", "4000")]).unwrap().debug, Some(4000));
        assert!(config(&[("HERMIT_DEBUG", "1"), ("HERMIT_DEBUG_PORT", "0")]).is_err());
        assert!(config(&[("HERMIT_DEBUG_PORT", "70000")]).is_err());
        let e = config(&[("HERMIT_DEBUG", "1"), ("HERMIT_UHYVE_COMPAT", "1")]).unwrap_err();
        assert!(e.to_string().contains("debug traps"), "{e}");
    }

    #[test]
    fn qemu_settings() {
        let q = config(&[]).unwrap().qemu;
        assert_eq!((q.binary.as_str(), q.kvm, q.monitor, q.debug), ("qemu-system-x86_64", true, None, None));
        let q =
            config(&[("HERMIT_QEMU", "/opt/q"), ("HERMIT_KVM", "0"), ("HERMIT_MONITOR", "1"), ("HERMIT_DEBUG", "1")])
                .unwrap()
                .qemu;
        assert_eq!((q.binary.as_str(), q.kvm, q.monitor, q.debug), ("/opt/q", false, Some(18767), Some(1234)));
        let q =
            config(&[("HERMIT_MONITOR", "4444"), ("HERMIT_DEBUG", "1"), ("HERMIT_DEBUG_PORT", "4445")]).unwrap().qemu;
        assert_eq!((q.monitor, q.debug), (Some(4444), Some(4445)));
        assert_eq!(config(&[("HERMIT_DEBUG_PORT", "4445")]).unwrap().qemu.debug, None);
        assert!(config(&[("HERMIT_MONITOR", "telnet")]).is_err());
        assert!(config(&[("HERMIT_DEBUG", "1"), ("HERMIT_DEBUG_PORT", "0")]).is_err());
    }

    #[test]
    fn flags_and_addresses() {
        assert!(config(&[("HERMIT_VERBOSE", "1")]).unwrap().verbose);
        assert!(!config(&[("HERMIT_VERBOSE", "0")]).unwrap().verbose);
        let demand = config(&[("HERMIT_POPULATE", "demand")]).unwrap();
        assert!(demand.populate && !demand.populate_ahead);
        assert!(!config(&[("HERMIT_POPULATE", "0")]).unwrap().populate_ahead);
        assert!(config(&[("HERMIT_UHYVE_COMPAT", "1")]).unwrap().uhyve_compat);
        assert_eq!(config(&[("HERMIT_IP", "10.0.5.3")]).unwrap().ip, Some([10, 0, 5, 3]));
        assert!(config(&[("HERMIT_IP", "10.0.5")]).is_err());
        assert_eq!(
            config(&[("HERMIT_CPU_HIDE", "avx512, XSAVE")]).unwrap().cpu_hide,
            cpu::HIDE_AVX512 | cpu::HIDE_XSAVE
        );
        assert_eq!(config(&[("HERMIT_CPU_HIDE", "")]).unwrap().cpu_hide, 0);
        assert!(config(&[("HERMIT_CPU_HIDE", "sse")]).is_err());
    }

    #[test]
    fn network_settings() {
        assert_eq!(config(&[]).unwrap().netif, None);
        assert_eq!(config(&[("HERMIT_NETIF", "tap0")]).unwrap().netif, Some(Netif::Tap("tap0".into())));
        assert_eq!(config(&[("HERMIT_NETIF", "@7")]).unwrap().netif, Some(Netif::Fd(7)));
        assert!(config(&[("HERMIT_NETIF", "@x")]).is_err());
        let user = config(&[("HERMIT_NETIF", "user"), ("HERMIT_APP_PORT", "8080, 9000")]).unwrap();
        assert_eq!((user.netif, user.app_ports), (Some(Netif::User), vec![8080, 9000]));
        assert!(config(&[("HERMIT_NETIF", "user"), ("HERMIT_APP_PORT", "0")]).is_err());
        assert!(config(&[("HERMIT_NETIF", "user"), ("HERMIT_APP_PORT", "70000")]).is_err());
        // passt stopped at start on a port forwarded twice.
        let e = config(&[("HERMIT_NETIF", "user"), ("HERMIT_APP_PORT", "80,8080, 80")]).unwrap_err();
        assert!(e.to_string().contains("port 80 is listed twice"), "{e}");
        let e = config(&[("HERMIT_NETIF", "tap0"), ("HERMIT_APP_PORT", "80")]).unwrap_err();
        assert!(e.to_string().contains("only with HERMIT_NETIF=user"), "{e}");
        let e = config(&[("HERMIT_APP_PORT", "80")]).unwrap_err();
        assert!(e.to_string().contains("only with HERMIT_NETIF=user"), "{e}");
        let qemu = config(&[("HERMIT_ISLE", "qemu"), ("HERMIT_APP_PORT", "80")]).unwrap();
        assert_eq!((qemu.netif, qemu.app_ports), (Some(Netif::User), vec![80]), "implies user under QEMU");
        let e = config(&[("HERMIT_ISLE", "qemu"), ("HERMIT_NETIF", "tap0"), ("HERMIT_APP_PORT", "80")]).unwrap_err();
        assert!(e.to_string().contains("only with HERMIT_NETIF=user"), "{e}");
        let capture = |v: &str| config(&[("HERMIT_NETIF", "tap0"), ("HERMIT_CAPTURE_NET", v)]).unwrap().capture_net;
        assert_eq!(capture("0"), None);
        assert_eq!(capture("1"), Some("qemu-vlan0.pcap".into()));
        assert_eq!(capture("/tmp/x.pcap"), Some("/tmp/x.pcap".into()));
        assert!(config(&[("HERMIT_CAPTURE_NET", "1")]).is_err());
        let pcap = config(&[("HERMIT_NETIF", "user"), ("HERMIT_PASST_PCAP", "p.pcap")]).unwrap().passt_pcap.unwrap();
        assert!(pcap.is_absolute() && pcap.ends_with("p.pcap"), "{pcap:?}");
        assert!(config(&[("HERMIT_NETIF", "tap0"), ("HERMIT_PASST_PCAP", "/tmp/p.pcap")]).is_err());
        assert_eq!(config(&[("HERMIT_NETIF_MAC", "02:00:00:00:00:01")]).unwrap().mac, Some([2, 0, 0, 0, 0, 1]));
        assert!(config(&[("HERMIT_NETIF_MAC", "02:00")]).is_err());
        assert!(config(&[("HERMIT_IP", "300.0.0.1")]).is_err());
    }
}

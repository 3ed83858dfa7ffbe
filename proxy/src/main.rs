//! `proxy`: runs a HermitCore image in a thin KVM hypervisor that speaks the uhyve protocol.
//!
//! `proxy <image> [args...]` loads the image, starts `HERMIT_CPUS` vCPUs and serves the
//! guest's hypercalls until the program exits; the proxy's exit status is the program's.

mod affinity;
mod binfmt;
mod channel;
mod config;
mod elf;
mod entry_state;
mod fileop;
mod files;
#[cfg(test)]
mod fuzz;
mod gdb;
mod guest;
mod host;
mod hostcpu;
mod hypercall;
mod lapic;
mod net;
mod paging;
mod populate;
mod qemu;
mod sandbox;
mod swap;
mod traded;
mod vcpu;
mod vm;

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

const USAGE: &str = "\
Usage: proxy [--mount <host dir>[:<guest path>][:ro]]... <image> [arguments...]
       proxy --install-binfmt [name] | --uninstall-binfmt [name]

Runs a HermitCore application image (built with x86_64-hermit-gcc) in a KVM virtual
machine. The program's standard output and error are the proxy's; its files are the
host's; its exit status becomes the proxy's exit status.

Environment:
  HERMIT_ISLE=uhyve     monitor: uhyve (the built-in KVM hypervisor, the default) or qemu
                        (qemu-system-x86_64 with KVM if /dev/kvm works, else TCG)
  HERMIT_KVM=0          under QEMU: use TCG even where /dev/kvm works
  HERMIT_QEMU=PATH      under QEMU: the QEMU binary (default qemu-system-x86_64)
  HERMIT_QEMU_ARGS=...  under QEMU: more QEMU arguments, e.g. -d int -D qemu.log
  HERMIT_MONITOR=PORT   under QEMU: its monitor on telnet 127.0.0.1:PORT (1: port 18767)
  HERMIT_CPUS=N         number of virtual CPUs (default 1; more than the host's CPUs
                        gives a warning, more than 4 per host CPU is refused)
  HERMIT_MEM=SIZE       guest memory, with K/M/G/T suffixes (default 512M)
  HERMIT_VERBOSE=1      print the kernel console to stderr and its log (.kmsg) at exit
  HERMIT_HUGEPAGE=0     do not back guest memory with transparent huge pages
  HERMIT_POPULATE=0     do not populate guest memory (neither what the kernel takes nor ahead
                        of it); =demand: only what the kernel takes, nothing ahead
  HERMIT_FASTCALL=0     do not offer the fast hypercall channel (use port I/O only)
  HERMIT_UHYVE_COMPAT=1 behave exactly like the original uhyve (no protocol extensions,
                        host errors as -1); for testing compatibility
  HERMIT_NETIF=<tap>|@<fd>|user
                        the guest's network interface: an existing tap device, an
                        attached tap descriptor, or user-mode networking through passt
  HERMIT_NETIF_MAC=xx:xx:xx:xx:xx:xx
                        its MAC address (default: random, locally administered)
  HERMIT_IP, HERMIT_GATEWAY, HERMIT_MASK
                        IPv4 settings written into the kernel header (with a tap the
                        defaults are 10.0.5.2, 10.0.5.1, 255.255.255.0; with user, DHCP)
  HERMIT_APP_PORT=<port>[,<port>...]
                        with HERMIT_NETIF=user: host TCP ports forwarded to the guest
                        (under QEMU it implies HERMIT_NETIF=user when that is unset)
  HERMIT_CAPTURE_NET=1|PATH
                        record the NIC's frames in a pcap file: 1 for qemu-vlan0.pcap in
                        the working directory (the original's name), else PATH
  HERMIT_PASST_PCAP=PATH
                        with HERMIT_NETIF=user: passt's own capture of its frames to
                        and from the guest (written as nobody when run as root)
  HERMIT_MOUNT=<host dir>[:<guest path>][:ro],...
                        the file sandbox: the program sees only these host directories, at
                        these guest paths (default: the same path), read-only with :ro;
                        --mount adds one (repeatable). Without it, the program sees host
                        paths as they are (except the proxy's own /proc entries and devices)
  HERMIT_SOCKET_FD_BIT=0
                        read by the kernel: socket descriptors are plain numbers, without
                        the original's LWIP_FD_BIT (1<<30), for libraries that index tables
                        by descriptor (libevent, libuv)
  HERMIT_SECCOMP=0      do not install the proxy's system-call filter (for debugging)
  HERMIT_DEBUG=1        wait for GDB on TCP 127.0.0.1:1234 before the guest runs
                        (gdb <image> -ex 'target remote :1234'); HERMIT_DEBUG_PORT=N
                        chooses the port; under QEMU its own stub (-gdb and -S)
  HERMIT_CPU_HIDE=LIST  CPU features the kernel treats as absent, comma-separated: avx512,
                        avx (also hides AVX-512), xsave (also hides AVX; FXSAVE is used),
                        fsgsbase (the kernel refuses to boot); for testing the fallbacks
The whole environment of the proxy is passed to the program.

--install-binfmt registers HermitCore images with the host kernel's binfmt_misc (as root;
entry name \"hermit\" by default), so that an executable image runs through this proxy
when started directly: ./app arguments. --uninstall-binfmt removes the entry.

Exit status: the program's exit code; 1 if the proxy could not run the image or stopped
a guest that misbehaved; 242 after a fault in the program (as the original, -EFAULT).";

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    match argv.get(1).map(|a| a.as_bytes()) {
        None => {
            eprintln!("{USAGE}");
            std::process::exit(1);
        }
        Some(b"--help" | b"-h") => {
            println!("{USAGE}");
            return;
        }
        Some(flag @ (b"--install-binfmt" | b"--uninstall-binfmt")) => {
            let name = argv.get(2).map_or(binfmt::DEFAULT_NAME.into(), |n| n.to_string_lossy());
            let done = if flag == b"--install-binfmt" { binfmt::install(&name) } else { binfmt::uninstall(&name) };
            match done {
                Ok(message) => println!("proxy: {message}"),
                Err(message) => {
                    eprintln!("proxy: {message}");
                    std::process::exit(1);
                }
            }
            return;
        }
        Some(b"--version" | b"-V") => {
            println!("proxy {} (HermitCore in Rust)", env!("CARGO_PKG_VERSION"));
            return;
        }
        Some(_) => {}
    }
    let (mounts, rest) = match mount_options(&argv[1..]) {
        Ok(split) => split,
        Err(message) => {
            eprintln!("proxy: {message}");
            std::process::exit(1);
        }
    };
    if rest.is_empty() {
        eprintln!("{USAGE}");
        std::process::exit(1);
    }
    if let Err(message) = run(rest, mounts) {
        eprintln!("proxy: {message}");
        std::process::exit(1);
    }
}

/// Splits the leading `--mount <spec>` / `--mount=<spec>` options off the arguments.
fn mount_options(args: &[OsString]) -> Result<(Vec<sandbox::mounts::MountSpec>, &[OsString]), String> {
    let mut mounts = Vec::new();
    let mut rest = args;
    while let Some(first) = rest.first() {
        let text = first.to_string_lossy();
        let spec = if text == "--mount" {
            let spec = rest.get(1).ok_or("--mount needs <host dir>[:<guest path>][:ro]")?;
            rest = &rest[2..];
            spec.to_string_lossy().into_owned()
        } else if let Some(spec) = text.strip_prefix("--mount=") {
            let spec = spec.to_string();
            rest = &rest[1..];
            spec
        } else {
            break;
        };
        mounts.extend(sandbox::mounts::parse_specs(&spec).map_err(|e| format!("--mount {spec:?}: {e}"))?);
    }
    Ok((mounts, rest))
}

/// Loads and runs `args[0]` with `args` as its argv, with the extra `mounts` of `--mount`;
/// returns only on failure.
fn run(args: &[OsString], mounts: Vec<sandbox::mounts::MountSpec>) -> Result<(), String> {
    let mut config = config::Config::from_env(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    config.mounts.extend(mounts);
    affinity::remember_proxy_cpus();
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    if let Some(warning) = config.check_cpus(host_cpus).map_err(|e| e.to_string())? {
        eprintln!("proxy: {warning}");
    }
    if let Some(list) = &config.cpu_affinity {
        affinity::check(list, config.cpus, &affinity::allowed_cpus())
            .map_err(|e| format!("HERMIT_CPU_AFFINITY: {e}"))?;
    }
    let path = std::path::Path::new(&args[0]);
    let file = elf::read_image(path, config.mem)?;
    let image = elf::parse(&file, config.mem).map_err(|e| format!("{}: {e}", path.display()))?;
    if !config.uhyve_compat {
        elf::check_protocol(&file, &image).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let to_c = |s: &OsString| CString::new(s.clone().into_vec()).ok();
    let guest_args: Vec<CString> = args.iter().filter_map(to_c).collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut pair = k.into_vec();
            pair.push(b'=');
            pair.extend(v.into_vec());
            CString::new(pair).ok()
        })
        .collect();
    let footprint = hypercall::cmdline_footprint(&guest_args, &env);
    if footprint > hermit_interface::MAX_CMDLINE {
        return Err(format!(
            "the arguments and environment take {footprint} bytes, more than the {} a program can receive \
             (Linux's default ARG_MAX)",
            hermit_interface::MAX_CMDLINE
        ));
    }
    // GDB connects before anything of the guest exists (a port in use ends the run here).
    let qemu = config.isle == config::Isle::Qemu;
    let session = match config.debug {
        Some(port) if !qemu => Some(gdb::Session::new(gdb::accept(&gdb::listen(port)?)?, config.cpus as usize)?),
        _ => None,
    };
    let nic = net::Nic::open(&config)?;
    let paths = sandbox::prepare(&config.mounts)?;
    let confine = || sandbox::confine(&paths, config.verbose, qemu);
    if qemu {
        let running = qemu::start(&config, &file, &image, (guest_args, env), nic, confine)?;
        drop(file);
        running.host.set_paths(paths);
        sandbox::filter(config.seccomp, config.seccomp_selftest, false, config.verbose, &[])?;
        qemu::run(running)
    }
    let machine = vm::build(&config, &file, &image, guest_args, env, nic, confine)?;
    drop(file);
    machine.host.set_paths(paths);
    if let Some(session) = session {
        let _ = machine.host.debugger.set(session.control());
        session.start(std::sync::Arc::clone(&machine.host))?;
    }
    if let Some(list) = &config.cpu_affinity {
        affinity::plan(list[..config.cpus as usize].to_vec(), config.verbose);
    }
    // The vCPU threads exist before the filter, which names them (the poller sets their affinity).
    let threads = vcpu::prepare(&machine.host, machine.vcpus);
    let vcpu_threads = affinity::vcpu_threads();
    sandbox::filter(config.seccomp, config.seccomp_selftest, config.debug.is_some(), config.verbose, vcpu_threads)?;
    vcpu::run(machine.host, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn mount_options_come_before_the_image() {
        let a = args(&["--mount", "/srv:/data:ro", "--mount=/tmp", "app", "--mount", "x"]);
        let (mounts, rest) = mount_options(&a).unwrap();
        assert_eq!(mounts.len(), 2);
        assert!(mounts[0].read_only && mounts[0].guest.as_deref() == Some("/data"));
        assert_eq!(rest, &a[3..]);
        assert!(mount_options(&args(&["--mount"])).is_err());
        assert!(mount_options(&args(&["--mount", "/a:b", "app"])).is_err());
        let plain = args(&["app", "arg"]);
        assert_eq!(mount_options(&plain).unwrap().1, &plain[..]);
    }
}

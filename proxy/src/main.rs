//! `proxy`: runs a HermitCore image in a thin KVM hypervisor that speaks the uhyve protocol.
//!
//! `proxy <image> [args...]` loads the image, starts `HERMIT_CPUS` vCPUs and serves the
//! guest's hypercalls until the program exits; the proxy's exit status is the program's.

mod channel;
mod config;
mod elf;
mod files;
mod guest;
mod host;
mod hypercall;
mod paging;
mod populate;
mod vcpu;
mod vm;

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

const USAGE: &str = "\
Usage: proxy <image> [arguments...]

Runs a HermitCore application image (built with x86_64-hermit-gcc) in a KVM virtual
machine. The program's standard output and error are the proxy's; its files are the
host's; its exit status becomes the proxy's exit status.

Environment:
  HERMIT_ISLE=uhyve     monitor; uhyve (the built-in KVM hypervisor) is the default and the
                        only one supported so far
  HERMIT_CPUS=N         number of virtual CPUs (default 1; more than the host's CPUs
                        gives a warning, more than 4 per host CPU is refused)
  HERMIT_MEM=SIZE       guest memory, with K/M/G/T suffixes (default 512M)
  HERMIT_VERBOSE=1      print the kernel console to stderr and its log (.kmsg) at exit
  HERMIT_HUGEPAGE=0     do not back guest memory with transparent huge pages
  HERMIT_POPULATE=0     do not populate guest memory ahead of the guest's use while it runs
  HERMIT_FASTCALL=0     do not offer the fast hypercall channel (use port I/O only)
  HERMIT_UHYVE_COMPAT=1 behave exactly like the original uhyve (no protocol extensions,
                        host errors as -1); for testing compatibility
  HERMIT_IP, HERMIT_GATEWAY, HERMIT_MASK
                        IPv4 settings written into the kernel header
The whole environment of the proxy is passed to the program.

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
        Some(b"--version" | b"-V") => {
            println!("proxy {} (HermitCore in Rust)", env!("CARGO_PKG_VERSION"));
            return;
        }
        Some(_) => {}
    }
    if let Err(message) = run(&argv[1..]) {
        eprintln!("proxy: {message}");
        std::process::exit(1);
    }
}

/// Loads and runs `args[0]` with `args` as its argv; returns only on failure.
fn run(args: &[OsString]) -> Result<(), String> {
    let config = config::Config::from_env(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    if let Some(warning) = config.check_cpus(host_cpus).map_err(|e| e.to_string())? {
        eprintln!("proxy: {warning}");
    }
    let path = std::path::Path::new(&args[0]);
    let file = elf::read_image(path, config.mem)?;
    let image = elf::parse(&file, config.mem).map_err(|e| format!("{}: {e}", path.display()))?;
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
    let machine = vm::build(&config, &file, &image, guest_args, env)?;
    drop(file);
    vcpu::run(machine.host, machine.vcpus)
}

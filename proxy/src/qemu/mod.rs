//! `HERMIT_ISLE=qemu`: the image runs in `qemu-system-x86_64` (KVM when `/dev/kvm` works,
//! else TCG), and the proxy serves its host calls exactly as for its own VM.
//!
//! Guest RAM is a memfd that the proxy maps and QEMU uses as its memory backend
//! (`/proc/self/fd/N`, inherited). Before QEMU starts, the proxy loads the image, writes
//! uhyve's GDT and page tables and the header (with [`FEATURE_QEMU`]) into it, and places
//! the fast channel at [`CHANNEL_GPA`]; QEMU boots the first core through the proxy's
//! [`firmware`], which enters the image in uhyve's 64-bit state, and the kernel starts the
//! others with start-up IPIs. Every host call goes through the channel; a parked poller is
//! woken by a byte the guest writes to an `isa-debugcon` port whose output is a pipe the
//! proxy's main thread reads. QEMU dies with the proxy (`PR_SET_PDEATHSIG`), and a QEMU
//! that ends first ends the run with a message. With a NIC (`HERMIT_NETIF`) the proxy serves
//! the network hypercalls as under uhyve and raises the receive interrupt through an
//! `ivshmem-doorbell` device whose server it is ([`ivshmem`]).

mod command;
pub mod firmware;
pub mod ivshmem;
mod qmp;

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use hermit_interface::header::FEATURE_QEMU;
use hermit_interface::qemu::CHANNEL_GPA;

use crate::channel::Channel;
use crate::config::Config;
use crate::elf::Image;
use crate::guest::{ram_size, GuestRam};
use crate::host::Host;

pub use command::Accel;

/// A started QEMU and the read end of the doorbell pipe.
pub struct Running {
    /// Shared state of the run.
    pub host: Arc<Host>,
    child: Child,
    bell: File,
    binary: String,
    /// Our end of the ivshmem server socket, open as long as the run.
    _net_irq: Option<std::os::unix::net::UnixStream>,
}

/// Loads `image` into fresh shared guest RAM, writes the header and boot tables, starts
/// QEMU on it (with the receive interrupt's device if there is a `nic`), then runs
/// `confine` (the file sandbox must not restrict QEMU, which is started before it).
pub fn start(
    config: &Config,
    file: &[u8],
    image: &Image,
    (args, env): (Vec<CString>, Vec<CString>),
    nic: Option<crate::net::Nic>,
    confine: impl FnOnce() -> Result<(), String>,
) -> Result<Running, String> {
    if config.uhyve_compat {
        return Err("HERMIT_UHYVE_COMPAT=1 cannot run under QEMU: the original protocol's port exits do not \
                    reach the proxy there (use HERMIT_ISLE=uhyve)"
            .into());
    }
    let accel = Accel::choose(config.qemu.kvm);
    let ram_fd = memfd("hermit-guest-ram")?;
    let bytes = ram_size(config.mem);
    ram_fd.set_len(bytes).map_err(|e| format!("cannot size guest memory: {e}"))?;
    let ram_file = ram_fd.try_clone().map_err(|e| format!("cannot share guest memory: {e}"))?;
    let ram = GuestRam::in_file(config.mem, ram_file).map_err(|e| format!("cannot map guest memory: {e}"))?;
    crate::affinity::place_guest_ram(config, &ram)?;
    crate::vm::load_image(file, image, &ram)?;
    let khz = tsc_khz();
    crate::vm::write_header(&ram, config, image, khz, FEATURE_QEMU)?;
    if let Some(nic) = &nic {
        crate::vm::write_net_buffer(&ram, image.entry, nic)?;
    }
    let channel = Channel::validate(&ram, CHANNEL_GPA, config.cpus).map_err(|e| format!("fast channel: {e}"))?;
    let host = Host::new(ram, image.entry, args, env, config.verbose, true, true);
    let _ = host.channel.set(channel);
    crate::vm::stamp_realtime(&host.ram, host.entry);

    let mut firmware = memfd("hermit-firmware")?;
    std::io::Write::write_all(&mut firmware, &firmware::image(image.entry))
        .map_err(|e| format!("cannot write the firmware: {e}"))?;
    let (bell, bell_in) = pipe()?;
    let server = if nic.is_some() { Some(ivshmem::server(memfd)?) } else { None };
    let net_irq = server.as_ref().map(|s| s.qemu_end.as_raw_fd());
    let qmp_pair = match &config.cpu_affinity {
        Some(_) => Some(UnixStream::pair().map_err(|e| format!("cannot create the QMP socket: {e}"))?),
        None => None,
    };
    let fds = command::Fds {
        ram: ram_fd.as_raw_fd(),
        firmware: firmware.as_raw_fd(),
        doorbell: bell_in.as_raw_fd(),
        net_irq,
        qmp: qmp_pair.as_ref().map(|(_, theirs)| theirs.as_raw_fd()),
    };
    let argv = command::arguments(config, accel, bytes, &fds);
    if config.verbose {
        eprintln!("proxy: {} {}", config.qemu.binary, argv.join(" "));
    }
    let inherit: Vec<i32> = [ram_fd.as_raw_fd(), firmware.as_raw_fd(), bell_in.as_raw_fd()]
        .into_iter()
        .chain(net_irq)
        .chain(fds.qmp)
        .collect();
    let mut command = Command::new(&config.qemu.binary);
    command.args(&argv).stdin(Stdio::null()).stdout(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe calls (fcntl, prctl) on descriptors it does not close.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherit {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let child = command.spawn().map_err(|e| {
        format!("cannot start QEMU ({}): {e}; install qemu-system-x86 or set HERMIT_QEMU", config.qemu.binary)
    })?;
    drop(bell_in);
    if config.verbose {
        eprintln!("proxy: QEMU ({}) started, pid {}", accel.name(), child.id());
    }
    if let (Some((ours, theirs)), Some(pins)) = (qmp_pair, &config.cpu_affinity) {
        drop(theirs);
        qmp::pin_and_start(
            ours,
            child.id(),
            &pins[..config.cpus as usize],
            config.qemu.debug.is_some(),
            config.verbose,
        )?;
    }
    let mut net_irq_socket = None;
    if let (Some(nic), Some(server)) = (nic, server) {
        drop(server.qemu_end);
        nic.set_irq(crate::net::irq::RxIrq::from_event(server.event));
        let _ = host.net.set(Arc::new(nic));
        net_irq_socket = Some(server.our_end);
    }
    confine()?;
    let host = host.shared();
    // The poller thread starts now, before the system-call filter: glibc installs a signal
    // handler (rt_sigaction) when a process creates its first thread. The guest's first
    // request is on its way anyway.
    if let Some(channel) = host.channel.get() {
        channel.kick(&host);
    }
    Ok(Running { host, child, bell, binary: config.qemu.binary.clone(), _net_irq: net_irq_socket })
}

/// Serves the doorbell until QEMU ends; the run normally ends earlier, from the poller,
/// when the program exits.
pub fn run(running: Running) -> ! {
    let Running { host, mut child, mut bell, binary, _net_irq } = running;
    let channel = host.channel.get().expect("the channel is set before QEMU starts");
    let mut rings = [0u8; 64];
    loop {
        match bell.read(&mut rings) {
            Ok(0) => break,
            Ok(_) => channel.kick(&host),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let status = child.wait().map_or("an unknown status".to_string(), |s| s.to_string());
    host.fatal(&format!("{binary} ended ({status}) before the program did"))
}

/// The host's TSC frequency: KVM's if `/dev/kvm` works (QEMU/KVM and TCG guests read the
/// host's TSC), else `/proc/cpuinfo`'s.
fn tsc_khz() -> u64 {
    let kvm = kvm_ioctls::Kvm::new().ok();
    let vm = kvm.as_ref().and_then(|k| k.create_vm().ok());
    let khz = vm.as_ref().and_then(|vm| vm.create_vcpu(0).ok()).and_then(|vcpu| vcpu.get_tsc_khz().ok());
    khz.map(u64::from).filter(|k| *k != 0).unwrap_or_else(crate::vm::host_tsc_khz)
}

/// A memfd the child can inherit once its close-on-exec flag is cleared.
fn memfd(name: &str) -> Result<File, String> {
    let cname = CString::new(name).expect("no NUL in the name");
    // SAFETY: a valid NUL-terminated name; the descriptor returned is new and ours.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("cannot create {name}: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// A pipe (read end, write end), both close-on-exec.
fn pipe() -> Result<(File, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("cannot create the doorbell pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both descriptors are fresh and owned from here on.
    Ok(unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

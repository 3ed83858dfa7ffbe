//! QEMU's command line for a run (pure, tested): machine, accelerator, memory backend,
//! firmware, doorbell, monitor and GDB options.

use std::os::fd::RawFd;

use hermit_interface::qemu::DOORBELL_PORT;

use crate::config::Config;
use crate::guest::GAP_START;

/// How QEMU runs the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation through `/dev/kvm` (PVM included).
    Kvm,
    /// QEMU's binary translator, which works everywhere.
    Tcg,
}

impl Accel {
    /// KVM if `want_kvm` and `/dev/kvm` opens for reading and writing, else TCG.
    pub fn choose(want_kvm: bool) -> Accel {
        let usable = || std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
        if want_kvm && usable() {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    /// QEMU's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The descriptors QEMU inherits: guest RAM, firmware, the doorbell pipe's write end, the
/// network interrupt's ivshmem socket.
pub struct Fds {
    /// The guest RAM memfd.
    pub ram: RawFd,
    /// The firmware memfd.
    pub firmware: RawFd,
    /// The doorbell pipe's write end.
    pub doorbell: RawFd,
    /// With a NIC: QEMU's end of the ivshmem server socket (`super::ivshmem`).
    pub net_irq: Option<RawFd>,
    /// With `HERMIT_CPU_AFFINITY`: QEMU's end of the QMP socket (`super::qmp`).
    pub qmp: Option<RawFd>,
}

/// The arguments after the binary's name. `ram_bytes` is the RAM without the device hole.
///
/// The `pc` machine without any default device, with guest RAM split at 0xD0000000 like
/// uhyve's; with KVM the host's CPU model (without `arch-capabilities`, whose MSR PVM hosts
/// refuse), with TCG QEMU's `max` model. `-no-reboot` makes a triple fault end QEMU.
pub fn arguments(config: &Config, accel: Accel, ram_bytes: u64, fds: &Fds) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-machine".into(),
        format!("pc,accel={},max-ram-below-4g={GAP_START:#x},memory-backend=hermit-ram", accel.name()),
        "-cpu".into(),
        match accel {
            Accel::Kvm => "host,-arch-capabilities".into(),
            Accel::Tcg => "max".into(),
        },
        "-smp".into(),
        config.cpus.to_string(),
        "-m".into(),
        format!("{}k", ram_bytes >> 10),
        "-object".into(),
        format!(
            "memory-backend-file,id=hermit-ram,size={}k,mem-path=/proc/self/fd/{},share=on",
            ram_bytes >> 10,
            fds.ram
        ),
        "-bios".into(),
        format!("/proc/self/fd/{}", fds.firmware),
        "-chardev".into(),
        format!("file,id=hermit-doorbell,path=/proc/self/fd/{}", fds.doorbell),
        "-device".into(),
        format!("isa-debugcon,iobase={DOORBELL_PORT:#x},chardev=hermit-doorbell"),
        "-name".into(),
        "hermit,debug-threads=on".into(),
        "-display".into(),
        "none".into(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-no-reboot".into(),
    ];
    if let Some(fd) = fds.net_irq {
        let slot = hermit_interface::qemu::NET_IRQ_PCI_SLOT;
        args.push("-chardev".into());
        args.push(format!("socket,id=hermit-net-irq,fd={fd}"));
        args.push("-device".into());
        args.push(format!("ivshmem-doorbell,chardev=hermit-net-irq,vectors=1,addr={slot:02x}.0"));
    }
    if let Some(port) = config.qemu.monitor {
        args.push("-monitor".into());
        args.push(format!("telnet:127.0.0.1:{port},server=on,wait=off"));
    }
    if let Some(fd) = fds.qmp {
        args.push("-chardev".into());
        args.push(format!("socket,id=hermit-qmp,fd={fd}"));
        args.push("-mon".into());
        args.push("chardev=hermit-qmp,mode=control".into());
    }
    if let Some(port) = config.qemu.debug {
        args.push("-gdb".into());
        args.push(format!("tcp:127.0.0.1:{port}"));
    }
    // Stopped before the first instruction: for GDB, or until the vCPU threads are pinned.
    if config.qemu.debug.is_some() || fds.qmp.is_some() {
        args.push("-S".into());
    }
    args.extend(config.qemu.extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    const FDS: Fds = Fds { ram: 5, firmware: 6, doorbell: 7, net_irq: None, qmp: None };

    #[test]
    fn a_plain_run() {
        let args = arguments(&config(&[("HERMIT_CPUS", "2")]), Accel::Tcg, 512 << 20, &FDS).join(" ");
        assert!(args.starts_with("-machine pc,accel=tcg,max-ram-below-4g=0xd0000000,memory-backend=hermit-ram -cpu max -smp 2 -m 524288k "), "{args}");
        assert!(args.contains("size=524288k,mem-path=/proc/self/fd/5,share=on"), "{args}");
        assert!(args.contains("-bios /proc/self/fd/6"), "{args}");
        assert!(args.contains("path=/proc/self/fd/7 -device isa-debugcon,iobase=0xe9,"), "{args}");
        assert!(!args.contains("-monitor") && !args.contains("-gdb") && !args.contains(" -S"), "{args}");
        assert!(!args.contains("ivshmem"), "{args}");
    }

    #[test]
    fn with_a_nic() {
        let fds = Fds { net_irq: Some(9), ..FDS };
        let args = arguments(&config(&[]), Accel::Tcg, 512 << 20, &fds).join(" ");
        assert!(
            args.contains(
                "-chardev socket,id=hermit-net-irq,fd=9 -device ivshmem-doorbell,chardev=hermit-net-irq,vectors=1,addr=03.0"
            ),
            "{args}"
        );
    }

    #[test]
    fn pinned_vcpus() {
        let fds = Fds { qmp: Some(8), ..FDS };
        let args = arguments(&config(&[]), Accel::Kvm, 512 << 20, &fds).join(" ");
        assert!(args.ends_with("-chardev socket,id=hermit-qmp,fd=8 -mon chardev=hermit-qmp,mode=control -S"), "{args}");
        assert!(args.contains("-name hermit,debug-threads=on"), "{args}");
    }

    #[test]
    fn kvm_monitor_and_gdb() {
        let c = config(&[("HERMIT_MONITOR", "1"), ("HERMIT_DEBUG", "1"), ("HERMIT_DEBUG_PORT", "4000")]);
        let args = arguments(&c, Accel::Kvm, 1 << 30, &FDS).join(" ");
        assert!(args.contains("accel=kvm") && args.contains("-cpu host,-arch-capabilities"), "{args}");
        assert!(args.contains("-monitor telnet:127.0.0.1:18767,server=on,wait=off"), "{args}");
        assert!(args.ends_with("-gdb tcp:127.0.0.1:4000 -S"), "{args}");
    }
}

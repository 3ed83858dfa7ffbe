//! Building the virtual machine: KVM VM, guest RAM, the loaded image, the header, and vCPUs
//! in exactly the state uhyve gives them (`libhermit-abi.md` §7.2, §7.3; [`crate::entry_state`]).

use std::ffi::CString;
use std::sync::Arc;

use hermit_interface::header::{self, offset, HeaderExt, EXT_MAGIC, EXT_VERSION};
use kvm_bindings::{kvm_msr_entry, kvm_userspace_memory_region, CpuId, Msrs, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use crate::config::Config;
use crate::elf::Image;
use crate::entry_state::{self, BOOT_GDT, BOOT_PML4};
use crate::guest::GuestRam;
use crate::host::Host;

/// Port of the kernel console in verbose mode.
const UART_PORT: u64 = 0x800;

/// A machine ready to run.
pub struct Machine {
    /// Shared state of the run.
    pub host: Arc<Host>,
    /// One vCPU per core, in order.
    pub vcpus: Vec<VcpuFd>,
    /// Keeps the VM alive.
    pub _vm: VmFd,
}

/// Builds the machine for `image` (the bytes of `file`). `confine` runs once the KVM device
/// is open and guest memory mapped, before the proxy starts any other thread (the file
/// sandbox must restrict every thread, and Landlock restricts only the calling thread and
/// those it starts later).
pub fn build(
    config: &Config,
    file: &[u8],
    image: &Image,
    args: Vec<CString>,
    env: Vec<CString>,
    nic: Option<crate::net::Nic>,
    confine: impl FnOnce() -> Result<(), String>,
) -> Result<Machine, String> {
    let kvm = Kvm::new().map_err(|e| format!("cannot open /dev/kvm ({e}); is KVM available to this user?"))?;
    let vm = kvm.create_vm().map_err(|e| format!("cannot create a KVM VM: {e}"))?;
    let _ = vm.set_tss_address(0xfeff_d000);
    if let Err(e) = vm.create_irq_chip() {
        if config.verbose {
            eprintln!("proxy: no in-kernel interrupt controller ({e})");
        }
    }
    let ram = GuestRam::new(config.mem, config.hugepages).map_err(|e| format!("cannot allocate guest memory: {e}"))?;
    crate::affinity::place_guest_ram(config, &ram)?;
    confine()?;
    // Registering memory costs KVM several milliseconds whatever the size; it runs while
    // the image is loaded and the vCPUs are prepared.
    let (vcpus, backing) = std::thread::scope(|scope| {
        let slots = scope.spawn(|| register_memory(&vm, &ram));
        let vcpus = prepare(config, file, image, &ram, &kvm, &vm);
        let slots = slots.join().unwrap_or_else(|_| Err("memory registration failed".to_string()));
        slots.and(vcpus)
    })?;

    let extensions = !config.uhyve_compat;
    let fast_channel = config.fast_channel && extensions;
    let host = Host::new(ram, image.entry, args, env, config.verbose, extensions, fast_channel);
    if let Some(backing) = backing {
        let _ = host.backing.set(backing);
    }
    if let Some(nic) = nic {
        if extensions {
            write_net_buffer(&host.ram, image.entry, &nic)?;
        }
        match crate::net::irq::RxIrq::new(&vm) {
            Ok(irq) => nic.set_irq(irq),
            Err(e) => eprintln!("proxy: warning: {e}; the guest gets no receive interrupt and must poll"),
        }
        let _ = host.net.set(Arc::new(nic));
    }
    Ok(Machine { host: host.shared(), vcpus, _vm: vm })
}

/// Registers every RAM region with KVM.
pub(crate) fn register_memory(vm: &VmFd, ram: &GuestRam) -> Result<(), String> {
    for (slot, (gpa, host_addr, len)) in ram.regions().into_iter().enumerate() {
        let region = kvm_userspace_memory_region {
            slot: slot as u32,
            flags: 0,
            guest_phys_addr: gpa,
            memory_size: len,
            userspace_addr: host_addr,
        };
        // SAFETY: the region is a live anonymous mapping owned by `ram`, which the `Host`
        // keeps for as long as the VM runs (the process ends with the VM).
        unsafe { vm.set_user_memory_region(region) }.map_err(|e| format!("cannot register guest memory: {e}"))?;
    }
    Ok(())
}

/// Loads the image, writes uhyve's boot tables and the header, and creates the vCPUs.
fn prepare(
    config: &Config,
    file: &[u8],
    image: &Image,
    ram: &GuestRam,
    kvm: &Kvm,
    vm: &VmFd,
) -> Result<(Vec<VcpuFd>, Option<Arc<crate::populate::Backing>>), String> {
    load_image(file, image, ram)?;
    let mut vcpus = Vec::new();
    for id in 0..config.cpus {
        vcpus.push(vm.create_vcpu(u64::from(id)).map_err(|e| format!("cannot create vCPU {id}: {e}"))?);
    }
    let cpuid = guest_cpuid(kvm, config.cpu_hide)?;
    for vcpu in &vcpus {
        setup_vcpu(vcpu, &cpuid, image.entry)?;
    }
    let khz = u64::from(vcpus[0].get_tsc_khz().unwrap_or(0));
    let khz = if khz == 0 { host_tsc_khz() } else { khz };
    // The original uhyve left the APIC at its reset state, and the original kernel (its
    // header says disable_x2apic = 1) then uses the xAPIC: only our images get it prepared.
    let x2apic_image = ram.read::<u32>(image.entry + offset::DISABLE_X2APIC as u64).is_ok_and(|v| v == 0);
    let apic_prepared = !config.uhyve_compat && x2apic_image && vcpus.iter().all(crate::lapic::prepare);
    let vcpu_features = if apic_prepared { header::FEATURE_APIC_PREPARED } else { 0 };
    write_header(ram, config, image, khz, vcpu_features)?;
    let heap = pretouch(config, image, ram);
    let backing = config.populate.then(|| crate::populate::Backing::new(ram.clone(), image.entry, heap));
    if let Some(backing) = backing.as_ref().filter(|_| config.populate_ahead) {
        backing.start_ahead();
    }
    Ok((vcpus, backing))
}

/// Copies the segments of `image` (validated against `file`) to their load addresses and
/// writes uhyve's boot tables.
pub(crate) fn load_image(file: &[u8], image: &Image, ram: &GuestRam) -> Result<(), String> {
    for seg in image.segments.iter().filter(|s| s.filesz > 0) {
        let bytes = &file[seg.offset as usize..(seg.offset + seg.filesz) as usize];
        ram.write_bytes(seg.paddr, bytes).map_err(|e| format!("cannot load the image: {e}"))?;
    }
    write_boot_tables(ram)
}

/// Backs with huge pages, before the guest runs, the 2 MiB pages every boot touches: the
/// kernel heap below the image, the image, the start of the application heap and the top
/// 4 MiB of RAM (the cores' stacks, then the top of the main task's stack). Returns where the
/// application heap starts.
pub(crate) fn pretouch(config: &Config, image: &Image, ram: &GuestRam) -> u64 {
    ram.pretouch(0x20_0000, 0x40_0000);
    ram.pretouch(image.start(), image.end());
    let heap = (image.start() + image.size() + 0x4000 + 0x1f_ffff) & !0x1f_ffff;
    ram.pretouch(heap, heap + 0x20_0000);
    ram.pretouch(config.mem - 0x40_0000, config.mem);
    heap
}

/// uhyve's boot GDT and identity page tables for the first 512 MiB (2 MiB pages).
pub(crate) fn write_boot_tables(ram: &GuestRam) -> Result<(), String> {
    let err = |e| format!("cannot write the boot tables: {e}");
    ram.write::<u64>(BOOT_GDT, 0).map_err(err)?;
    ram.write::<u64>(BOOT_GDT + 8, 0x00af_9b00_0000_ffff).map_err(err)?;
    ram.write::<u64>(BOOT_GDT + 16, 0x00cf_9300_0000_ffff).map_err(err)?;
    ram.write::<u64>(BOOT_PML4, (BOOT_PML4 + 0x1000) | 0x3).map_err(err)?;
    ram.write::<u64>(BOOT_PML4 + 0x1000, (BOOT_PML4 + 0x2000) | 0x3).map_err(err)?;
    for i in 0..crate::entry_state::BOOT_MAPPED >> 21 {
        ram.write::<u64>(BOOT_PML4 + 0x2000 + 8 * i, (i << 21) | 0x83).map_err(err)?;
    }
    Ok(())
}

/// The header fields uhyve writes, plus this project's extension block, which offers
/// `vcpu_features` (the `FEATURE_*_PREPARED` bits of the state the vCPUs start in, and
/// `FEATURE_QEMU` under QEMU).
pub(crate) fn write_header(
    ram: &GuestRam,
    config: &Config,
    image: &Image,
    khz: u64,
    vcpu_features: u64,
) -> Result<(), String> {
    let at = |off: usize| image.entry + off as u64;
    let err = |e| format!("cannot write the kernel header: {e}");
    ram.write::<u64>(at(offset::BASE), image.start()).map_err(err)?;
    ram.write::<u64>(at(offset::LIMIT), config.mem).map_err(err)?;
    ram.write::<u32>(at(offset::CPU_FREQ), (khz / 1000) as u32).map_err(err)?;
    ram.write::<u32>(at(offset::POSSIBLE_CPUS), config.cpus).map_err(err)?;
    ram.write::<u32>(at(offset::CURRENT_BOOT_ID), 0).map_err(err)?;
    ram.write::<u32>(at(offset::POSSIBLE_ISLES), 1).map_err(err)?;
    ram.write::<u32>(at(offset::UHYVE), 1).map_err(err)?;
    ram.write::<u64>(at(offset::IMAGE_SIZE), image.size()).map_err(err)?;
    if config.verbose {
        ram.write::<u64>(at(offset::UARTPORT), UART_PORT).map_err(err)?;
    }
    for (field, value) in header_addresses(config) {
        if let Some(octets) = value {
            ram.write_bytes(at(field), &octets).map_err(err)?;
        }
    }
    // uhyve wrote the host address of guest memory here; it would tell a guest where to aim
    // in the proxy, and the kernel does not need it.
    ram.write::<u64>(at(offset::HOST_LOGICAL_ADDR), 0).map_err(err)?;
    if config.uhyve_compat {
        return Ok(());
    }

    let mut features = header::FEATURE_EXT_HYPERCALLS | header::FEATURE_CMDLINE | header::FEATURE_CHAINED_CALLS;
    if config.fast_channel {
        features |= header::FEATURE_FAST_CHANNEL;
    }
    features |= vcpu_features & (header::FEATURE_APIC_PREPARED | header::FEATURE_QEMU);
    if config.debug.is_some() && config.isle == crate::config::Isle::Uhyve {
        features |= header::FEATURE_DEBUG;
    }
    if config.netif.is_some() {
        features |= header::FEATURE_NET_BATCH | header::FEATURE_NET_NOTIFY;
        if config.net_ring {
            features |= header::FEATURE_NET_RING;
            if config.net_offload && !matches!(config.netif, Some(crate::config::Netif::User)) {
                features |= header::FEATURE_NET_OFFLOAD;
                if config.net_idle_recv && vcpu_features & header::FEATURE_QEMU == 0 {
                    features |= header::FEATURE_NET_IDLE_RECV;
                }
            }
        }
    }
    if config.populate && vcpu_features & header::FEATURE_QEMU == 0 {
        features |= header::FEATURE_POPULATE;
    }
    let ext = HeaderExt {
        magic: EXT_MAGIC,
        version: EXT_VERSION,
        features,
        realtime_ns: 0,
        tsc_khz: khz,
        cpu_hide: config.cpu_hide,
        ..Default::default()
    };
    let base = at(offset::EXT);
    ram.write::<u32>(base, ext.magic).map_err(err)?;
    ram.write::<u32>(base + 4, ext.version).map_err(err)?;
    ram.write::<u64>(base + 8, ext.features).map_err(err)?;
    ram.write::<u64>(base + 24, ext.tsc_khz).map_err(err)?;
    ram.write::<u64>(base + std::mem::offset_of!(HeaderExt, cpu_hide) as u64, ext.cpu_hide).map_err(err)?;
    // Not under QEMU (its own loop), nor for the GDB stub: a debugger single-steps the `out`
    // of a hypercall through the kernel's trampoline (`check-gdb.sh`, hypercall-step).
    if features & (header::FEATURE_QEMU | header::FEATURE_DEBUG) == 0 {
        let doorbell = base + std::mem::offset_of!(HeaderExt, doorbell) as u64;
        ram.write::<u64>(doorbell, header::DOORBELL_GPA).map_err(err)?;
    }
    Ok(())
}

/// Writes the header extension's `net_tcp_buffer`: the TCP buffer the NIC `nic` wants the
/// kernel's connections to have (0 for the kernel's default).
pub(crate) fn write_net_buffer(ram: &GuestRam, entry: u64, nic: &crate::net::Nic) -> Result<(), String> {
    let at = entry + (offset::EXT + std::mem::offset_of!(HeaderExt, net_tcp_buffer)) as u64;
    ram.write::<u64>(at, nic.tcp_buffer()).map_err(|e| format!("cannot write the kernel header: {e}"))
}

/// The header's `hcip`, `hcgateway` and `hcmask`: what `HERMIT_IP`, `HERMIT_GATEWAY` and
/// `HERMIT_MASK` say; with a tap the original's defaults for the rest (10.0.5.2, 10.0.5.1,
/// 255.255.255.0); in user mode 0.0.0.0 for the rest (the kernel asks passt by DHCP); without
/// a NIC only the given ones (the image keeps its own defaults).
fn header_addresses(config: &Config) -> [(usize, Option<[u8; 4]>); 3] {
    use crate::config::{Netif, TAP_DEFAULTS};
    let given = [config.ip, config.gateway, config.mask];
    let fallback = match config.netif {
        None => [None; 3],
        Some(Netif::User) => [Some([0; 4]); 3],
        Some(_) => TAP_DEFAULTS.map(Some),
    };
    let value = |i: usize| given[i].or(fallback[i]);
    [(offset::HCIP, value(0)), (offset::HCGATEWAY, value(1)), (offset::HCMASK, value(2))]
}

/// Stores the host's wall-clock and monotonic times into the extension block, just before
/// the first entry.
pub fn stamp_realtime(ram: &GuestRam, entry: u64) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let ext = entry + offset::EXT as u64;
    let _ = ram.write::<u64>(ext + std::mem::offset_of!(HeaderExt, realtime_ns) as u64, now);
    let _ = ram.write::<u64>(ext + std::mem::offset_of!(HeaderExt, monotonic_ns) as u64, host_monotonic_ns());
}

/// The host's `CLOCK_MONOTONIC` in nanoseconds.
fn host_monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// The CPUID table for the guest: what KVM supports, with the host's feature leaves 1 and 7
/// (on PVM hosts `KVM_GET_SUPPORTED_CPUID` under-reports them, yet the guest sees the host's
/// values anyway) and the hypervisor bit, without the features `hide` names
/// (`hermit_interface::cpu`; effective on hardware KVM, while on PVM the kernel applies the
/// same mask to its own `cpuid`).
pub(crate) fn guest_cpuid(kvm: &Kvm, hide: u64) -> Result<CpuId, String> {
    let mut cpuid =
        kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).map_err(|e| format!("cannot read the supported CPUID: {e}"))?;
    for entry in cpuid.as_mut_slice() {
        match (entry.function, entry.index) {
            (1, _) => {
                // x2APIC (21) and the TSC-deadline timer (24) are KVM's to offer (it emulates
                // them), whatever the host CPU says.
                let host = std::arch::x86_64::__cpuid(1);
                entry.ecx = host.ecx | (1 << 31) | (entry.ecx & ((1 << 21) | (1 << 24)));
                entry.edx = host.edx;
            }
            (7, 0) => {
                let host = std::arch::x86_64::__cpuid_count(7, 0);
                entry.ebx = host.ebx;
                entry.ecx = host.ecx;
                entry.edx = host.edx;
            }
            (0xa, _) => {
                entry.eax = 0;
                entry.ebx = 0;
                entry.ecx = 0;
                entry.edx = 0;
            }
            _ => {}
        }
        let regs = [entry.eax, entry.ebx, entry.ecx, entry.edx];
        [entry.eax, entry.ebx, entry.ecx, entry.edx] =
            hermit_interface::cpu::hide(hide, entry.function, entry.index, regs);
    }
    Ok(cpuid)
}

/// Puts a vCPU into the original uhyve's entry state ([`entry_state`]): its CPUID table,
/// `IA32_MISC_ENABLE` = 1, the system registers from the vCPU's reset state plus uhyve's
/// GDT, page tables and long mode, the general registers all zero but RIP and RFLAGS, and
/// runnable (with the in-kernel interrupt controller, secondary vCPUs would wait for
/// INIT/SIPI). CR4 and XCR0 are left at their reset values: the kernel enables SSE, FSGSBASE
/// and XSAVE itself.
pub(crate) fn setup_vcpu(vcpu: &VcpuFd, cpuid: &CpuId, entry: u64) -> Result<(), String> {
    vcpu.set_cpuid2(cpuid).map_err(|e| format!("cannot set the guest CPUID: {e}"))?;
    let misc = kvm_msr_entry { index: entry_state::MSR_IA32_MISC_ENABLE, data: 1, ..Default::default() };
    let msrs = Msrs::from_entries(&[misc]).map_err(|e| format!("cannot build the MSR list: {e:?}"))?;
    // KVM_SET_MSRS reports how many it set; a host that refuses this one changes nothing else.
    let _ = vcpu.set_msrs(&msrs);
    let reset = vcpu.get_sregs().map_err(|e| format!("cannot read vCPU state: {e}"))?;
    vcpu.set_sregs(&entry_state::sregs(reset)).map_err(|e| format!("cannot set vCPU state: {e}"))?;
    vcpu.set_regs(&entry_state::regs(entry)).map_err(|e| format!("cannot set vCPU registers: {e}"))?;
    let runnable = kvm_bindings::kvm_mp_state { mp_state: kvm_bindings::KVM_MP_STATE_RUNNABLE };
    vcpu.set_mp_state(runnable).map_err(|e| format!("cannot make the vCPU runnable: {e}"))?;
    Ok(())
}

/// TSC frequency from the host when KVM cannot tell: `/proc/cpuinfo`'s "cpu MHz".
pub(crate) fn host_tsc_khz() -> u64 {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(1_000_000, |mhz| (mhz * 1000.0) as u64)
}

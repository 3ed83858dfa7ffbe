//! The kernel header at 0x800000 that loaders fill in before the first instruction runs.

use core::mem::{offset_of, size_of};

/// The boot header of a HermitCore image, at the image's first byte (`_start`).
///
/// Byte-exact copy of the original layout (`libhermit-abi.md` §6.2). The first 8 bytes are
/// the `jmp` to the real entry point; loaders write the fields that follow. Multi-byte
/// fields are little-endian and several are unaligned, hence `packed`.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct KernelHeader {
    /// `jmp rel32` to the entry code plus three `nop`s.
    pub entry_jump: [u8; 8],
    /// Physical address of the image.
    pub base: u64,
    /// End of usable guest-physical memory.
    pub limit: u64,
    /// TSC frequency in MHz.
    pub cpu_freq: u32,
    /// APIC id of the boot processor (-1: unknown).
    pub boot_processor: u32,
    /// Number of cores that are up; the kernel increments it, loaders poll it.
    pub cpu_online: u32,
    /// Number of cores the loader will start.
    pub possible_cpus: u32,
    /// RCCE shared area (multi-kernel only).
    pub phy_rcce_internals: u64,
    /// Id of the core that is booting right now.
    pub current_boot_id: u32,
    /// Isle number (-1: none).
    pub isle: u32,
    /// Bytes of the loaded image including BSS.
    pub image_size: u64,
    /// Multi-kernel isle locks.
    pub phy_isle_locks: u64,
    /// Multi-kernel mmnif receive heap (physical).
    pub heap_phy_start_address: u64,
    /// Multi-kernel mmnif headers (physical).
    pub header_phy_start_address: u64,
    /// Multi-kernel mmnif heap size.
    pub heap_size: u32,
    /// Multi-kernel mmnif header size.
    pub header_size: u32,
    /// Number of isles.
    pub possible_isles: u32,
    /// Multi-kernel heap start (unaligned field).
    pub heap_start_address: u64,
    /// Multi-kernel header start (unaligned field).
    pub header_start_address: u64,
    /// 1 unless the host uses x2APIC.
    pub disable_x2apic: u32,
    /// 0 selects multi-kernel mode.
    pub single_kernel: u32,
    /// Multiboot information pointer, stored by the kernel from `rdx`.
    pub mb_info: u64,
    /// High-bandwidth memory base.
    pub hbmem_base: u64,
    /// High-bandwidth memory size.
    pub hbmem_size: u64,
    /// Non-zero when running under uhyve.
    pub uhyve: u32,
    /// Serial port for the kernel console (0: none).
    pub uartport: u64,
    /// Command line address (multiboot loaders).
    pub cmdline: u64,
    /// Command line length.
    pub cmdsize: u64,
    /// Static IPv4 address for uhyve networking.
    pub hcip: [u8; 4],
    /// IPv4 gateway for uhyve networking.
    pub hcgateway: [u8; 4],
    /// IPv4 netmask for uhyve networking.
    pub hcmask: [u8; 4],
    /// Host-virtual address of guest memory (uhyve).
    pub host_logical_addr: u64,
}

/// Byte offsets of the header fields, as named by the original `entry.asm`.
pub mod offset {
    use super::*;

    /// `base`
    pub const BASE: usize = offset_of!(KernelHeader, base);
    /// `limit`
    pub const LIMIT: usize = offset_of!(KernelHeader, limit);
    /// `cpu_freq`
    pub const CPU_FREQ: usize = offset_of!(KernelHeader, cpu_freq);
    /// `boot_processor`
    pub const BOOT_PROCESSOR: usize = offset_of!(KernelHeader, boot_processor);
    /// `cpu_online`
    pub const CPU_ONLINE: usize = offset_of!(KernelHeader, cpu_online);
    /// `possible_cpus`
    pub const POSSIBLE_CPUS: usize = offset_of!(KernelHeader, possible_cpus);
    /// `phy_rcce_internals`
    pub const PHY_RCCE_INTERNALS: usize = offset_of!(KernelHeader, phy_rcce_internals);
    /// `current_boot_id`
    pub const CURRENT_BOOT_ID: usize = offset_of!(KernelHeader, current_boot_id);
    /// `isle`
    pub const ISLE: usize = offset_of!(KernelHeader, isle);
    /// `image_size`
    pub const IMAGE_SIZE: usize = offset_of!(KernelHeader, image_size);
    /// `phy_isle_locks`
    pub const PHY_ISLE_LOCKS: usize = offset_of!(KernelHeader, phy_isle_locks);
    /// `heap_phy_start_address`
    pub const HEAP_PHY_START_ADDRESS: usize = offset_of!(KernelHeader, heap_phy_start_address);
    /// `header_phy_start_address`
    pub const HEADER_PHY_START_ADDRESS: usize = offset_of!(KernelHeader, header_phy_start_address);
    /// `heap_size`
    pub const HEAP_SIZE: usize = offset_of!(KernelHeader, heap_size);
    /// `header_size`
    pub const HEADER_SIZE: usize = offset_of!(KernelHeader, header_size);
    /// `possible_isles`
    pub const POSSIBLE_ISLES: usize = offset_of!(KernelHeader, possible_isles);
    /// `heap_start_address`
    pub const HEAP_START_ADDRESS: usize = offset_of!(KernelHeader, heap_start_address);
    /// `header_start_address`
    pub const HEADER_START_ADDRESS: usize = offset_of!(KernelHeader, header_start_address);
    /// `disable_x2apic`
    pub const DISABLE_X2APIC: usize = offset_of!(KernelHeader, disable_x2apic);
    /// `single_kernel`
    pub const SINGLE_KERNEL: usize = offset_of!(KernelHeader, single_kernel);
    /// `mb_info`
    pub const MB_INFO: usize = offset_of!(KernelHeader, mb_info);
    /// `hbmem_base`
    pub const HBMEM_BASE: usize = offset_of!(KernelHeader, hbmem_base);
    /// `hbmem_size`
    pub const HBMEM_SIZE: usize = offset_of!(KernelHeader, hbmem_size);
    /// `uhyve`
    pub const UHYVE: usize = offset_of!(KernelHeader, uhyve);
    /// `uartport`
    pub const UARTPORT: usize = offset_of!(KernelHeader, uartport);
    /// `cmdline`
    pub const CMDLINE: usize = offset_of!(KernelHeader, cmdline);
    /// `cmdsize`
    pub const CMDSIZE: usize = offset_of!(KernelHeader, cmdsize);
    /// `hcip`
    pub const HCIP: usize = offset_of!(KernelHeader, hcip);
    /// `hcgateway`
    pub const HCGATEWAY: usize = offset_of!(KernelHeader, hcgateway);
    /// `hcmask`
    pub const HCMASK: usize = offset_of!(KernelHeader, hcmask);
    /// `host_logical_addr`
    pub const HOST_LOGICAL_ADDR: usize = offset_of!(KernelHeader, host_logical_addr);
    /// The extension block ([`HeaderExt`]).
    pub const EXT: usize = 0x100;
    /// The kernel's protocol stamp ([`HeaderExt::kernel_stamp`]), in the image file itself.
    pub const KERNEL_STAMP: usize = EXT + core::mem::offset_of!(HeaderExt, kernel_stamp);
}

// The original offsets (libhermit-abi.md §1 fact 3); a change here breaks every loader.
const _: () = {
    assert!(offset::BASE == 0x08);
    assert!(offset::LIMIT == 0x10);
    assert!(offset::CPU_FREQ == 0x18);
    assert!(offset::BOOT_PROCESSOR == 0x1C);
    assert!(offset::CPU_ONLINE == 0x20);
    assert!(offset::POSSIBLE_CPUS == 0x24);
    assert!(offset::PHY_RCCE_INTERNALS == 0x28);
    assert!(offset::CURRENT_BOOT_ID == 0x30);
    assert!(offset::ISLE == 0x34);
    assert!(offset::IMAGE_SIZE == 0x38);
    assert!(offset::PHY_ISLE_LOCKS == 0x40);
    assert!(offset::HEAP_PHY_START_ADDRESS == 0x48);
    assert!(offset::HEADER_PHY_START_ADDRESS == 0x50);
    assert!(offset::HEAP_SIZE == 0x58);
    assert!(offset::HEADER_SIZE == 0x5C);
    assert!(offset::POSSIBLE_ISLES == 0x60);
    assert!(offset::HEAP_START_ADDRESS == 0x64);
    assert!(offset::HEADER_START_ADDRESS == 0x6C);
    assert!(offset::DISABLE_X2APIC == 0x74);
    assert!(offset::SINGLE_KERNEL == 0x78);
    assert!(offset::MB_INFO == 0x7C);
    assert!(offset::HBMEM_BASE == 0x84);
    assert!(offset::HBMEM_SIZE == 0x8C);
    assert!(offset::UHYVE == 0x94);
    assert!(offset::UARTPORT == 0x98);
    assert!(offset::CMDLINE == 0xA0);
    assert!(offset::CMDSIZE == 0xA8);
    assert!(offset::HCIP == 0xB0);
    assert!(offset::HCGATEWAY == 0xB4);
    assert!(offset::HCMASK == 0xB8);
    assert!(offset::HOST_LOGICAL_ADDR == 0xBC);
    assert!(size_of::<KernelHeader>() == 0xC4);
    assert!(offset::EXT >= size_of::<KernelHeader>());
    assert!(offset::EXT + size_of::<HeaderExt>() <= 0x1000);
};

/// Default values of the header fields that are not zero in a fresh image.
pub mod default {
    /// `boot_processor`: unknown.
    pub const BOOT_PROCESSOR: u32 = u32::MAX;
    /// `isle`: none.
    pub const ISLE: u32 = u32::MAX;
    /// `possible_isles`
    pub const POSSIBLE_ISLES: u32 = 1;
    /// `disable_x2apic`: 0, this kernel drives its local APIC in x2APIC mode only. (The
    /// original's images carry 1 and, under uhyve, use the xAPIC; the proxy prepares the
    /// APIC, [`crate::header::FEATURE_APIC_PREPARED`], only for images that say 0.)
    pub const DISABLE_X2APIC: u32 = 0;
    /// `single_kernel`
    pub const SINGLE_KERNEL: u32 = 1;
    /// `hcip`: 10.0.5.2
    pub const HCIP: [u8; 4] = [10, 0, 5, 2];
    /// `hcgateway`: 10.0.5.1
    pub const HCGATEWAY: [u8; 4] = [10, 0, 5, 1];
    /// `hcmask`: 255.255.255.0
    pub const HCMASK: [u8; 4] = [255, 255, 255, 0];
}

/// Magic value of [`HeaderExt::magic`] ("HRS1" in memory).
pub const EXT_MAGIC: u32 = u32::from_le_bytes(*b"HRS1");

/// Revision of the extension protocol described by this crate: the header extension's
/// layout, the fast channel's control block and slots, and the extension ports. Loaders
/// write it into [`HeaderExt::version`]; kernels carry it in their image's
/// [`HeaderExt::kernel_stamp`]. Bump it with every change that an image or a loader of the
/// previous revision would misread (revision 1 had no stamp; loaders recognize and refuse
/// such images, see [`image_protocol`]).
pub const EXT_VERSION: u32 = 7;

/// Feature bit: the loader serves the fast channel ([`crate::channel`]).
pub const FEATURE_FAST_CHANNEL: u64 = 1 << 0;
/// Feature bit: the loader serves the extension hypercalls (`UNLINK`, `STAT`, ...).
pub const FEATURE_EXT_HYPERCALLS: u64 = 1 << 1;
// Bit 2 (formerly "the loader has set CR4/XCR0 before entry") is retired: every vCPU now
// starts in exactly the original uhyve's state, and the kernel enables SSE, XSAVE and
// FSGSBASE itself. Do not reuse it.
/// Feature bit: the loader serves `CMDLINE` (more than 128 arguments or variables).
pub const FEATURE_CMDLINE: u64 = 1 << 3;
/// Feature bit: every vCPU starts with its local APIC as [`crate::apic`] describes (x2APIC
/// mode, software-enabled, TSC-deadline timer), so the kernel need not program it. Offered
/// only to images whose header has `disable_x2apic` 0.
pub const FEATURE_APIC_PREPARED: u64 = 1 << 4;
/// Feature bit: a debugger (the loader's GDB stub) is attached: the kernel's CPL-0
/// trampoline hands #BP and #DB from CPL 3 to the loader ([`crate::hypercall::port::DEBUG`])
/// instead of reporting them as faults.
pub const FEATURE_DEBUG: u64 = 1 << 5;
/// Feature bit: the guest runs in QEMU ([`crate::qemu`]): the channel is already at
/// [`crate::qemu::CHANNEL_GPA`], port exits are never served (the doorbell wakes the host),
/// and the kernel starts secondary cores with start-up IPIs.
pub const FEATURE_QEMU: u64 = 1 << 6;
/// Feature bit: the loader has a network interface and serves the batched frame calls
/// [`crate::hypercall::port::NETWRITEV`] and [`crate::hypercall::port::NETREADV`] (many
/// frames per host call) beside the original one-frame `NETWRITE`/`NETREAD`.
pub const FEATURE_NET_BATCH: u64 = 1 << 7;
/// Feature bit: the loader serves [`crate::hypercall::port::POPULATE`] and publishes what
/// it has backed with host memory ([`HeaderExt::heap_ready`], [`HeaderExt::kernel_ready`]).
pub const FEATURE_POPULATE: u64 = 1 << 8;
/// Feature bit: the loader has a network interface and tells the kernel about waiting
/// received frames through [`HeaderExt::net_rx_signal`] as well: it raises the receive
/// interrupt only while no core polls that word ([`HeaderExt::net_rx_polling`] 0).
pub const FEATURE_NET_NOTIFY: u64 = 1 << 9;
/// Feature bit: the loader has a network interface and serves its shared-memory descriptor
/// rings ([`crate::netring`], port [`crate::hypercall::port::NETRING`]); offered with
/// [`FEATURE_NET_BATCH`] and [`FEATURE_NET_NOTIFY`], whose calls stay for kernels without
/// rings.
pub const FEATURE_NET_RING: u64 = 1 << 10;
/// Feature bit: with [`FEATURE_NET_RING`], the loader's NIC is a tap that can take offloads:
/// the kernel may set the rings up with [`crate::netring::NETRING_F_VNET_HDR`] (a
/// virtio-net header on every ring frame, checksum offload and TSO both ways; see
/// [`crate::vnet`]). Not offered behind passt, or with `HERMIT_NET_OFFLOAD=0`.
pub const FEATURE_NET_OFFLOAD: u64 = 1 << 11;
/// Feature bit: with [`FEATURE_NET_OFFLOAD`], the loader serves
/// [`crate::netring::NETRING_RECV`]: an idle guest core reads the tap in its own vCPU
/// thread during a bulk receive instead of spinning. Not under QEMU, nor with
/// `HERMIT_NET_IDLE_RECV=0`.
pub const FEATURE_NET_IDLE_RECV: u64 = 1 << 13;
/// Feature bit: the loader serves `FILEOP` [`crate::hypercall::file_op::CHAIN`] (two
/// requests in one port exit).
pub const FEATURE_CHAINED_CALLS: u64 = 1 << 14;

/// Low half of [`HeaderExt::kernel_stamp`] in this project's images ("HRSk" in memory).
pub const KERNEL_STAMP_MAGIC: u32 = u32::from_le_bytes(*b"HRSk");

/// The stamp a kernel built from this crate carries at [`offset::KERNEL_STAMP`]:
/// [`KERNEL_STAMP_MAGIC`] in the low half, [`EXT_VERSION`] in the high half.
pub const KERNEL_STAMP: u64 = KERNEL_STAMP_MAGIC as u64 | (EXT_VERSION as u64) << 32;

/// What an image's header says about the extension protocol its kernel speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProtocol {
    /// Stamped with this crate's revision: the extensions may be offered.
    Current,
    /// Stamped with another revision (an image of an older or newer build of this project):
    /// its fast channel or header extension would be misread, so a loader refuses it.
    Other(u32),
    /// No stamp, but the image is recognizably this project's ([`image_protocol`]'s
    /// `ours`): built before the stamp existed (revision 1), refused like
    /// [`ImageProtocol::Other`].
    Unstamped,
    /// No stamp and nothing of this project's kernel: an original HermitCore image (or a
    /// hand-made one), which never looks at the extension block; it runs as before.
    Original,
}

/// Classifies an image by the 8 bytes at [`offset::KERNEL_STAMP`] as the image file holds
/// them (before a loader writes anything) and by whether the loader recognized the image as
/// one of this project's kernels by other means (`ours`: for images built before the stamp).
pub const fn image_protocol(stamp: u64, ours: bool) -> ImageProtocol {
    if stamp as u32 == KERNEL_STAMP_MAGIC {
        let version = (stamp >> 32) as u32;
        if version == EXT_VERSION {
            ImageProtocol::Current
        } else {
            ImageProtocol::Other(version)
        }
    } else if ours {
        ImageProtocol::Unstamped
    } else {
        ImageProtocol::Original
    }
}

/// Extension block at `image + 0x100`, written only by this project's proxy.
///
/// The original loaders leave the bytes zero, so `magic` tells the kernel whether the
/// extensions are available. This is an addition to the original protocol.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderExt {
    /// [`EXT_MAGIC`] when the loader speaks the extension protocol.
    pub magic: u32,
    /// [`EXT_VERSION`] of the loader.
    pub version: u32,
    /// `FEATURE_*` bits offered by the loader.
    pub features: u64,
    /// Host `CLOCK_REALTIME` in nanoseconds, taken just before the first vCPU entry.
    pub realtime_ns: u64,
    /// TSC frequency in kHz (finer than the header's MHz field).
    pub tsc_khz: u64,
    /// Written by the kernel: total bytes it has written to the `.kmsg` ring, so that a
    /// loader can print the ring in order.
    pub kmsg_written: u64,
    /// `crate::cpu::HIDE_*` bits: CPU features the kernel must treat as absent
    /// (`HERMIT_CPU_HIDE`); 0 from loaders that predate the field.
    pub cpu_hide: u64,
    /// Written by the kernel: the application's program break (0 until the kernel has set
    /// up its memory). A hint for the loader, which populates host memory ahead of it.
    pub heap_break: u64,
    /// Written by the kernel: the lowest address of its allocations from the top of RAM
    /// (stacks, page tables); 0 until set. A hint, like [`HeaderExt::heap_break`].
    pub kernel_low: u64,
    /// Written by the kernel: the guest address of its [`crate::tasks::TaskTable`] (0 until
    /// set, and from kernels that predate the field). Read by the GDB stub.
    pub task_table: u64,
    /// Written by the loader (with [`FEATURE_POPULATE`]): host memory backs the application
    /// heap from its start up to this guest-physical address (0: nothing known).
    pub heap_ready: u64,
    /// Written by the loader (with [`FEATURE_POPULATE`]): host memory backs RAM from this
    /// guest-physical address up to its end (0: nothing known).
    pub kernel_ready: u64,
    /// Written by the loader (with [`FEATURE_NET_NOTIFY`]): 1 when a received frame waits
    /// that the kernel was not told about yet (stored where the receive interrupt becomes
    /// due, before the loader looks at [`HeaderExt::net_rx_polling`]); the kernel sets it
    /// back to 0 when it takes note.
    pub net_rx_signal: u32,
    /// Written by the kernel: how many of its cores poll [`HeaderExt::net_rx_signal`] right
    /// now (idle cores, for a short while). While it is not 0 the loader raises no receive
    /// interrupt; a core stops polling by decrementing it and then reading the signal once
    /// more (both sides: store, full fence, load), so no frame goes unannounced.
    pub net_rx_polling: u32,
    /// Written into the image by the kernel's build, never by a loader: [`KERNEL_STAMP`]
    /// (magic and [`EXT_VERSION`]) of the protocol the kernel speaks, so that a loader can
    /// refuse an image of another revision before it boots ([`image_protocol`]).
    pub kernel_stamp: u64,
    /// Written by the kernel: how many of its cores occupy their host CPU right now (they
    /// run a task or poll in their idle loop; halted cores do not count). A hint: the
    /// loader's population thread takes no host CPU while every one it may use has a busy
    /// vCPU.
    pub busy_cores: u64,
    /// Host `CLOCK_MONOTONIC` in nanoseconds, taken with [`HeaderExt::realtime_ns`]: the
    /// guest's monotonic clock continues the host's, as a Linux process sees it (it counted
    /// from the guest's boot, and libevent took a monotonic time below 5 s for "never
    /// synchronised with the wall clock"). 0 from loaders that predate the field.
    pub monotonic_ns: u64,
    /// Written by the loader with a network interface: the TCP receive buffer in bytes (so
    /// the largest receive window) the kernel should give connections over that NIC, at
    /// most 4 MiB (the kernel keeps send buffers within 1 MiB; before, one size for both
    /// and at most 1 MiB); 0: the kernel's own default. Behind passt it is what the socket pair to passt
    /// carries without loss: passt writes a whole window of the guest's at once and drops
    /// the frames that find the pair full.
    pub net_tcp_buffer: u64,
    /// Reserved for other extensions, zero.
    pub reserved2: u64,
    /// Written by the loader: the guest-physical address of the doorbell ([`DOORBELL_GPA`]),
    /// or 0. A 32-bit write of `v` at `doorbell + 4 * p` is the port hypercall `p` with
    /// argument `v`, exactly as `out` of `v` to port `p`. It lies in uhyve's device hole, where
    /// no RAM is, so the write exits to the loader as MMIO straight from CPL 3: on PVM a
    /// hypercall then costs about 22 us, where an `out` (a #GP, the kernel's emulated CPL-0
    /// trampoline, the port exit) costs about 51 us (`hostcalls` with `HERMIT_FASTCALL=0`).
    /// Not offered under QEMU nor with a debugger attached
    /// ([`FEATURE_DEBUG`]: GDB steps through the `out`).
    pub doorbell: u64,
    /// Written by the kernel: bit `i` set while core `i` (below 64) occupies its host CPU,
    /// the same condition as [`HeaderExt::busy_cores`] (which counts every core). A hint:
    /// the loader's population thread keeps off the host CPUs where the vCPU threads of
    /// these cores run.
    pub busy_mask: u64,
}

/// Where this project's loader puts the doorbell ([`HeaderExt::doorbell`]): the first 2 MiB
/// page of uhyve's device hole (0xD000_0000 to 4 GiB); ports up to 0xffff use its first
/// 256 KiB.
pub const DOORBELL_GPA: u64 = 0xD000_0000;

/// Bytes of the doorbell window: one 32-bit register per port.
pub const DOORBELL_SIZE: u64 = 4 << 16;

const _: () = {
    assert!(offset_of!(HeaderExt, features) == 8);
    assert!(offset_of!(HeaderExt, realtime_ns) == 16);
    assert!(offset_of!(HeaderExt, tsc_khz) == 24);
    assert!(offset_of!(HeaderExt, kmsg_written) == 32);
    assert!(offset_of!(HeaderExt, cpu_hide) == 40);
    assert!(offset_of!(HeaderExt, heap_break) == 48);
    assert!(offset_of!(HeaderExt, kernel_low) == 56);
    assert!(offset_of!(HeaderExt, task_table) == 64);
    assert!(offset_of!(HeaderExt, heap_ready) == 72);
    assert!(offset_of!(HeaderExt, kernel_ready) == 80);
    assert!(offset_of!(HeaderExt, net_rx_signal) == 88);
    assert!(offset_of!(HeaderExt, net_rx_polling) == 92);
    assert!(offset_of!(HeaderExt, kernel_stamp) == 96);
    assert!(offset_of!(HeaderExt, busy_cores) == 104);
    assert!(offset_of!(HeaderExt, net_tcp_buffer) == 120);
    assert!(offset_of!(HeaderExt, doorbell) == 136);
    assert!(offset_of!(HeaderExt, busy_mask) == 144);
    assert!(size_of::<HeaderExt>() == 152);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_sit_at_the_original_offsets() {
        // libhermit-abi.md §6.2, one row per field.
        let table = [
            (offset::BASE, 0x08),
            (offset::LIMIT, 0x10),
            (offset::CPU_FREQ, 0x18),
            (offset::CPU_ONLINE, 0x20),
            (offset::POSSIBLE_CPUS, 0x24),
            (offset::CURRENT_BOOT_ID, 0x30),
            (offset::ISLE, 0x34),
            (offset::IMAGE_SIZE, 0x38),
            (offset::POSSIBLE_ISLES, 0x60),
            (offset::HEAP_START_ADDRESS, 0x64),
            (offset::DISABLE_X2APIC, 0x74),
            (offset::MB_INFO, 0x7C),
            (offset::UHYVE, 0x94),
            (offset::UARTPORT, 0x98),
            (offset::HCIP, 0xB0),
            (offset::HOST_LOGICAL_ADDR, 0xBC),
        ];
        for (actual, expected) in table {
            assert_eq!(actual, expected);
        }
        assert_eq!(size_of::<KernelHeader>(), 0xC4);
    }

    #[test]
    fn defaults_are_the_original_ones() {
        assert_eq!(default::HCIP, [10, 0, 5, 2]);
        assert_eq!(default::ISLE, u32::MAX);
        assert_eq!(EXT_MAGIC.to_le_bytes(), *b"HRS1");
    }

    #[test]
    fn images_are_classified_by_their_stamp() {
        assert_eq!(offset::KERNEL_STAMP, 0x160);
        assert_eq!(KERNEL_STAMP.to_le_bytes()[..4], *b"HRSk");
        assert_eq!(image_protocol(KERNEL_STAMP, true), ImageProtocol::Current);
        assert_eq!(image_protocol(KERNEL_STAMP, false), ImageProtocol::Current, "the stamp decides");
        let older = u64::from(KERNEL_STAMP_MAGIC) | 1 << 32;
        assert_eq!(image_protocol(older, true), ImageProtocol::Other(1));
        let newer = u64::from(KERNEL_STAMP_MAGIC) | u64::from(EXT_VERSION + 1) << 32;
        assert_eq!(image_protocol(newer, false), ImageProtocol::Other(EXT_VERSION + 1));
        assert_eq!(image_protocol(0, true), ImageProtocol::Unstamped);
        assert_eq!(image_protocol(0, false), ImageProtocol::Original);
        // An original image may hold anything (code) where the stamp would be.
        assert_eq!(image_protocol(0x9090_9090_c3c3_c3c3, false), ImageProtocol::Original);
    }
}

//! The QEMU monitor's contract with the kernel (`HERMIT_ISLE=qemu`): an extension.
//!
//! Under QEMU no port exit reaches the proxy, so a loader that sets
//! [`crate::header::FEATURE_QEMU`] has already placed the fast channel
//! ([`crate::channel`]) at [`CHANNEL_GPA`] with one slot per possible core, serves every
//! host call through it, and wakes its parked poller when the guest writes a byte to
//! [`DOORBELL_PORT`] (a QEMU `isa-debugcon` whose output the proxy reads). The kernel starts
//! secondary cores itself with INIT and two start-up IPIs to [`SIPI_VECTOR`]: the firmware
//! the proxy gives QEMU has its real-mode entry there, which puts the core into exactly the
//! state uhyve starts a vCPU in and jumps to the image's entry.

/// Guest-physical address of the pre-announced channel area (below the VGA hole at
/// 0xA0000: room for 512 slots, between uhyve's boot page tables and the BIOS area).
pub const CHANNEL_GPA: u64 = 0x2_0000;

/// I/O port of the doorbell: any byte written there wakes the proxy's poller.
pub const DOORBELL_PORT: u16 = 0xE9;

/// PCI slot (bus 0, function 0) of the `ivshmem-doorbell` device that carries the NIC's
/// receive interrupt under QEMU (given to QEMU as `addr=03.0`; only with a NIC). The proxy
/// is its ivshmem server: the eventfd it hands QEMU for vector 0 raises MSI-X vector 0,
/// which the kernel points at [`crate::hypercall::port::NET_RX_VECTOR`] on APIC ID 0.
pub const NET_IRQ_PCI_SLOT: u8 = 3;

/// PCI vendor and device ID of that device (Red Hat's ivshmem, `0x1110_1AF4` as read from
/// configuration offset 0).
pub const NET_IRQ_PCI_ID: u32 = 0x1110_1AF4;

/// Where the kernel places the device's memory BARs (a 2 MiB page of the PCI hole, below the
/// IOAPIC at 0xFEC00000): the MSI-X table (BAR 1) at +0, the registers (BAR 0) at +0x1000,
/// the shared memory (BAR 2, [`NET_IRQ_SHM_SIZE`]) at +0x10_0000.
pub const NET_IRQ_BAR_BASE: u64 = 0xFE00_0000;

/// Size of the shared memory the proxy gives the device (unused: only its doorbell matters).
pub const NET_IRQ_SHM_SIZE: u64 = 0x1000;

/// Start-up IPI vector: the firmware's real-mode entry is at `SIPI_VECTOR << 12`
/// (0xF0000, where the PC maps the last 64 KiB of the firmware below 1 MiB).
pub const SIPI_VECTOR: u8 = 0xF0;

const _: () = {
    assert!(NET_IRQ_BAR_BASE.is_multiple_of(0x20_0000) && NET_IRQ_SHM_SIZE <= 0x10_0000);
    assert!(CHANNEL_GPA + crate::channel::channel_size(crate::channel::MAX_SLOTS) as u64 <= 0xA_0000);
    assert!(CHANNEL_GPA >= 0x1_3000);
};

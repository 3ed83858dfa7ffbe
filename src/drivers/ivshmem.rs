//! Under QEMU: the NIC's receive interrupt through an `ivshmem-doorbell` PCI device.
//!
//! The proxy is the device's ivshmem server and keeps the eventfd QEMU watches for vector 0;
//! writing it makes QEMU (TCG) or KVM (QEMU/KVM, through an irqfd) send the MSI-X message the
//! kernel programs here: vector [`NET_RX_VECTOR`] to APIC ID 0, fixed, edge, exactly what
//! the proxy injects under uhyve. So the interrupt path after delivery is the same, and a
//! received frame costs no port access (the MSI needs no acknowledgement beyond the local
//! APIC's EOI). Set up once, before `NETINFO` arms the interrupt, with a few dozen PCI
//! configuration accesses (ports 0xCF8/0xCFC, each a trampoline trip) and four MMIO writes.
//! Only used with [`hermit_interface::header::FEATURE_QEMU`]; under uhyve nothing here runs.

use hermit_interface::hypercall::port::NET_RX_VECTOR;
use hermit_interface::qemu::{NET_IRQ_BAR_BASE, NET_IRQ_PCI_ID, NET_IRQ_PCI_SLOT};

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;
/// Capability ID of MSI-X.
const CAP_MSIX: u32 = 0x11;
/// Command register: memory space and bus master (MSI writes are bus-master writes).
const COMMAND_MEMORY_MASTER: u32 = 0x6;
/// MSI-X message control: enable (bit 15) and function mask (bit 14), in the dword's upper half.
const MSIX_ENABLE: u32 = 1 << 31;
const MSIX_FUNCTION_MASK: u32 = 1 << 30;
/// Address of an MSI for APIC ID 0, physical destination.
const MSI_ADDRESS: u32 = 0xFEE0_0000;

fn config_address(offset: u32) -> u32 {
    0x8000_0000 | (u32::from(NET_IRQ_PCI_SLOT) << 11) | (offset & 0xFC)
}

fn config_read(offset: u32) -> u32 {
    // SAFETY: PCI configuration mechanism #1 on the device's own function; reads have no
    // side effects on configuration space.
    unsafe {
        crate::arch::outl(CONFIG_ADDRESS, config_address(offset));
        crate::arch::inl(CONFIG_DATA)
    }
}

fn config_write(offset: u32, value: u32) {
    // SAFETY: as in `config_read`; only the ivshmem function's registers are written.
    unsafe {
        crate::arch::outl(CONFIG_ADDRESS, config_address(offset));
        crate::arch::outl(CONFIG_DATA, value);
    }
}

/// Finds the device, gives it addresses, points its MSI-X vector 0 at [`NET_RX_VECTOR`] on
/// core 0 and enables it. An error says what is missing; the network then works by polling.
pub fn init() -> Result<(), &'static str> {
    if config_read(0) != NET_IRQ_PCI_ID {
        return Err("no ivshmem-doorbell device at 00:03.0");
    }
    if config_read(0x04) & (1 << 20) == 0 {
        return Err("the ivshmem device has no capability list");
    }
    let mut cap = config_read(0x34) & 0xFC;
    let mut steps = 0;
    while cap != 0 && config_read(cap) & 0xFF != CAP_MSIX {
        cap = (config_read(cap) >> 8) & 0xFC;
        steps += 1;
        if steps > 48 {
            return Err("the ivshmem device's capability list loops");
        }
    }
    if cap == 0 {
        return Err("the ivshmem device has no MSI-X");
    }
    let table = config_read(cap + 4);
    let bar = table & 7;
    if bar != 1 {
        return Err("the ivshmem device's MSI-X table is not in BAR 1");
    }
    let base = NET_IRQ_BAR_BASE as u32;
    config_write(0x10, base + 0x1000);
    config_write(0x14, base);
    config_write(0x18, base + 0x10_0000);
    config_write(0x1C, 0);
    if crate::arch::map_device(NET_IRQ_BAR_BASE, &mut crate::mm::alloc_table).is_err() {
        return Err("cannot map the ivshmem device's registers");
    }
    config_write(0x04, (config_read(0x04) & 0xFFFF) | COMMAND_MEMORY_MASTER);
    let entry = (NET_IRQ_BAR_BASE + u64::from(table & !7)) as *mut u32;
    // SAFETY: `entry` is MSI-X table entry 0 of BAR 1, just placed at NET_IRQ_BAR_BASE and
    // mapped uncached; its four dwords are message address (low, high), data and control.
    unsafe {
        entry.write_volatile(MSI_ADDRESS);
        entry.add(1).write_volatile(0);
        entry.add(2).write_volatile(u32::from(NET_RX_VECTOR));
        entry.add(3).write_volatile(0);
    }
    let head = config_read(cap);
    config_write(cap, (head | MSIX_ENABLE) & !MSIX_FUNCTION_MASK);
    Ok(())
}

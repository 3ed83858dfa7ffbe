//! The receive interrupt: an eventfd bound with `KVM_IRQFD` to GSI 11, routed as an MSI to
//! vector 0x2B of vCPU 0 (the vector the original uhyve's IOAPIC pin 11 gave).

use kvm_bindings::{kvm_irq_routing_entry, KvmIrqRouting, KVM_IRQ_ROUTING_MSI};
use kvm_ioctls::VmFd;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// The GSI the original uhyve raised for received frames.
pub const RX_GSI: u32 = 11;
/// The vector it arrives at (`0x20 + GSI`, as uhyve programmed its IOAPIC).
pub const RX_VECTOR: u32 = 0x20 + RX_GSI;
/// The local APIC every MSI is addressed to (`0xFEE0_0000 | dest << 12`).
const MSI_ADDRESS: u32 = 0xfee0_0000;

/// A raised-on-demand edge interrupt for the guest.
pub struct RxIrq {
    event: EventFd,
}

impl RxIrq {
    /// Routes GSI [`RX_GSI`] to an edge MSI with [`RX_VECTOR`] for APIC ID 0 and binds an
    /// eventfd to it. Needs the in-kernel interrupt controller. The routing table replaces
    /// KVM's default one (the PIC and IOAPIC pins), which no device of the proxy uses.
    pub fn new(vm: &VmFd) -> Result<Self, String> {
        let mut routing = KvmIrqRouting::new(1).map_err(|e| format!("cannot build the interrupt routing: {e:?}"))?;
        let mut entry = kvm_irq_routing_entry { gsi: RX_GSI, type_: KVM_IRQ_ROUTING_MSI, ..Default::default() };
        entry.u.msi.address_lo = MSI_ADDRESS;
        entry.u.msi.data = RX_VECTOR;
        routing.as_mut_slice()[0] = entry;
        vm.set_gsi_routing(&routing).map_err(|e| format!("cannot route the network interrupt: {e}"))?;
        let event = EventFd::new(EFD_NONBLOCK).map_err(|e| format!("cannot create an eventfd: {e}"))?;
        vm.register_irqfd(&event, RX_GSI).map_err(|e| format!("cannot bind the network interrupt (KVM_IRQFD): {e}"))?;
        Ok(Self { event })
    }

    /// An interrupt raised through `event`, which something else delivers (under QEMU: the
    /// ivshmem device's vector-0 eventfd, `crate::qemu::ivshmem`).
    pub fn from_event(event: EventFd) -> Self {
        Self { event }
    }

    /// Raises the interrupt once.
    pub fn raise(&self) {
        let _ = self.event.write(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::GuestRam;
    use kvm_ioctls::{Kvm, VcpuExit};

    /// Port the test guest reports a vector on.
    const REPORT: u16 = 0x999;

    /// Boots a guest of a few instructions (IDT with gates for vectors 0x20..0x30 whose
    /// stubs report their vector on port [`REPORT`], then `sti; hlt`), raises the interrupt
    /// from another thread and returns the vector the guest saw.
    fn vector_seen() -> Result<u32, String> {
        let kvm = Kvm::new().map_err(|e| e.to_string())?;
        let vm = kvm.create_vm().map_err(|e| e.to_string())?;
        vm.create_irq_chip().map_err(|e| e.to_string())?;
        let ram = GuestRam::new(32 << 20, false).map_err(|e| e.to_string())?;
        crate::vm::register_memory(&vm, &ram)?;
        crate::vm::write_boot_tables(&ram)?;
        let (idt, stubs, code) = (0x3000u64, 0x4000u64, 0x10_0000u64);
        for v in 0x20..0x30u64 {
            let stub = stubs + 16 * (v - 0x20);
            // mov al, v; mov dx, REPORT; out dx, al; jmp $
            let bytes = [0xb0, v as u8, 0x66, 0xba, REPORT as u8, (REPORT >> 8) as u8, 0xee, 0xeb, 0xfe];
            ram.write_bytes(stub, &bytes).map_err(|e| e.to_string())?;
            let gate: u128 = (stub as u128 & 0xffff)
                | (0x08 << 16)
                | (0x8e << 40)
                | (((stub as u128 >> 16) & 0xffff) << 48)
                | ((stub as u128 >> 32) << 64);
            ram.write::<u128>(idt + 16 * v, gate).map_err(|e| e.to_string())?;
        }
        ram.write::<u16>(0x2000, 0xfff).map_err(|e| e.to_string())?;
        ram.write::<u64>(0x2002, idt).map_err(|e| e.to_string())?;
        // lidt [0x2000]; sti; hlt; jmp -3
        let main = [0x0f, 0x01, 0x1c, 0x25, 0x00, 0x20, 0x00, 0x00, 0xfb, 0xf4, 0xeb, 0xfd];
        ram.write_bytes(code, &main).map_err(|e| e.to_string())?;
        let mut vcpu = vm.create_vcpu(0).map_err(|e| e.to_string())?;
        let cpuid = crate::vm::guest_cpuid(&kvm, 0)?;
        crate::vm::setup_vcpu(&vcpu, &cpuid, code)?;
        let mut regs = vcpu.get_regs().map_err(|e| e.to_string())?;
        regs.rsp = 0x8000;
        vcpu.set_regs(&regs).map_err(|e| e.to_string())?;
        if !crate::lapic::prepare(&vcpu) {
            return Err("cannot prepare the local APIC".into());
        }
        let irq = RxIrq::new(&vm)?;
        let raiser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            irq.raise();
            irq
        });
        let t0 = std::time::Instant::now();
        let seen = loop {
            match vcpu.run().map_err(|e| e.to_string())? {
                VcpuExit::IoOut(REPORT, data) => break u32::from(data[0]),
                VcpuExit::IoOut(..) | VcpuExit::IoIn(..) => {}
                other => {
                    let what = format!("{other:?}");
                    let regs = vcpu.get_regs().map_err(|e| e.to_string())?;
                    return Err(format!("unexpected exit {what} at {:#x} after {:?}", regs.rip, t0.elapsed()));
                }
            }
        };
        drop(raiser.join());
        Ok(seen)
    }

    #[test]
    fn the_interrupt_arrives_at_vector_0x2b() {
        if !std::path::Path::new("/dev/kvm").exists() {
            eprintln!("no /dev/kvm: skipped");
            return;
        }
        assert_eq!(vector_seen(), Ok(RX_VECTOR));
    }
}

//! Puts a vCPU's local APIC in the state the kernel runs with, before the first instruction.

use hermit_interface::apic::{
    APIC_BASE_X2APIC_ENABLED, LVT_TIMER, MSR_APIC_BASE, MSR_X2APIC_LVT_TIMER, MSR_X2APIC_SVR, SVR,
};
use kvm_bindings::{kvm_msr_entry, Msrs};
use kvm_ioctls::VcpuFd;

/// Switches the vCPU's APIC to x2APIC mode, software-enables it and sets the timer to
/// TSC-deadline mode ([`hermit_interface::apic`]); the kernel would otherwise do it through
/// four trapped MSR writes. Returns whether KVM took every value. Only for images that
/// declare x2APIC use (`disable_x2apic` 0): the original kernel under uhyve uses the xAPIC.
pub fn prepare(vcpu: &VcpuFd) -> bool {
    let entry = |index, data| kvm_msr_entry { index, data, ..Default::default() };
    let Ok(mut base) = Msrs::from_entries(&[entry(MSR_APIC_BASE, 0)]) else { return false };
    if !matches!(vcpu.get_msrs(&mut base), Ok(1)) {
        return false;
    }
    // Keeps the base address and the BSP flag KVM set at reset; x2APIC registers are
    // writable once the mode is on, which the first entry does (KVM applies them in order).
    let apic_base = base.as_slice()[0].data | APIC_BASE_X2APIC_ENABLED;
    let values = [entry(MSR_APIC_BASE, apic_base), entry(MSR_X2APIC_SVR, SVR), entry(MSR_X2APIC_LVT_TIMER, LVT_TIMER)];
    let Ok(msrs) = Msrs::from_entries(&values) else { return false };
    matches!(vcpu.set_msrs(&msrs), Ok(n) if n == values.len())
}

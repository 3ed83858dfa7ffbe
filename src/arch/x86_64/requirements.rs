//! What the kernel needs from the CPU, checked once at boot against CPUID: pure logic.
//!
//! A missing feature stops the boot with one message that names it, instead of a fault at the
//! first instruction that needs it (a `rdfsbase` in the first task switch, a `wrmsr` to the
//! x2APIC when the first timer is armed, an `xsave64` at the first preemption). x2APIC and
//! the TSC-deadline timer are not required: without them (QEMU's TCG) the kernel drives the
//! xAPIC with a one-shot timer (`arch::apic`).
#![forbid(unsafe_code)]

use super::xstate::CpuState;

/// One required CPUID bit: leaf, register index (0 EAX .. 3 EDX), bit, and what needs it.
type Requirement = (u32, usize, u32, &'static str);

/// Every feature bit the kernel relies on (leaf 1 and leaf 7.0).
const REQUIRED: [Requirement; 7] = [
    (1, 3, 0, "x87 FPU"),
    (1, 3, 4, "the time-stamp counter (rdtsc), the kernel's clock"),
    (1, 3, 24, "FXSAVE/FXRSTOR"),
    (1, 3, 25, "SSE"),
    (1, 3, 26, "SSE2"),
    (1, 3, 9, "a local APIC"),
    (7, 1, 0, "FSGSBASE (rdfsbase/wrfsbase), which every task switch uses"),
];

/// The first missing requirement, as "this CPU lacks ...", given CPUID leaf 1 and leaf 7.0
/// (`[eax, ebx, ecx, edx]`, after hidden features were removed).
pub fn missing_feature(leaf1: [u32; 4], leaf7: [u32; 4]) -> Option<&'static str> {
    REQUIRED
        .iter()
        .find(|(leaf, reg, bit, _)| {
            let regs = if *leaf == 1 { leaf1 } else { leaf7 };
            regs[*reg] & (1 << bit) == 0
        })
        .map(|(_, _, _, what)| *what)
}

/// Everything the extended-state code needs to know from CPUID leaf 1 and 7.0, without the
/// XCR0 and leaf 0xD values (filled in by the caller when XSAVE is usable).
pub fn xstate_features(leaf1: [u32; 4], leaf7: [u32; 4]) -> CpuState {
    CpuState {
        xsave: leaf1[2] & (3 << 26) == 3 << 26,
        avx: leaf1[2] & (1 << 28) != 0,
        avx512f: leaf7[1] & (1 << 16) != 0,
        ..CpuState::default()
    }
}

/// Whether libm may run its FMA variants (VEX-encoded `vfmadd*` and AVX2 code, as glibc's
/// run-time choice requires): CPUID.1:ECX.FMA and CPUID.7.0:EBX.AVX2 after hiding, and the
/// kernel saves AVX state (`avx_saved`: without XCR0's AVX bit those instructions raise #UD).
pub fn fma_usable(leaf1: [u32; 4], leaf7: [u32; 4], avx_saved: bool) -> bool {
    avx_saved && leaf1[2] & (1 << 12) != 0 && leaf7[1] & (1 << 5) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaf 1 and 7.0 of an AMD EPYC (Zen 3) development host: AVX2, PKU, no AVX-512.
    const L1: [u32; 4] = [0xa00f11, 0x20800, 0xfffa3203, 0x178bfbff];
    const L7: [u32; 4] = [0, 0x219c07ab, 0x40069c, 0x88000010];

    #[test]
    fn the_development_host_has_everything() {
        assert_eq!(missing_feature(L1, L7), None);
        let cpu = xstate_features(L1, L7);
        assert!(cpu.xsave && cpu.avx && !cpu.avx512f);
    }

    #[test]
    fn each_missing_bit_is_named() {
        let mut l7 = L7;
        l7[1] &= !1;
        assert!(missing_feature(L1, l7).unwrap().contains("FSGSBASE"));
        let mut l1 = L1;
        l1[2] &= !((1 << 24) | (1 << 21));
        assert_eq!(missing_feature(l1, L7), None, "without x2APIC and TSC deadline the xAPIC serves");
        l1[3] &= !(1 << 9);
        assert!(missing_feature(l1, L7).unwrap().contains("local APIC"));
        let mut l1 = L1;
        l1[3] &= !(1 << 26);
        assert_eq!(missing_feature(l1, L7), Some("SSE2"));
    }

    #[test]
    fn fma_needs_fma_avx2_and_saved_avx_state() {
        assert!(fma_usable(L1, L7, true));
        assert!(!fma_usable(L1, L7, false), "no AVX state in XCR0 or the save mask");
        let mut l1 = L1;
        l1[2] &= !(1 << 12);
        assert!(!fma_usable(l1, L7, true));
        let mut l7 = L7;
        l7[1] &= !(1 << 5);
        assert!(!fma_usable(L1, l7, true));
    }

    #[test]
    fn xsave_needs_osxsave_too() {
        let mut l1 = L1;
        l1[2] &= !(1 << 27);
        assert!(!xstate_features(l1, L7).xsave);
    }

    #[test]
    fn an_xcr0_without_sse_stops_the_boot() {
        let cpu = CpuState { xcr0: 0x1, ..xstate_features(L1, L7) };
        assert!(super::super::xstate::plan(&cpu).is_err());
    }
}

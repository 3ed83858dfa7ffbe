//! CPU features the loader hides from the guest (`HERMIT_CPU_HIDE`), and how hiding edits CPUID.
//!
//! On PVM hosts `KVM_SET_CPUID2` does not filter the feature leaves the guest sees, so the
//! loader passes the mask in [`crate::header::HeaderExt::cpu_hide`] and the kernel applies
//! [`hide`] to every `cpuid` it executes. The loader applies the same function to the table
//! it gives KVM, which is what counts on hardware KVM. A program's own `cpuid` instruction
//! still sees the host's features on PVM. This is an extension of the original protocol.

/// Hide XSAVE (the kernel falls back to FXSAVE), and with it everything that needs XSAVE:
/// AVX, AVX-512, AMX and CPUID leaf 0xD.
pub const HIDE_XSAVE: u64 = 1 << 0;
/// Hide AVX, and with it AVX2, FMA, F16C and AVX-512.
pub const HIDE_AVX: u64 = 1 << 1;
/// Hide AVX-512 (every AVX512* feature bit).
pub const HIDE_AVX512: u64 = 1 << 2;

/// Hide FSGSBASE, which the kernel requires: to test that it refuses to boot with a message.
pub const HIDE_FSGSBASE: u64 = 1 << 3;

/// The names `HERMIT_CPU_HIDE` accepts, with their bits.
pub const HIDE_NAMES: [(&str, u64); 4] =
    [("xsave", HIDE_XSAVE), ("avx", HIDE_AVX), ("avx512", HIDE_AVX512), ("fsgsbase", HIDE_FSGSBASE)];

/// Bits of leaf 1 ECX: FMA (12), XSAVE (26), OSXSAVE (27), AVX (28), F16C (29).
const L1_ECX_AVX: u32 = (1 << 12) | (1 << 28) | (1 << 29);
const L1_ECX_XSAVE: u32 = (1 << 26) | (1 << 27);
/// Leaf 7.0 EBX: AVX2 (5).
const L7_EBX_AVX2: u32 = 1 << 5;
/// Leaf 7.0 EBX: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL.
const L7_EBX_AVX512: u32 =
    (1 << 16) | (1 << 17) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 30) | (1 << 31);
/// Leaf 7.0 ECX: AVX512_VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ.
const L7_ECX_AVX512: u32 = (1 << 1) | (1 << 6) | (1 << 11) | (1 << 12) | (1 << 14);
/// Leaf 7.0 EDX: AVX512_4VNNIW, 4FMAPS, VP2INTERSECT, FP16.
const L7_EDX_AVX512: u32 = (1 << 2) | (1 << 3) | (1 << 8) | (1 << 23);
/// Leaf 7.0 EDX: AMX-BF16, AMX-TILE, AMX-INT8.
const L7_EDX_AMX: u32 = (1 << 22) | (1 << 24) | (1 << 25);
/// Leaf 7.1 EAX: AVX-VNNI (4), AVX512_BF16 (5).
const L71_EAX_AVX: u32 = (1 << 4) | (1 << 5);
const L71_EAX_AVX512: u32 = 1 << 5;

/// Widens `mask` by the implications: hiding XSAVE hides AVX, hiding AVX hides AVX-512.
pub fn implied(mask: u64) -> u64 {
    let mut mask = mask;
    if mask & HIDE_XSAVE != 0 {
        mask |= HIDE_AVX;
    }
    if mask & HIDE_AVX != 0 {
        mask |= HIDE_AVX512;
    }
    mask
}

/// CPUID leaf `leaf`, sub-leaf `sub`, with the features of `mask` cleared; `regs` is
/// `[eax, ebx, ecx, edx]` as the CPU returned them.
pub fn hide(mask: u64, leaf: u32, sub: u32, regs: [u32; 4]) -> [u32; 4] {
    let mask = implied(mask);
    let [mut eax, mut ebx, mut ecx, mut edx] = regs;
    let xsave = mask & HIDE_XSAVE != 0;
    let avx = mask & HIDE_AVX != 0;
    let avx512 = mask & HIDE_AVX512 != 0;
    match (leaf, sub) {
        (1, _) => {
            if xsave {
                ecx &= !L1_ECX_XSAVE;
            }
            if avx {
                ecx &= !L1_ECX_AVX;
            }
        }
        (7, 0) => {
            if avx {
                ebx &= !L7_EBX_AVX2;
            }
            if avx512 {
                ebx &= !L7_EBX_AVX512;
                ecx &= !L7_ECX_AVX512;
                edx &= !L7_EDX_AVX512;
            }
            if xsave {
                edx &= !L7_EDX_AMX;
            }
            if mask & HIDE_FSGSBASE != 0 {
                ebx &= !1;
            }
        }
        (7, 1) => {
            if avx {
                eax &= !L71_EAX_AVX;
            }
            if avx512 {
                eax &= !L71_EAX_AVX512;
            }
        }
        (0xd, _) if xsave => [eax, ebx, ecx, edx] = [0; 4],
        _ => {}
    }
    [eax, ebx, ecx, edx]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaf 1 and 7.0 of the Intel Xeon host (AVX-512, AMX).
    const L1: [u32; 4] = [0x806f8, 0x800, 0xf7fa3203, 0x178bfbff];
    const L7: [u32; 4] = [0, 0xf1bf2fbb, 0x1b415f6e, 0xfc1c4432];

    #[test]
    fn nothing_hidden_changes_nothing() {
        assert_eq!(hide(0, 1, 0, L1), L1);
        assert_eq!(hide(0, 7, 0, L7), L7);
        assert_eq!(hide(HIDE_XSAVE | HIDE_AVX, 0x8000_0001, 0, L1), L1);
    }

    #[test]
    fn avx512_hides_only_avx512() {
        let l7 = hide(HIDE_AVX512, 7, 0, L7);
        assert_eq!(l7[1] & (1 << 16), 0);
        assert_ne!(l7[1] & L7_EBX_AVX2, 0);
        assert_eq!(hide(HIDE_AVX512, 1, 0, L1), L1);
        assert_eq!(hide(HIDE_FSGSBASE, 7, 0, L7)[1], L7[1] & !1);
    }

    #[test]
    fn xsave_hides_avx_and_the_state_leaf() {
        let l1 = hide(HIDE_XSAVE, 1, 0, L1);
        assert_eq!(l1[2] & (L1_ECX_XSAVE | (1 << 28)), 0);
        assert_eq!(l1[2] & 1, 1, "SSE3 stays");
        let l7 = hide(HIDE_XSAVE, 7, 0, L7);
        assert_eq!(l7[1] & (L7_EBX_AVX2 | (1 << 16)), 0);
        assert_eq!(l7[3] & L7_EDX_AMX, 0);
        assert_eq!(hide(HIDE_XSAVE, 0xd, 0, [0x2e7, 0xa80, 0xa88, 0]), [0; 4]);
        assert_eq!(hide(HIDE_AVX, 0xd, 0, [0x2e7, 0xa80, 0xa88, 0]), [0x2e7, 0xa80, 0xa88, 0]);
    }
}

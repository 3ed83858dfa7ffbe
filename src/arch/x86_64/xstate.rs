//! Which extended state the preemption path saves, and how many bytes that takes: pure arithmetic.
//!
//! On PVM hosts guest CPL-3 code runs with the **host's** XCR0 (`xgetbv(0)` returns it), which
//! may enable more than the guest CPUID admits: on an Intel Xeon with AMX and PKU the XCR0 in
//! force is `0x602e7` while guest CPUID leaf 0xD describes only `0x2e7` in 2688 bytes; `XSAVE`
//! with an all-ones mask there writes 11008 bytes (AMX tile data included). So the mask is
//! never "everything": it is exactly the components the kernel manages, and the area is sized
//! for that mask alone (`../shared/docs/hosts.md` has the measured tables).
//!
//! Managed: x87 (0), SSE (1), AVX (2, when CPUID shows AVX), AVX-512 opmask, ZMM_Hi256 and
//! Hi16_ZMM (5-7, when CPUID shows AVX512F), each only if the XCR0 in force enables it.
//! **Not managed**, a deviation from a kernel that context-switches every enabled component:
//! PKRU (9) is not per task (a `wrpkru` affects every thread), and AMX TILECFG/TILEDATA
//! (17, 18) are not preserved across preemption, so a program must not use AMX.
#![forbid(unsafe_code)]

/// x87 and SSE: the two components of the legacy FXSAVE region (always managed).
pub const LEGACY: u64 = 0b11;
/// AVX: the upper halves of YMM0-15.
pub const AVX: u64 = 1 << 2;
/// AVX-512: opmask k0-7, ZMM_Hi256 (upper halves of ZMM0-15) and Hi16_ZMM (ZMM16-31).
pub const AVX512: u64 = 0b111 << 5;

/// Bytes of the legacy region (512) plus the XSAVE header (64): the smallest XSAVE area.
pub const MIN_AREA: u32 = 576;
/// Largest area the kernel accepts; anything larger means CPUID data it cannot trust.
pub const MAX_AREA: u32 = 16 << 10;

/// Offsets and sizes of components 0..=7 in Intel's standard (non-compacted) format, used when
/// the guest CPUID does not list a component the XCR0 enables. AMD's layout is denser (no MPX
/// gap: AVX-512 state at 832, 896 and 1408, 2432 bytes in all), so these are an upper bound.
const STANDARD: [(u32, u32); 8] =
    [(0, 160), (160, 256), (576, 256), (960, 64), (1024, 64), (1088, 64), (1152, 512), (1664, 1024)];

/// What CPUID and XGETBV report, as far as the extended state is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuState {
    /// CPUID.1:ECX.XSAVE (bit 26) and .OSXSAVE (bit 27) both set: XSAVE usable, XCR0 valid.
    pub xsave: bool,
    /// CPUID.1:ECX.AVX (bit 28).
    pub avx: bool,
    /// CPUID.(7,0):EBX.AVX512F (bit 16).
    pub avx512f: bool,
    /// `xgetbv(0)`, the XCR0 in force (ignored without `xsave`).
    pub xcr0: u64,
    /// CPUID.(0xD, i) for components i = 0..8 as `(EBX offset, EAX size)`; `(_, 0)` when the
    /// sub-leaf does not list the component (only entries 2..8 are used).
    pub components: [(u32, u32); 8],
}

/// How the preemption path saves the vector state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavePlan {
    /// No usable XSAVE: `fxsave64`/`fxrstor64` of the 512-byte legacy region.
    Fxsave,
    /// `xsave64`/`xrstor64` with requested-feature bitmap `mask` (in EDX:EAX) into an area of
    /// `bytes` bytes (64-byte aligned).
    Xsave {
        /// Components saved and restored.
        mask: u64,
        /// Size of the area in bytes.
        bytes: u32,
    },
}

/// The components the kernel saves: the managed ones the CPU reports, within the XCR0 in force.
pub fn save_mask(cpu: &CpuState) -> u64 {
    let mut wanted = LEGACY;
    if cpu.avx {
        wanted |= AVX;
        if cpu.avx512f {
            wanted |= AVX512;
        }
    }
    wanted & cpu.xcr0
}

/// Offset and size of component `i` (2..8) in the standard format: the guest CPUID's when it
/// lists the component, else the architectural values.
fn component(cpu: &CpuState, i: usize) -> (u32, u32) {
    match cpu.components[i] {
        (offset, size) if size != 0 => (offset, size),
        _ => STANDARD[i],
    }
}

/// Bytes that an `XSAVE` with requested-feature bitmap `rfbm` writes, given the component
/// layout `layout` (offset, size per component) and the XCR0 in force: the legacy region and
/// header always, and every component of `rfbm & xcr0` at its offset. Components beyond
/// `layout` count as not listed (0 bytes).
pub fn xsave_extent(rfbm: u64, xcr0: u64, layout: &[(u32, u32)]) -> u32 {
    let saved = rfbm & xcr0;
    (2..64usize)
        .filter(|i| saved & (1 << i) != 0)
        .filter_map(|i| layout.get(i))
        .map(|&(offset, size)| offset.saturating_add(size))
        .fold(MIN_AREA, u32::max)
}

/// The save plan for `cpu`: FXSAVE without usable XSAVE, else the [`save_mask`] and the area
/// it needs (at least [`MIN_AREA`]). Errors name what makes the CPU unusable.
pub fn plan(cpu: &CpuState) -> Result<SavePlan, &'static str> {
    if !cpu.xsave {
        return Ok(SavePlan::Fxsave);
    }
    if cpu.xcr0 & LEGACY != LEGACY {
        return Err("the XCR0 in force does not enable x87 and SSE state");
    }
    let mask = save_mask(cpu);
    let mut layout = [(0, 0); 8];
    for (i, slot) in layout.iter_mut().enumerate().skip(2) {
        *slot = component(cpu, i);
    }
    let bytes = xsave_extent(mask, cpu.xcr0, &layout);
    if bytes > MAX_AREA {
        return Err("the XSAVE area for x87/SSE/AVX/AVX-512 state is larger than 16 KiB");
    }
    Ok(SavePlan::Xsave { mask, bytes: bytes.next_multiple_of(64) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPUID 0xD sub-leaves 0..8 on the AMD EPYC host (hosts.md: EBX of 0xD.0 is 2432).
    const AMD: [(u32, u32); 8] = [(0, 0), (0, 0), (576, 256), (0, 0), (0, 0), (832, 64), (896, 512), (1408, 1024)];

    /// CPUID 0xD sub-leaves 0..8 as our guest sees them on the Intel Xeon host.
    const INTEL: [(u32, u32); 8] = [(0, 0), (0, 0), (576, 256), (0, 0), (0, 0), (1088, 64), (1152, 512), (1664, 1024)];

    /// The Intel Xeon host's true layout (native CPUID, hosts.md), components 0..=18.
    fn intel_native() -> [(u32, u32); 19] {
        let mut layout = [(0, 0); 19];
        layout[..8].copy_from_slice(&INTEL);
        layout[9] = (2688, 8);
        layout[17] = (2752, 64);
        layout[18] = (2816, 8192);
        layout
    }

    fn cpu(xcr0: u64, avx: bool, avx512f: bool, components: [(u32, u32); 8]) -> CpuState {
        CpuState { xsave: true, avx, avx512f, xcr0, components }
    }

    #[test]
    fn amd_epyc_zen4_saves_avx512_in_2432_bytes() {
        let amd = cpu(0xe7, true, true, AMD);
        assert_eq!(plan(&amd), Ok(SavePlan::Xsave { mask: 0xe7, bytes: 2432 }));
    }

    #[test]
    fn intel_with_amx_and_pku_saves_only_managed_state() {
        // XCR0 in force 0x602e7 (PKRU, AMX set by the host); guest CPUID lists 0x2e7.
        let intel = cpu(0x602e7, true, true, INTEL);
        assert_eq!(plan(&intel), Ok(SavePlan::Xsave { mask: 0xe7, bytes: 2688 }));
        // What that mask makes the CPU write with the host's real layout fits the area.
        assert_eq!(xsave_extent(0xe7, 0x602e7, &intel_native()), 2688);
    }

    #[test]
    fn old_all_ones_logic_overruns_the_area_on_intel() {
        // The landed kernel: mask all ones, area = the guest's CPUID 0xD.0 EBX (2688 bytes).
        let old_area = 2688;
        let written = xsave_extent(u64::MAX, 0x602e7, &intel_native());
        assert_eq!(written, 11008);
        assert!(written > old_area, "the old logic writes {written} bytes into {old_area}");
        // On the AMD host the old logic happened to fit, which is why it went unnoticed.
        assert_eq!(xsave_extent(u64::MAX, 0xe7, &AMD), 2432);
    }

    #[test]
    fn amd_zen3_with_pku_saves_avx_only() {
        // An AMD EPYC (Zen 3) development host: XCR0 0x207 (PKRU at 2432), no AVX-512.
        let zen3 = cpu(0x207, true, false, [(0, 0), (0, 0), (576, 256), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]);
        assert_eq!(plan(&zen3), Ok(SavePlan::Xsave { mask: 0x7, bytes: 832 }));
        let mut native = [(0, 0); 10];
        native[2] = (576, 256);
        native[9] = (2432, 8);
        assert_eq!(xsave_extent(u64::MAX, 0x207, &native), 2440, "all ones would also save PKRU");
        assert_eq!(xsave_extent(0x7, 0x207, &native), 832);
    }

    #[test]
    fn sse_only_host() {
        let sse = cpu(0x3, false, false, [(0, 0); 8]);
        assert_eq!(plan(&sse), Ok(SavePlan::Xsave { mask: 0x3, bytes: 576 }));
    }

    #[test]
    fn avx_only_host() {
        let avx = cpu(0x7, true, false, [(0, 0), (0, 0), (576, 256), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]);
        assert_eq!(plan(&avx), Ok(SavePlan::Xsave { mask: 0x7, bytes: 832 }));
    }

    #[test]
    fn hidden_features_shrink_the_mask() {
        // AVX-512 hidden from CPUID while the host's XCR0 still enables it.
        assert_eq!(plan(&cpu(0x602e7, true, false, INTEL)), Ok(SavePlan::Xsave { mask: 0x7, bytes: 832 }));
        // AVX hidden: AVX-512 goes with it.
        assert_eq!(plan(&cpu(0xe7, false, true, AMD)), Ok(SavePlan::Xsave { mask: 0x3, bytes: 576 }));
    }

    #[test]
    fn unlisted_components_use_the_standard_offsets() {
        // The guest CPUID lists nothing beyond sub-leaf 0 while XCR0 enables AVX-512: Intel's
        // layout, an upper bound for AMD's denser one.
        assert_eq!(plan(&cpu(0xe7, true, true, [(0, 0); 8])), Ok(SavePlan::Xsave { mask: 0xe7, bytes: 2688 }));
    }

    #[test]
    fn no_xsave_means_fxsave() {
        let none = CpuState { xsave: false, xcr0: 0x602e7, ..cpu(0, true, true, AMD) };
        assert_eq!(plan(&none), Ok(SavePlan::Fxsave));
    }

    #[test]
    fn unusable_cpus_are_named() {
        assert!(plan(&cpu(0x1, false, false, [(0, 0); 8])).is_err());
        let mut layout = INTEL;
        layout[7].1 = 20000;
        let huge = cpu(0xe7, true, true, layout);
        assert!(plan(&huge).is_err());
    }
}

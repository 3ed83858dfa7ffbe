//! Fuzz target: image validation (`elf::parse`) and loading (`vm::load_image`, `write_header`).
//!
//! Inputs are either raw files (mutated byte by byte from a synthesized valid image, or from
//! a real test image named by `HERMIT_FUZZ_IMAGE`) or structured descriptions of an ELF file
//! (`arbitrary` picks header fields and program headers near the values the checks compare
//! against). Properties: no panic; every accepted image lies inside guest memory and inside
//! the file, starts at its entry point, has a consistent size; loading it and writing the
//! kernel header succeed, and the header then holds the image's base, size and memory limit;
//! the protocol stamp `elf::check_protocol` reads from the file is the one loading puts in
//! guest memory, and the check never panics.

use std::collections::HashMap;

use arbitrary::Unstructured;
use hermit_interface::header::offset;

use super::engine::{self, signature, Failure, Target};
use crate::config::Config;
use crate::elf::{self, MIN_LOAD_ADDRESS};
use crate::guest::GuestRam;

/// Guest memory sizes the target validates against (small, so loading stays cheap).
const MEMS: [u64; 3] = [32 << 20, 33 << 20, 48 << 20];

/// Longest raw input, unless a real image is larger.
const MAX_LEN: usize = 64 << 10;

/// A valid image: ELF header, `segments` program headers, and their bytes after the table.
pub fn synthesized(segments: usize) -> Vec<u8> {
    let table = 64 + 56 * segments;
    let mut f = vec![0u8; table + 0x100 * segments];
    elf::tests::put_header(&mut f, segments as u16);
    for i in 0..segments {
        let paddr = MIN_LOAD_ADDRESS + 0x2000 * i as u64;
        elf::tests::put_load(&mut f, 64 + 56 * i, (table + 0x100 * i) as u64, paddr, 0x100, 0x2000);
    }
    f
}

/// A value near `normal` most of the time, else one of the boundary values or raw bits.
fn near(u: &mut Unstructured<'_>, normal: u64, edges: &[u64]) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=15u8)? {
        0..=9 => normal,
        10 | 11 => normal.wrapping_add(u.int_in_range(0..=0x40u64)?).wrapping_sub(0x20),
        12 | 13 => *u.choose(edges)?,
        _ => u.arbitrary()?,
    })
}

/// An ELF file described by `u`: mostly well formed, with a few fields pushed to their edges.
fn structured(u: &mut Unstructured<'_>, mem: u64) -> arbitrary::Result<Vec<u8>> {
    let count = u.int_in_range(0..=5usize)?;
    let phentsize = near(u, 56, &[0, 55, 57, 64, 0xffff])? as u16;
    let phoff = near(u, 64, &[0, 63, 1 << 20, u64::MAX - 55, u64::MAX])?;
    let table_end = 64 + 56 * count as u64;
    let mut data_at = table_end;
    let mut paddr = MIN_LOAD_ADDRESS;
    let mut headers = Vec::new();
    for _ in 0..count {
        let kind = match u.int_in_range(0..=9u8)? {
            0..=6 => 1u32,
            7 => 3,
            8 => *u.choose(&[0u32, 4, 6, 7, 0x6474_e551, 0x6474_e552])?,
            _ => u.arbitrary()?,
        };
        let small = u.int_in_range(0..=0x200u64)?;
        let filesz = near(u, small, &[0, 1, 0xfff, 0x1000, mem, u64::MAX])?;
        let bss = u.int_in_range(0..=0x3000u64)?;
        let memsz = near(u, filesz.wrapping_add(bss), &[0, filesz.wrapping_sub(1), mem, u64::MAX])?;
        let offset = near(u, data_at, &[0, 64, u64::MAX - filesz, u64::MAX])?;
        let addr = near(
            u,
            paddr,
            &[0, MIN_LOAD_ADDRESS - 1, mem - 0x1000, mem, mem.wrapping_sub(memsz), u64::MAX - memsz, u64::MAX],
        )?;
        headers.push((kind, offset, addr, filesz, memsz));
        data_at = data_at.saturating_add(filesz.min(0x200));
        // The next segment follows, or (sometimes) comes first or overlaps.
        paddr = match u.int_in_range(0..=7u8)? {
            0 => MIN_LOAD_ADDRESS,
            1 => addr,
            _ => addr.saturating_add(memsz).saturating_add(0xfff) & !0xfff,
        };
    }
    let first = headers.iter().find(|h| h.0 == 1).map_or(MIN_LOAD_ADDRESS, |h| h.2);
    let entry = near(u, first, &[0, MIN_LOAD_ADDRESS, first.wrapping_add(1), mem])?;
    let len = near(u, data_at, &[0, 16, 63, 64, table_end - 1])?.min(MAX_LEN as u64) as usize;
    let mut f = synthesized(0);
    f.resize(len.max(64), 0);
    for (byte, normal) in [(4usize, 2u8), (5, 1), (7, 0xff)] {
        f[byte] = if u.ratio(1, 24)? { u.arbitrary()? } else { normal };
    }
    if u.ratio(1, 24)? {
        f[16..18].copy_from_slice(&u.arbitrary::<u16>()?.to_le_bytes());
    }
    if u.ratio(1, 24)? {
        f[18..20].copy_from_slice(&u.arbitrary::<u16>()?.to_le_bytes());
    }
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&phoff.to_le_bytes());
    f[54..56].copy_from_slice(&phentsize.to_le_bytes());
    f[56..58].copy_from_slice(&near(u, count as u64, &[0, 0xffff])?.to_le_bytes()[..2]);
    for (i, (kind, offset, addr, filesz, memsz)) in headers.into_iter().enumerate() {
        let at = 64 + 56 * i;
        if at + 56 > f.len() {
            break;
        }
        f[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        f[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        f[at + 16..at + 24].copy_from_slice(&addr.to_le_bytes());
        f[at + 24..at + 32].copy_from_slice(&addr.to_le_bytes());
        f[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        f[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
    }
    Ok(f)
}

/// The state one run of the target keeps: guest memory per size (allocated once).
#[derive(Default)]
pub struct Harness {
    rams: HashMap<u64, GuestRam>,
}

impl Harness {
    /// Runs one input: byte 0 chooses the memory size and whether the rest is a raw file
    /// (even) or a structured description (odd).
    pub fn exec(&mut self, data: &[u8]) -> Result<u64, Failure> {
        let Some((&mode, rest)) = data.split_first() else { return Ok(0) };
        let mem = MEMS[usize::from(mode >> 1) % MEMS.len()];
        if mode & 1 == 0 {
            self.check(rest, mem)
        } else {
            match structured(&mut Unstructured::new(rest), mem) {
                Ok(file) => self.check(&file, mem),
                Err(_) => Ok(1),
            }
        }
    }

    /// Validates `file` against `mem` bytes of guest memory and loads what is accepted.
    fn check(&mut self, file: &[u8], mem: u64) -> Result<u64, Failure> {
        let image = match elf::parse(file, mem) {
            Ok(image) => image,
            Err(e) => {
                let text = e.to_string();
                let kind = format!("{e:?}");
                let kind = kind.split(['(', ' ', '{']).next().unwrap_or("").to_string();
                // The message must name the segment's reason, not a number alone.
                if text.is_empty() {
                    return Err(format!("empty error message for {e:?}"));
                }
                return Ok(signature(("refused", kind, text.split(':').next().map(str::to_string))));
            }
        };
        let first = image.segments.first().ok_or("accepted an image without segments")?;
        if image.entry != first.paddr {
            return Err(format!("accepted entry {:#x} that is not the first segment {:#x}", image.entry, first.paddr));
        }
        if image.entry + 0x1000 > crate::entry_state::BOOT_MAPPED {
            return Err(format!("accepted entry {:#x} that the boot page tables do not map", image.entry));
        }
        let mut end_max = 0;
        for (i, s) in image.segments.iter().enumerate() {
            let mem_end = s.paddr.checked_add(s.memsz).ok_or(format!("segment {i}: address range overflows"))?;
            let file_end = s.offset.checked_add(s.filesz).ok_or(format!("segment {i}: file range overflows"))?;
            if s.paddr < MIN_LOAD_ADDRESS || mem_end > mem {
                return Err(format!("segment {i} accepted outside guest memory: {s:?} (mem {mem:#x})"));
            }
            if file_end > file.len() as u64 || s.filesz > s.memsz {
                return Err(format!("segment {i} accepted beyond the file: {s:?} (file {:#x})", file.len()));
            }
            end_max = end_max.max(mem_end);
        }
        // The header's image_size (end of the last segment minus the start) must describe
        // the image: the kernel places its heap after `base + image_size`.
        let last = image.segments.last().ok_or("no last segment")?;
        let size = (last.paddr + last.memsz)
            .checked_sub(first.paddr)
            .ok_or(format!("image size underflows: last segment {last:?} ends before the first starts"))?;
        if image.size() != size || image.end() != end_max || first.paddr + size != end_max {
            return Err(format!(
                "inconsistent image extent: start {:#x} size {:#x} end {:#x} (segments end at {end_max:#x})",
                image.start(),
                image.size(),
                image.end()
            ));
        }
        let ram = match self.rams.entry(mem) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(GuestRam::new(mem, false).map_err(|e| format!("cannot allocate test RAM: {e}"))?)
            }
        };
        crate::vm::load_image(file, &image, ram).map_err(|e| format!("accepted image does not load: {e}"))?;
        // The protocol stamp the proxy checks before boot is the one the loaded image holds
        // (where the file provides it: the test RAM is reused, so bytes beyond a segment's
        // file part hold earlier inputs, while a real run's RAM is fresh and zero there).
        let stamp_at = image.entry + offset::KERNEL_STAMP as u64;
        if stamp_at + 8 <= first.paddr + first.filesz {
            let loaded: u64 = ram.read(stamp_at).map_err(|e| e.to_string())?;
            if loaded != image.loaded_u64(file, stamp_at) {
                return Err(format!("stamp {:#x} checked, {loaded:#x} loaded", image.loaded_u64(file, stamp_at)));
            }
        }
        let protocol = elf::check_protocol(file, &image).is_ok();
        let config = Config::from_env(|k| (k == "HERMIT_MEM").then(|| mem.to_string()))
            .map_err(|e| format!("test configuration: {e}"))?;
        let header_end = image.entry + (offset::EXT + size_of::<hermit_interface::header::HeaderExt>()) as u64;
        match crate::vm::write_header(ram, &config, &image, 2_500_000, hermit_interface::header::FEATURE_APIC_PREPARED)
        {
            Ok(()) => {}
            Err(e) if header_end > mem => return Ok(signature(("header beyond memory", e))),
            Err(e) => return Err(format!("header of an accepted image not written: {e}")),
        }
        let base: u64 = ram.read(image.entry + offset::BASE as u64).map_err(|e| e.to_string())?;
        let image_size: u64 = ram.read(image.entry + offset::IMAGE_SIZE as u64).map_err(|e| e.to_string())?;
        let limit: u64 = ram.read(image.entry + offset::LIMIT as u64).map_err(|e| e.to_string())?;
        if (base, image_size, limit) != (first.paddr, size, mem) {
            return Err(format!("header holds base {base:#x} size {image_size:#x} limit {limit:#x}"));
        }
        let heap = crate::vm::pretouch(&config, &image, ram);
        if heap < end_max || !heap.is_multiple_of(2 << 20) {
            return Err(format!("application heap at {heap:#x} overlaps the image (ends at {end_max:#x})"));
        }
        Ok(signature(("loaded", image.segments.len(), heap > mem, protocol)))
    }
}

/// The target: seeds are synthesized images (1 to 3 segments), structured descriptions and,
/// with `HERMIT_FUZZ_IMAGE`, a real image.
pub fn target() -> Target<impl FnMut(&[u8]) -> Result<u64, Failure>> {
    let mut seeds: Vec<Vec<u8>> = (1..=3).map(|n| [&[0u8][..], &synthesized(n)].concat()).collect();
    seeds.extend((0..16u8).map(|i| [vec![1 + 2 * (i % 3)], vec![i.wrapping_mul(37); 64]].concat()));
    let mut max_len = MAX_LEN;
    if let Some(path) = std::env::var_os("HERMIT_FUZZ_IMAGE") {
        let real = std::fs::read(&path).unwrap_or_else(|e| panic!("HERMIT_FUZZ_IMAGE {path:?}: {e}"));
        max_len = max_len.max(real.len() + 1024);
        seeds.push([&[0u8][..], &real].concat());
    }
    let mut harness = Harness::default();
    Target { name: "image", seeds, max_len, focus: 4096, exec: move |d: &[u8]| harness.exec(d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "fuzzing: run with --ignored, HERMIT_FUZZ_SECONDS sets the time"]
    fn fuzz_image() {
        let report = engine::run(target(), engine::budget());
        assert!(report.crashes.is_empty(), "crashes: {:#?}", report.crashes);
    }

    /// Crash inputs found by this target, replayed (each must now pass).
    const REGRESSIONS: &[&str] = &[
        // The last segment below the first: image_size underflowed (elf.rs now refuses it).
        "05b9b9b9b9b9b020cd7c35209d3c2020202020fd204563207a7a7a7f7ab9b9b9b9b9b9b9b9b9b9b9b9b9b9b900b9b9b9b9b9\
         b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9",
        // Segments out of order: image_size smaller than the image.
        "0528282828282828282828282828282828282828280528282828282828280480000000000000282828282828282828282828\
         282828282828282828282828282828",
        // An empty segment at the very end of memory: accepted, then loading failed.
        "f70f949494949494475194ae9acc2dcc9494949494949494d650d69494d48f94945e00000000000000000000000000000077\
         1c43cc7740b0771b776e77e977079c7796f377017755b0000100000094e6778377f61c",
    ];

    #[test]
    fn regressions() {
        let mut h = Harness::default();
        engine::replay(|input| h.exec(input), REGRESSIONS);
    }

    /// A short deterministic run in every `cargo test`: each seed mutated 48 times.
    #[test]
    fn bounded_run() {
        engine::bounded_run(target(), 15);
    }

    #[test]
    fn seeds_load() {
        let mut h = Harness::default();
        for n in 1..=3 {
            let sig = h.exec(&[&[0u8][..], &synthesized(n)].concat()).unwrap();
            assert_eq!(sig, signature(("loaded", n, false, true)));
        }
    }
}

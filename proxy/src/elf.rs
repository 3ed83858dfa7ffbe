//! Validation of HermitCore images: an ELF64 x86-64 executable with OSABI 0xFF.
//!
//! Everything is checked before a byte reaches guest memory, and every refusal names what is
//! wrong with the file.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use hermit_interface::HERMIT_ELFOSABI;

use crate::entry_state::BOOT_MAPPED;

/// One loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest-physical load address (`p_paddr`, as uhyve used).
    pub paddr: u64,
    /// Offset of the bytes in the file.
    pub offset: u64,
    /// Bytes present in the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
}

/// A validated image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Entry point (`e_entry`), the address of `_start` and of the header.
    pub entry: u64,
    /// The `PT_LOAD` segments in file order.
    pub segments: Vec<Segment>,
}

impl Image {
    /// Address of the first segment (the header's `base`).
    pub fn start(&self) -> u64 {
        self.segments[0].paddr
    }

    /// The header's `image_size`: end of the last segment minus the start (as uhyve).
    pub fn size(&self) -> u64 {
        let last = self.segments.last().expect("validated image has a segment");
        last.paddr + last.memsz - self.start()
    }

    /// Highest byte any segment occupies, plus one.
    pub fn end(&self) -> u64 {
        self.segments.iter().map(|s| s.paddr + s.memsz).max().unwrap_or(0)
    }

    /// The little-endian `u64` that loading `file` puts at guest address `addr` (bytes outside
    /// every segment's file bytes count as zero, as loaded memory holds them).
    pub fn loaded_u64(&self, file: &[u8], addr: u64) -> u64 {
        let mut bytes = [0u8; 8];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let at = addr.saturating_add(i as u64);
            let found = self.segments.iter().find(|s| at >= s.paddr && at - s.paddr < s.filesz);
            if let Some(seg) = found {
                let index = usize::try_from(seg.offset + (at - seg.paddr)).unwrap_or(usize::MAX);
                *byte = file.get(index).copied().unwrap_or(0);
            }
        }
        u64::from_le_bytes(bytes)
    }
}

/// Bytes that every kernel of this project has carried since its first build (a log line of
/// its fast channel) and the original C kernel never did: how an image built before the
/// protocol stamp is recognized.
const OUR_KERNEL_MARK: &[u8] = b"fast channel, using port I/O";

/// Refuses an image whose kernel speaks another revision of the extension protocol than
/// this proxy ([`hermit_interface::header::image_protocol`]): under it the fast channel's
/// control block or the header extension would be misread, and the guest would hang. Original
/// HermitCore images (and hand-made ones) pass. Not called under `HERMIT_UHYVE_COMPAT=1`,
/// where the proxy writes no extension block and any image speaks the original protocol.
pub fn check_protocol(file: &[u8], image: &Image) -> Result<(), String> {
    use hermit_interface::header::{image_protocol, offset, ImageProtocol, EXT_VERSION};
    let stamp = image.loaded_u64(file, image.entry + offset::KERNEL_STAMP as u64);
    // Searched only for images without a current stamp (the stamp is checked first).
    let ours = image_protocol(stamp, false) == ImageProtocol::Original
        && file.windows(OUR_KERNEL_MARK.len()).any(|w| w == OUR_KERNEL_MARK);
    let advice = "rebuild it with this toolchain, run it with the proxy of its own build, or set \
                  HERMIT_UHYVE_COMPAT=1 to run it over the original uhyve protocol only";
    match image_protocol(stamp, ours) {
        ImageProtocol::Current | ImageProtocol::Original => Ok(()),
        ImageProtocol::Other(revision) => Err(format!(
            "the image's kernel speaks revision {revision} of this project's extension protocol (header \
             extension, fast channel), this proxy revision {EXT_VERSION}: {advice}"
        )),
        ImageProtocol::Unstamped => Err(format!(
            "the image was built by an older build of this project, whose kernel carries no extension protocol \
             stamp (revision 1) and would misread this proxy's fast channel (revision {EXT_VERSION}): {advice}"
        )),
    }
}

/// Why a file is not a runnable HermitCore image.
#[derive(Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header.
    TooShort(usize),
    /// No ELF magic.
    NotElf,
    /// `EI_CLASS` is not ELFCLASS64.
    NotClass64(u8),
    /// Not little endian.
    NotLittleEndian,
    /// `EI_OSABI` is not 0xFF.
    WrongAbi(u8),
    /// `e_type` is not ET_EXEC.
    NotExecutable(u16),
    /// `e_machine` is not x86-64.
    WrongMachine(u16),
    /// Program headers malformed or outside the file.
    BadProgramHeaders(&'static str),
    /// A segment's bytes lie outside the file.
    Truncated { segment: usize, end: u64, file: u64 },
    /// A segment is inconsistent or outside the loadable range.
    BadSegment { segment: usize, reason: String },
    /// No `PT_LOAD` segment.
    NoLoadSegment,
    /// The entry point is not the first byte of the first segment.
    BadEntry(u64),
    /// The entry point (and the header there) lies beyond the boot page tables' mapping.
    EntryUnmapped(u64),
    /// An interpreter (dynamic linking) is requested.
    Dynamic,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::TooShort(n) => write!(f, "the file is only {n} bytes long, too short for an ELF header"),
            ElfError::NotElf => write!(f, "not an ELF file (no ELF magic number)"),
            ElfError::NotClass64(c) => {
                write!(f, "a {}-bit ELF file; HermitCore images are 64-bit", if *c == 1 { "32" } else { "non-64" })
            }
            ElfError::NotLittleEndian => write!(f, "a big-endian ELF file; HermitCore images are little endian"),
            ElfError::WrongAbi(0) => write!(
                f,
                "ELF OSABI is 0 (System V/Linux): this is a Linux program, not a HermitCore image \
                 (build it with x86_64-hermit-gcc)"
            ),
            ElfError::WrongAbi(0x42) => {
                write!(f, "ELF OSABI is 0x42, the pre-2018 HermitCore ABI; rebuild the image (OSABI must be 0xff)")
            }
            ElfError::WrongAbi(a) => write!(f, "ELF OSABI is {a:#x}, not 0xff (standalone): not a HermitCore image"),
            ElfError::NotExecutable(t) => write!(f, "ELF type is {t}, not ET_EXEC (a static executable)"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine is {m}, not x86-64 (62)"),
            ElfError::BadProgramHeaders(why) => write!(f, "malformed program headers: {why}"),
            ElfError::Truncated { segment, end, file } => {
                write!(f, "the file is truncated: segment {segment} needs bytes up to {end} but the file has {file}")
            }
            ElfError::BadSegment { segment, reason } => write!(f, "segment {segment}: {reason}"),
            ElfError::NoLoadSegment => write!(f, "no loadable segment"),
            ElfError::BadEntry(e) => write!(f, "entry point {e:#x} is not the start of the image"),
            ElfError::EntryUnmapped(e) => write!(
                f,
                "entry point {e:#x} lies beyond the first {} MiB, which the boot page tables map: the image must \
                 start lower",
                BOOT_MAPPED >> 20
            ),
            ElfError::Dynamic => write!(f, "the image asks for a dynamic loader (PT_INTERP); it must be static"),
        }
    }
}

/// Reads the image file at `path`, which must be a regular file of at most `limit` bytes
/// (an image larger than guest memory cannot be loaded). FIFOs, devices, directories and
/// sockets are refused at once, without reading from them or waiting for a writer.
pub fn read_image(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read {shown}: {e}"))?;
    let kind = meta.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else {
        Some("a socket or other special file")
    };
    if let Some(what) = what {
        return Err(format!("{shown} is {what}; an image must be a regular file"));
    }
    let too_big = |size: u64| format!("{shown} is {size} bytes, more than guest memory ({limit} bytes); not an image");
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;

/// Lowest guest-physical address a segment may use: the proxy's boot structures and the
/// kernel heap live below.
pub const MIN_LOAD_ADDRESS: u64 = 0x80_0000;

/// Validates `file` (the whole image) against guest memory of `mem` bytes.
pub fn parse(file: &[u8], mem: u64) -> Result<Image, ElfError> {
    if file.len() < 64 {
        if file.len() >= 4 && &file[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        return Err(ElfError::TooShort(file.len()));
    }
    if &file[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if file[4] != 2 {
        return Err(ElfError::NotClass64(file[4]));
    }
    if file[5] != 1 {
        return Err(ElfError::NotLittleEndian);
    }
    if file[7] != HERMIT_ELFOSABI {
        return Err(ElfError::WrongAbi(file[7]));
    }
    let e_type = u16_at(file, 16);
    if e_type != 2 {
        return Err(ElfError::NotExecutable(e_type));
    }
    let machine = u16_at(file, 18);
    if machine != 62 {
        return Err(ElfError::WrongMachine(machine));
    }
    let entry = u64_at(file, 24);
    let phoff = u64_at(file, 32);
    let phentsize = u64::from(u16_at(file, 54));
    let phnum = u64::from(u16_at(file, 56));
    if phentsize < 56 {
        return Err(ElfError::BadProgramHeaders("entries are smaller than 56 bytes"));
    }
    let table_end = phentsize
        .checked_mul(phnum)
        .and_then(|n| n.checked_add(phoff))
        .ok_or(ElfError::BadProgramHeaders("table size overflows"))?;
    if table_end > file.len() as u64 {
        return Err(ElfError::BadProgramHeaders("table lies beyond the end of the file"));
    }
    let mut segments = Vec::new();
    for i in 0..phnum {
        let off = (phoff + i * phentsize) as usize;
        let ph = &file[off..off + 56];
        match u32_at(ph, 0) {
            PT_INTERP => return Err(ElfError::Dynamic),
            PT_LOAD => {}
            _ => continue,
        }
        let index = segments.len();
        let seg =
            Segment { offset: u64_at(ph, 8), paddr: u64_at(ph, 24), filesz: u64_at(ph, 32), memsz: u64_at(ph, 40) };
        let bad = |reason: String| ElfError::BadSegment { segment: index, reason };
        if seg.filesz > seg.memsz {
            return Err(bad(format!("file size {:#x} exceeds memory size {:#x}", seg.filesz, seg.memsz)));
        }
        let file_end = seg.offset.checked_add(seg.filesz).ok_or_else(|| bad("file range overflows".into()))?;
        if file_end > file.len() as u64 {
            return Err(ElfError::Truncated { segment: index, end: file_end, file: file.len() as u64 });
        }
        let mem_end = seg.paddr.checked_add(seg.memsz).ok_or_else(|| bad("address range overflows".into()))?;
        if seg.paddr < MIN_LOAD_ADDRESS {
            return Err(bad(format!("load address {:#x} is below {MIN_LOAD_ADDRESS:#x}", seg.paddr)));
        }
        if mem_end > mem {
            return Err(bad(format!("ends at {mem_end:#x}, beyond guest memory of {mem:#x} bytes (raise HERMIT_MEM)")));
        }
        // The header's `image_size` is the end of the last segment minus the start of the
        // first, so the segments must ascend (as the ELF specification requires anyway).
        if let Some(prev) = segments.last().map(|p: &Segment| p.paddr + p.memsz) {
            if seg.paddr < prev {
                return Err(bad(format!(
                    "starts at {:#x}, before the end of the previous segment ({prev:#x}); loadable segments \
                     must be in ascending address order and must not overlap",
                    seg.paddr
                )));
            }
        }
        segments.push(seg);
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadSegment);
    }
    let image = Image { entry, segments };
    if entry != image.start() {
        return Err(ElfError::BadEntry(entry));
    }
    // The header page as well: the kernel reads it before it builds its own tables.
    if entry.saturating_add(0x1000) > BOOT_MAPPED {
        return Err(ElfError::EntryUnmapped(entry));
    }
    Ok(image)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes the ELF header of a HermitCore image to `f`: 64-bit, little-endian, OSABI 0xFF,
    /// `ET_EXEC` for x86-64, entry 0x800000, `phnum` program headers right after the header.
    pub(crate) fn put_header(f: &mut [u8], phnum: u16) {
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[7] = 0xff;
        f[16..18].copy_from_slice(&2u16.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[24..32].copy_from_slice(&MIN_LOAD_ADDRESS.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&phnum.to_le_bytes());
    }

    /// Writes a `PT_LOAD` program header at `at` in `f`: `filesz` bytes from file `offset`
    /// to `paddr` (also the virtual address), `memsz` in memory.
    pub(crate) fn put_load(f: &mut [u8], at: usize, offset: u64, paddr: u64, filesz: u64, memsz: u64) {
        f[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        f[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        f[at + 16..at + 24].copy_from_slice(&paddr.to_le_bytes());
        f[at + 24..at + 32].copy_from_slice(&paddr.to_le_bytes());
        f[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        f[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
    }

    /// A minimal image that [`parse`] accepts: header, one program header, 0x100 bytes
    /// loaded at 0x800000 (0x1000 in memory).
    pub(crate) fn image() -> Vec<u8> {
        let mut f = vec![0u8; 0x200];
        put_header(&mut f, 1);
        put_load(&mut f, 64, 0x100, 0x80_0000, 0x100, 0x1000);
        f
    }

    const MEM: u64 = 512 << 20;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = std::env::temp_dir().join(format!("proxy-elf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = read_image(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(err.contains("a character device"), "{err}");
        let err = read_image(&dir, 1 << 20).unwrap_err();
        assert!(err.contains("a directory"), "{err}");
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid path; mkfifo creates a FIFO there.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Refused at once, without waiting for a writer.
        let err = read_image(&fifo, 1 << 20).unwrap_err();
        assert!(err.contains("a FIFO"), "{err}");
        let file = dir.join("image");
        std::fs::write(&file, [1u8; 100]).unwrap();
        assert_eq!(read_image(&file, 100).unwrap().len(), 100);
        let err = read_image(&file, 99).unwrap_err();
        assert!(err.contains("more than guest memory"), "{err}");
        assert!(read_image(&dir.join("missing"), 100).unwrap_err().starts_with("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn accepts_a_hermit_image() {
        let img = parse(&image(), MEM).unwrap();
        assert_eq!(img.entry, 0x80_0000);
        assert_eq!((img.start(), img.size(), img.end()), (0x80_0000, 0x1000, 0x80_1000));
    }

    #[test]
    fn refuses_text_and_short_files() {
        assert_eq!(parse(b"hello world, this is text", MEM), Err(ElfError::NotElf));
        assert_eq!(parse(b"\x7fEL", MEM), Err(ElfError::TooShort(3)));
        assert!(matches!(parse(&image()[..40], MEM), Err(ElfError::TooShort(40))));
    }

    #[test]
    fn refuses_other_classes_abis_types_and_machines() {
        let mut f = image();
        f[4] = 1;
        assert!(parse(&f, MEM).unwrap_err().to_string().contains("32-bit"));
        let mut f = image();
        f[7] = 0;
        assert!(parse(&f, MEM).unwrap_err().to_string().contains("Linux program"));
        let mut f = image();
        f[7] = 0x42;
        assert_eq!(parse(&f, MEM), Err(ElfError::WrongAbi(0x42)));
        let mut f = image();
        f[16] = 3;
        assert_eq!(parse(&f, MEM), Err(ElfError::NotExecutable(3)));
        let mut f = image();
        f[18] = 3;
        assert_eq!(parse(&f, MEM), Err(ElfError::WrongMachine(3)));
    }

    #[test]
    fn refuses_truncated_and_hostile_segments() {
        let f = image();
        assert!(matches!(parse(&f[..0x150], MEM), Err(ElfError::Truncated { .. })));
        let mut f = image();
        f[64 + 40..64 + 48].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(parse(&f, MEM), Err(ElfError::BadSegment { .. })));
        let mut f = image();
        f[64 + 24..64 + 32].copy_from_slice(&0x1000u64.to_le_bytes());
        assert!(matches!(parse(&f, MEM), Err(ElfError::BadSegment { .. })));
        let mut f = image();
        f[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
        assert!(matches!(parse(&f, MEM), Err(ElfError::BadProgramHeaders(_))));
        let mut f = image();
        f[64..68].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(parse(&f, MEM), Err(ElfError::Dynamic));
        let mut f = image();
        f[64 + 32..64 + 40].copy_from_slice(&0x2000u64.to_le_bytes());
        assert!(matches!(parse(&f, MEM), Err(ElfError::BadSegment { .. })));
    }

    #[test]
    fn refuses_an_entry_the_boot_tables_do_not_map() {
        // The guest faulted at its first instruction (a register dump, no reason given).
        let mut f = image();
        put_load(&mut f, 64, 0x100, BOOT_MAPPED, 0x100, 0x1000);
        f[24..32].copy_from_slice(&BOOT_MAPPED.to_le_bytes());
        let err = parse(&f, 1 << 30).unwrap_err();
        assert_eq!(err, ElfError::EntryUnmapped(BOOT_MAPPED));
        assert!(err.to_string().contains("the first 512 MiB"), "{err}");
        let below = BOOT_MAPPED - 0x1000;
        put_load(&mut f, 64, 0x100, below, 0x100, 0x1000);
        f[24..32].copy_from_slice(&below.to_le_bytes());
        assert_eq!(parse(&f, 1 << 30).unwrap().start(), below);
    }

    #[test]
    fn refuses_unordered_and_overlapping_segments() {
        // Found by the image fuzz target: with the second segment below the first, the
        // header's image_size (last end minus first start) underflowed.
        let mut f = image();
        f[56..58].copy_from_slice(&2u16.to_le_bytes());
        f.copy_within(64..120, 120);
        f[120 + 24..120 + 32].copy_from_slice(&0x80_0800u64.to_le_bytes());
        assert!(parse(&f, MEM).unwrap_err().to_string().contains("ascending"));
        f[120 + 24..120 + 32].copy_from_slice(&0x80_1000u64.to_le_bytes());
        assert_eq!(parse(&f, MEM).unwrap().size(), 0x2000);
    }

    #[test]
    fn images_of_another_protocol_revision_are_refused() {
        use hermit_interface::header::{offset, KERNEL_STAMP, KERNEL_STAMP_MAGIC};
        // Header page in the file from offset 0x200, loaded at 0x800000.
        let stamped = |stamp: u64, mark: bool| {
            let mut f = vec![0u8; 0x1200];
            put_header(&mut f, 1);
            put_load(&mut f, 64, 0x200, 0x80_0000, 0x1000, 0x1000);
            f[0x200 + offset::KERNEL_STAMP..][..8].copy_from_slice(&stamp.to_le_bytes());
            if mark {
                f[0x900..0x900 + OUR_KERNEL_MARK.len()].copy_from_slice(OUR_KERNEL_MARK);
            }
            f
        };
        let check = |f: &[u8]| check_protocol(f, &parse(f, MEM).unwrap());
        assert_eq!(check(&stamped(KERNEL_STAMP, true)), Ok(()));
        assert_eq!(check(&stamped(KERNEL_STAMP, false)), Ok(()));
        let older = check(&stamped(u64::from(KERNEL_STAMP_MAGIC) | 1 << 32, true)).unwrap_err();
        assert!(older.contains("speaks revision 1 of this project's extension protocol"), "{older}");
        assert!(older.contains("HERMIT_UHYVE_COMPAT=1"), "{older}");
        let unstamped = check(&stamped(0, true)).unwrap_err();
        assert!(unstamped.contains("built by an older build of this project"), "{unstamped}");
        // The original kernel (or a hand-made image): whatever is at the stamp's place runs.
        assert_eq!(check(&stamped(0, false)), Ok(()));
        assert_eq!(check(&stamped(0x9090_9090_c3c3_c3c3, false)), Ok(()));
        // The stamp beyond the file's bytes reads as zero.
        assert_eq!(check(&image()), Ok(()));
        let img = parse(&stamped(KERNEL_STAMP, false), MEM).unwrap();
        assert_eq!(img.loaded_u64(&stamped(KERNEL_STAMP, false), 0x80_0ffc), 0, "past filesz");
    }
}

//! Guest memory: the one module through which the proxy reads or writes guest RAM.
//!
//! Every access names a guest-physical address and a length; both are checked against the
//! RAM regions with overflow-safe arithmetic before any host memory is touched, so a hostile
//! guest can at most make a request fail. Strings are read with a bound.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use vm_memory::{
    Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion, VolatileMemory, VolatileSlice,
};

use crate::paging::{self, PhysRead};

/// Start of the 768 MiB hole below 4 GiB that uhyve leaves for devices.
pub const GAP_START: u64 = 0xD000_0000;
/// End of that hole.
pub const GAP_END: u64 = 1 << 32;

/// A guest access the proxy refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestError {
    /// `[addr, addr + len)` is not entirely guest RAM.
    OutOfRange { addr: u64, len: u64 },
    /// A string had no NUL within the bound.
    Unterminated { addr: u64, max: usize },
    /// A guest-virtual address is not mapped by the guest's page tables.
    Unmapped { vaddr: u64 },
    /// A field has an impossible value.
    Invalid(String),
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestError::OutOfRange { addr, len } => {
                write!(f, "the range {addr:#x}..+{len:#x} is outside guest memory")
            }
            GuestError::Unterminated { addr, max } => {
                write!(f, "the string at {addr:#x} has no terminating NUL within {max} bytes")
            }
            GuestError::Unmapped { vaddr } => write!(f, "guest-virtual address {vaddr:#x} is not mapped"),
            GuestError::Invalid(what) => write!(f, "{what}"),
        }
    }
}

/// `madvise` advice that faults pages in writable without changing them (Linux 5.14).
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// Granularity of background population: one huge page at a time, so that the thread
/// yields the CPU often and stops promptly when the proxy exits.
const POPULATE_CHUNK: usize = 2 << 20;

/// Short runs end before population starts, so they do not pay for memory they never use.
const POPULATE_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Guest RAM.
pub struct GuestRam {
    mem: GuestMemoryMmap,
}

impl GuestRam {
    /// Allocates `limit` bytes of guest-physical address space (minus the device hole when
    /// it reaches past 3.25 GiB), backed by anonymous memory with transparent huge pages if
    /// `hugepages`.
    pub fn new(limit: u64, hugepages: bool) -> std::io::Result<Self> {
        let ranges = ram_ranges(limit);
        let regions: Vec<(GuestAddress, usize)> =
            ranges.iter().map(|(start, len)| (GuestAddress(*start), *len as usize)).collect();
        let mem = GuestMemoryMmap::from_ranges(&regions).map_err(std::io::Error::other)?;
        if hugepages {
            for region in mem.iter() {
                let host = region.as_ptr();
                // SAFETY: `host..host + len` is exactly the mapping vm-memory created for this
                // region; MADV_HUGEPAGE only changes how the kernel backs it.
                unsafe { libc::madvise(host.cast(), region.len() as usize, libc::MADV_HUGEPAGE) };
            }
        }
        Ok(Self { mem })
    }

    /// `(guest address, host address, length)` of each RAM region, for KVM memory slots.
    pub fn regions(&self) -> Vec<(u64, u64, u64)> {
        self.mem.iter().map(|r| (r.start_addr().0, r.as_ptr() as u64, r.len())).collect()
    }

    /// A checked view of `[addr, addr + len)`, which must lie within one RAM region.
    fn slice(&self, addr: u64, len: u64) -> Result<VolatileSlice<'_, ()>, GuestError> {
        let out = GuestError::OutOfRange { addr, len };
        addr.checked_add(len).ok_or(out.clone())?;
        let count = usize::try_from(len).map_err(|_| out.clone())?;
        let region = self.mem.find_region(GuestAddress(addr)).ok_or(out.clone())?;
        let offset = addr - region.start_addr().0;
        if offset.checked_add(len).is_none_or(|end| end > region.len()) {
            return Err(out);
        }
        VolatileMemory::get_slice(&**region, offset as usize, count).map_err(|_| out)
    }

    /// Reads a little-endian value.
    pub fn read<T: vm_memory::ByteValued>(&self, addr: u64) -> Result<T, GuestError> {
        self.slice(addr, std::mem::size_of::<T>() as u64)?;
        self.mem
            .read_obj(GuestAddress(addr))
            .map_err(|_| GuestError::OutOfRange { addr, len: std::mem::size_of::<T>() as u64 })
    }

    /// Writes a little-endian value.
    pub fn write<T: vm_memory::ByteValued>(&self, addr: u64, value: T) -> Result<(), GuestError> {
        self.slice(addr, std::mem::size_of::<T>() as u64)?;
        self.mem
            .write_obj(value, GuestAddress(addr))
            .map_err(|_| GuestError::OutOfRange { addr, len: std::mem::size_of::<T>() as u64 })
    }

    /// Copies `bytes` into guest memory at `addr`.
    pub fn write_bytes(&self, addr: u64, bytes: &[u8]) -> Result<(), GuestError> {
        self.slice(addr, bytes.len() as u64)?.copy_from(bytes);
        Ok(())
    }

    /// Copies guest memory at `addr` into `buf`.
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestError> {
        self.slice(addr, buf.len() as u64)?.copy_to(buf);
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, GuestError> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 256];
        let mut pos = addr;
        while out.len() < max {
            let want = chunk.len().min(max - out.len()) as u64;
            // Stay inside the region: shrink the chunk to what is left of it.
            let region = self.mem.find_region(GuestAddress(pos)).ok_or(GuestError::OutOfRange { addr: pos, len: 1 })?;
            let left = region.start_addr().0 + region.len() - pos;
            let n = want.min(left) as usize;
            self.read_bytes(pos, &mut chunk[..n])?;
            if let Some(nul) = chunk[..n].iter().position(|b| *b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
            pos += n as u64;
        }
        Err(GuestError::Unterminated { addr, max })
    }

    /// A 32-bit atomic in guest memory (naturally aligned), for the fast channel.
    pub fn atomic_u32(&self, addr: u64) -> Result<&AtomicU32, GuestError> {
        if !addr.is_multiple_of(4) {
            return Err(GuestError::Invalid(format!("atomic at unaligned address {addr:#x}")));
        }
        let region = self.mem.find_region(GuestAddress(addr)).ok_or(GuestError::OutOfRange { addr, len: 4 })?;
        let out = GuestError::OutOfRange { addr, len: 4 };
        VolatileMemory::get_atomic_ref::<AtomicU32>(&**region, (addr - region.start_addr().0) as usize).map_err(|_| out)
    }

    /// Fails unless `[addr, addr + len)` is guest RAM.
    pub fn check(&self, addr: u64, len: u64) -> Result<(), GuestError> {
        self.slice(addr, len).map(drop)
    }

    /// Loads a 64-bit value with acquire ordering (fast-channel slot argument).
    pub fn load_u64(&self, addr: u64) -> Result<u64, GuestError> {
        self.slice(addr, 8)?;
        self.mem.load(GuestAddress(addr), Ordering::Acquire).map_err(|_| GuestError::OutOfRange { addr, len: 8 })
    }

    /// Writes `len` bytes of guest memory, starting at guest-virtual `vaddr` under the page
    /// tables rooted at `root`, to host descriptor `fd`. Returns the bytes written; a host
    /// error is returned as `Ok(Err(errno))`.
    pub fn write_to_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32) -> Result<Result<u64, i32>, GuestError> {
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard();
            // SAFETY: the pointer and length come from a bounds-checked slice of guest RAM
            // that stays mapped for the duration of the call; `write` only reads it.
            unsafe { libc::write(fd, guard.as_ptr().cast(), slice.len()) }
        })
    }

    /// Reads up to `len` bytes from host descriptor `fd` into guest memory at guest-virtual
    /// `vaddr`. Returns the bytes read, or `Ok(Err(errno))` for a host error.
    pub fn read_from_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32) -> Result<Result<u64, i32>, GuestError> {
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard_mut();
            // SAFETY: as in `write_to_fd`; `read` writes at most `slice.len()` bytes into it.
            unsafe { libc::read(fd, guard.as_ptr().cast(), slice.len()) }
        })
    }

    /// Runs `io` on each physically contiguous piece of a guest-virtual buffer, stopping at
    /// a short transfer or an error, as uhyve did page by page.
    fn transfer(
        &self,
        root: u64,
        vaddr: u64,
        len: u64,
        mut io: impl FnMut(&VolatileSlice<'_, ()>) -> isize,
    ) -> Result<Result<u64, i32>, GuestError> {
        vaddr.checked_add(len).ok_or(GuestError::OutOfRange { addr: vaddr, len })?;
        let mut done = 0u64;
        while done < len {
            let (paddr, page_end) =
                paging::translate(self, root, vaddr + done).ok_or(GuestError::Unmapped { vaddr: vaddr + done })?;
            let step = (page_end - paddr).min(len - done);
            let slice = self.slice(paddr, step)?;
            let n = io(&slice);
            if n < 0 {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
                return Ok(if done > 0 { Ok(done) } else { Err(errno) });
            }
            done += n as u64;
            if (n as u64) < step {
                break;
            }
        }
        Ok(Ok(done))
    }

    /// Has the host back all guest RAM, starting at guest-physical `first` (where the heap
    /// grows) and wrapping around, in a thread at idle priority that runs only when a host
    /// CPU would otherwise idle, from 50 ms after the start. The guest's first touch of a page then costs a shadow-MMU fill
    /// instead of the host's allocation and zeroing (milliseconds per 2 MiB here).
    /// `MADV_POPULATE_WRITE` leaves the contents alone, so it may race with the guest.
    pub fn populate_in_background(&self, first: u64) {
        let mem = self.mem.clone();
        let spawned = std::thread::Builder::new().name("populate".into()).spawn(move || {
            std::thread::sleep(POPULATE_DELAY);
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: changes only this thread's scheduling policy.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
            let mut chunks: Vec<(u64, usize, usize)> = Vec::new();
            for region in mem.iter() {
                let (gpa, len) = (region.start_addr().0, region.len() as usize);
                let host = region.as_ptr() as usize;
                chunks.extend(
                    (0..len)
                        .step_by(POPULATE_CHUNK)
                        .map(|off| (gpa + off as u64, host + off, POPULATE_CHUNK.min(len - off))),
                );
            }
            let split = chunks.partition_point(|(gpa, _, _)| *gpa < first);
            chunks.rotate_left(split);
            for (_, host, len) in chunks {
                // SAFETY: the range lies in a mapping owned by `mem`, which this thread keeps
                // alive; MADV_POPULATE_WRITE faults pages in without changing their contents.
                if unsafe { libc::madvise(host as *mut libc::c_void, len, MADV_POPULATE_WRITE) } != 0 {
                    break; // an older host kernel (before 5.14): the guest faults pages in itself
                }
            }
        });
        drop(spawned); // without the thread, the guest faults pages in itself
    }

    /// Writes one byte into each 2 MiB page of `[start, end)`, so that the host backs it with
    /// huge pages before the guest runs.
    pub fn pretouch(&self, start: u64, end: u64) {
        let mut addr = start & !0x1f_ffff;
        while addr < end {
            if let Ok(value) = self.read::<u8>(addr) {
                let _ = self.write::<u8>(addr, value);
            }
            addr += 0x20_0000;
        }
    }
}

impl PhysRead for GuestRam {
    fn read_u64(&self, addr: u64) -> Option<u64> {
        self.read::<u64>(addr).ok()
    }
}

/// The RAM ranges `(start, length)` of an address space ending at `limit`.
pub fn ram_ranges(limit: u64) -> Vec<(u64, u64)> {
    if limit <= GAP_START {
        vec![(0, limit)]
    } else if limit <= GAP_END {
        vec![(0, GAP_START)]
    } else {
        vec![(0, GAP_START), (GAP_END, limit - GAP_END)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_skip_the_device_hole() {
        assert_eq!(ram_ranges(512 << 20), vec![(0, 512 << 20)]);
        assert_eq!(ram_ranges(4 << 30), vec![(0, GAP_START)]);
        assert_eq!(ram_ranges(8 << 30), vec![(0, GAP_START), (GAP_END, 4 << 30)]);
    }

    #[test]
    fn accesses_are_bounds_checked() {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        ram.write::<u64>(0x1000, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(ram.read::<u64>(0x1000).unwrap(), 0x1122_3344_5566_7788);
        assert!(ram.read::<u64>((32 << 20) - 4).is_err());
        assert!(ram.read::<u32>(u64::MAX - 1).is_err());
        assert!(ram.write_bytes(u64::MAX - 2, b"abcd").is_err());
        let mut buf = [0u8; 16];
        assert!(ram.read_bytes((32 << 20) - 8, &mut buf).is_err());
    }

    #[test]
    fn strings_are_bounded() {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        ram.write_bytes(0x2000, b"hello\0").unwrap();
        assert_eq!(ram.read_cstr(0x2000, 100).unwrap(), b"hello");
        ram.write_bytes(0x3000, &[b'x'; 600]).unwrap();
        assert_eq!(ram.read_cstr(0x3000, 512), Err(GuestError::Unterminated { addr: 0x3000, max: 512 }));
        // A string running into the end of memory fails instead of reading beyond it.
        let end = 32 << 20;
        ram.write_bytes(end - 3, b"abc").unwrap();
        assert!(matches!(ram.read_cstr(end - 3, 100), Err(GuestError::OutOfRange { .. })));
    }

    #[test]
    fn atomics_need_alignment_and_range() {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        assert!(ram.atomic_u32(0x1002).is_err());
        assert!(ram.atomic_u32(32 << 20).is_err());
        ram.atomic_u32(0x1000).unwrap().store(7, Ordering::SeqCst);
        assert_eq!(ram.read::<u32>(0x1000).unwrap(), 7);
    }
}

//! Guest memory: the one module through which the proxy reads or writes guest RAM.
//!
//! Every access names a guest-physical address and a length; both are checked against the
//! RAM regions with overflow-safe arithmetic before any host memory is touched, so a hostile
//! guest can at most make a request fail. Strings are read with a bound.

use std::fmt;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, Ordering};

use vm_memory::{
    Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion, VolatileMemory, VolatileSlice,
};

use hermit_interface::header::{offset, HeaderExt};
use hermit_interface::PAGE_SIZE;

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
            GuestError::Invalid(what) => write!(f, "{what}"),
        }
    }
}

/// Guest RAM (clones share the memory).
#[derive(Clone)]
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

    /// Guest RAM of `limit` bytes of address space in `file` (shared with QEMU): the RAM
    /// below the device hole at file offset 0, the RAM above it right after, which is how
    /// QEMU's `pc` machine lays out one memory backend. The file must be large enough
    /// ([`ram_size`]).
    pub fn in_file(limit: u64, file: std::fs::File) -> std::io::Result<Self> {
        let file = std::sync::Arc::new(file);
        let mut offset = 0;
        let mut regions = Vec::new();
        for (start, len) in ram_ranges(limit) {
            regions.push((
                GuestAddress(start),
                len as usize,
                Some(vm_memory::FileOffset::from_arc(file.clone(), offset)),
            ));
            offset += len;
        }
        let mem = GuestMemoryMmap::from_ranges_with_files(&regions).map_err(std::io::Error::other)?;
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

    /// Reads a little-endian value. (Through the checked slice: `GuestMemoryMmap::read_obj`
    /// walks vm-memory's region iterator for every access, which made a request's dozen
    /// field accesses cost the fast channel about a microsecond.)
    pub fn read<T: vm_memory::ByteValued>(&self, addr: u64) -> Result<T, GuestError> {
        let len = std::mem::size_of::<T>() as u64;
        self.slice(addr, len)?.read_obj(0).map_err(|_| GuestError::OutOfRange { addr, len })
    }

    /// Writes a little-endian value (through the checked slice, as [`GuestRam::read`]).
    pub fn write<T: vm_memory::ByteValued>(&self, addr: u64, value: T) -> Result<(), GuestError> {
        let len = std::mem::size_of::<T>() as u64;
        self.slice(addr, len)?.write_obj(value, 0).map_err(|_| GuestError::OutOfRange { addr, len })
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

    /// Stores a u64 at guest-physical `addr` with release ordering (a value the guest reads
    /// while it runs).
    pub fn store_u64(&self, addr: u64, value: u64) -> Result<(), GuestError> {
        self.slice(addr, 8)?;
        self.mem
            .store(value, GuestAddress(addr), Ordering::Release)
            .map_err(|_| GuestError::OutOfRange { addr, len: 8 })
    }

    /// Writes `len` bytes of guest memory, starting at guest-virtual `vaddr` under the page
    /// tables rooted at `root`, to host descriptor `fd`. Returns the bytes written, or the
    /// errno of a failure before any byte moved (see [`GuestRam::transfer`]).
    pub fn write_to_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32) -> Result<u64, i32> {
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard();
            // SAFETY: the pointer and length come from a bounds-checked slice of guest RAM
            // that stays mapped for the duration of the call; `write` only reads it.
            unsafe { libc::write(fd, guard.as_ptr().cast(), slice.len()) }
        })
    }

    /// Reads up to `len` bytes from host descriptor `fd` into guest memory at guest-virtual
    /// `vaddr`. Returns the bytes read, or the errno of a failure before any byte moved.
    pub fn read_from_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32) -> Result<u64, i32> {
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard_mut();
            // SAFETY: as in `write_to_fd`; `read` writes at most `slice.len()` bytes into it.
            unsafe { libc::read(fd, guard.as_ptr().cast(), slice.len()) }
        })
    }

    /// One `read` from host descriptor `fd` into guest-physical `[addr, addr + len)`
    /// (checked first): the bytes read, or the host's errno (a device's frame straight into
    /// a guest buffer).
    pub fn read_fd_phys(&self, addr: u64, len: u64, fd: i32) -> Result<Result<usize, i32>, GuestError> {
        let slice = self.slice(addr, len)?;
        let guard = slice.ptr_guard_mut();
        // SAFETY: the pointer and length come from a bounds-checked slice of guest RAM that
        // stays mapped for the duration of the call; `read` writes at most `slice.len()` bytes.
        let n = unsafe { libc::read(fd, guard.as_ptr().cast(), slice.len()) };
        Ok(count_or_errno(n))
    }

    /// One `readv` from host descriptor `fd` into `prefix` and then guest-physical `[addr,
    /// addr + len)` (checked first): the bytes read in all, or the host's errno (a tap's
    /// virtio-net header into the proxy, the frame straight into a guest buffer).
    pub fn readv_fd_phys(
        &self,
        prefix: &mut [u8],
        addr: u64,
        len: u64,
        fd: i32,
    ) -> Result<Result<usize, i32>, GuestError> {
        let slice = self.slice(addr, len)?;
        let guard = slice.ptr_guard_mut();
        let iov = [
            libc::iovec { iov_base: prefix.as_mut_ptr().cast(), iov_len: prefix.len() },
            libc::iovec { iov_base: guard.as_ptr().cast(), iov_len: slice.len() },
        ];
        // SAFETY: both buffers are live for the call (a bounds-checked slice of guest RAM
        // that stays mapped, and `prefix`); `readv` writes at most their lengths.
        let n = unsafe { libc::readv(fd, iov.as_ptr(), 2) };
        Ok(count_or_errno(n))
    }

    /// One `writev` to host descriptor `fd` of `parts` (the proxy's bytes, at most three)
    /// followed by guest-physical `[addr, addr + len)` (checked first): the bytes written in all, or
    /// the host's errno (a frame's checked headers from the proxy, its payload straight from
    /// the guest's buffer).
    pub fn writev_fd_phys(
        &self,
        parts: &[&[u8]],
        addr: u64,
        len: u64,
        fd: i32,
    ) -> Result<Result<usize, i32>, GuestError> {
        if len == 0 {
            // Nothing from the guest (`addr` may be the end of RAM).
            let all = parts.concat();
            // SAFETY: writes from a live buffer of its length.
            let n = unsafe { libc::write(fd, all.as_ptr().cast(), all.len()) };
            return Ok(count_or_errno(n));
        }
        let slice = self.slice(addr, len)?;
        let guard = slice.ptr_guard();
        let empty = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        let mut iov = [empty; 4];
        let parts = &parts[..parts.len().min(3)];
        for (v, p) in iov.iter_mut().zip(parts) {
            *v = libc::iovec { iov_base: p.as_ptr().cast_mut().cast(), iov_len: p.len() };
        }
        iov[parts.len()] = libc::iovec { iov_base: guard.as_ptr().cast_mut().cast(), iov_len: slice.len() };
        // SAFETY: every buffer is live for the call (the parts, and a bounds-checked slice of
        // guest RAM that stays mapped); `writev` only reads them.
        let n = unsafe { libc::writev(fd, iov.as_ptr(), parts.len() as i32 + 1) };
        Ok(count_or_errno(n))
    }

    /// As [`GuestRam::write_to_fd`] at file offset `offset` (`pwrite`; the descriptor's own
    /// offset is left alone).
    pub fn pwrite_to_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32, offset: i64) -> Result<u64, i32> {
        let mut at = offset;
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard();
            // SAFETY: as in `write_to_fd`.
            let n = unsafe { libc::pwrite(fd, guard.as_ptr().cast(), slice.len(), at) };
            at += n.max(0) as i64;
            n
        })
    }

    /// As [`GuestRam::read_from_fd`] at file offset `offset` (`pread`).
    pub fn pread_from_fd(&self, root: u64, vaddr: u64, len: u64, fd: i32, offset: i64) -> Result<u64, i32> {
        let mut at = offset;
        self.transfer(root, vaddr, len, |slice| {
            let guard = slice.ptr_guard_mut();
            // SAFETY: as in `read_from_fd`.
            let n = unsafe { libc::pread(fd, guard.as_ptr().cast(), slice.len(), at) };
            at += n.max(0) as i64;
            n
        })
    }

    /// Runs `io` on each physically contiguous piece of a guest-virtual buffer, stopping at
    /// a short transfer, a host error, or a page that is not mapped to guest RAM. As Linux's
    /// `read`/`write`: the bytes moved so far, else `EFAULT` for a bad buffer (also one
    /// whose end wraps around) or the host's errno. The original uhyve stopped the guest.
    fn transfer(
        &self,
        root: u64,
        vaddr: u64,
        len: u64,
        mut io: impl FnMut(&VolatileSlice<'_, ()>) -> isize,
    ) -> Result<u64, i32> {
        if vaddr.checked_add(len).is_none() {
            return Err(libc::EFAULT);
        }
        let mut done = 0u64;
        while done < len {
            let piece = paging::translate(self, root, vaddr + done).and_then(|(paddr, page_end)| {
                let step = (page_end - paddr).min(len - done);
                self.slice(paddr, step).ok()
            });
            let Some(slice) = piece else {
                return if done > 0 { Ok(done) } else { Err(libc::EFAULT) };
            };
            let n = io(&slice);
            if n < 0 {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
                return if done > 0 { Ok(done) } else { Err(errno) };
            }
            done += n as u64;
            if (n as usize) < slice.len() {
                break;
            }
        }
        Ok(done)
    }

    /// The program break the kernel published in the header extension at `entry` (0 if none).
    pub fn heap_break(&self, entry: u64) -> u64 {
        self.load_u64(entry + offset::EXT as u64 + offset_of!(HeaderExt, heap_break) as u64).unwrap_or(0)
    }

    /// The lowest kernel allocation from the top of RAM, as published (0 if none).
    pub fn kernel_low(&self, entry: u64) -> u64 {
        self.load_u64(entry + offset::EXT as u64 + offset_of!(HeaderExt, kernel_low) as u64).unwrap_or(0)
    }

    /// How many guest cores run a task, as the kernel publishes it (0 if it does not).
    pub fn busy_cores(&self, entry: u64) -> u64 {
        self.load_u64(entry + offset::EXT as u64 + offset_of!(HeaderExt, busy_cores) as u64).unwrap_or(0)
    }

    /// The kernel's mask of cores that are not halted (bit `i`: core `i`), 0 if unknown.
    pub fn busy_mask(&self, entry: u64) -> u64 {
        self.load_u64(entry + offset::EXT as u64 + offset_of!(HeaderExt, busy_mask) as u64).unwrap_or(0)
    }

    /// Has the host back `[gpa, gpa + len)` with memory now: an atomic compare-exchange
    /// that leaves each 4 KiB page's first word as it is write-faults the page in (a whole huge page at its first touch)
    /// without changing what the guest may be writing there at the same moment. A page
    /// fault holds only the lock of the guest-RAM mapping, never the address-space lock that
    /// `MADV_POPULATE_WRITE` holds, so a population thread starved of CPU inside it stalls
    /// no other thread's `mmap` or `munmap`. False if the range is not guest RAM.
    pub fn populate(&self, gpa: u64, len: u64) -> bool {
        let end = gpa.saturating_add(len);
        let mut page = gpa & !(PAGE_SIZE - 1);
        while page < end {
            let Ok(word) = self.atomic_u32(page) else { return false };
            // A compare-exchange always writes on x86 (compilers turn an idempotent
            // `fetch_or(0)` into a plain load, which maps the shared zero page instead).
            let _ = word.compare_exchange(0, 0, Ordering::Relaxed, Ordering::Relaxed);
            page += PAGE_SIZE;
        }
        true
    }

    /// Gives `[gpa, gpa + len)` back to the host (`MADV_DONTNEED`): the guest reads zeros
    /// there afterwards. Only for memory the guest has given up.
    pub fn release(&self, gpa: u64, len: u64) {
        let _ = self.advise(gpa, len, libc::MADV_DONTNEED);
    }

    fn advise(&self, gpa: u64, len: u64, advice: libc::c_int) -> bool {
        let Ok(slice) = self.slice(gpa, len) else { return false };
        let guard = slice.ptr_guard_mut();
        // SAFETY: the range is a bounds-checked part of the guest-RAM mapping, which stays
        // mapped while `self` lives; DONTNEED is only applied to memory the guest no longer
        // uses (it then reads zeros, as fresh memory).
        unsafe { libc::madvise(guard.as_ptr().cast(), slice.len(), advice) == 0 }
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

/// Bytes of RAM in `limit` bytes of guest-physical address space (without the hole).
pub fn ram_size(limit: u64) -> u64 {
    ram_ranges(limit).iter().map(|(_, len)| len).sum()
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

/// A byte count returned by a host `read`/`write`-like call, or its errno (EIO if the host
/// gave none).
fn count_or_errno(n: isize) -> Result<usize, i32> {
    if n < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_ram_lies_in_the_file_as_qemu_lays_it_out() {
        use std::os::unix::fs::FileExt;
        let limit = (4 << 30) + (64 << 20);
        let file = tempfile_in_tmp();
        file.set_len(ram_size(limit)).unwrap();
        assert_eq!(ram_size(limit), GAP_START + (64 << 20));
        let ram = GuestRam::in_file(limit, file.try_clone().unwrap()).unwrap();
        ram.write::<u64>(0x1000, 0x1122_3344).unwrap();
        ram.write::<u64>(GAP_END + 8, 0x5566_7788).unwrap();
        assert!(ram.write::<u8>(GAP_START, 1).is_err(), "the hole is not RAM");
        let mut word = [0u8; 8];
        file.read_exact_at(&mut word, 0x1000).unwrap();
        assert_eq!(u64::from_le_bytes(word), 0x1122_3344);
        file.read_exact_at(&mut word, GAP_START + 8).unwrap();
        assert_eq!(u64::from_le_bytes(word), 0x5566_7788, "RAM above the hole follows the low RAM in the file");
    }

    /// An unlinked scratch file (sparse, so its size costs nothing).
    fn tempfile_in_tmp() -> std::fs::File {
        let path = std::env::temp_dir().join(format!("hermit-guest-ram-test-{}", std::process::id()));
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

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

    /// 32 MiB of RAM whose page tables (PML4 at 0x1000) map guest-virtual 0..16 MiB to
    /// itself and 16..18 MiB to guest-physical 64 MiB, which is not RAM.
    fn ram_with_tables() -> GuestRam {
        let ram = GuestRam::new(32 << 20, false).unwrap();
        ram.write::<u64>(0x1000, 0x2000 | 3).unwrap();
        ram.write::<u64>(0x2000, 0x3000 | 3).unwrap();
        for i in 0..8u64 {
            ram.write::<u64>(0x3000 + 8 * i, (i << 21) | 0x83).unwrap();
        }
        ram.write::<u64>(0x3000 + 8 * 8, (64 << 20) | 0x83).unwrap();
        ram
    }

    fn pipe() -> (std::fs::File, std::fs::File) {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid out-array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are fresh and owned by nobody else.
        unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) }
    }

    #[test]
    fn partial_buffers_give_short_counts() {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let ram = ram_with_tables();
        let edge = 16 << 20;
        ram.write_bytes(edge - 100, &[7u8; 100]).unwrap();
        let (mut rx, mut tx) = pipe();
        // The first 100 bytes are RAM, the rest maps outside it: a short count.
        assert_eq!(ram.write_to_fd(0x1000, edge - 100, 200, tx.as_raw_fd()), Ok(100));
        let mut got = [0u8; 100];
        rx.read_exact(&mut got).unwrap();
        assert_eq!(got, [7u8; 100]);
        // Nothing transferable: EFAULT, and nothing written.
        assert_eq!(ram.write_to_fd(0x1000, edge, 10, tx.as_raw_fd()), Err(libc::EFAULT));
        assert_eq!(ram.write_to_fd(0x1000, 20 << 20, 10, tx.as_raw_fd()), Err(libc::EFAULT));
        assert_eq!(ram.write_to_fd(0x1000, 0x1000, u64::MAX - 8, tx.as_raw_fd()), Err(libc::EFAULT));
        assert_eq!(ram.write_to_fd(0x1000, edge, 0, tx.as_raw_fd()), Ok(0));
        // Reading stops at the same page; the bytes before it arrive.
        tx.write_all(&[9u8; 200]).unwrap();
        assert_eq!(ram.read_from_fd(0x1000, edge - 100, 200, rx.as_raw_fd()), Ok(100));
        let mut back = [0u8; 100];
        ram.read_bytes(edge - 100, &mut back).unwrap();
        assert_eq!(back, [9u8; 100]);
        assert_eq!(ram.read_from_fd(0x1000, edge + 5, 10, rx.as_raw_fd()), Err(libc::EFAULT));
        // A host error before any byte moved is the host's errno.
        assert_eq!(ram.write_to_fd(0x1000, 0x4000, 10, -1), Err(libc::EBADF));
    }

    /// Resident kilobytes of the mapping that starts at `base` (from /proc/self/smaps).
    fn resident_kib(base: u64) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{base:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn population_allocates_keeps_contents_and_checks_ranges() {
        let ram = GuestRam::new(32 << 20, true).unwrap();
        ram.write::<u64>(0x20_0008, 0x5555).unwrap();
        let before = resident_kib(ram.regions()[0].1);
        assert!(ram.populate(0x40_0000, 8 << 20));
        // Really backed by host memory, not mapped to the zero page.
        assert!(resident_kib(ram.regions()[0].1) >= before + (8 << 10));
        assert!(ram.populate(0x20_0000, 2 << 20));
        assert_eq!(ram.read::<u64>(0x20_0008).unwrap(), 0x5555);
        assert!(!ram.populate(31 << 20, 2 << 20));
        ram.release(0x20_0000, 2 << 20);
        assert_eq!(ram.read::<u64>(0x20_0008).unwrap(), 0);
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

//! `MAP_SHARED` file mappings: the C library's copies of a host file's range, kept coherent with the program's own reads and writes of the file and written back.
//!
//! Guest memory is mapped once at boot, so a mapping cannot share pages with the host's page
//! cache. The C library's `mmap` allocates the memory and has the kernel read the range into
//! it and register it ([`sys_hermit_map_shared`]). From then on, as with Linux's one page
//! cache:
//! - a `write` or `pwrite` of the program to the file (through any descriptor: files are
//!   told apart by device and inode) lands in its mappings too ([`wrote`]);
//! - a mapping of a file opened for reading and writing keeps a copy of the bytes as last
//!   read or written back. Pages that differ from it were stored through the mapping: they
//!   go to the file at `msync` ([`sys_hermit_msync`]), `munmap`
//!   ([`sys_hermit_unmap_shared`]), `exit` ([`write_back_all`]) and before a `read` or
//!   `pread` of the file ([`reading`]), so reads see them; then to the file's other mappings.
//!
//! Unlike Linux: changes other processes make to the file are not seen; two mappings of one
//! file see each other's stores only at those points; a page wholly past the end of the file
//! reads zeros (Linux raises `SIGBUS`) and bytes past the end are not written back (as on
//! Linux); a writable mapping takes its size twice; stores not written back are lost when the
//! program ends by a fault. Costs while no mapping exists: one atomic load per host read and
//! write.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

use super::ptr::ret_int;
use super::types::off_t;
use crate::errno::{Result, EINVAL, EIO, ENODEV};
use crate::fs::blksize::is_regular;
use crate::fs::dirty::{changed_runs, overlap};
use crate::fs::fd::{self, Object};
use crate::fs::host;
use crate::fs::offset::SEEK_CUR;
use crate::synch::spinlock::SpinLock;

/// One registered mapping.
struct Mapping {
    /// The open file, kept open after the program closes its descriptor (as a mapping keeps
    /// its file on Linux).
    _file: Arc<Object>,
    /// Its host descriptor.
    raw: i32,
    /// The file's device and inode.
    id: (u64, u64),
    /// The file offset of its first byte.
    offset: u64,
    /// The C library's memory.
    addr: usize,
    len: usize,
    /// The file's bytes as last read or written back, for a writable mapping.
    shadow: Option<Vec<u8>>,
}

static MAPS: SpinLock<Vec<Mapping>> = SpinLock::new(Vec::new());
/// Registered mappings, and the writable ones among them.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static WRITABLE: AtomicUsize = AtomicUsize::new(0);

/// The memory of a registered mapping.
///
/// # Safety
/// `addr..addr + len` must be a mapping registered and not yet unregistered, and the caller
/// must hold the [`MAPS`] lock (no other kernel reference to it exists then).
unsafe fn memory<'a>(addr: usize, len: usize) -> &'a mut [u8] {
    // SAFETY: by the caller's contract the C library keeps this memory allocated until it
    // unregisters the mapping (`sys_hermit_map_shared`'s contract).
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

fn identity(raw: i32) -> Result<(u64, u64)> {
    let st = host::fstat(raw)?;
    Ok((st.st_dev, st.st_ino))
}

/// Reads the file range into `buf` (zeros from the end of the file on).
fn fill(raw: i32, buf: &mut [u8], offset: u64) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = host::pread(raw, &mut buf[done..], (offset + done as u64) as i64)?;
        if n == 0 {
            buf[done..].fill(0);
            break;
        }
        done += n;
    }
    Ok(())
}

/// Registers `len` bytes at `addr` as a shared mapping of the regular host file behind `fd`
/// from `offset` on, and reads that range into it (zeros past the end of the file); with
/// `writable` stores into it are written back. 0 or `-errno` (`ENODEV` for a descriptor that
/// is no regular host file).
///
/// # Safety
/// `addr..addr + len` must be memory of the caller's that it neither frees nor reuses
/// before [`sys_hermit_unmap_shared`] of `addr` returned.
#[no_mangle]
pub unsafe extern "C" fn sys_hermit_map_shared(
    fd: c_int,
    offset: off_t,
    addr: *mut c_void,
    len: usize,
    writable: c_int,
) -> c_int {
    ret_int(register(fd, offset, addr as usize, len, writable != 0).map(|()| 0))
}

fn register(fd: c_int, offset: off_t, addr: usize, len: usize, writable: bool) -> Result<()> {
    let offset = u64::try_from(offset).map_err(|_| EINVAL)?;
    if addr == 0 || len == 0 {
        return Err(EINVAL);
    }
    let (file, raw) = fd::host_fd(fd, ENODEV)?;
    let st = host::fstat(raw)?;
    if !is_regular(st.st_mode) {
        return Err(ENODEV);
    }
    let mut maps = MAPS.lock();
    // SAFETY: registered by this call under the lock (the caller's contract).
    let mem = unsafe { memory(addr, len) };
    fill(raw, mem, offset)?;
    let shadow = writable.then(|| mem.to_vec());
    maps.push(Mapping { _file: file, raw, id: (st.st_dev, st.st_ino), offset, addr, len, shadow });
    LIVE.fetch_add(1, Ordering::Relaxed);
    if writable {
        WRITABLE.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Writes back the mapping at `addr` and forgets it; 0 (also for an address that is no
/// registered mapping) or the `-errno` of the write-back.
#[no_mangle]
pub extern "C" fn sys_hermit_unmap_shared(addr: *mut c_void) -> c_int {
    let mut maps = MAPS.lock();
    let Some(i) = maps.iter().position(|m| m.addr == addr as usize) else { return 0 };
    let result = write_back(&mut maps, i);
    let gone = maps.swap_remove(i);
    LIVE.fetch_sub(1, Ordering::Relaxed);
    if gone.shadow.is_some() {
        WRITABLE.fetch_sub(1, Ordering::Relaxed);
    }
    ret_int(result.map(|()| 0))
}

/// Writes back the writable mappings that `addr..addr + len` meets (`msync`); 0 or the
/// first `-errno`.
#[no_mangle]
pub extern "C" fn sys_hermit_msync(addr: *mut c_void, len: usize) -> c_int {
    let (start, end) = (addr as usize, (addr as usize).saturating_add(len));
    let mut maps = MAPS.lock();
    let mut result = Ok(());
    for i in 0..maps.len() {
        if maps[i].addr < end && start < maps[i].addr + maps[i].len {
            result = result.and(write_back(&mut maps, i));
        }
    }
    ret_int(result.map(|()| 0))
}

/// Writes back every writable mapping (at `exit`).
pub fn write_back_all() {
    if WRITABLE.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut maps = MAPS.lock();
    for i in 0..maps.len() {
        let _ = write_back(&mut maps, i);
    }
}

/// Whether any mapping is registered (a write must then tell [`wrote`] where it went).
pub fn active() -> bool {
    LIVE.load(Ordering::Relaxed) != 0
}

/// Where the last write of `n` bytes through host descriptor `raw` at the host's offset
/// began, for [`wrote`].
pub fn host_write_start(raw: i32, n: usize) -> Option<u64> {
    let end = host::lseek(raw, 0, SEEK_CUR).ok()?;
    u64::try_from(end).ok()?.checked_sub(n as u64)
}

/// Where the last write of `n` bytes through host descriptor `raw` at the end of the file
/// (`pwrite` in append mode) began, for [`wrote`].
pub fn end_write_start(raw: i32, n: usize) -> Option<u64> {
    let size = host::fstat(raw).ok()?.st_size;
    u64::try_from(size).ok()?.checked_sub(n as u64)
}

/// The program wrote `data` at file offset `at` through host descriptor `raw`: the file's
/// mappings take it.
pub fn wrote(raw: i32, at: u64, data: &[u8]) {
    if !active() || data.is_empty() {
        return;
    }
    let Ok(id) = identity(raw) else { return };
    let mut maps = MAPS.lock();
    for m in maps.iter_mut().filter(|m| m.id == id) {
        take(m, at, data);
    }
}

/// The program is about to read through host descriptor `raw`: the file's writable
/// mappings are written back first, so that the read sees their stores.
pub fn reading(raw: i32) {
    if WRITABLE.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Ok(id) = identity(raw) else { return };
    let mut maps = MAPS.lock();
    for i in 0..maps.len() {
        if maps[i].id == id {
            let _ = write_back(&mut maps, i);
        }
    }
}

/// Copies `data`, the file's bytes from `at` on, into mapping `m` (and its copy).
fn take(m: &mut Mapping, at: u64, data: &[u8]) {
    let Some((in_map, in_data)) = overlap(m.offset, m.len, at, data.len()) else { return };
    // SAFETY: `m` is registered and the caller holds the lock.
    let mem = unsafe { memory(m.addr, m.len) };
    mem[in_map.clone()].copy_from_slice(&data[in_data.clone()]);
    if let Some(shadow) = &mut m.shadow {
        shadow[in_map].copy_from_slice(&data[in_data]);
    }
}

/// Writes the pages of mapping `i` that changed since its copy was made to the file (the
/// bytes before its end), then into the file's other mappings.
fn write_back(maps: &mut [Mapping], i: usize) -> Result<()> {
    let m = &mut maps[i];
    let Some(shadow) = &mut m.shadow else { return Ok(()) };
    // SAFETY: `m` is registered and the caller holds the lock.
    let mem = unsafe { memory(m.addr, m.len) };
    let runs = changed_runs(mem, shadow);
    if runs.is_empty() {
        return Ok(());
    }
    let size = u64::try_from(host::fstat(m.raw)?.st_size).unwrap_or(0);
    let mut written = Vec::new();
    for run in runs {
        let at = m.offset + run.start as u64;
        let end = run.end.min(size.saturating_sub(m.offset).min(m.len as u64) as usize);
        if run.start < end {
            let mut done = run.start;
            while done < end {
                match host::pwrite(m.raw, &mem[done..end], (m.offset + done as u64) as i64)? {
                    0 => return Err(EIO),
                    n => done += n,
                }
            }
            written.push((at, run.start..end));
        }
        shadow[run.clone()].copy_from_slice(&mem[run]);
    }
    let (id, addr, len) = (m.id, m.addr, m.len);
    // SAFETY: as above; the other mappings' memory is theirs, apart from this one's.
    let mem = unsafe { memory(addr, len) };
    for other in maps.iter_mut().filter(|o| o.id == id && o.addr != addr) {
        for (at, range) in &written {
            take(other, *at, &mem[range.clone()]);
        }
    }
    Ok(())
}

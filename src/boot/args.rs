//! Arguments and environment from the loader: `CMDLINE` (this project's extension, without
//! a count limit) when offered, else the original CMDSIZE, then CMDVAL.
//!
//! Every variable the host sends reaches the program: the original kernel used the last
//! slot as the terminator and so dropped the last environment variable (quirk 4 of
//! `libhermit-abi.md`); here the arrays have `envc + 1` entries. The original protocol
//! passes at most 128 of each (`MAX_ARGC_ENVC`); this project's loader refuses to run a
//! program with more over it instead of cutting them.

use alloc::vec;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ffi::c_char;
use core::sync::atomic::{AtomicPtr, Ordering};

use hermit_interface::header::FEATURE_CMDLINE;
use hermit_interface::hypercall::{port, CmdLine, CmdSize, CmdVal};
use hermit_interface::{MAX_ARGC_ENVC, MAX_CMDLINE};

use crate::drivers::hypercall::{call, has_feature};

/// Largest single argument or variable accepted from the host.
const MAX_STRING: i32 = 1 << 20;

/// What `libc_start` receives.
pub struct Args {
    pub argc: i32,
    pub argv: *mut *mut c_char,
    pub envp: *mut *mut c_char,
}

static PUBLISHED: AtomicPtr<Args> = AtomicPtr::new(core::ptr::null_mut());

/// `argv[0]` when the loader passes no arguments.
static DEFAULT_NAME: [u8; 11] = *b"hermit-app\0";

/// Asks the host for argv and the environment.
pub fn fetch() -> Args {
    if has_feature(FEATURE_CMDLINE) {
        if let Some(args) = fetch_cmdline() {
            return args;
        }
    }
    fetch_original()
}

/// Command lines up to this size (strings plus pointer arrays) live in the kernel heap,
/// whose first pages the loader has already backed, and take one exit to fetch; larger ones
/// take frames from the top of RAM and a second exit.
const SMALL_CMDLINE: usize = 16 << 10;

/// `CMDLINE`: every string into one buffer with the pointer arrays in front of it (offered
/// up front, so that one exit usually suffices); all of it lives forever.
fn fetch_cmdline() -> Option<Args> {
    let small = Layout::from_size_align(SMALL_CMDLINE, 8).ok()?;
    // SAFETY: a non-zero-sized layout.
    let heap = unsafe { alloc::alloc::alloc(small) } as u64;
    // The strings go after room for 64 pointers, enough for most programs.
    let guess = 64 * 8;
    let mut query = CmdLine::default();
    if heap != 0 {
        query.buf = heap + guess as u64;
        query.size = (SMALL_CMDLINE - guess) as u64;
    }
    call(port::CMDLINE, &mut query);
    let (argc, envc, size) = (query.argc as usize, query.envc as usize, query.size as usize);
    let slots = argc.checked_add(envc)?.checked_add(2)?;
    if argc == 0 || size == 0 || size > MAX_CMDLINE || slots > MAX_CMDLINE / 8 {
        return None;
    }
    let pointers = slots * 8;
    let fetched = heap != 0 && pointers <= guess && size <= SMALL_CMDLINE - guess;
    let (base, strings) = if fetched {
        (heap, heap + guess as u64)
    } else {
        if heap != 0 {
            // SAFETY: allocated above with this layout, and nothing refers to it.
            unsafe { alloc::alloc::dealloc(heap as *mut u8, small) };
        }
        let base = crate::mm::alloc_frames((pointers + size) as u64, 0x1000).ok()?;
        query.buf = base + pointers as u64;
        query.size = size as u64;
        call(port::CMDLINE, &mut query);
        if query.size != size as u64 {
            return None;
        }
        (base, base + pointers as u64)
    };
    // SAFETY: `[base, base + pointers)` and `[strings, strings + size)` are disjoint parts of
    // identity-mapped RAM that the heap or `alloc_frames` handed to this function alone and
    // that is never freed; the host has filled the string part.
    let (table, bytes) = unsafe {
        (
            core::slice::from_raw_parts_mut(base as *mut *mut c_char, slots),
            core::slice::from_raw_parts_mut(strings as *mut u8, size),
        )
    };
    bytes[size - 1] = 0;
    let mut next = 0;
    let mut entries = (0..argc + envc).map(|_| {
        let at = next.min(size - 1);
        let len = bytes[at..].iter().position(|b| *b == 0).unwrap_or(0);
        next = at + len + 1;
        // SAFETY: `at` lies inside the buffer; the string ends at the NUL found above.
        unsafe { bytes.as_mut_ptr().add(at) as *mut c_char }
    });
    let (argv_slots, envp_slots) = table.split_at_mut(argc + 1);
    for slot in argv_slots[..argc].iter_mut().chain(envp_slots[..envc].iter_mut()) {
        *slot = entries.next().unwrap_or(core::ptr::null_mut());
    }
    table[argc] = core::ptr::null_mut();
    table[argc + 1 + envc] = core::ptr::null_mut();
    let argv = table.as_mut_ptr();
    // SAFETY: `argc + 1` is within the table of `argc + envc + 2` pointers.
    let envp = unsafe { argv.add(argc + 1) };
    Some(Args { argc: argc as i32, argv, envp })
}

/// The original protocol: CMDSIZE, then CMDVAL into one buffer per string.
fn fetch_original() -> Args {
    let mut sizes = CmdSize::default();
    call(port::CMDSIZE, &mut sizes);
    let argc = sizes.argc.clamp(0, MAX_ARGC_ENVC as i32) as usize;
    let envc = sizes.envc.clamp(0, MAX_ARGC_ENVC as i32) as usize;
    let mut arg_bufs: Vec<Vec<u8>> =
        sizes.argsz[..argc].iter().map(|n| vec![0u8; n.clamp(&1, &MAX_STRING).unsigned_abs() as usize]).collect();
    let mut env_bufs: Vec<Vec<u8>> =
        sizes.envsz[..envc].iter().map(|n| vec![0u8; n.clamp(&1, &MAX_STRING).unsigned_abs() as usize]).collect();
    let arg_addrs: Vec<u64> = arg_bufs.iter_mut().map(|b| b.as_mut_ptr() as u64).collect();
    let env_addrs: Vec<u64> = env_bufs.iter_mut().map(|b| b.as_mut_ptr() as u64).collect();
    let mut values = CmdVal { argv: arg_addrs.as_ptr() as u64, envp: env_addrs.as_ptr() as u64 };
    if argc + envc > 0 {
        call(port::CMDVAL, &mut values);
    }
    for buf in arg_bufs.iter_mut().chain(env_bufs.iter_mut()) {
        if let Some(last) = buf.last_mut() {
            *last = 0;
        }
    }
    if arg_bufs.is_empty() {
        arg_bufs.push(DEFAULT_NAME.to_vec());
    }
    Args { argc: arg_bufs.len() as i32, argv: leak_strings(arg_bufs), envp: leak_strings(env_bufs) }
}

/// Turns the buffers into a NULL-terminated `char *[]` that lives forever.
fn leak_strings(bufs: Vec<Vec<u8>>) -> *mut *mut c_char {
    let mut pointers: Vec<*mut c_char> = bufs.into_iter().map(|b| b.leak().as_mut_ptr() as *mut c_char).collect();
    pointers.push(core::ptr::null_mut());
    pointers.leak().as_mut_ptr()
}

/// Keeps the arguments for the main task.
pub fn publish(args: Args) {
    PUBLISHED.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(args)), Ordering::Release);
}

/// The value of environment variable `name` in `args`, if set.
pub fn env_value<'a>(args: &'a Args, name: &str) -> Option<&'a [u8]> {
    let mut at = args.envp;
    loop {
        // SAFETY: `envp` is the null-terminated array `fetch` built of NUL-terminated strings
        // that live for ever.
        let entry = unsafe { *at };
        if entry.is_null() {
            return None;
        }
        // SAFETY: as above: a NUL-terminated string that lives for ever.
        let text = unsafe { core::ffi::CStr::from_ptr(entry) }.to_bytes();
        if let Some(value) = text.strip_prefix(name.as_bytes()).and_then(|rest| rest.strip_prefix(b"=")) {
            return Some(value);
        }
        // SAFETY: not past the terminating null pointer, which ended the loop above.
        at = unsafe { at.add(1) };
    }
}

/// The arguments stored by [`publish`].
pub fn published() -> &'static Args {
    let ptr = PUBLISHED.load(Ordering::Acquire);
    // SAFETY: `publish` stored a leaked box before the main task started; it is never freed.
    unsafe { &*ptr }
}

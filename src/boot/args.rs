//! Arguments and environment from the loader (CMDSIZE, then CMDVAL).
//!
//! Every variable the host sends reaches the program: the original kernel used the last
//! slot as the terminator and so dropped the last environment variable (quirk 4 of
//! `libhermit-abi.md`); here the arrays have `envc + 1` entries.

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_char;
use core::sync::atomic::{AtomicPtr, Ordering};

use hermit_interface::hypercall::{port, CmdSize, CmdVal};
use hermit_interface::MAX_ARGC_ENVC;

use crate::drivers::hypercall::call;

/// Largest single argument or variable accepted from the host.
const MAX_STRING: i32 = 1 << 20;

/// What `libc_start` receives.
pub struct Args {
    pub argc: i32,
    pub argv: *mut *mut c_char,
    pub envp: *mut *mut c_char,
}

static PUBLISHED: AtomicPtr<Args> = AtomicPtr::new(core::ptr::null_mut());

/// Asks the host for argv and the environment.
pub fn fetch() -> Args {
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
        arg_bufs.push(b"hermit-app\0".to_vec());
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

/// The arguments stored by [`publish`].
pub fn published() -> &'static Args {
    let ptr = PUBLISHED.load(Ordering::Acquire);
    // SAFETY: `publish` stored a leaked box before the main task started; it is never freed.
    unsafe { &*ptr }
}

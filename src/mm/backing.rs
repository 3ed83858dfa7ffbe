//! Host memory for what the kernel takes: a `POPULATE` request before the first touch.
//!
//! The first touch of guest memory the host has not backed yet costs the host a huge-page
//! allocation inside a shadow-MMU fault; the loader's population thread backs memory ahead of
//! the break and below the stacks, but it is a host thread like any other and may be late
//! (right after boot, on a busy host). So when the program break moves, or stacks are taken
//! from the top of RAM, past what the loader has published as backed
//! ([`HeaderExt::heap_ready`], [`HeaderExt::kernel_ready`]), the kernel asks the loader to
//! back the new range and waits for it ([`port::POPULATE`], through the fast channel when
//! it runs). Only when the loader offers [`FEATURE_POPULATE`]; under the original uhyve, or
//! when the host keeps its memory margin, the kernel proceeds and the first touch backs the
//! memory as before.

use core::sync::atomic::{AtomicU64, Ordering};

use hermit_interface::header::{HeaderExt, FEATURE_POPULATE};
use hermit_interface::hypercall::{port, Populate};

use super::region::align_down;
use crate::config::LARGE_PAGE_SIZE;
use crate::drivers::hypercall;

/// Reads a field of the header extension that the loader updates while the kernel runs.
fn loader_value(field: &u64) -> u64 {
    // SAFETY: `field` is a naturally aligned u64 of the header extension, which lives for
    // the whole run; the loader stores to it atomically, the kernel only loads it.
    unsafe { AtomicU64::from_ptr(core::ptr::from_ref(field).cast_mut()) }.load(Ordering::Acquire)
}

/// The header extension, if the loader serves `POPULATE`.
fn extension() -> Option<&'static HeaderExt> {
    hypercall::header_ext().filter(|_| hypercall::has_feature(FEATURE_POPULATE))
}

/// Has the loader back `[start, end)`, which the kernel just took with the program break.
pub fn heap(start: u64, end: u64) {
    if let Some(ext) = extension() {
        if start < end && end > loader_value(&ext.heap_ready) {
            request(start, end);
        }
    }
}

/// Has the loader back the highest 2 MiB page of `[start, end)`, which the kernel just took
/// from the top of RAM: stacks are touched from their top, and most of a stack is never
/// used (an 8 MiB main stack would cost milliseconds of boot); the population thread keeps
/// the memory below ahead.
pub fn top(start: u64, end: u64) {
    if let Some(ext) = extension() {
        let start = start.max(align_down(end.saturating_sub(1), LARGE_PAGE_SIZE as u64));
        let ready = loader_value(&ext.kernel_ready);
        if start < end && (ready == 0 || start < ready) {
            request(start, end);
        }
    }
}

fn request(start: u64, end: u64) {
    let mut req = Populate { start, len: end - start, ret: 0 };
    hypercall::call(port::POPULATE, &mut req);
    if req.ret != 0 {
        log::debug!("the loader did not back {start:#x}..{end:#x} ({})", req.ret);
    }
}

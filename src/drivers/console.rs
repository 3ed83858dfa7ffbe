//! The kernel console: the UART of the header (the loader prints it when verbose), the
//! `.kmsg` ring, and the host's stderr for fault reports.

use core::sync::atomic::Ordering;

use hermit_interface::header::FEATURE_EXT_HYPERCALLS;
use hermit_interface::hypercall::{port, Console, Write};
use hermit_interface::KMSG_SIZE;

use super::hypercall::{call, has_feature, header_ext};
use crate::arch::{kmsg_area, outl};

/// Appends `bytes` to the `.kmsg` ring at image + 0x5000.
pub fn kmsg(bytes: &[u8]) {
    static WRITTEN: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    let start = WRITTEN.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    let ring = kmsg_area();
    for (i, byte) in bytes.iter().enumerate() {
        let pos = (start as usize + i) % KMSG_SIZE;
        // SAFETY: `pos` is inside the 4 KiB ring, which belongs to the kernel.
        unsafe { ring.add(pos).write_volatile(*byte) };
    }
    if let Some(ext) = header_ext() {
        let written = core::ptr::addr_of!(ext.kmsg_written) as *mut u64;
        // SAFETY: the kernel owns `kmsg_written` in the extension block; the loader reads it
        // only after the guest stopped.
        unsafe { written.write_volatile(start + bytes.len() as u64) };
    }
}

/// Writes `bytes` to the UART if the loader gave one (`uartport`, verbose mode).
pub fn uart(bytes: &[u8]) {
    let port_number = crate::arch::header().uartport;
    if port_number == 0 || bytes.is_empty() {
        return;
    }
    if has_feature(FEATURE_EXT_HYPERCALLS) {
        let mut line = Console { buf: bytes.as_ptr() as u64, len: bytes.len() as u64 };
        call(port::CONSOLE, &mut line);
        return;
    }
    for byte in bytes {
        // SAFETY: a console byte, not an address; the host prints it.
        unsafe { outl(port_number as u16, u32::from(*byte)) };
    }
}

/// Console output of `kprintf`/`kputs` and the log: ring plus UART.
pub fn write(bytes: &[u8]) {
    kmsg(bytes);
    uart(bytes);
}

/// A report the user must see (faults, panics): ring, UART and the host's stderr.
pub fn emergency(bytes: &[u8]) {
    kmsg(bytes);
    let mut request = Write { fd: 2, buf: bytes.as_ptr() as u64, len: bytes.len() as u64 };
    call(port::WRITE, &mut request);
}

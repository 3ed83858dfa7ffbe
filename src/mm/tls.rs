//! Layout of a thread-local storage block, x86-64 variant II.
//!
//! The thread pointer (FS base) points at the thread control block; the TLS image lies
//! directly below it, `round_up(memsz, align)` bytes long, so that the offsets the linker
//! computed for local-exec TLS hold. The original rounded only to 32 bytes (quirk 9 of
//! `libhermit-abi.md`); this layout uses the segment's real alignment.
#![forbid(unsafe_code)]

use super::region::align_up;

/// Bytes of the thread control block above the thread pointer. `fs:0` holds the thread
/// pointer itself and `fs:0x28` the stack-protector canary, as code built by gcc expects.
pub const TCB_SIZE: u64 = 256;

/// Offset of the stack-protector canary in the TCB.
pub const CANARY_OFFSET: u64 = 0x28;

/// Where the parts of a TLS block go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsLayout {
    /// Bytes to allocate.
    pub size: u64,
    /// Alignment of the allocation.
    pub align: u64,
    /// Offset of the TLS image (copy of `.tdata`, then zeroed `.tbss`).
    pub data: u64,
    /// Offset of the thread pointer.
    pub tp: u64,
}

/// The layout for a TLS segment of `memsz` bytes aligned to `align`: the image starts
/// `round_up(memsz, align)` bytes below the thread pointer (where the linker's local-exec
/// offsets expect it) and the thread pointer is aligned to at least 16 bytes.
pub fn tls_layout(memsz: u64, align: u64) -> TlsLayout {
    let align = align.max(1).next_power_of_two();
    let image = align_up(memsz, align);
    let tp_align = align.max(16);
    let tp = align_up(image, tp_align);
    TlsLayout { size: tp + TCB_SIZE, align: tp_align, data: tp - image, tp }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_pointer_is_aligned_and_above_the_image() {
        let l = tls_layout(100, 64);
        assert_eq!(l.tp, 128);
        assert_eq!(l.tp % l.align, 0);
        assert_eq!(l.size, 128 + TCB_SIZE);
        // The linker's offset of the first TLS byte is -round_up(memsz, align).
        assert_eq!(l.tp - l.data, 128);
    }

    #[test]
    fn small_alignment_keeps_the_linker_offsets() {
        // One `int`: the linker addresses it at fs:-4.
        let l = tls_layout(4, 4);
        assert_eq!((l.tp - l.data, l.tp % 16, l.align), (4, 0, 16));
        // 20 bytes aligned to 8: fs:-24.
        let l = tls_layout(20, 8);
        assert_eq!(l.tp - l.data, 24);
        assert_eq!(l.data % 8, 0);
    }

    #[test]
    fn empty_segment_still_has_a_tcb() {
        let l = tls_layout(0, 1);
        assert_eq!((l.tp, l.size, l.align), (0, TCB_SIZE, 16));
    }
}

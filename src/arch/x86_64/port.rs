//! Port output, the transport of the original uhyve hypercalls.
//!
//! At CPL 3 an `out` raises #GP on PVM hosts (IOPL is ignored there); the CPL-0 trap
//! handler then performs it and resumes after the instruction. On hardware KVM the
//! IOPL 3 that CPL 3 runs with lets the `out` exit to the host directly.

/// Writes a 32-bit value to an I/O port.
///
/// # Safety
/// The value is handed to the hypervisor; for hypercall ports it must be the address of a
/// valid argument struct that stays alive and untouched until this returns.
#[inline(always)]
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: the caller guarantees the hypercall contract; the instruction itself only
    // touches the port (memory is clobbered because the host writes results back).
    unsafe { core::arch::asm!("out dx, eax", in("dx") port, in("eax") value, options(nostack, preserves_flags)) };
}

/// Writes a 32-bit value to the loader's doorbell register at `addr` (an MMIO exit).
///
/// # Safety
/// `addr` must be a mapped doorbell register; the value is handed to the hypervisor as an
/// `out` would be (see [`outl`]).
#[inline(always)]
pub unsafe fn doorbell(addr: u64, value: u32) {
    // SAFETY: by the caller's contract; memory is clobbered because the host reads the
    // argument struct and writes results back.
    unsafe {
        core::arch::asm!("mov dword ptr [{addr}], {value:e}", addr = in(reg) addr, value = in(reg) value, options(nostack, preserves_flags))
    };
}

/// Writes a byte to an I/O port (devices such as QEMU's debug console and doorbell take only
/// bytes).
///
/// # Safety
/// The port must belong to a device whose reaction to the byte is harmless to the kernel.
#[inline(always)]
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: by the caller's contract. The instruction touches no memory, but it is not
    // `nomem`: QEMU's doorbell wakes a host thread that reads what the guest stored before
    // it (a channel slot's request), so the compiler must not move those stores past it.
    unsafe { core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nostack, preserves_flags)) };
}

/// Reads a 32-bit value from an I/O port (at CPL 3 performed by the trampoline, like `out`).
///
/// # Safety
/// The port must belong to a device whose reaction to the read is harmless to the kernel.
#[inline(always)]
pub unsafe fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: by the caller's contract; the instruction touches no memory.
    unsafe {
        core::arch::asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack, preserves_flags))
    };
    value
}

//! The interrupt descriptor table. Its address is loaded at CPL 0; the entries are written here,
//! from CPL 3, before anything can fault.

use core::mem::size_of;

use super::gdt::KERNEL_CODE;
use super::trap::{stub_address, IST_CRITICAL, IST_DEFAULT, IST_INTERRUPT};

/// Number of vectors.
const VECTORS: usize = 256;

/// The IDT: 256 gates of 16 bytes.
#[repr(C, align(16))]
pub struct Idt(pub [[u64; 2]; VECTORS]);

const _: () = assert!(size_of::<Idt>() == 4096);

/// The IDT, loaded by every core's CPL-0 entry.
pub static mut IDT: Idt = Idt([[0; 2]; VECTORS]);

/// Encodes a 64-bit interrupt gate.
const fn gate(handler: u64, ist: u64, dpl: u64) -> [u64; 2] {
    let low = (handler & 0xffff)
        | (KERNEL_CODE << 16)
        | (ist << 32)
        | ((0x8e | (dpl << 5)) << 40)
        | (((handler >> 16) & 0xffff) << 48);
    [low, handler >> 32]
}

/// Writes all 256 gates. Every gate uses an IST stack, so an interrupt never writes below the
/// interrupted stack pointer (applications use the red zone). NMI, double fault and machine
/// check get a stack of their own, and so do external interrupts; `int3` and `into` may be
/// raised from CPL 3.
pub fn fill() {
    for vector in 0..VECTORS {
        let ist = match vector {
            2 | 8 | 18 => IST_CRITICAL,
            32.. => IST_INTERRUPT,
            _ => IST_DEFAULT,
        };
        let dpl = if vector == 3 || vector == 4 { 3 } else { 0 };
        let entry = gate(stub_address(vector), ist, dpl);
        // SAFETY: the IDT is only written here, by the first core before it starts others;
        // the CPU reads it only when a vector is raised.
        unsafe {
            let slot = core::ptr::addr_of_mut!(IDT.0[vector]);
            slot.write_volatile(entry);
        }
    }
}

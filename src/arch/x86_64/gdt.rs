//! Global descriptor table and task-state segments (one TSS per core).
//!
//! The CPL-0 entry loads [`GDT`] and fills this core's TSS descriptor itself; the first core
//! prepares the IST stacks of the others before it lets them start.

use core::mem::size_of;

use crate::config::MAX_CORES;

/// Kernel code selector (64-bit), as in the original and uhyve.
pub const KERNEL_CODE: u64 = 0x08;
/// Kernel data selector.
pub const KERNEL_DATA: u64 = 0x10;
/// User data selector (RPL 0; OR in 3 when loading).
pub const USER_DATA: u64 = 0x20;
/// User code selector, 64-bit (RPL 0; OR in 3 when loading).
pub const USER_CODE64: u64 = 0x28;
/// Selector of core 0's TSS; core `i` uses `TSS_SELECTOR_BASE + 16 * i`.
pub const TSS_SELECTOR_BASE: u64 = 0x30;

/// Number of 8-byte GDT slots: six segments plus a 16-byte TSS descriptor per core.
const GDT_SLOTS: usize = 6 + 2 * MAX_CORES;

/// The GDT.
#[repr(C, align(16))]
pub struct Gdt(pub [u64; GDT_SLOTS]);

/// A 64-bit task-state segment.
#[repr(C, packed(4))]
pub struct Tss {
    reserved0: u32,
    /// Stack for a privilege change to CPL 0 without IST (unused: every gate has an IST).
    pub rsp0: u64,
    rsp1: u64,
    rsp2: u64,
    reserved1: u64,
    /// Exception and interrupt stack.
    pub ist1: u64,
    /// NMI, double-fault and machine-check stack.
    pub ist2: u64,
    /// External-interrupt stack.
    pub ist3: u64,
    ist4: u64,
    ist5: u64,
    ist6: u64,
    ist7: u64,
    reserved2: u64,
    reserved3: u16,
    /// Offset of the I/O permission bitmap (unused: CPL 3 runs with IOPL 3).
    pub iomap_base: u16,
}

/// One TSS per core, 128 bytes apart.
#[repr(C, align(128))]
pub struct TssSlot(pub Tss);

/// log2 of the TSS stride.
pub const TSS_SHIFT: u32 = 7;

const _: () = {
    assert!(size_of::<Tss>() == 0x68);
    assert!(size_of::<TssSlot>() == 1 << TSS_SHIFT);
    assert!(core::mem::offset_of!(Tss, ist1) == 0x24);
};

/// The GDT: null, kernel code/data, user code32/data/code64, then the TSS descriptors.
pub static mut GDT: Gdt = {
    let mut slots = [0u64; GDT_SLOTS];
    slots[1] = 0x00af_9b00_0000_ffff; // 0x08 kernel code, 64-bit
    slots[2] = 0x00cf_9300_0000_ffff; // 0x10 kernel data
    slots[3] = 0x00cf_fb00_0000_ffff; // 0x18 user code, 32-bit
    slots[4] = 0x00cf_f300_0000_ffff; // 0x20 user data
    slots[5] = 0x00af_fb00_0000_ffff; // 0x28 user code, 64-bit
    Gdt(slots)
};

const EMPTY_TSS: TssSlot = TssSlot(Tss {
    reserved0: 0,
    rsp0: 0,
    rsp1: 0,
    rsp2: 0,
    reserved1: 0,
    ist1: 0,
    ist2: 0,
    ist3: 0,
    ist4: 0,
    ist5: 0,
    ist6: 0,
    ist7: 0,
    reserved2: 0,
    reserved3: 0,
    iomap_base: 0,
});

/// The TSS of every core (all zero until a core starts, so it costs no file space).
pub static mut TSS: [TssSlot; MAX_CORES] = [EMPTY_TSS; MAX_CORES];

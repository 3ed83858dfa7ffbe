//! The firmware the proxy gives QEMU (`-bios`): 64 KiB whose only code puts a core into
//! uhyve's 64-bit entry state and jumps to the image.
//!
//! QEMU maps the file below 4 GiB and its last 64 KiB again at 0xF0000. The first core
//! starts at the reset vector (offset 0xFFF0), which jumps to offset 0 through the low
//! alias; the kernel starts the other cores with start-up IPIs to the same page
//! ([`hermit_interface::qemu::SIPI_VECTOR`]). From real mode the code loads uhyve's GDT (at
//! 0x1000) and page tables (CR3 = 0x10000), both written by the proxy into guest RAM before
//! QEMU starts, enables PAE, long mode and paging, and far-jumps into 64-bit code, which
//! loads the data segments, zeroes every general register, sets RFLAGS to 0x2 and jumps to
//! the entry stored at [`entry_slot`]. CR0 ends up 0xE0000011 (the reset value with PE and
//! PG), CR4 0x20, EFER 0x500: the contract of `crate::entry_state`. No BIOS runs at all.

use core::arch::global_asm;

use hermit_interface::qemu::SIPI_VECTOR;

use crate::entry_state::{BOOT_GDT, BOOT_PML4};

/// Size of the firmware file (QEMU wants a multiple of 64 KiB).
pub const SIZE: usize = 0x1_0000;

/// Offset of the reset vector in the file (linear 0xFFFFFFF0).
const RESET_VECTOR: usize = 0xFFF0;

global_asm!(
    r#"
    .pushsection .rodata.hermit_qemu_firmware, "a", @progbits
    .balign 16
    .globl hermit_qemu_fw_start
    .hidden hermit_qemu_fw_start
hermit_qemu_fw_start:
    .code16
    cli
    cld
    // lgdt cs:[offset of hermit_qemu_fw_gdt] (disp16 addressing)
    .byte 0x2e, 0x0f, 0x01, 0x16
    .short hermit_qemu_fw_gdt - hermit_qemu_fw_start
    mov eax, 0x20
    mov cr4, eax
    mov eax, {pml4}
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    or eax, 0x80000000
    mov cr0, eax
    .byte 0x66, 0xea
    .long {low_base} + (hermit_qemu_fw_long - hermit_qemu_fw_start)
    .short 0x08
    .code64
hermit_qemu_fw_long:
    mov eax, 0x10
    mov ds, eax
    mov es, eax
    mov fs, eax
    mov gs, eax
    mov ss, eax
    mov esp, {gdt}
    push 2
    popfq
    mov eax, 0
    mov ebx, 0
    mov ecx, 0
    mov edx, 0
    mov esi, 0
    mov edi, 0
    mov ebp, 0
    mov esp, 0
    mov r8d, 0
    mov r9d, 0
    mov r10d, 0
    mov r11d, 0
    mov r12d, 0
    mov r13d, 0
    mov r14d, 0
    mov r15d, 0
    jmp qword ptr [rip + hermit_qemu_fw_entry]
    .balign 8
    .globl hermit_qemu_fw_entry
    .hidden hermit_qemu_fw_entry
hermit_qemu_fw_entry:
    .quad 0
hermit_qemu_fw_gdt:
    .short 23
    .long {gdt}
    .globl hermit_qemu_fw_end
    .hidden hermit_qemu_fw_end
hermit_qemu_fw_end:
    .popsection
"#,
    pml4 = const BOOT_PML4,
    gdt = const BOOT_GDT,
    low_base = const (SIPI_VECTOR as u64) << 12,
);

extern "C" {
    static hermit_qemu_fw_start: u8;
    static hermit_qemu_fw_entry: u8;
    static hermit_qemu_fw_end: u8;
}

/// The code between the start and end symbols, and the offset of its entry slot.
fn code() -> (&'static [u8], usize) {
    let start = core::ptr::addr_of!(hermit_qemu_fw_start);
    let entry = core::ptr::addr_of!(hermit_qemu_fw_entry) as usize - start as usize;
    let len = core::ptr::addr_of!(hermit_qemu_fw_end) as usize - start as usize;
    // SAFETY: the three symbols delimit one block of read-only bytes in this binary's
    // .rodata (the global_asm above), end after start.
    (unsafe { core::slice::from_raw_parts(start, len) }, entry)
}

/// The firmware for an image entered at `entry`: the code at offset 0, `hlt` everywhere
/// else, and at the reset vector a far jump to 0xF000:0000 (the
/// code's low alias). The entry slot is 8-byte aligned, followed by the GDT pointer.
pub fn image(entry: u64) -> Vec<u8> {
    let (code, slot) = code();
    let mut rom = vec![0xF4u8; SIZE];
    rom[..code.len()].copy_from_slice(code);
    rom[slot..slot + 8].copy_from_slice(&entry.to_le_bytes());
    let segment = (u16::from(SIPI_VECTOR) << 8).to_le_bytes();
    rom[RESET_VECTOR..RESET_VECTOR + 5].copy_from_slice(&[0xEA, 0, 0, segment[0], segment[1]]);
    rom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firmware_holds_code_entry_and_reset_jump() {
        let rom = image(0x80_0000);
        assert_eq!(rom.len(), SIZE);
        // cli; cld; lgdt cs:[...] (a segment-override prefix, then 0F 01 /2)
        assert_eq!(&rom[..5], &[0xFA, 0xFC, 0x2E, 0x0F, 0x01]);
        let slot = code().1;
        assert_eq!(slot % 8, 0);
        assert_eq!(u64::from_le_bytes(rom[slot..slot + 8].try_into().unwrap()), 0x80_0000);
        // The GDT pointer after the slot: limit 23, base 0x1000.
        assert_eq!(&rom[slot + 8..slot + 14], &[23, 0, 0, 0x10, 0, 0]);
        assert_eq!(&rom[RESET_VECTOR..RESET_VECTOR + 5], &[0xEA, 0, 0, 0x00, 0xF0]);
        assert!(slot + 14 < 0x200, "the code fits the first page by far");
    }
}

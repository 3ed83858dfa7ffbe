//! The register state every vCPU starts in: exactly the original uhyve's (ARCHITECTURE.md, "The entry contract").
//!
//! The original uhyve (`hermitcore/hermit-caves`, master, `uhyve-x86_64.c`: `init_cpu_state`,
//! `setup_system`) takes the sregs of a freshly created vCPU, loads its boot GDT and page
//! tables, ORs in CR0.PE|PG, CR4.PAE and EFER.LME|LMA, and sets the general registers from a
//! zeroed `kvm_regs` with only RIP and RFLAGS filled in. The original C kernel depends on this:
//! its entry stores RDX as the multiboot-information pointer, and a non-zero RDX (KVM's reset
//! value is 0x600, the CPU signature) sends its `page_init` to read `mb_info->flags` there.

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};

/// uhyve's boot GDT (null, code, data descriptors).
pub const BOOT_GDT: u64 = 0x1000;
/// uhyve's boot PML4; the PDPT and PD follow.
pub const BOOT_PML4: u64 = 0x10000;

/// End of the identity mapping of uhyve's boot page tables (256 2-MiB pages): the first
/// instruction and the header must lie below.
pub const BOOT_MAPPED: u64 = 512 << 20;
/// `IA32_MISC_ENABLE`, which uhyve sets to 1 (fast string operations).
pub const MSR_IA32_MISC_ENABLE: u32 = 0x1a0;

const CR0_PE: u64 = 1;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// The general registers at entry: all zero except RIP (the image's entry) and RFLAGS (its
/// reserved bit 1, the power-on value).
pub fn regs(entry: u64) -> kvm_regs {
    kvm_regs { rip: entry, rflags: 0x2, ..Default::default() }
}

/// A flat 4 GiB ring-0 segment as uhyve derives it from its GDT entries (code 0xA09B:
/// 64-bit, execute/read, accessed; data 0xC093: 32-bit default size, read/write, accessed).
fn segment(selector: u16, code: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code { 0xb } else { 0x3 },
        present: 1,
        dpl: 0,
        db: u8::from(!code),
        s: 1,
        l: u8::from(code),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// The system registers at entry, from a fresh vCPU's `reset` sregs: uhyve's GDT at
/// [`BOOT_GDT`] (limit 23), CS 0x08 and DS/ES/FS/GS/SS 0x10, CR3 = [`BOOT_PML4`], and the
/// reset CR0/CR4/EFER with only PE|PG, PAE and LME|LMA added (so CR0 keeps KVM's reset CD, NW
/// and ET, CR4 has no OSFXSR/OSXSAVE, and XCR0 stays at its reset value 1). Everything else
/// (IDT, TR, LDT, APIC base, CR2, CR8) keeps the reset value.
pub fn sregs(reset: kvm_sregs) -> kvm_sregs {
    let mut sregs = reset;
    sregs.gdt.base = BOOT_GDT;
    sregs.gdt.limit = 23;
    sregs.cs = segment(0x08, true);
    for seg in [&mut sregs.ds, &mut sregs.es, &mut sregs.fs, &mut sregs.gs, &mut sregs.ss] {
        *seg = segment(0x10, false);
    }
    sregs.cr3 = BOOT_PML4;
    sregs.cr0 |= CR0_PE | CR0_PG;
    sregs.cr4 |= CR4_PAE;
    sregs.efer |= EFER_LME | EFER_LMA;
    sregs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_registers_are_zero_but_rip_and_rflags() {
        let r = regs(0x80_0000);
        assert_eq!((r.rip, r.rflags), (0x80_0000, 2));
        let others = [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
            r.r15,
        ];
        assert!(others.iter().all(|&v| v == 0), "{others:x?}");
    }

    #[test]
    fn system_registers_add_only_uhyves_bits_to_the_reset_state() {
        // KVM's reset values: CR0 = CD|NW|ET, CR4 = 0, EFER = 0.
        let mut reset = kvm_sregs { cr0: 0x6000_0010, cr2: 0x1234, ..Default::default() };
        reset.idt.limit = 0xffff;
        let s = sregs(reset);
        assert_eq!(s.cr0, 0xe000_0011);
        assert_eq!(s.cr4, 0x20);
        assert_eq!(s.efer, 0x500);
        assert_eq!(s.cr3, BOOT_PML4);
        assert_eq!((s.gdt.base, s.gdt.limit), (BOOT_GDT, 23));
        assert_eq!((s.cs.selector, s.cs.l, s.cs.db, s.cs.type_), (8, 1, 0, 0xb));
        for seg in [s.ds, s.es, s.fs, s.gs, s.ss] {
            assert_eq!((seg.selector, seg.l, seg.db, seg.type_, seg.g), (0x10, 0, 1, 3, 1));
        }
        assert_eq!((s.cr2, s.idt.limit), (0x1234, 0xffff));
    }
}

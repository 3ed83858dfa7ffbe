//! Registers as GDB sees them, from a stopped vCPU's KVM state and its debug trap frame.
//!
//! A vCPU stops in one of two ways. At a breakpoint or after a single step, the kernel's
//! CPL-0 trampoline made a `DEBUG` exit with the CPU's trap frame on its stack: then RAX and
//! RDX are saved in the frame and RIP, CS, RFLAGS, RSP and SS of the interrupted CPL-3 code
//! are the frame's, while the other general registers are still live in the vCPU. A vCPU
//! stopped from outside (Ctrl-C, another vCPU's breakpoint) shows its live registers.

use gdbstub_arch::x86::reg::{X86SegmentRegs, X86_64CoreRegs, X87FpuInternalRegs};
use kvm_bindings::{kvm_fpu, kvm_regs, kvm_sregs, kvm_xsave};

use super::arch::HermitRegs;

/// Index of the XSAVE header's XSTATE_BV in `kvm_xsave::region` (byte 512).
const XSTATE_BV: usize = 512 / 4;
/// Index of the AVX state (the upper halves of YMM0..15, byte 576) in `kvm_xsave::region`.
const YMM_HI: usize = 576 / 4;
/// XSTATE_BV bit of the AVX state.
const XSTATE_AVX: u32 = 1 << 2;

/// Trap flag in RFLAGS.
pub const TF: u64 = 1 << 8;

/// The trap frame of a `DEBUG` exit, at the vCPU's RSP (`port::DEBUG`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Guest address of the frame.
    pub addr: u64,
    /// The nine words: RDX, RAX, vector, error code, RIP, CS, RFLAGS, RSP, SS.
    pub words: [u64; 9],
}

impl Frame {
    /// Bytes of the frame.
    pub const SIZE: u64 = 9 * 8;
    const RDX: usize = 0;
    const RAX: usize = 1;
    const RIP: usize = 4;
    const CS: usize = 5;
    const RFLAGS: usize = 6;
    const RSP: usize = 7;
    const SS: usize = 8;
}

/// A stopped vCPU's state.
#[derive(Default)]
pub struct Snapshot {
    /// General registers as KVM has them.
    pub regs: kvm_regs,
    /// System registers.
    pub sregs: kvm_sregs,
    /// x87 and SSE state.
    pub fpu: kvm_fpu,
    /// The XSAVE area (for the AVX registers), if KVM gives it.
    pub xsave: Option<kvm_xsave>,
    /// The trap frame, if the vCPU stopped in the debug trampoline.
    pub frame: Option<Frame>,
}

impl Snapshot {
    /// The program counter of the stopped code.
    pub fn pc(&self) -> u64 {
        self.frame.map_or(self.regs.rip, |f| f.words[Frame::RIP])
    }

    /// Moves the program counter (back onto a breakpoint).
    pub fn set_pc(&mut self, pc: u64) {
        match &mut self.frame {
            Some(f) => f.words[Frame::RIP] = pc,
            None => self.regs.rip = pc,
        }
    }

    /// Whether the stopped code runs at CPL 3 (it can be single-stepped).
    pub fn user_mode(&self) -> bool {
        self.frame.is_some() || self.sregs.cs.dpl == 3
    }

    /// Sets or clears the trap flag of the stopped code.
    pub fn set_trap_flag(&mut self, on: bool) {
        let flags = match &mut self.frame {
            Some(f) => &mut f.words[Frame::RFLAGS],
            None => &mut self.regs.rflags,
        };
        *flags = if on { *flags | TF } else { *flags & !TF };
    }

    /// The registers as GDB sees them.
    pub fn to_gdb(&self) -> HermitRegs {
        let mut ymmh = [0u128; 16];
        if let Some(xsave) = self.xsave.as_ref().filter(|x| x.region[XSTATE_BV] & XSTATE_AVX != 0) {
            for (i, ymm) in ymmh.iter_mut().enumerate() {
                let words = &xsave.region[YMM_HI + 4 * i..YMM_HI + 4 * i + 4];
                *ymm = words.iter().rev().fold(0u128, |acc, w| (acc << 32) | u128::from(*w));
            }
        }
        HermitRegs { core: self.core_to_gdb(), fs_base: self.sregs.fs.base, gs_base: self.sregs.gs.base, ymmh }
    }

    /// Takes the registers GDB wrote: general, x87, SSE and AVX ones (not the segment
    /// selectors and bases, which the kernel owns).
    pub fn set_from_gdb(&mut self, g: &HermitRegs) {
        self.core_from_gdb(&g.core);
        if let Some(xsave) = &mut self.xsave {
            for (i, ymm) in g.ymmh.iter().enumerate() {
                for (j, word) in xsave.region[YMM_HI + 4 * i..YMM_HI + 4 * i + 4].iter_mut().enumerate() {
                    *word = (ymm >> (32 * j)) as u32;
                }
            }
            xsave.region[XSTATE_BV] |= XSTATE_AVX;
        }
    }

    fn core_to_gdb(&self) -> X86_64CoreRegs {
        let r = &self.regs;
        let mut regs = [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
            r.r15,
        ];
        let s = &self.sregs;
        let mut segments = X86SegmentRegs {
            cs: u32::from(s.cs.selector),
            ss: u32::from(s.ss.selector),
            ds: u32::from(s.ds.selector),
            es: u32::from(s.es.selector),
            fs: u32::from(s.fs.selector),
            gs: u32::from(s.gs.selector),
        };
        let (mut rip, mut eflags) = (r.rip, r.rflags);
        if let Some(f) = &self.frame {
            regs[0] = f.words[Frame::RAX];
            regs[3] = f.words[Frame::RDX];
            regs[7] = f.words[Frame::RSP];
            rip = f.words[Frame::RIP];
            eflags = f.words[Frame::RFLAGS];
            segments.cs = f.words[Frame::CS] as u32;
            segments.ss = f.words[Frame::SS] as u32;
        }
        let fpu = &self.fpu;
        let mut st = [[0u8; 10]; 8];
        for (dst, src) in st.iter_mut().zip(&fpu.fpr) {
            dst.copy_from_slice(&src[..10]);
        }
        // FXSAVE's abridged tag word: a set bit is a valid register, a clear one empty (3).
        let ftag = (0..8).map(|i| if fpu.ftwx & (1 << i) != 0 { 0 } else { 3u32 << (2 * i) }).sum();
        X86_64CoreRegs {
            regs,
            eflags: eflags as u32,
            rip,
            segments,
            st,
            fpu: X87FpuInternalRegs {
                fctrl: u32::from(fpu.fcw),
                fstat: u32::from(fpu.fsw),
                ftag,
                fiseg: 0,
                fioff: fpu.last_ip as u32,
                foseg: 0,
                fooff: fpu.last_dp as u32,
                fop: u32::from(fpu.last_opcode),
            },
            xmm: fpu.xmm.map(u128::from_le_bytes),
            mxcsr: fpu.mxcsr,
        }
    }

    fn core_from_gdb(&mut self, g: &X86_64CoreRegs) {
        let r = &mut self.regs;
        // With a frame, the vCPU's own RAX, RDX and RSP are the trampoline's (they lead it
        // back to its iretq); the stopped code's live in the frame.
        let trampoline = (r.rax, r.rdx, r.rsp);
        [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
            r.r15,
        ] = g.regs;
        // Only the arithmetic flags, the direction flag and TF are GDB's to change.
        const USER_FLAGS: u64 = 0xcd5 | TF | 0x400;
        let merge = |old: u64| (old & !USER_FLAGS) | (u64::from(g.eflags) & USER_FLAGS);
        match &mut self.frame {
            Some(f) => {
                (r.rax, r.rdx, r.rsp) = trampoline;
                f.words[Frame::RAX] = g.regs[0];
                f.words[Frame::RDX] = g.regs[3];
                f.words[Frame::RSP] = g.regs[7];
                f.words[Frame::RIP] = g.rip;
                f.words[Frame::RFLAGS] = merge(f.words[Frame::RFLAGS]);
            }
            None => {
                r.rip = g.rip;
                r.rflags = merge(r.rflags);
            }
        }
        let fpu = &mut self.fpu;
        for (dst, src) in fpu.fpr.iter_mut().zip(&g.st) {
            dst[..10].copy_from_slice(src);
        }
        fpu.fcw = g.fpu.fctrl as u16;
        fpu.fsw = g.fpu.fstat as u16;
        fpu.xmm = g.xmm.map(u128::to_le_bytes);
        fpu.mxcsr = g.mxcsr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(frame: bool) -> Snapshot {
        let mut s = Snapshot::default();
        s.regs.rax = 0xa0;
        s.regs.rbx = 0xb0;
        s.regs.rdx = 0xd0;
        s.regs.rsp = 0x5000;
        s.regs.rip = 0x81_7000;
        s.regs.rflags = 0x2;
        s.sregs.cs.selector = 0x08;
        s.fpu.xmm[1][0] = 7;
        s.fpu.ftwx = 0b1;
        if frame {
            // RDX, RAX, vector, error, RIP, CS, RFLAGS, RSP, SS of the stopped CPL-3 code.
            s.frame = Some(Frame { addr: 0x5000, words: [0xdd, 0xaa, 3, 0, 0x84_4000, 0x2b, 0x246, 0x1f_0000, 0x23] });
        }
        s
    }

    #[test]
    fn live_registers_without_a_frame() {
        let g = stopped(false).to_gdb().core;
        assert_eq!((g.regs[0], g.regs[1], g.regs[3], g.regs[7]), (0xa0, 0xb0, 0xd0, 0x5000));
        assert_eq!((g.rip, g.eflags, g.segments.cs), (0x81_7000, 0x2, 0x08));
        assert_eq!(g.xmm[1], 7);
        assert_eq!(g.fpu.ftag, 0xfffc, "register 0 valid, the others empty");
        assert!(!stopped(false).user_mode());
    }

    #[test]
    fn the_frame_holds_the_stopped_code() {
        let s = stopped(true);
        let g = s.to_gdb().core;
        assert_eq!((g.regs[0], g.regs[1], g.regs[3], g.regs[7]), (0xaa, 0xb0, 0xdd, 0x1f_0000));
        assert_eq!((g.rip, g.eflags, g.segments.cs, g.segments.ss), (0x84_4000, 0x246, 0x2b, 0x23));
        assert!(s.user_mode());
        assert_eq!(s.pc(), 0x84_4000);
    }

    #[test]
    fn writes_go_to_the_frame_and_keep_the_trampoline_intact() {
        let mut s = stopped(true);
        let mut all = s.to_gdb();
        let g = &mut all.core;
        g.regs[0] = 1;
        g.regs[1] = 2;
        g.regs[3] = 3;
        g.regs[7] = 0x1e_0000;
        g.rip = 0x84_4010;
        g.eflags = 0x3ff & !0x200; // IF and IOPL are not GDB's to change
        s.set_from_gdb(&all);
        let f = s.frame.unwrap();
        assert_eq!(f.words, [3, 1, 3, 0, 0x84_4010, 0x2b, 0x2d7 | 0x200 | 0x100, 0x1e_0000, 0x23]);
        assert_eq!((s.regs.rax, s.regs.rdx, s.regs.rsp, s.regs.rip), (0xa0, 0xd0, 0x5000, 0x81_7000));
        assert_eq!(s.regs.rbx, 2);
    }

    #[test]
    fn avx_upper_halves_and_bases() {
        let mut s = stopped(false);
        s.sregs.fs.base = 0x20_1000;
        s.sregs.gs.base = 0x90_0000;
        let mut xsave = kvm_xsave::default();
        xsave.region[YMM_HI + 4] = 0x1111_2222;
        xsave.region[YMM_HI + 7] = 0x3333_4444;
        s.xsave = Some(xsave);
        assert_eq!(s.to_gdb().ymmh[1], 0, "AVX state in its initial configuration");
        s.xsave.as_mut().unwrap().region[XSTATE_BV] = 0b111;
        let mut g = s.to_gdb();
        assert_eq!((g.fs_base, g.gs_base), (0x20_1000, 0x90_0000));
        assert_eq!(g.ymmh[1], (0x3333_4444u128 << 96) | 0x1111_2222);
        g.ymmh[2] = 5 << 64;
        s.set_from_gdb(&g);
        assert_eq!(s.xsave.unwrap().region[YMM_HI + 8..YMM_HI + 12], [0, 0, 5, 0]);
    }

    #[test]
    fn trap_flag_and_pc() {
        let mut s = stopped(true);
        s.set_trap_flag(true);
        assert_eq!(s.frame.unwrap().words[6], 0x346);
        s.set_trap_flag(false);
        assert_eq!(s.frame.unwrap().words[6], 0x246);
        s.set_pc(0x84_3fff);
        assert_eq!(s.pc(), 0x84_3fff);
        let mut live = stopped(false);
        live.set_trap_flag(true);
        assert_eq!(live.regs.rflags, 0x102);
    }
}

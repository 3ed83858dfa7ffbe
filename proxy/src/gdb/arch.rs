//! The register set the stub describes to GDB: gdbstub_arch's x86-64 core and SSE registers,
//! plus the FS and GS bases and the upper halves of the AVX registers (which gdbstub_arch's
//! description lacks), with a target description that names them all.

use std::sync::OnceLock;

use gdbstub::arch::{Arch, Registers};
use gdbstub_arch::x86::reg::id::X86_64CoreRegId;
use gdbstub_arch::x86::reg::X86_64CoreRegs;

/// x86-64 with SSE, FS/GS bases and AVX.
pub enum X86_64Hermit {}

/// Bytes of the core and SSE registers in GDB's `g` packet.
const CORE_BYTES: usize = 0x218;

/// The registers GDB reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HermitRegs {
    /// General, segment, x87 and SSE registers.
    pub core: X86_64CoreRegs,
    /// FS base (the thread pointer of the running task).
    pub fs_base: u64,
    /// GS base (the kernel's per-core block).
    pub gs_base: u64,
    /// Bits 128..255 of YMM0..YMM15.
    pub ymmh: [u128; 16],
}

impl Registers for HermitRegs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.core.rip
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        self.core.gdb_serialize(&mut write_byte);
        for byte in self.fs_base.to_le_bytes().into_iter().chain(self.gs_base.to_le_bytes()) {
            write_byte(Some(byte));
        }
        for ymm in &self.ymmh {
            for byte in ymm.to_le_bytes() {
                write_byte(Some(byte));
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() < CORE_BYTES + 16 + 16 * 16 {
            return Err(());
        }
        self.core.gdb_deserialize(&bytes[..CORE_BYTES])?;
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        self.fs_base = word(CORE_BYTES);
        self.gs_base = word(CORE_BYTES + 8);
        for (i, ymm) in self.ymmh.iter_mut().enumerate() {
            let at = CORE_BYTES + 16 + 16 * i;
            *ymm = u128::from_le_bytes(bytes[at..at + 16].try_into().expect("16 bytes"));
        }
        Ok(())
    }
}

impl Arch for X86_64Hermit {
    type Usize = u64;
    type Registers = HermitRegs;
    type RegId = X86_64CoreRegId;
    type BreakpointKind = usize;

    fn target_description_xml() -> Option<&'static str> {
        static XML: OnceLock<String> = OnceLock::new();
        Some(XML.get_or_init(description))
    }
}

/// The target description: GDB's register names of the features `org.gnu.gdb.i386.core`,
/// `.sse`, `.segments` and `.avx`, in the order of [`HermitRegs::gdb_serialize`].
fn description() -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target version=\"1.0\">\
         <architecture>i386:x86-64</architecture><feature name=\"org.gnu.gdb.i386.core\">",
    );
    let reg = |xml: &mut String, name: &str, bits: u32, ty: &str| {
        xml.push_str(&format!("<reg name=\"{name}\" bitsize=\"{bits}\" type=\"{ty}\"/>"));
    };
    for name in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi"] {
        reg(&mut xml, name, 64, "int64");
    }
    reg(&mut xml, "rbp", 64, "data_ptr");
    reg(&mut xml, "rsp", 64, "data_ptr");
    for n in 8..16 {
        reg(&mut xml, &format!("r{n}"), 64, "int64");
    }
    reg(&mut xml, "rip", 64, "code_ptr");
    reg(&mut xml, "eflags", 32, "int32");
    for name in ["cs", "ss", "ds", "es", "fs", "gs"] {
        reg(&mut xml, name, 32, "int32");
    }
    for n in 0..8 {
        reg(&mut xml, &format!("st{n}"), 80, "i387_ext");
    }
    for name in ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"] {
        reg(&mut xml, name, 32, "int");
    }
    xml.push_str(
        "</feature><feature name=\"org.gnu.gdb.i386.sse\">\
         <vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/><vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\
         <vector id=\"v16i8\" type=\"int8\" count=\"16\"/><vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\
         <vector id=\"v2i64\" type=\"int64\" count=\"2\"/><union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>\
         <field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>\
         <field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>\
         <field name=\"uint128\" type=\"uint128\"/></union>",
    );
    for n in 0..16 {
        reg(&mut xml, &format!("xmm{n}"), 128, "vec128");
    }
    reg(&mut xml, "mxcsr", 32, "int");
    xml.push_str("</feature><feature name=\"org.gnu.gdb.i386.segments\">");
    reg(&mut xml, "fs_base", 64, "int");
    reg(&mut xml, "gs_base", 64, "int");
    xml.push_str("</feature><feature name=\"org.gnu.gdb.i386.avx\">");
    for n in 0..16 {
        reg(&mut xml, &format!("ymm{n}h"), 128, "uint128");
    }
    xml.push_str("</feature></target>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_round_trip_in_description_order() {
        let mut regs = HermitRegs { fs_base: 0x1234, gs_base: 0x5678, ..Default::default() };
        regs.core.rip = 0x84_4000;
        regs.core.xmm[15] = 7;
        regs.ymmh[15] = u128::MAX - 1;
        let mut bytes = Vec::new();
        regs.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), CORE_BYTES + 16 + 256);
        assert_eq!(&bytes[CORE_BYTES..CORE_BYTES + 8], &0x1234u64.to_le_bytes());
        let mut back = HermitRegs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, regs);
        assert!(back.gdb_deserialize(&bytes[..CORE_BYTES]).is_err());
    }

    #[test]
    fn the_description_lists_every_register_once() {
        let xml = description();
        // 16 general, rip, eflags, 6 selectors, 8 x87, 8 x87 control, 16 xmm, mxcsr, 2 bases, 16 ymmh.
        assert_eq!(xml.matches("<reg ").count(), 16 + 2 + 6 + 8 + 8 + 16 + 1 + 2 + 16);
        assert_eq!(xml.matches("name=\"fs_base\"").count(), 1);
        assert!(xml.find("name=\"mxcsr\"") < xml.find("name=\"fs_base\""));
        assert!(xml.find("name=\"gs_base\"") < xml.find("name=\"ymm0h\""));
    }
}

//! The contract between the HermitCore kernel and its loader: boot header, hypercalls, fast channel.
//!
//! Everything that crosses the guest/host boundary is defined here exactly once, as
//! `#[repr(C)]` data with compile-time layout assertions. The kernel (`hermit`) and the
//! loader (`proxy`) both depend on this crate, so the two sides cannot disagree about an
//! offset. The layouts follow the original C HermitCore (`libhermit-abi.md` §6.2 and §7);
//! what this project adds on top (the header extension, the fast channel and the extra
//! hypercalls) is marked as an extension and is only used when both sides announce it.
#![no_std]
#![forbid(unsafe_code)]

pub mod apic;
pub mod channel;
pub mod cpu;
pub mod header;
pub mod hypercall;
pub mod netring;
pub mod qemu;
pub mod stat;
pub mod tasks;
pub mod vnet;

/// Guest-virtual (and, under uhyve, guest-physical) address of the kernel image and its header.
pub const KERNEL_START: u64 = 0x80_0000;

/// Offset of the boot PML4 inside the image; uhyve walks guest page tables from here.
pub const BOOT_PML4_OFFSET: u64 = 0x1000;

/// Offset of the kernel message ring (`.kmsg`) inside the image.
pub const KMSG_OFFSET: u64 = 0x5000;

/// Size of the kernel message ring in bytes.
pub const KMSG_SIZE: usize = 0x1000;

/// `EI_OSABI` value of HermitCore images (ELFOSABI_STANDALONE).
pub const HERMIT_ELFOSABI: u8 = 0xFF;

/// Maximum number of arguments (and of environment variables) the original protocol
/// (`CMDSIZE`/`CMDVAL`) passes to the application.
pub const MAX_ARGC_ENVC: usize = 128;

/// Largest argument list and environment (`CMDLINE`): their strings with NULs plus one
/// 8-byte pointer per string and two terminators, as Linux counts its default `ARG_MAX`.
pub const MAX_CMDLINE: usize = 2 << 20;

/// The 4 KiB page size used for page-wise buffer translation.
pub const PAGE_SIZE: u64 = 0x1000;

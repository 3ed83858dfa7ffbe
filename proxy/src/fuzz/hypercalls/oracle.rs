//! The hypercall target's oracle: what each port may write into guest memory, from the protocol, with its own page walk.

use std::ffi::CString;
use std::mem::{offset_of, size_of};

use hermit_interface::header::{offset, HeaderExt};
use hermit_interface::hypercall::{
    file_op, port, ChannelSetup, Close, CmdLine, CmdSize, FileOp, Fstat, Lseek, NetBatch, NetFrame, NetMtu, NetRead,
    NetWrite, Open, PathOp, Populate, Read, Stat, Write, NET_BATCH_MAX,
};
use hermit_interface::netring::NetRing;
use hermit_interface::stat::HostStat;
use hermit_interface::MAX_ARGC_ENVC;

use super::{get_i32, get_u32, get_u64, put, ENTRY, LARGE, PML4};

/// The harness's own page walk over a memory snapshot (independent of `paging.rs`):
/// physical address and end of the page containing `vaddr`.
pub(super) fn walk(mem: &[u8], vaddr: u64) -> Option<(u64, u64)> {
    if vaddr >> 47 != 0 && vaddr >> 47 != 0x1_ffff {
        return None;
    }
    let mut table = PML4;
    for (level, shift) in [(4, 39u32), (3, 30), (2, 21), (1, 12)] {
        let entry = get_u64(mem, (table & 0x000f_ffff_ffff_f000) + ((vaddr >> shift) & 511) * 8)?;
        if entry & 1 == 0 {
            return None;
        }
        let size = 1u64 << shift;
        if level == 1 || (entry & LARGE != 0 && (level == 2 || level == 3)) {
            let frame = entry & 0x000f_ffff_ffff_f000 & !(size - 1);
            return Some((frame | (vaddr & (size - 1)), frame + size));
        }
        table = entry;
    }
    None
}

/// Bytes a read into guest-virtual `[buf, buf + len)` may change: its pages, in order, as
/// far as they are mapped and in RAM.
pub(super) fn virtual_ranges(mem: &[u8], buf: u64, len: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut done = 0u64;
    while done < len {
        let Some(vaddr) = buf.checked_add(done) else { break };
        let Some((paddr, end)) = walk(mem, vaddr) else { break };
        let step = (end - paddr).min(len - done);
        if paddr.checked_add(step).is_none_or(|e| e > mem.len() as u64) {
            break;
        }
        out.push((paddr, paddr + step));
        done += step;
    }
    out
}

/// What a port is specified to do with the request at `arg` in memory `mem`: the ranges it
/// may write.
/// `cmdline_len` is what `CMDLINE` copies: the bytes of argv and the environment with their NULs.
pub(super) fn writable(port: u16, arg: u64, mem: &[u8], extensions: bool, cmdline_len: u64) -> Vec<(u64, u64)> {
    let at = |off: usize, len: usize| {
        let start = arg.wrapping_add(off as u64);
        (start, start.saturating_add(len as u64))
    };
    let ext = |ranges: Vec<(u64, u64)>| if extensions { ranges } else { Vec::new() };
    let stat_out = |field: usize| {
        let out = get_u64(mem, arg.wrapping_add(field as u64)).unwrap_or(u64::MAX);
        (out, out.saturating_add(size_of::<HostStat>() as u64))
    };
    match port {
        port::WRITE => vec![at(offset_of!(Write, len), 8)],
        port::READ => {
            let buf = get_u64(mem, arg.wrapping_add(offset_of!(Read, buf) as u64)).unwrap_or(0);
            let len = get_u64(mem, arg.wrapping_add(offset_of!(Read, len) as u64)).unwrap_or(0);
            let mut r = virtual_ranges(mem, buf, len);
            r.push(at(offset_of!(Read, ret), 8));
            r
        }
        port::OPEN => vec![at(offset_of!(Open, ret), 4)],
        port::CLOSE => vec![at(offset_of!(Close, ret), 4)],
        port::LSEEK => vec![at(offset_of!(Lseek, offset), 8)],
        port::CMDSIZE => vec![at(0, size_of::<CmdSize>())],
        port::NETSTAT => vec![at(0, 4)],
        port::NETINFO => vec![at(0, 18)],
        port::NETWRITE => vec![at(offset_of!(NetWrite, len), 12)],
        port::NETREAD => {
            let data = get_u64(mem, arg.wrapping_add(offset_of!(NetRead, data) as u64)).unwrap_or(0);
            let len = get_u64(mem, arg.wrapping_add(offset_of!(NetRead, len) as u64)).unwrap_or(0);
            vec![
                at(offset_of!(NetRead, len), 12),
                (data, data.saturating_add(len.min(crate::net::frames::MAX_FRAME as u64))),
            ]
        }
        port::UNLINK | port::MKDIR | port::RMDIR => ext(vec![at(offset_of!(PathOp, ret), 4)]),
        port::STAT => ext(vec![at(offset_of!(Stat, ret), 4), stat_out(offset_of!(Stat, stat))]),
        port::FSTAT => ext(vec![at(offset_of!(Fstat, ret), 4), stat_out(offset_of!(Fstat, stat))]),
        port::CHANNEL => ext(vec![at(offset_of!(ChannelSetup, ret), 4)]),
        port::CMDLINE => {
            let buf = get_u64(mem, arg.wrapping_add(offset_of!(CmdLine, buf) as u64)).unwrap_or(0);
            let capacity = get_u64(mem, arg.wrapping_add(offset_of!(CmdLine, size) as u64)).unwrap_or(0);
            let copy = if capacity >= cmdline_len { (buf, buf.saturating_add(cmdline_len)) } else { (0, 0) };
            ext(vec![at(0, offset_of!(CmdLine, buf)), copy])
        }
        port::FILEOP => match chain_parts(mem, arg) {
            // A chain: its `ret`, what its first request may write, what its second may.
            Some((first, second_port, second)) => {
                let mut ranges = vec![at(offset_of!(FileOp, ret), 8)];
                ranges.extend(file_op_writable(first, mem));
                ranges.extend(writable(second_port, second, mem, extensions, cmdline_len));
                ext(ranges)
            }
            None => ext(file_op_writable(arg, mem)),
        },
        port::NETWRITEV => ext(vec![at(offset_of!(NetBatch, ret), 4)]),
        port::NETMTU => ext(vec![at(0, size_of::<NetMtu>())]),
        // No receive interrupt here: a setup is checked and refused, a kick finds no ring.
        port::NETRING => ext(vec![at(offset_of!(NetRing, ret), 4)]),
        port::NETREADV => {
            // `ret`, and per entry (at most NET_BATCH_MAX) its `len` and its buffer.
            let table = get_u64(mem, arg.wrapping_add(offset_of!(NetBatch, frames) as u64)).unwrap_or(0);
            let count = get_u32(mem, arg.wrapping_add(offset_of!(NetBatch, count) as u64)).unwrap_or(0);
            let mut r = vec![at(offset_of!(NetBatch, ret), 4)];
            for i in 0..u64::from(count.min(NET_BATCH_MAX)) {
                let entry = table.wrapping_add(i * size_of::<NetFrame>() as u64);
                let data = get_u64(mem, entry).unwrap_or(0);
                let len = get_u32(mem, entry.wrapping_add(offset_of!(NetFrame, len) as u64)).unwrap_or(0);
                let len_at = entry.wrapping_add(offset_of!(NetFrame, len) as u64);
                r.push((len_at, len_at.saturating_add(4)));
                r.push((data, data.saturating_add(u64::from(len).min(crate::net::frames::MAX_FRAME as u64))));
            }
            ext(r)
        }
        // `ret`, and what the loader publishes as backed in the header extension; the
        // memory itself keeps its contents.
        port::POPULATE => {
            let published = ENTRY + (offset::EXT + offset_of!(HeaderExt, heap_ready)) as u64;
            ext(vec![at(offset_of!(Populate, ret), 8), (published, published + 16)])
        }
        _ => Vec::new(),
    }
}

/// The parts of a `FILEOP` `CHAIN` request at `arg`: the first request's address, the second's
/// port and address; `None` for another operation, or a chain the host refuses (a port that
/// is not 16 bits, a chain inside).
pub(super) fn chain_parts(mem: &[u8], arg: u64) -> Option<(u64, u16, u64)> {
    let field = |off: usize| get_u64(mem, arg.wrapping_add(off as u64));
    let is_chain = |at: u64| get_i32(mem, at) == Some(file_op::CHAIN as i32);
    if !is_chain(arg) {
        return None;
    }
    let first = field(offset_of!(FileOp, buf))?;
    let port = u16::try_from(field(offset_of!(FileOp, arg0))?).ok()?;
    let second = field(offset_of!(FileOp, path))?;
    let nested = is_chain(first) || (port == port::FILEOP && is_chain(second));
    (!nested).then_some((first, port, second))
}

/// What a `FILEOP` request may write: `ret`, and its operation's output buffer.
pub(super) fn file_op_writable(arg: u64, mem: &[u8]) -> Vec<(u64, u64)> {
    let field = |off: usize| get_u64(mem, arg.wrapping_add(off as u64)).unwrap_or(0);
    let ret = arg.wrapping_add(offset_of!(FileOp, ret) as u64);
    let mut ranges = vec![(ret, ret.saturating_add(8))];
    let (buf, len) = (field(offset_of!(FileOp, buf)), field(offset_of!(FileOp, len)));
    let physical = |n: u64| (buf, buf.saturating_add(n));
    match get_i32(mem, arg).unwrap_or(-1) as u32 {
        file_op::PREAD => ranges.extend(virtual_ranges(mem, buf, len)),
        file_op::READLINK | file_op::GETDENTS => ranges.push(physical(len.min(64 << 10))),
        file_op::GETCWD => ranges.push(physical(len)),
        file_op::FCNTL if field(offset_of!(FileOp, arg0)) as i32 == libc::F_GETLK => ranges.push(physical(32)),
        file_op::WINSIZE => ranges.push(physical(8)),
        _ => {}
    }
    ranges
}

/// `CMDVAL` exactly: each string copied to the address in the guest's pointer arrays, in
/// order, until one does not fit (later pointers may have been overwritten by earlier copies).
pub(super) fn simulate_cmdval(mem: &mut [u8], arg: u64, args: &[CString], env: &[CString]) {
    let (Some(argv), Some(envp)) = (get_u64(mem, arg), get_u64(mem, arg.wrapping_add(8))) else { return };
    for (array, strings) in [(argv, args), (envp, env)] {
        for (i, s) in strings.iter().take(MAX_ARGC_ENVC).enumerate() {
            let Some(dst) = get_u64(mem, array.wrapping_add(8 * i as u64)) else { return };
            let bytes = s.as_bytes_with_nul();
            if dst.checked_add(bytes.len() as u64).is_none_or(|e| e > mem.len() as u64) {
                return;
            }
            put(mem, &mut Vec::new(), dst, bytes);
        }
    }
}

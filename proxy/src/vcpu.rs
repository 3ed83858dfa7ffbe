//! Running vCPUs: one thread each, started in uhyve's order, and the exits they take.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use hermit_interface::header::{self, offset};
use hermit_interface::hypercall::port;
use kvm_ioctls::{VcpuExit, VcpuFd};

use crate::host::Host;
use crate::hypercall::{dispatch, Outcome};
use crate::paging;

/// The vCPU threads before the guest's first instruction: the first vCPU runs in the calling
/// thread, the others exist already and wait for their turn ([`prepare`]).
pub struct Threads {
    first: VcpuFd,
    /// One sender per secondary vCPU thread, in the order of their ids: a message starts it.
    turns: Vec<mpsc::Sender<()>>,
}

/// Creates a waiting thread per secondary vCPU, before the system-call filter, so that the
/// thread ids of all vCPU threads are known when the filter is built
/// ([`crate::affinity::vcpu_threads`]: the fast channel's poller sets their affinity). A
/// waiting thread blocks on its channel and takes no host CPU.
pub fn prepare(host: &Arc<Host>, vcpus: Vec<VcpuFd>) -> Threads {
    let mut vcpus = vcpus.into_iter();
    let first = vcpus.next().expect("at least one vCPU");
    let (ids_sent, ids) = mpsc::channel::<(u32, i32)>();
    let mut turns = Vec::new();
    for (index, vcpu) in vcpus.enumerate() {
        let id = index as u32 + 1;
        let (turn, wait) = mpsc::channel::<()>();
        let host = Arc::clone(host);
        let ids_sent = ids_sent.clone();
        std::thread::Builder::new()
            .name(format!("vcpu{id}"))
            .spawn(move || {
                // SAFETY: gettid has no arguments.
                let _ = ids_sent.send((id, unsafe { libc::gettid() }));
                drop(ids_sent);
                // No message: the run ended before this core's turn.
                if wait.recv().is_ok() {
                    let mut vcpu = vcpu;
                    run_vcpu(&host, &mut vcpu, id)
                }
            })
            .expect("cannot start a vCPU thread");
        turns.push(turn);
    }
    drop(ids_sent);
    let mut secondaries: Vec<(u32, i32)> = ids.iter().collect();
    secondaries.sort_unstable();
    // SAFETY: gettid has no arguments.
    let mut tids = vec![unsafe { libc::gettid() }];
    tids.extend(secondaries.into_iter().map(|(_, tid)| tid));
    crate::affinity::record_vcpu_threads(tids);
    Threads { first, turns }
}

/// Runs all vCPUs; the process ends from inside (guest exit or error).
pub fn run(host: Arc<Host>, threads: Threads) -> ! {
    let Threads { mut first, turns } = threads;
    if !turns.is_empty() {
        let host = Arc::clone(&host);
        std::thread::Builder::new()
            .name("vcpu-starter".into())
            .spawn(move || start_secondaries(&host, turns))
            .expect("cannot start the vCPU starter thread");
    }
    crate::vm::stamp_realtime(&host.ram, host.entry);
    run_vcpu(&host, &mut first, 0)
}

/// uhyve's start protocol: core `id` starts once `id` cores are online; it learns its number
/// from `current_boot_id`. One thread watches the count and starts each waiting vCPU thread
/// when its turn comes, so waiting cores do not compete for host CPUs with the booting ones
/// (with a polling thread per waiting vCPU, boot time grew with the square of their number
/// on a small host); it ends when the last core has started.
fn start_secondaries(host: &Arc<Host>, turns: Vec<mpsc::Sender<()>>) {
    let online = host.entry + offset::CPU_ONLINE as u64;
    for (index, turn) in turns.into_iter().enumerate() {
        let id = index as u32 + 1;
        while host.ram.read::<u32>(online).unwrap_or(0) < id {
            std::thread::sleep(Duration::from_micros(50));
        }
        let _ = host.ram.write::<u32>(host.entry + offset::CURRENT_BOOT_ID as u64, id);
        let _ = turn.send(());
    }
}

fn run_vcpu(host: &Arc<Host>, vcpu: &mut VcpuFd, id: u32) -> ! {
    if let Err(what) = crate::affinity::pin_vcpu(id) {
        host.fatal(&what)
    }
    crate::hostcpu::register(id);
    let debugger = host.debugger.get();
    if let Some(control) = debugger {
        control.register(id as usize);
    }
    loop {
        if let Some(control) = debugger.filter(|c| c.stop_requested()) {
            control.pause(id as usize, vcpu, &host.ram, None, None);
        }
        let exit = match vcpu.run() {
            Ok(exit) => exit,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => continue,
            Err(e) => {
                let what = format!("KVM_RUN failed on vCPU {id}: {e}{}", registers(host, vcpu));
                host.fatal(&what)
            }
        };
        let outcome = match exit {
            VcpuExit::IoOut(port::DEBUG, _) if debugger.is_some() => {
                crate::gdb::debug_trap(host, debugger.expect("checked"), vcpu, id as usize)
            }
            VcpuExit::IoOut(port, data) => {
                let mut value = [0u8; 4];
                let n = data.len().min(4);
                value[..n].copy_from_slice(&data[..n]);
                dispatch(host, port, u64::from(u32::from_le_bytes(value)))
            }
            VcpuExit::IoIn(_, data) => {
                data.fill(0xff);
                Outcome::Continue
            }
            VcpuExit::MmioWrite(addr, data) if doorbell_port(addr, data.len()).is_some() => {
                let port = doorbell_port(addr, data.len()).expect("checked");
                dispatch(host, port, u64::from(u32::from_le_bytes(data.try_into().expect("checked: 4 bytes"))))
            }
            VcpuExit::MmioRead(addr, _) | VcpuExit::MmioWrite(addr, _) => Outcome::Fatal(format!(
                "vCPU {id} accessed guest-physical address {addr:#x}, which is not guest memory{}",
                registers(host, vcpu)
            )),
            VcpuExit::Hlt => {
                eprintln!("proxy: the guest halted vCPU {id}; this is considered a normal exit");
                Outcome::Exit(0)
            }
            VcpuExit::Shutdown => Outcome::Fatal(format!(
                "vCPU {id} shut down (triple fault: an exception the kernel could not handle){}",
                registers(host, vcpu)
            )),
            VcpuExit::InternalError => Outcome::Fatal(internal_error(host, vcpu, id)),
            VcpuExit::FailEntry(reason, cpu) => Outcome::Fatal(format!(
                "KVM could not enter vCPU {id} (hardware reason {reason:#x}, cpu {cpu}){}",
                registers(host, vcpu)
            )),
            other => {
                let what = format!("unexpected exit from vCPU {id}: {other:?}");
                Outcome::Fatal(format!("{what}{}", registers(host, vcpu)))
            }
        };
        match outcome {
            Outcome::Continue => {
                if let Some(channel) = host.channel.get().filter(|_| !crate::net::take_quiet_exit()) {
                    channel.kick(host);
                }
            }
            Outcome::Exit(code) => host.finish(code),
            Outcome::Fatal(what) => host.fatal(&what),
        }
    }
}

/// The port a 32-bit write of `len` bytes at guest-physical `addr` rings in the doorbell
/// window ([`hermit_interface::header::HeaderExt::doorbell`]), if it is one.
fn doorbell_port(addr: u64, len: usize) -> Option<u16> {
    let offset = addr.checked_sub(header::DOORBELL_GPA)?;
    (len == 4 && offset < header::DOORBELL_SIZE && offset.is_multiple_of(4)).then_some((offset / 4) as u16)
}

/// Describes a KVM internal error (typically an instruction the emulator cannot handle):
/// the guest RIP, the instruction bytes, and KVM's diagnostic words.
fn internal_error(host: &Host, vcpu: &mut VcpuFd, id: u32) -> String {
    let internal = {
        let run = vcpu.get_kvm_run();
        // SAFETY: the exit reason is KVM_EXIT_INTERNAL_ERROR, so `internal` is the active
        // member of the union.
        unsafe { run.__bindgen_anon_1.internal }
    };
    let n = (internal.ndata as usize).min(internal.data.len());
    let words: Vec<String> = internal.data[..n].iter().map(|w| format!("{w:#x}")).collect();
    let kind = match internal.suberror {
        1 => "the instruction emulator failed",
        2 => "a simultaneous exception",
        3 => "a delivery event failure",
        _ => "an internal error",
    };
    format!(
        "KVM reported {kind} on vCPU {id} (suberror {}, data [{}]){}",
        internal.suberror,
        words.join(", "),
        registers(host, vcpu)
    )
}

/// RIP, stack, control registers and the instruction bytes at RIP, for error messages.
fn registers(host: &Host, vcpu: &VcpuFd) -> String {
    let (Ok(regs), Ok(sregs)) = (vcpu.get_regs(), vcpu.get_sregs()) else {
        return String::new();
    };
    let mut bytes = String::new();
    if let Some((paddr, end)) = paging::translate(&host.ram, sregs.cr3, regs.rip) {
        let mut code = vec![0u8; (end - paddr).min(15) as usize];
        if host.ram.read_bytes(paddr, &mut code).is_ok() {
            bytes = code.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
        }
    }
    format!(
        "\n  rip {:#x}  rsp {:#x}  rflags {:#x}  cs {:#x} (cpl {})\n  cr0 {:#x}  cr2 {:#x}  cr3 {:#x}  cr4 {:#x}\n  instruction bytes at rip: {}",
        regs.rip,
        regs.rsp,
        regs.rflags,
        sregs.cs.selector,
        sregs.cs.dpl,
        sregs.cr0,
        sregs.cr2,
        sregs.cr3,
        sregs.cr4,
        if bytes.is_empty() { "(not readable)".to_string() } else { bytes }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doorbell_writes_name_their_port() {
        let bell = header::DOORBELL_GPA;
        assert_eq!(doorbell_port(bell, 4), Some(0));
        assert_eq!(doorbell_port(bell + 4 * u64::from(port::FILEOP), 4), Some(port::FILEOP));
        assert_eq!(doorbell_port(bell + 4 * 0xffff, 4), Some(0xffff));
        assert_eq!(doorbell_port(bell + 4 * 0x1_0000, 4), None, "past the window");
        assert_eq!(doorbell_port(bell + 2, 4), None, "unaligned");
        assert_eq!(doorbell_port(bell + 8, 2), None, "not 32 bits");
        assert_eq!(doorbell_port(bell - 4, 4), None, "below the window");
        assert_eq!(doorbell_port(0, 4), None);
    }
}

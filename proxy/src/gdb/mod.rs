//! `HERMIT_DEBUG=1`: a GDB stub (the `gdbstub` crate) in the hypervisor.
//!
//! The proxy listens on `127.0.0.1:HERMIT_DEBUG_PORT` (1234), waits for GDB before the first
//! guest instruction and serves the remote protocol on its own thread: one GDB thread per
//! vCPU and one per hermit task that no vCPU runs ([`tasks`]), registers, memory through the
//! guest's page tables, software breakpoints, single steps, stops at faults, Ctrl-C, detach
//! and kill.
//!
//! On PVM hosts `KVM_SET_GUEST_DEBUG` does not see CPL-3 code (measured: an `int3` at CPL 3
//! goes to the guest even with `KVM_GUESTDBG_USE_SW_BP`, hardware breakpoints never fire,
//! and single steps stop coming once the guest is at CPL 3; debug registers loaded with
//! `KVM_SET_DEBUGREGS` never fire at CPL 3 either, so there are no hardware breakpoints or
//! watchpoints), so breakpoints and steps come
//! through the guest kernel: with the header feature `FEATURE_DEBUG` its CPL-0 trampoline
//! turns #BP and #DB from CPL 3 into a `DEBUG` port exit carrying the trap frame
//! ([`regs::Frame`]), and a single step is the trap flag in that frame (or in the registers
//! of a vCPU stopped from outside). A fault of CPL-3 code makes the same exit before the
//! kernel reports it, which GDB sees as SIGSEGV, SIGILL, SIGFPE or SIGBUS. The same path
//! works on hardware KVM.

mod arch;
mod control;
mod regs;
mod target;
mod tasks;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use gdbstub::common::Signal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use kvm_ioctls::VcpuFd;

pub use control::Control;
use control::Stop;
use target::HermitTarget;

use crate::host::Host;
use crate::hypercall::Outcome;

/// Binds the stub's port on the loopback interface.
pub fn listen(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|e| {
        format!("HERMIT_DEBUG: cannot listen for GDB on 127.0.0.1:{port}: {e} (HERMIT_DEBUG_PORT chooses another port)")
    })
}

/// Waits for GDB to connect.
pub fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    let port = listener.local_addr().map_or(0, |a| a.port());
    eprintln!("proxy: waiting for GDB on 127.0.0.1:{port} (gdb <image> -ex 'target remote :{port}')");
    let (stream, peer) =
        listener.accept().map_err(|e| format!("HERMIT_DEBUG: accepting GDB's connection failed: {e}"))?;
    let _ = stream.set_nodelay(true);
    eprintln!("proxy: GDB connected from {peer}");
    Ok(stream)
}

/// The stub's half of a debugging session, before the guest runs.
pub struct Session {
    stream: TcpStream,
    control: Arc<Control>,
    events: Receiver<Stop>,
}

impl Session {
    /// A session over `stream` for `cpus` vCPUs, which stop before their first instruction.
    pub fn new(stream: TcpStream, cpus: usize) -> Result<Self, String> {
        Control::install_kick_handler()?;
        let (tx, events) = mpsc::channel();
        Ok(Self { stream, control: Arc::new(Control::new(cpus, tx)), events })
    }

    /// The control the vCPU threads use.
    pub fn control(&self) -> Arc<Control> {
        Arc::clone(&self.control)
    }

    /// Serves GDB on a thread of its own until it detaches, kills the guest or goes away.
    pub fn start(self, host: Arc<Host>) -> Result<(), String> {
        std::thread::Builder::new()
            .name("gdbstub".into())
            .spawn(move || serve(host, self))
            .map(|_| ())
            .map_err(|e| format!("cannot start the GDB stub thread: {e}"))
    }
}

fn serve(host: Arc<Host>, session: Session) {
    let Session { stream, control, events } = session;
    let mut target = HermitTarget::new(Arc::clone(&host), Arc::clone(&control), events);
    let result = GdbStub::new(Conn(stream)).run_blocking::<EventLoop>(&mut target);
    match result {
        Ok(DisconnectReason::Kill) => {
            // The vCPUs stay stopped: the guest ends here.
            eprintln!("proxy: GDB killed the guest");
            host.killed()
        }
        Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => control.finished(),
        Ok(DisconnectReason::Disconnect) => {
            eprintln!("proxy: GDB detached; the guest runs on");
            control.detach(&host.ram);
        }
        Err(e) => {
            eprintln!("proxy: the connection to GDB ended ({e}); the guest runs on");
            control.detach(&host.ram);
        }
    }
}

/// The blocking event loop: stops of the vCPUs, or bytes from GDB (Ctrl-C) while they run.
enum EventLoop {}

impl BlockingEventLoop for EventLoop {
    type Target = HermitTarget;
    type Connection = Conn;
    type StopReason = MultiThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut HermitTarget,
        conn: &mut Conn,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<String, std::io::Error>> {
        loop {
            match target.events.recv_timeout(Duration::from_millis(10)) {
                Ok(stop) => {
                    if !matches!(stop, Stop::Exited(_)) {
                        target.control.stop_all();
                    }
                    // Stops that raced with this one are dropped: a vCPU that ran into a
                    // breakpoint stands on it and hits it again when resumed.
                    while target.events.try_recv().is_ok() {}
                    return Ok(Event::TargetStopped(HermitTarget::reason(stop)));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(WaitForStopReasonError::Target("the vCPUs are gone".into()))
                }
            }
            if conn.readable(0).map_err(WaitForStopReasonError::Connection)? {
                return conn.read().map(Event::IncomingData).map_err(WaitForStopReasonError::Connection);
            }
        }
    }

    fn on_interrupt(target: &mut HermitTarget) -> Result<Option<Self::StopReason>, String> {
        target.control.stop_all();
        while target.events.try_recv().is_ok() {}
        // The thread GDB selects: the first vCPU that was running the program (CPL 3), not
        // an idle one.
        let started = target.control.started();
        let busy =
            started.iter().copied().find(|id| target.control.with_snapshot(*id, |s| s.user_mode()) == Some(true));
        let id = busy.or(started.first().copied()).unwrap_or(0);
        Ok(Some(MultiThreadStopReason::SignalWithThread { tid: target::tid(id), signal: Signal::SIGINT }))
    }
}

/// GDB's TCP connection, read and written with plain `read`/`write` (the seccomp filter
/// allows those; `TcpStream`'s own would need `recvfrom`, `sendto` and `ioctl(FIONBIO)`).
pub struct Conn(TcpStream);

impl Conn {
    /// Whether a byte can be read within `timeout_ms`.
    fn readable(&self, timeout_ms: i32) -> std::io::Result<bool> {
        let mut pfd = libc::pollfd { fd: self.0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match n {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> std::io::Result<()> {
        self.write_all(&[byte])
    }

    fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            // SAFETY: writing from a live buffer to the socket.
            let n = unsafe { libc::write(self.0.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            buf = &buf[n as usize..];
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ConnectionExt for Conn {
    fn read(&mut self) -> std::io::Result<u8> {
        let mut byte = 0u8;
        loop {
            // SAFETY: reading one byte into a live variable.
            let n = unsafe { libc::read(self.0.as_raw_fd(), (&raw mut byte).cast(), 1) };
            match n {
                1 => return Ok(byte),
                0 => return Err(ErrorKind::UnexpectedEof.into()),
                _ => {
                    let e = std::io::Error::last_os_error();
                    if e.kind() != ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if !self.readable(0)? {
            return Ok(None);
        }
        let mut byte = 0u8;
        // SAFETY: peeking one byte into a live variable.
        let n = unsafe { libc::recv(self.0.as_raw_fd(), (&raw mut byte).cast(), 1, libc::MSG_PEEK) };
        match n {
            1 => Ok(Some(byte)),
            0 => Err(ErrorKind::UnexpectedEof.into()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// Word `i` of the trap frame at guest-virtual `rsp` (the guest's stack pointer: the address
/// wraps as the CPU's would, and an unmapped word is `None`).
fn trap_word(ram: &crate::guest::GuestRam, cr3: u64, rsp: u64, i: u64) -> Option<u64> {
    let at = rsp.wrapping_add(8 * i);
    crate::paging::translate(ram, cr3, at).and_then(|(p, _)| ram.read::<u64>(p).ok())
}

/// vCPU thread: handles a `DEBUG` exit (a breakpoint or single step of CPL-3 code, an
/// `int3` of the program, or a fault of CPL-3 code on its way to the kernel's fault report),
/// stopping until GDB resumes the vCPU.
pub fn debug_trap(host: &Host, control: &Control, vcpu: &VcpuFd, id: usize) -> Outcome {
    let Ok(regs) = vcpu.get_regs() else { return Outcome::Fatal("cannot read the registers of a debug trap".into()) };
    let Ok(sregs) = vcpu.get_sregs() else { return Outcome::Fatal("cannot read the registers of a debug trap".into()) };
    let word = |i: u64| trap_word(&host.ram, sregs.cr3, regs.rsp, i);
    let (Some(vector), Some(rip)) = (word(2), word(4)) else {
        return Outcome::Fatal(format!("vCPU {id} made a debug exit without a readable trap frame"));
    };
    if !control.attached() {
        if vector == 3 {
            return Outcome::Fatal(format!(
                "the program executed an int3 instruction at {:#x} after GDB had gone",
                rip.wrapping_sub(1)
            ));
        }
        // A trap flag left from a step.
        let at = regs.rsp.wrapping_add(48);
        if let (Some(flags), Some((p, _))) = (word(6), crate::paging::translate(&host.ram, sregs.cr3, at)) {
            let _ = host.ram.write::<u64>(p, flags & !regs::TF);
        }
        return Outcome::Continue;
    }
    let ours = vector == 3
        && crate::paging::translate(&host.ram, host.page_root, rip.wrapping_sub(1))
            .is_some_and(|(p, _)| control.is_breakpoint(p));
    let stop = match vector {
        3 if ours => Stop::Breakpoint(id),
        1 if control.stepping(id) => Stop::Step(id),
        1 | 3 => Stop::Trap(id),
        _ => Stop::Fault(id, vector),
    };
    control.pause(id, vcpu, &host.ram, Some(regs.rsp), Some(stop));
    Outcome::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trap_frame_at_the_top_of_the_address_space() {
        // The guest's stack pointer near 2^64: the sum overflowed (a panic where overflow is
        // checked). Tables at 0x10000 map the top 2 MiB of the address space to 0x200000.
        let ram = crate::guest::GuestRam::new(32 << 20, false).unwrap();
        for (table, next) in [(0x10000u64, 0x11000u64), (0x11000, 0x12000)] {
            ram.write::<u64>(table + 511 * 8, next | 3).unwrap();
        }
        ram.write::<u64>(0x12000 + 511 * 8, 0x20_0000 | 0x83).unwrap();
        ram.write::<u64>(0x3f_fff8, 0x1234).unwrap();
        let rsp = 0u64.wrapping_sub(16);
        assert_eq!(trap_word(&ram, 0x10000, rsp, 1), Some(0x1234));
        assert_eq!(trap_word(&ram, 0x10000, rsp, 2), None, "wraps to 0, unmapped");
        assert_eq!(trap_word(&ram, 0x10000, rsp, 6), None);
    }
}

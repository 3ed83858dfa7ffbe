//! The guest as a `gdbstub` target: one GDB thread per vCPU (thread `n` is vCPU `n - 1`),
//! registers from the stopped vCPUs, memory through the guest's page tables, software
//! breakpoints and single steps.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use gdbstub::common::{Signal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub::{outputln, stub::MultiThreadStopReason};

use super::arch::{HermitRegs, X86_64Hermit};
use super::control::{Action, Control, Stop};
use crate::host::Host;
use crate::paging;

/// The target the stub serves.
pub struct HermitTarget {
    /// The guest.
    pub host: Arc<Host>,
    /// The vCPU threads.
    pub control: Arc<Control>,
    /// Stops reported by the vCPU threads.
    pub events: Receiver<Stop>,
    /// Resume actions gathered for the next resume.
    actions: BTreeMap<usize, Action>,
    /// Threads without an action stay stopped in the next resume (GDB's scheduler locking).
    lock_others: bool,
}

/// GDB's thread id of vCPU `id`.
pub fn tid(id: usize) -> Tid {
    NonZeroUsize::new(id + 1).expect("id + 1 is not zero")
}

impl HermitTarget {
    /// A target for `host`.
    pub fn new(host: Arc<Host>, control: Arc<Control>, events: Receiver<Stop>) -> Self {
        Self { host, control, events, actions: BTreeMap::new(), lock_others: false }
    }

    /// The stop reason GDB gets for `stop`.
    pub fn reason(stop: Stop) -> MultiThreadStopReason<u64> {
        match stop {
            Stop::Breakpoint(id) => MultiThreadStopReason::SwBreak(tid(id)),
            Stop::Step(id) | Stop::Trap(id) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(id), signal: Signal::SIGTRAP }
            }
            Stop::Exited(code) => MultiThreadStopReason::Exited(code as u8),
        }
    }

    /// Applies `f` to each guest-physical piece of `len` bytes at guest-virtual `addr`;
    /// returns how many bytes were done before the first failure.
    fn each_piece(&self, addr: u64, len: usize, mut f: impl FnMut(u64, usize, usize) -> bool) -> usize {
        let mut done = 0;
        while done < len {
            let Some(vaddr) = addr.checked_add(done as u64) else { break };
            let Some((paddr, end)) = paging::translate(&self.host.ram, self.host.page_root, vaddr) else { break };
            let n = ((end - paddr) as usize).min(len - done);
            if !f(paddr, done, n) {
                break;
            }
            done += n;
        }
        done
    }
}

impl Target for HermitTarget {
    type Arch = X86_64Hermit;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for HermitTarget {
    fn read_registers(&mut self, regs: &mut HermitRegs, tid: Tid) -> TargetResult<(), Self> {
        *regs = self.control.with_snapshot(tid.get() - 1, |s| s.to_gdb()).ok_or(TargetError::NonFatal)?;
        Ok(())
    }

    fn write_registers(&mut self, regs: &HermitRegs, tid: Tid) -> TargetResult<(), Self> {
        self.control.with_snapshot(tid.get() - 1, |s| s.set_from_gdb(regs)).ok_or(TargetError::NonFatal)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        let control = Arc::clone(&self.control);
        let ram = &self.host.ram;
        let len = data.len();
        let n = self.each_piece(start, len, |paddr, at, n| control.read_phys(ram, paddr, &mut data[at..at + n]));
        if n == 0 && len > 0 {
            return Err(TargetError::NonFatal);
        }
        Ok(n)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        let control = Arc::clone(&self.control);
        let ram = &self.host.ram;
        let n = self.each_piece(start, data.len(), |paddr, at, n| control.write_phys(ram, paddr, &data[at..at + n]));
        if n < data.len() {
            return Err(TargetError::NonFatal);
        }
        Ok(())
    }

    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        for id in self.control.started() {
            thread_is_active(tid(id));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadResume for HermitTarget {
    fn resume(&mut self) -> Result<(), Self::Error> {
        self.control.resume(&std::mem::take(&mut self.actions), self.lock_others);
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.actions.clear();
        self.lock_others = false;
        Ok(())
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }

    fn set_resume_action_continue(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.actions.insert(tid.get() - 1, Action::Continue);
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSingleStep for HermitTarget {
    fn set_resume_action_step(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.actions.insert(tid.get() - 1, Action::Step);
        Ok(())
    }
}

impl MultiThreadSchedulerLocking for HermitTarget {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        self.lock_others = true;
        Ok(())
    }
}

impl Breakpoints for HermitTarget {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for HermitTarget {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some((paddr, _)) = paging::translate(&self.host.ram, self.host.page_root, addr) else { return Ok(false) };
        Ok(self.control.insert_breakpoint(&self.host.ram, paddr))
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some((paddr, _)) = paging::translate(&self.host.ram, self.host.page_root, addr) else { return Ok(false) };
        Ok(self.control.remove_breakpoint(&self.host.ram, paddr))
    }
}

impl ThreadExtraInfo for HermitTarget {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let id = tid.get() - 1;
        let text = match self.control.with_snapshot(id, |s| (s.user_mode(), s.pc())) {
            Some((true, _)) => format!("vCPU {id}"),
            Some((false, pc)) => format!("vCPU {id}, in the kernel's CPL-0 code at {pc:#x}"),
            None => format!("vCPU {id}, running"),
        };
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }
}

impl MonitorCmd for HermitTarget {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        match cmd.trim_ascii() {
            b"vcpus" => {
                for id in self.control.started() {
                    let state = self.control.with_snapshot(id, |s| (s.pc(), s.user_mode()));
                    match state {
                        Some((pc, true)) => outputln!(out, "vCPU {id}: stopped at {pc:#x} (CPL 3)"),
                        Some((pc, false)) => outputln!(out, "vCPU {id}: stopped at {pc:#x} (CPL 0 trampoline)"),
                        None => outputln!(out, "vCPU {id}: running"),
                    }
                }
            }
            _ => {
                outputln!(out, "monitor commands of the HermitCore proxy:");
                outputln!(out, "  vcpus   each vCPU's state and program counter");
            }
        }
        Ok(())
    }
}

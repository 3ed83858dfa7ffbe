//! The guest as a `gdbstub` target: one GDB thread per vCPU (thread `n` is vCPU `n - 1`)
//! and one per hermit task that no vCPU runs ([`super::tasks`]), registers from the stopped
//! vCPUs and the tasks' switch frames, memory through the guest's page tables, software
//! breakpoints and single steps.
//!
//! Resuming: GDB's actions name vCPUs; an action for a task thread (GDB's `continue` or
//! `step` after `thread N` selected a waiting task) cannot run that task by itself, so it
//! resumes every vCPU (also under scheduler locking) and steps none.

use std::collections::BTreeMap;
use std::mem::offset_of;
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
use hermit_interface::header::{offset, HeaderExt};

use super::arch::{HermitRegs, X86_64Hermit};
use super::control::{Action, Control, Stop};
use super::tasks::{self, Memory, TaskInfo, TASK_TID_BASE};
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
    /// An action named a task thread: the next resume continues every vCPU.
    task_action: bool,
}

/// GDB's thread id of vCPU `id`.
pub fn tid(id: usize) -> Tid {
    NonZeroUsize::new(id + 1).expect("id + 1 is not zero")
}

/// The signal Linux would deliver for exception `vector`: divide error and x87/SIMD
/// floating-point faults SIGFPE, invalid opcode SIGILL, alignment check SIGBUS, the rest
/// (page fault, general protection, ...) SIGSEGV.
pub fn fault_signal(vector: u64) -> Signal {
    match vector {
        0 | 16 | 19 => Signal::SIGFPE,
        6 => Signal::SIGILL,
        17 => Signal::SIGBUS,
        _ => Signal::SIGSEGV,
    }
}

impl HermitTarget {
    /// A target for `host`.
    pub fn new(host: Arc<Host>, control: Arc<Control>, events: Receiver<Stop>) -> Self {
        Self { host, control, events, actions: BTreeMap::new(), lock_others: false, task_action: false }
    }

    /// Records GDB's `action` for thread `tid` at the next resume: a vCPU thread's own; for a
    /// task thread only that a task was named (every vCPU then continues).
    fn set_action(&mut self, tid: Tid, action: Action) {
        if tid.get() >= TASK_TID_BASE {
            self.task_action = true;
        } else {
            self.actions.insert(tid.get() - 1, action);
        }
    }

    /// The stop reason GDB gets for `stop`.
    pub fn reason(stop: Stop) -> MultiThreadStopReason<u64> {
        match stop {
            Stop::Breakpoint(id) => MultiThreadStopReason::SwBreak(tid(id)),
            Stop::Step(id) | Stop::Trap(id) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(id), signal: Signal::SIGTRAP }
            }
            Stop::Fault(id, vector) => {
                MultiThreadStopReason::SignalWithThread { tid: tid(id), signal: fault_signal(vector) }
            }
            Stop::Exited(code) => MultiThreadStopReason::Exited(code as u8),
        }
    }

    /// The live tasks, if the kernel published its task table.
    fn tasks(&self) -> Vec<TaskInfo> {
        let at = self.host.entry + (offset::EXT + offset_of!(HeaderExt, task_table)) as u64;
        let Ok(addr) = self.host.ram.load_u64(at) else { return Vec::new() };
        let Some(table) = tasks::read_table(self, addr) else { return Vec::new() };
        tasks::read_tasks(self, &table, &self.control.started())
    }

    /// The task behind GDB thread `tid` if it is a task thread whose task no vCPU runs.
    fn task_of(&self, tid: Tid) -> Option<TaskInfo> {
        let id = tid.get().checked_sub(TASK_TID_BASE)?;
        self.tasks().into_iter().find(|t| t.id as usize == id && t.running_on.is_none())
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

impl Memory for HermitTarget {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let len = buf.len();
        self.each_piece(addr, len, |paddr, at, n| self.control.read_phys(&self.host.ram, paddr, &mut buf[at..at + n]))
            == len
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
        if tid.get() >= TASK_TID_BASE {
            let task = self.task_of(tid).ok_or(TargetError::NonFatal)?;
            *regs = tasks::switch_registers(self, task.rsp).ok_or(TargetError::NonFatal)?;
            return Ok(());
        }
        *regs = self.control.with_snapshot(tid.get() - 1, |s| s.to_gdb()).ok_or(TargetError::NonFatal)?;
        Ok(())
    }

    /// A task thread's registers are read-only (its switch frame is the kernel's).
    fn write_registers(&mut self, regs: &HermitRegs, tid: Tid) -> TargetResult<(), Self> {
        if tid.get() >= TASK_TID_BASE {
            return Err(TargetError::NonFatal);
        }
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
        for task in self.tasks().iter().filter(|t| t.running_on.is_none()) {
            if let Some(t) = Tid::new(task.tid()) {
                thread_is_active(t);
            }
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
        let lock_others = self.lock_others && !self.task_action;
        self.control.resume(&std::mem::take(&mut self.actions), lock_others);
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.actions.clear();
        self.lock_others = false;
        self.task_action = false;
        Ok(())
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }

    fn set_resume_action_continue(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.set_action(tid, Action::Continue);
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSingleStep for HermitTarget {
    fn set_resume_action_step(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.set_action(tid, Action::Step);
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
        let tasks = self.tasks();
        let text = if tid.get() >= TASK_TID_BASE {
            let id = tid.get() - TASK_TID_BASE;
            match tasks.iter().find(|t| t.id as usize == id) {
                Some(task) => task.describe(),
                None => format!("task {id}, gone"),
            }
        } else {
            let id = tid.get() - 1;
            let task = match tasks.iter().find(|t| t.running_on == Some(id)) {
                Some(task) => format!(", task {}", task.id),
                None if tasks.is_empty() => String::new(),
                None => ", idle".to_string(),
            };
            match self.control.with_snapshot(id, |s| (s.user_mode(), s.pc())) {
                Some((true, _)) => format!("vCPU {id}{task}"),
                Some((false, pc)) => format!("vCPU {id}{task}, in the kernel's CPL-0 code at {pc:#x}"),
                None => format!("vCPU {id}, running"),
            }
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
            b"tasks" => {
                for task in self.tasks() {
                    let thread = task.running_on.map_or(task.tid(), |cpu| cpu + 1);
                    outputln!(out, "{} (GDB thread {thread})", task.describe());
                }
            }
            _ => {
                outputln!(out, "monitor commands of the HermitCore proxy:");
                outputln!(out, "  vcpus   each vCPU's state and program counter");
                outputln!(out, "  tasks   each hermit task's state and GDB thread");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_become_the_signals_of_linux() {
        assert_eq!(fault_signal(0), Signal::SIGFPE);
        assert_eq!(fault_signal(6), Signal::SIGILL);
        assert_eq!(fault_signal(13), Signal::SIGSEGV);
        assert_eq!(fault_signal(14), Signal::SIGSEGV);
        assert_eq!(fault_signal(17), Signal::SIGBUS);
        assert_eq!(fault_signal(19), Signal::SIGFPE);
    }
}

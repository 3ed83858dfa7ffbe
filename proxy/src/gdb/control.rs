//! Stopping and resuming the vCPU threads for the GDB stub (all-stop mode).
//!
//! Each vCPU thread runs its vCPU as usual. When it takes a debug trap, or finds that the stub
//! asked every vCPU to stop (it was kicked out of `KVM_RUN` with a signal), it publishes its
//! state as a [`Snapshot`] and waits. The stub reads and changes the snapshots while all
//! vCPUs wait, sets each one's resume action and wakes them; each thread writes back what
//! changed, sets or clears the trap flag for a single step and runs on.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use kvm_ioctls::VcpuFd;

use super::regs::{Frame, Snapshot};
use crate::guest::GuestRam;
use crate::paging;

/// The signal that kicks a vCPU thread out of `KVM_RUN` (its handler does nothing).
pub const KICK_SIGNAL: libc::c_int = libc::SIGUSR2;

/// What a resumed vCPU does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run until something stops it.
    Continue,
    /// Run one instruction (CPL 3 only; elsewhere the same as `Continue`).
    Step,
}

/// Why a vCPU stopped by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It ran into one of GDB's breakpoints (its PC is back on the breakpoint).
    Breakpoint(usize),
    /// It finished a single step.
    Step(usize),
    /// A `int3` of the program itself, or a trap nobody asked for.
    Trap(usize),
    /// A fault of the program (exception `vector`); resumed, the vCPU reports it and the
    /// guest ends as without a debugger.
    Fault(usize, u64),
    /// The guest ended with this status.
    Exited(i32),
}

#[derive(Default)]
struct Slot {
    /// The thread exists (`pthread_t` for kicks).
    thread: Option<libc::pthread_t>,
    /// Its state while it waits; `None` while it runs.
    snapshot: Option<Snapshot>,
    /// Set by [`Control::resume`]: the thread may go.
    action: Option<Action>,
    /// It was resumed with a single step that has not finished yet.
    stepping: bool,
}

struct State {
    /// Every vCPU must stop (all-stop): set by a stop, cleared by a resume.
    stop: bool,
    /// No debugger any more: nothing stops, traps resume at once.
    detached: bool,
    /// The stub told GDB that the guest ended.
    finished: bool,
    slots: Vec<Slot>,
    /// GDB's software breakpoints: guest-physical address to the byte under the `int3`.
    breakpoints: BTreeMap<u64, u8>,
}

/// The state shared by the vCPU threads and the stub.
pub struct Control {
    state: Mutex<State>,
    changed: Condvar,
    events: Mutex<Option<Sender<Stop>>>,
}

extern "C" fn on_kick(_signal: libc::c_int) {}

impl Control {
    /// Control for `cpus` vCPUs, all stopped before their first instruction; `events`
    /// receives the stops.
    pub fn new(cpus: usize, events: Sender<Stop>) -> Self {
        let slots = (0..cpus).map(|_| Slot::default()).collect();
        Self {
            state: Mutex::new(State {
                stop: true,
                detached: false,
                finished: false,
                slots,
                breakpoints: BTreeMap::new(),
            }),
            changed: Condvar::new(),
            events: Mutex::new(Some(events)),
        }
    }

    /// Installs the handler of [`KICK_SIGNAL`] (before the seccomp filter, which forbids
    /// `rt_sigaction`).
    pub fn install_kick_handler() -> Result<(), String> {
        // SAFETY: an all-zero `sigaction` is valid; the handler does nothing. KVM_RUN returns
        // EINTR for a pending signal even with SA_RESTART, which spares a host call that the
        // vCPU thread is making (a read from a terminal) from failing with EINTR: it goes on,
        // and the vCPU stops when it is done.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            if libc::sigaction(KICK_SIGNAL, &action, std::ptr::null_mut()) != 0 {
                return Err(format!(
                    "cannot install the debugger's signal handler: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by vCPU thread `id` when it starts.
    pub fn register(&self, id: usize) {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        self.lock().slots[id].thread = Some(me);
    }

    /// Whether vCPU threads must stop at their next chance.
    pub fn stop_requested(&self) -> bool {
        let state = self.lock();
        state.stop && !state.detached
    }

    /// Whether a debugger is still attached.
    pub fn attached(&self) -> bool {
        !self.lock().detached
    }

    /// Sends a stop to the stub (nothing once it is gone).
    pub fn report(&self, stop: Stop) {
        if let Some(tx) = self.events.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(stop);
        }
    }

    /// vCPU thread `id`: publishes its state and waits until the stub resumes it; then writes
    /// back what GDB changed and arms or clears the trap flag. `frame` is the debug trap
    /// frame if the vCPU stopped in the trampoline; `stop` is reported to the stub.
    pub fn pause(&self, id: usize, vcpu: &VcpuFd, ram: &GuestRam, frame_addr: Option<u64>, stop: Option<Stop>) {
        let Ok(regs) = vcpu.get_regs() else { return };
        let Ok(sregs) = vcpu.get_sregs() else { return };
        let fpu = vcpu.get_fpu().unwrap_or_default();
        let xsave = vcpu.get_xsave().ok();
        let frame = frame_addr.and_then(|addr| read_frame(ram, sregs.cr3, addr));
        let mut snapshot = Snapshot { regs, sregs, fpu, xsave, frame };
        if let Some(Stop::Breakpoint(_)) = stop {
            // int3 is a trap: the frame's RIP is past it; GDB wants the breakpoint address.
            // The frame is read again here: another vCPU may have changed it (to 0) since.
            snapshot.set_pc(snapshot.pc().wrapping_sub(1));
        }
        let mut stop = stop;
        let mut state = self.lock();
        loop {
            if state.detached {
                return;
            }
            state.stop = true;
            let slot = &mut state.slots[id];
            slot.snapshot = Some(snapshot);
            slot.action = None;
            slot.stepping = false;
            if let Some(stop) = stop {
                self.report(stop);
            }
            self.changed.notify_all();
            loop {
                state = self
                    .changed
                    .wait_while(state, |s| !s.detached && s.slots[id].action.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                if !state.stop || state.detached {
                    break;
                }
                // Another stop came after the resume, before this thread woke up: the vCPU
                // has not run and stays stopped as it is (the stub counted it as stopped).
                state.slots[id].action = None;
            }
            let slot = &mut state.slots[id];
            let action = slot.action.take().unwrap_or(Action::Continue);
            let Some(taken) = slot.snapshot.take() else { return };
            snapshot = taken;
            if action == Action::Step && !snapshot.user_mode() && !state.detached {
                // CPL-0 code (a trampoline, an idle core's hlt) cannot be single-stepped: the
                // step ends at once, where it began.
                stop = Some(Stop::Step(id));
                continue;
            }
            let step = action == Action::Step && !state.detached;
            state.slots[id].stepping = step;
            drop(state);
            snapshot.set_trap_flag(step);
            if let Some(frame) = &snapshot.frame {
                write_frame(ram, snapshot.sregs.cr3, frame);
            }
            let _ = vcpu.set_regs(&snapshot.regs);
            if let Some(xsave) = &snapshot.xsave {
                // SAFETY: a whole `kvm_xsave` that KVM_GET_XSAVE filled (no extra area).
                let _ = unsafe { vcpu.set_xsave(xsave) };
            }
            // After the XSAVE area, which holds the x87 and SSE state too.
            let _ = vcpu.set_fpu(&snapshot.fpu);
            return;
        }
    }

    /// Whether vCPU `id` was resumed with a single step that is still running.
    pub fn stepping(&self, id: usize) -> bool {
        self.lock().slots[id].stepping
    }

    /// Whether the byte at guest-physical `paddr` is one of GDB's breakpoints.
    pub fn is_breakpoint(&self, paddr: u64) -> bool {
        self.lock().breakpoints.contains_key(&paddr)
    }

    /// Stub: asks every vCPU to stop and waits until all have (kicking the ones still
    /// running every few milliseconds: a signal that arrives just before `KVM_RUN` is lost).
    pub fn stop_all(&self) {
        let mut state = self.lock();
        state.stop = true;
        loop {
            let running: Vec<libc::pthread_t> =
                state.slots.iter().filter(|s| s.snapshot.is_none()).filter_map(|s| s.thread).collect();
            if running.is_empty() || state.detached {
                return;
            }
            for thread in running {
                // SAFETY: the thread is a live vCPU thread of this process (they never end
                // before the process does); the signal has a handler.
                unsafe { libc::pthread_kill(thread, KICK_SIGNAL) };
            }
            state = self.changed.wait_timeout(state, Duration::from_millis(5)).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Stub: resumes the waiting vCPUs with their actions: those `actions` does not name
    /// continue, or stay stopped with `lock_others` (GDB's scheduler locking).
    pub fn resume(&self, actions: &BTreeMap<usize, Action>, lock_others: bool) {
        let mut state = self.lock();
        state.stop = false;
        for (id, slot) in state.slots.iter_mut().enumerate() {
            if slot.snapshot.is_some() {
                let default = (!lock_others).then_some(Action::Continue);
                slot.action = actions.get(&id).copied().or(default);
            }
        }
        self.changed.notify_all();
    }

    /// Stub: the debugger is gone; every vCPU runs on and nothing stops any more. GDB's
    /// breakpoints are taken out of guest memory first.
    pub fn detach(&self, ram: &GuestRam) {
        let mut state = self.lock();
        for (paddr, byte) in std::mem::take(&mut state.breakpoints) {
            let _ = ram.write::<u8>(paddr, byte);
        }
        state.detached = true;
        state.stop = false;
        for slot in &mut state.slots {
            if slot.snapshot.is_some() {
                slot.action = Some(Action::Continue);
            }
        }
        *self.events.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.changed.notify_all();
    }

    /// The guest ends with `code`: tells GDB (through the stub) and waits a moment for it.
    pub fn exiting(&self, code: i32) {
        if !self.attached() {
            return;
        }
        self.report(Stop::Exited(code));
        let state = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(2), |s| !s.finished && !s.detached)
            .unwrap_or_else(|e| e.into_inner());
    }

    /// Stub: GDB knows that the guest ended.
    pub fn finished(&self) {
        let mut state = self.lock();
        state.finished = true;
        state.detached = true;
        self.changed.notify_all();
    }

    /// The vCPUs whose threads exist.
    pub fn started(&self) -> Vec<usize> {
        self.lock().slots.iter().enumerate().filter(|(_, s)| s.thread.is_some()).map(|(i, _)| i).collect()
    }

    /// Runs `f` on the snapshot of stopped vCPU `id` (written back when it resumes).
    pub fn with_snapshot<R>(&self, id: usize, f: impl FnOnce(&mut Snapshot) -> R) -> Option<R> {
        let mut state = self.lock();
        Some(f(state.slots.get_mut(id)?.snapshot.as_mut()?))
    }

    /// Inserts a breakpoint at guest-physical `paddr` (idempotent).
    pub fn insert_breakpoint(&self, ram: &GuestRam, paddr: u64) -> bool {
        let mut state = self.lock();
        if state.breakpoints.contains_key(&paddr) {
            return true;
        }
        let Ok(byte) = ram.read::<u8>(paddr) else { return false };
        if ram.write::<u8>(paddr, 0xcc).is_err() {
            return false;
        }
        state.breakpoints.insert(paddr, byte);
        true
    }

    /// Removes the breakpoint at guest-physical `paddr`.
    pub fn remove_breakpoint(&self, ram: &GuestRam, paddr: u64) -> bool {
        let mut state = self.lock();
        match state.breakpoints.remove(&paddr) {
            Some(byte) => ram.write::<u8>(paddr, byte).is_ok(),
            None => false,
        }
    }

    /// Reads guest-physical bytes as the program sees them (GDB's breakpoints hidden).
    pub fn read_phys(&self, ram: &GuestRam, paddr: u64, buf: &mut [u8]) -> bool {
        let state = self.lock();
        if ram.read_bytes(paddr, buf).is_err() {
            return false;
        }
        for (addr, byte) in state.breakpoints.range(paddr..paddr + buf.len() as u64) {
            buf[(addr - paddr) as usize] = *byte;
        }
        true
    }

    /// Writes guest-physical bytes; a byte under a breakpoint is kept for its removal.
    pub fn write_phys(&self, ram: &GuestRam, paddr: u64, data: &[u8]) -> bool {
        let mut state = self.lock();
        let mut data = data.to_vec();
        for (addr, byte) in state.breakpoints.range_mut(paddr..paddr + data.len() as u64) {
            let i = (addr - paddr) as usize;
            *byte = data[i];
            data[i] = 0xcc;
        }
        ram.write_bytes(paddr, &data).is_ok()
    }
}

/// Reads the debug trap frame at guest-virtual `addr`.
fn read_frame(ram: &GuestRam, cr3: u64, addr: u64) -> Option<Frame> {
    let (paddr, end) = paging::translate(ram, cr3, addr)?;
    if end - paddr < Frame::SIZE {
        return None;
    }
    let mut frame = Frame { addr, words: [0; 9] };
    for (i, word) in frame.words.iter_mut().enumerate() {
        *word = ram.read::<u64>(paddr + 8 * i as u64).ok()?;
    }
    Some(frame)
}

/// Writes a debug trap frame back.
fn write_frame(ram: &GuestRam, cr3: u64, frame: &Frame) {
    if let Some((paddr, _)) = paging::translate(ram, cr3, frame.addr) {
        for (i, word) in frame.words.iter().enumerate() {
            let _ = ram.write::<u64>(paddr + 8 * i as u64, *word);
        }
    }
}

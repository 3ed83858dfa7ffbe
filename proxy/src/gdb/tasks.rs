//! Hermit tasks as GDB threads, read from guest memory through the kernel's task table
//! (`hermit_interface::tasks`).
//!
//! GDB threads `1..=cpus` stay the vCPUs (with their live registers; the extra info names
//! the task each runs); every live task that no vCPU runs is thread
//! [`TASK_TID_BASE`]` + id`, with the registers of its last switch: the callee-saved ones, RIP
//! (the return address into the scheduler), RSP and the FS base, which is all GDB needs for
//! a backtrace; the others read as zero. Everything is guest data: the walk is bounded,
//! repeated tasks end it, and a read outside guest RAM drops the task (or the list).

use std::collections::HashSet;

use hermit_interface::tasks::{switch, TaskTable, MAX_WALK, TASK_TABLE_MAGIC, TASK_TABLE_VERSION, WAIT_BLOCKED};

use super::arch::HermitRegs;

/// GDB thread id of task `id` while no vCPU runs it (above the vCPUs' `1..=512`).
pub const TASK_TID_BASE: usize = 1000;

/// Guest-virtual memory as the stub reads it.
pub trait Memory {
    /// Fills `buf` from guest-virtual `addr`; false if any byte is not mapped guest RAM.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;

    /// The u64 at `addr`.
    fn u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    /// The u32 at `addr`.
    fn u32(&self, addr: u64) -> Option<u32> {
        let mut b = [0; 4];
        self.read(addr, &mut b).then(|| u32::from_le_bytes(b))
    }
}

/// One live task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its id (`sys_getpid` in it).
    pub id: u32,
    /// Guest address of the task.
    pub addr: u64,
    /// Priority.
    pub prio: u8,
    /// Wait state (`WAIT_*`).
    pub wait: u32,
    /// Home core.
    pub core: u32,
    /// Saved stack pointer (meaningful while no vCPU runs it).
    pub rsp: u64,
    /// The vCPU that runs it, if one does.
    pub running_on: Option<usize>,
}

impl TaskInfo {
    /// GDB's thread id of the task while no vCPU runs it.
    pub fn tid(&self) -> usize {
        TASK_TID_BASE + self.id as usize
    }

    /// Its state as `info threads` shows it.
    pub fn describe(&self) -> String {
        let state = match (self.running_on, self.wait) {
            (Some(cpu), _) => format!("running on vCPU {cpu}"),
            (None, WAIT_BLOCKED) => "blocked".to_string(),
            (None, _) => "ready".to_string(),
        };
        format!("task {}, {state}, prio {}, core {}", self.id, self.prio, self.core)
    }
}

/// The task table at guest address `table`, if it is one.
pub fn read_table(mem: &impl Memory, table: u64) -> Option<TaskTable> {
    if table == 0 || !table.is_multiple_of(8) {
        return None;
    }
    let mut b = [0u8; size_of::<TaskTable>()];
    if !mem.read(table, &mut b) {
        return None;
    }
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let t = TaskTable {
        magic: u32_at(0),
        version: u32_at(4),
        head: u64_at(8),
        off_next: u32_at(16),
        off_id: u32_at(20),
        off_rsp: u32_at(24),
        off_prio: u32_at(28),
        off_wait: u32_at(32),
        off_core: u32_at(36),
        percore: u64_at(40),
        percore_stride: u32_at(48),
        off_current: u32_at(52),
    };
    (t.magic == TASK_TABLE_MAGIC && t.version == TASK_TABLE_VERSION).then_some(t)
}

/// The live tasks of `table` (newest first), with the vCPUs among `cpus` that run them.
pub fn read_tasks(mem: &impl Memory, table: &TaskTable, cpus: &[usize]) -> Vec<TaskInfo> {
    let running: Vec<(usize, u64)> = cpus
        .iter()
        .filter_map(|&cpu| {
            let block = table.percore.checked_add((cpu as u64).checked_mul(u64::from(table.percore_stride))?)?;
            Some((cpu, mem.u64(block.checked_add(u64::from(table.off_current))?)?))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    let mut at = table.head;
    while at != 0 && at.is_multiple_of(8) && tasks.len() < MAX_WALK && seen.insert(at) {
        let field = |off: u32| at.checked_add(u64::from(off));
        let read = || -> Option<(TaskInfo, u64)> {
            let mut prio = [0u8];
            if !mem.read(field(table.off_prio)?, &mut prio) {
                return None;
            }
            let task = TaskInfo {
                id: mem.u32(field(table.off_id)?)?,
                addr: at,
                prio: prio[0],
                wait: mem.u32(field(table.off_wait)?)?,
                core: mem.u32(field(table.off_core)?)?,
                rsp: mem.u64(field(table.off_rsp)?)?,
                running_on: running.iter().find(|(_, t)| *t == at).map(|(cpu, _)| *cpu),
            };
            Some((task, mem.u64(field(table.off_next)?)?))
        };
        let Some((task, next)) = read() else { break };
        tasks.push(task);
        at = next;
    }
    tasks
}

/// The registers of a task that no vCPU runs, from the frame of its last switch; `None` if
/// the frame is not readable.
pub fn switch_registers(mem: &impl Memory, rsp: u64) -> Option<HermitRegs> {
    let mut w = [0u64; switch::WORDS];
    for (i, word) in w.iter_mut().enumerate() {
        *word = mem.u64(rsp.checked_add(8 * i as u64)?)?;
    }
    let mut regs = HermitRegs::default();
    let r = &mut regs.core.regs;
    r[1] = w[switch::RBX];
    r[6] = w[switch::RBP];
    // Wraps, as the stack pointer would (a frame in the top page of the address space).
    r[7] = rsp.wrapping_add((switch::WORDS as u64) * 8);
    r[12] = w[switch::R12];
    r[13] = w[switch::R13];
    r[14] = w[switch::R14];
    r[15] = w[switch::R15];
    regs.core.rip = w[switch::RIP];
    // Interrupts enabled, as in any CPL-3 code of the kernel that switches.
    regs.core.eflags = 0x202;
    regs.core.mxcsr = w[switch::MXCSR_FCW] as u32;
    regs.core.fpu.fctrl = u32::from((w[switch::MXCSR_FCW] >> 32) as u16);
    regs.fs_base = w[switch::FS_BASE];
    Some(regs)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hermit_interface::tasks::WAIT_NONE;

    use super::*;

    /// Sparse guest memory of little-endian u64 words.
    #[derive(Default)]
    struct Fake(BTreeMap<u64, u8>);

    impl Fake {
        fn put(&mut self, addr: u64, value: u64) {
            for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                self.0.insert(addr + i as u64, b);
            }
        }
    }

    impl Memory for Fake {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            buf.iter_mut().enumerate().all(|(i, b)| self.0.get(&(addr + i as u64)).map(|v| *b = *v).is_some())
        }
    }

    fn table(head: u64) -> TaskTable {
        TaskTable {
            magic: TASK_TABLE_MAGIC,
            version: TASK_TABLE_VERSION,
            head,
            off_next: 0,
            off_id: 8,
            off_rsp: 16,
            off_prio: 24,
            off_wait: 28,
            off_core: 32,
            percore: 0x9000,
            percore_stride: 128,
            off_current: 24,
        }
    }

    fn task(mem: &mut Fake, addr: u64, next: u64, id: u32, wait: u32) {
        mem.put(addr, next);
        mem.put(addr + 8, u64::from(id));
        mem.put(addr + 16, 0x7000 + u64::from(id));
        mem.put(addr + 24, 8 | (u64::from(wait) << 32));
        mem.put(addr + 32, 1);
    }

    #[test]
    fn walks_the_list_and_finds_the_running_tasks() {
        let mut mem = Fake::default();
        task(&mut mem, 0x1000, 0x2000, 3, WAIT_NONE);
        task(&mut mem, 0x2000, 0, 2, WAIT_BLOCKED);
        mem.put(0x9000 + 24, 0x5000); // vCPU 0 runs its idle task
        mem.put(0x9000 + 128 + 24, 0x1000); // vCPU 1 runs task 3
        let tasks = read_tasks(&mem, &table(0x1000), &[0, 1]);
        assert_eq!(tasks.len(), 2);
        assert_eq!((tasks[0].id, tasks[0].running_on), (3, Some(1)));
        assert_eq!((tasks[1].id, tasks[1].running_on, tasks[1].rsp), (2, None, 0x7002));
        assert_eq!(tasks[1].describe(), "task 2, blocked, prio 8, core 1");
        assert_eq!(tasks[1].tid(), TASK_TID_BASE + 2);
    }

    #[test]
    fn a_cycle_or_a_hole_ends_the_walk() {
        let mut mem = Fake::default();
        task(&mut mem, 0x1000, 0x2000, 1, WAIT_NONE);
        task(&mut mem, 0x2000, 0x1000, 2, WAIT_NONE);
        assert_eq!(read_tasks(&mem, &table(0x1000), &[0]).len(), 2);
        task(&mut mem, 0x2000, 0x3000, 2, WAIT_NONE);
        assert_eq!(read_tasks(&mem, &table(0x1000), &[0]).len(), 2, "0x3000 is not guest memory");
        assert!(read_tasks(&mem, &table(0x1001), &[0]).is_empty(), "misaligned head");
    }

    #[test]
    fn the_table_needs_its_magic_and_version() {
        let mut mem = Fake::default();
        let t = table(0x1000);
        let words = [
            u64::from(t.magic) | u64::from(t.version) << 32,
            t.head,
            u64::from(t.off_next) | u64::from(t.off_id) << 32,
            u64::from(t.off_rsp) | u64::from(t.off_prio) << 32,
            u64::from(t.off_wait) | u64::from(t.off_core) << 32,
            t.percore,
            u64::from(t.percore_stride) | u64::from(t.off_current) << 32,
        ];
        for (i, w) in words.iter().enumerate() {
            mem.put(0x4000 + 8 * i as u64, *w);
        }
        assert_eq!(read_table(&mem, 0x4000), Some(t));
        mem.put(0x4000, u64::from(t.version) << 32);
        assert_eq!(read_table(&mem, 0x4000), None);
        assert_eq!(read_table(&mem, 0), None);
    }

    #[test]
    fn a_switch_frame_gives_the_callee_saved_registers() {
        let mut mem = Fake::default();
        for i in 0..switch::WORDS as u64 {
            mem.put(0x8000 + 8 * i, 0x100 + i);
        }
        let regs = switch_registers(&mem, 0x8000).unwrap();
        assert_eq!(regs.core.rip, 0x100 + switch::RIP as u64);
        assert_eq!(regs.core.regs[7], 0x8000 + 72);
        assert_eq!(regs.core.regs[6], 0x100 + switch::RBP as u64);
        assert_eq!(regs.fs_base, 0x100);
        assert!(switch_registers(&mem, 0x8008).is_none(), "the last word is missing");
        // A frame the guest put in the last bytes of the address space: its end overflowed
        // (a panic where overflow is checked).
        let top = 0u64.wrapping_sub(8 * switch::WORDS as u64);
        for i in 0..switch::WORDS as u64 {
            mem.put(top + 8 * i, i);
        }
        assert_eq!(switch_registers(&mem, top).unwrap().core.regs[7], 0);
    }
}

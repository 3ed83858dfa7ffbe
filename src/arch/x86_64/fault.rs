//! Reports a fault of the application (or the kernel) and ends the program.
//!
//! The CPL-0 trampoline saved the interrupted registers into this core's [`FaultFrame`] and
//! resumed here at CPL 3 on a separate stack. The report goes to the host's stderr and to
//! the kernel log; the program then ends as in the original, with `sys_exit(-EFAULT)`
//! (exit status 242).

use core::fmt::Write;

use crate::config::FAULT_STACK_SIZE;
use crate::errno::EFAULT;
use crate::fmt::StackWriter;

/// Registers of a faulting context, written by the CPL-0 trampoline.
#[repr(C)]
pub struct FaultFrame {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub cr2: u64,
}

impl FaultFrame {
    /// An all-zero frame.
    pub const fn zeroed() -> Self {
        Self {
            rax: 0,
            rbx: 0,
            rcx: 0,
            rdx: 0,
            rsi: 0,
            rdi: 0,
            rbp: 0,
            r8: 0,
            r9: 0,
            r10: 0,
            r11: 0,
            r12: 0,
            r13: 0,
            r14: 0,
            r15: 0,
            vector: 0,
            error: 0,
            rip: 0,
            cs: 0,
            rflags: 0,
            rsp: 0,
            ss: 0,
            cr2: 0,
        }
    }
}

/// Mnemonic and description of the architectural exceptions.
const EXCEPTIONS: [(&str, &str); 32] = [
    ("#DE", "divide error"),
    ("#DB", "debug exception"),
    ("NMI", "non-maskable interrupt"),
    ("#BP", "breakpoint"),
    ("#OF", "overflow"),
    ("#BR", "bound range exceeded"),
    ("#UD", "invalid opcode"),
    ("#NM", "device not available"),
    ("#DF", "double fault"),
    ("CSO", "coprocessor segment overrun"),
    ("#TS", "invalid TSS"),
    ("#NP", "segment not present"),
    ("#SS", "stack-segment fault"),
    ("#GP", "general protection fault"),
    ("#PF", "page fault"),
    ("#15", "reserved exception"),
    ("#MF", "x87 floating-point error"),
    ("#AC", "alignment check"),
    ("#MC", "machine check"),
    ("#XM", "SIMD floating-point exception"),
    ("#VE", "virtualization exception"),
    ("#CP", "control protection exception"),
    ("#22", "reserved exception"),
    ("#23", "reserved exception"),
    ("#24", "reserved exception"),
    ("#25", "reserved exception"),
    ("#26", "reserved exception"),
    ("#27", "reserved exception"),
    ("#HV", "hypervisor injection"),
    ("#VC", "VMM communication exception"),
    ("#SX", "security exception"),
    ("#31", "reserved exception"),
];

/// What a page fault most likely was, for the first line of the report.
fn page_fault_cause(frame: &FaultFrame) -> &'static str {
    if frame.cr2 < crate::config::PAGE_SIZE as u64 {
        "null pointer dereference"
    } else if crate::scheduler::is_stack_guard(frame.cr2) {
        "stack overflow into the guard page"
    } else if crate::scheduler::is_stack_top_guard(frame.cr2) {
        "access past the stack top, into the guard page above it"
    } else if super::smp::core_stack_guard(frame.cr2).is_some() {
        "overrun of a core's boot, interrupt or fault stack into its guard page"
    } else if frame.error & 0x10 != 0 {
        "instruction fetch from an unmapped address"
    } else {
        "access to an unmapped address"
    }
}

/// Entered from the CPL-0 trampoline with the saved frame; never returns.
pub extern "C" fn report(frame: &FaultFrame) -> ! {
    let vector = frame.vector as usize;
    let (mnemonic, description) = EXCEPTIONS.get(vector).copied().unwrap_or(("#??", "exception"));
    let core = super::percore::core_id();
    let task = crate::scheduler::current_id();

    let mut out = StackWriter::<1024>::new();
    let _ = write!(out, "[hermit] {description} ({mnemonic}, vector {vector}) on core {core} in task {task}");
    if vector == 14 {
        let access = if frame.error & 0x10 != 0 {
            "instruction fetch"
        } else if frame.error & 0x2 != 0 {
            "write"
        } else {
            "read"
        };
        let _ = write!(out, ": {access} at address {:#x} ({})", frame.cr2, page_fault_cause(frame));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "[hermit]   rip {:#018x}  rsp {:#018x}  rflags {:#x}  error {:#x}  cs {:#x}",
        frame.rip, frame.rsp, frame.rflags, frame.error, frame.cs
    );
    let regs = [
        ("rax", frame.rax),
        ("rbx", frame.rbx),
        ("rcx", frame.rcx),
        ("rdx", frame.rdx),
        ("rsi", frame.rsi),
        ("rdi", frame.rdi),
        ("rbp", frame.rbp),
        ("r8", frame.r8),
        ("r9", frame.r9),
        ("r10", frame.r10),
        ("r11", frame.r11),
        ("r12", frame.r12),
        ("r13", frame.r13),
        ("r14", frame.r14),
        ("r15", frame.r15),
    ];
    for row in regs.chunks(4) {
        let _ = write!(out, "[hermit]  ");
        for (name, value) in row {
            let _ = write!(out, " {name:>3} {value:#018x}");
        }
        let _ = writeln!(out);
    }
    if let Some((bottom, top)) = crate::scheduler::current_stack() {
        let _ = writeln!(out, "[hermit]   stack of task {task}: {bottom:#x}..{top:#x}, guard pages below and above");
    }
    if let Some((core, name)) = super::smp::core_stack_guard(frame.cr2) {
        let _ = writeln!(out, "[hermit]   the address is a guard page of core {core}'s {name} stack");
    }
    crate::drivers::console::emergency(out.as_bytes());
    crate::drivers::hypercall::exit(EFAULT.neg())
}

/// Where the first core's trampoline saves a faulting context.
static mut BSP_FRAME: FaultFrame = FaultFrame::zeroed();

/// The first core's stack for the reporter until [`super::smp::prepare_stacks`] gives it one
/// between guard pages.
static mut BSP_FAULT_STACK: super::entry::Stack<FAULT_STACK_SIZE> = super::entry::Stack([0; FAULT_STACK_SIZE]);

/// Prepares core `core` for exceptions: its per-core block, and on the first core the IDT
/// and the fault frame and stack. Must run before anything on the core can fault.
pub fn init_core(core: usize) {
    let block = super::percore::init_block(core);
    if core == 0 {
        super::idt::fill();
        let frame = core::ptr::addr_of_mut!(BSP_FRAME) as u64;
        let stack = core::ptr::addr_of_mut!(BSP_FAULT_STACK) as u64 + FAULT_STACK_SIZE as u64;
        block.fault_frame.store(frame, core::sync::atomic::Ordering::Relaxed);
        block.fault_stack_top.store(stack, core::sync::atomic::Ordering::Relaxed);
    }
}

//! The proxy's system-call filter (seccomp-bpf, built with `seccompiler`): after setup, the
//! proxy may make only the system calls it needs to run vCPUs and serve hypercalls.
//!
//! A forbidden call traps (`SIGSYS`); the handler writes one line naming the call's number
//! and ends the proxy with status 1, like any other stopped guest. Trapping rather than
//! `SECCOMP_RET_KILL_PROCESS` is what makes the message possible (a killed process says
//! nothing, its parent sees only signal 31); it is as safe, because the filter allows
//! neither `rt_sigaction` (the handler cannot be replaced) nor a return from it, and a
//! blocked `SIGSYS` makes the kernel kill the process instead. The table in
//! `ARCHITECTURE.md` says why each call is allowed.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition as Cond, SeccompFilter,
    SeccompRule, TargetArch,
};

/// `_IOC(dir, 0xAE, nr, size)`: a KVM ioctl number.
const fn kvm_ioctl(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (0xAE << 8) | nr
}

/// The KVM ioctls the proxy makes after setup: running a vCPU and reading its registers
/// for error reports.
pub const KVM_IOCTLS: [(&str, u64); 3] = [
    ("KVM_RUN", kvm_ioctl(0, 0x80, 0)),
    ("KVM_GET_REGS", kvm_ioctl(2, 0x81, size_of::<kvm_bindings::kvm_regs>())),
    ("KVM_GET_SREGS", kvm_ioctl(2, 0x83, size_of::<kvm_bindings::kvm_sregs>())),
];

/// What the GDB stub adds (`HERMIT_DEBUG`): writing a stopped vCPU's registers, its x87,
/// SSE and AVX state.
pub const DEBUG_IOCTLS: [(&str, u64); 5] = [
    ("KVM_GET_XSAVE", kvm_ioctl(2, 0xa4, size_of::<kvm_bindings::kvm_xsave>())),
    ("KVM_SET_XSAVE", kvm_ioctl(1, 0xa5, size_of::<kvm_bindings::kvm_xsave>())),
    ("KVM_SET_REGS", kvm_ioctl(1, 0x82, size_of::<kvm_bindings::kvm_regs>())),
    ("KVM_GET_FPU", kvm_ioctl(2, 0x8c, size_of::<kvm_bindings::kvm_fpu>())),
    ("KVM_SET_FPU", kvm_ioctl(1, 0x8d, size_of::<kvm_bindings::kvm_fpu>())),
];

/// What the GDB stub adds: peeking at GDB's bytes (`poll`, which it also needs, is always
/// allowed: the network receive thread waits with it).
pub const DEBUG_ALLOWED: &[(&str, i64)] = &[("recvfrom", libc::SYS_recvfrom)];

/// The system calls allowed without conditions (see `ARCHITECTURE.md` for why).
pub const ALLOWED: &[(&str, i64)] = &[
    // Hypercalls: guest files and the console.
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("readv", libc::SYS_readv),
    ("writev", libc::SYS_writev),
    ("pread64", libc::SYS_pread64),
    ("pwrite64", libc::SYS_pwrite64),
    ("lseek", libc::SYS_lseek),
    ("close", libc::SYS_close),
    ("openat2", libc::SYS_openat2),
    ("openat", libc::SYS_openat),
    ("fstat", libc::SYS_fstat),
    ("newfstatat", libc::SYS_newfstatat),
    ("statx", libc::SYS_statx),
    ("fstatfs", libc::SYS_fstatfs),
    ("readlink", libc::SYS_readlink),
    ("readlinkat", libc::SYS_readlinkat),
    ("unlinkat", libc::SYS_unlinkat),
    ("mkdirat", libc::SYS_mkdirat),
    // The FILEOP hypercall (on descriptors the guest owns, or beneath resolved parents).
    ("fsync", libc::SYS_fsync),
    ("fdatasync", libc::SYS_fdatasync),
    ("ftruncate", libc::SYS_ftruncate),
    ("faccessat2", libc::SYS_faccessat2),
    ("fchmod", libc::SYS_fchmod),
    ("fchmodat2", 452), // Linux 6.6; the libc crate has no name for it yet
    ("fchown", libc::SYS_fchown),
    ("fchownat", libc::SYS_fchownat),
    ("utimensat", libc::SYS_utimensat),
    ("renameat", libc::SYS_renameat),
    ("renameat2", libc::SYS_renameat2),
    ("linkat", libc::SYS_linkat),
    ("symlinkat", libc::SYS_symlinkat),
    ("getdents64", libc::SYS_getdents64),
    ("flock", libc::SYS_flock),
    // The network interface: its receive thread waits with poll; a NETREAD from passt's
    // socket checks it first (frames move with read/write, the interrupt with an eventfd write).
    ("poll", libc::SYS_poll),
    ("ppoll", libc::SYS_ppoll),
    // Memory: the allocator, thread stacks, population.
    ("munmap", libc::SYS_munmap),
    ("mremap", libc::SYS_mremap),
    ("brk", libc::SYS_brk),
    ("madvise", libc::SYS_madvise),
    // Threads and their synchronisation.
    ("futex", libc::SYS_futex),
    ("sched_yield", libc::SYS_sched_yield),
    ("clone3", libc::SYS_clone3), // answered with ENOSYS, the filter's first test
    ("set_robust_list", libc::SYS_set_robust_list),
    ("rseq", libc::SYS_rseq),
    ("sigaltstack", libc::SYS_sigaltstack),
    ("sched_getaffinity", libc::SYS_sched_getaffinity),
    ("rt_sigprocmask", libc::SYS_rt_sigprocmask),
    ("rt_sigreturn", libc::SYS_rt_sigreturn),
    ("getrandom", libc::SYS_getrandom),
    ("getpid", libc::SYS_getpid),
    ("gettid", libc::SYS_gettid),
    // Time and scheduling.
    ("clock_gettime", libc::SYS_clock_gettime),
    ("clock_nanosleep", libc::SYS_clock_nanosleep),
    ("nanosleep", libc::SYS_nanosleep),
    ("restart_syscall", libc::SYS_restart_syscall),
    ("sysinfo", libc::SYS_sysinfo),
    // The end of the run (`wait4`: QEMU ended first).
    ("wait4", libc::SYS_wait4),
    ("exit", libc::SYS_exit),
    ("exit_group", libc::SYS_exit_group),
];

fn cond(arg: u8, len: Len, op: Op, value: u64) -> Result<Cond, String> {
    Cond::new(arg, len, op, value).map_err(|e| e.to_string())
}

fn rule(conditions: Vec<Cond>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

/// The allow-list as seccompiler rules: [`ALLOWED`] unconditionally, plus `ioctl` with the
/// [`KVM_IOCTLS`], `mmap`/`mprotect` without `PROT_EXEC` (no new code), `clone` only for
/// threads (`CLONE_THREAD`, no new processes), `prctl(PR_SET_NAME)`, `tgkill` to the
/// proxy's own threads (`abort`) and `sched_setaffinity` of the calling thread (pinning) or
/// of one of the `vcpu_threads` (thread ids). With `debug`, also [`DEBUG_ALLOWED`] and
/// [`DEBUG_IOCTLS`] (the GDB stub).
pub fn rules(pid: u32, debug: bool, vcpu_threads: &[i32]) -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    let extra: &[(&str, i64)] = if debug { DEBUG_ALLOWED } else { &[] };
    let mut map: BTreeMap<i64, Vec<SeccompRule>> =
        ALLOWED.iter().chain(extra).map(|(_, nr)| (*nr, Vec::new())).collect();
    let no_exec = || rule(vec![cond(2, Len::Dword, Op::MaskedEq(libc::PROT_EXEC as u64), 0)?]);
    map.insert(libc::SYS_mmap, vec![no_exec()?]);
    map.insert(libc::SYS_mprotect, vec![no_exec()?]);
    let thread = libc::CLONE_THREAD as u64;
    map.insert(libc::SYS_clone, vec![rule(vec![cond(0, Len::Qword, Op::MaskedEq(thread), thread)?])?]);
    map.insert(libc::SYS_prctl, vec![rule(vec![cond(0, Len::Dword, Op::Eq, libc::PR_SET_NAME as u64)?])?]);
    let fcntl = [libc::F_GETFL, libc::F_SETFL, libc::F_GETLK, libc::F_SETLK]
        .iter()
        .map(|cmd| rule(vec![cond(1, Len::Dword, Op::Eq, *cmd as u64)?]))
        .collect::<Result<_, _>>()?;
    map.insert(libc::SYS_fcntl, fcntl);
    map.insert(libc::SYS_tgkill, vec![rule(vec![cond(0, Len::Dword, Op::Eq, u64::from(pid))?])?]);
    // HERMIT_CPU_AFFINITY: a vCPU thread pins itself, the poller takes the original set back
    // (pid 0: only the calling thread); and the poller moves the vCPU threads when it trades
    // CPUs with them (`crate::channel`): their ids, known before the filter, and no others.
    let setaffinity = std::iter::once(0)
        .chain(vcpu_threads.iter().filter(|&&tid| tid > 0).map(|&tid| tid as u64))
        .map(|tid| rule(vec![cond(0, Len::Dword, Op::Eq, tid)?]))
        .collect::<Result<_, _>>()?;
    map.insert(libc::SYS_sched_setaffinity, setaffinity);
    // The KVM ioctls, TIOCGWINSZ for the FILEOP hypercall WINSIZE (a guest descriptor's
    // terminal size), SIOCOUTQ (= TIOCOUTQ: whether passt has read a frame, net/device.rs) and
    // TUNSETOFFLOAD (the tap's offloads, turned on when the kernel sets up its rings).
    let debug_ioctls: &[(&str, u64)] = if debug { &DEBUG_IOCTLS } else { &[] };
    let ioctls = KVM_IOCTLS
        .iter()
        .chain(debug_ioctls)
        .map(|(_, nr)| *nr)
        .chain([libc::TIOCGWINSZ, libc::TIOCOUTQ, crate::net::TUNSETOFFLOAD_IOCTL])
        .map(|nr| rule(vec![cond(1, Len::Dword, Op::Eq, nr)?]))
        .collect::<Result<_, _>>()?;
    map.insert(libc::SYS_ioctl, ioctls);
    Ok(map)
}

/// The system calls whose rules the filter tests first: those with conditions on their
/// arguments that the proxy makes often (a record lock per SQLite lock step; `KVM_RUN` at
/// every VM exit). The kernel skips the filter for a call it allows whatever the arguments
/// (its per-filter bitmap of such calls); these run it, and seccompiler tests the calls one
/// after the other in the order of their numbers (`fcntl` was the 26th).
const HOT: [i64; 2] = [libc::SYS_fcntl, libc::SYS_ioctl];

/// The filter: `clone3` fails with `ENOSYS` (so that glibc starts threads with `clone`,
/// whose flags, unlike `clone3`'s in memory, a filter can check), the [`HOT`] calls are
/// tested next, then the rest of the allow-list; everything else traps. One program: a second
/// filter for `clone3` (as before) ran for every call the kernel's bitmap does not settle,
/// a `fcntl` paid for both.
pub fn allow_list(pid: u32, debug: bool, vcpu_threads: &[i32]) -> Result<BpfProgram, String> {
    let mut rest = rules(pid, debug, vcpu_threads)?;
    rest.remove(&libc::SYS_clone3);
    let hot: BTreeMap<i64, Vec<SeccompRule>> = HOT.iter().filter_map(|nr| rest.remove_entry(nr)).collect();
    let clone3 = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let mut program = arch_check()?;
    program.extend(prefix(clone3, SeccompAction::Errno(libc::ENOSYS as u32))?);
    program.extend(prefix(hot, SeccompAction::Allow)?);
    program.extend(compile(rest, SeccompAction::Trap, SeccompAction::Allow)?.split_off(ARCH_CHECK_LEN));
    Ok(program)
}

/// Instructions of the architecture check seccompiler puts first (load `arch`, compare, kill).
const ARCH_CHECK_LEN: usize = 3;

/// The action that marks the end of a [`prefix`]'s tests (no rule returns it).
const FALL_THROUGH: SeccompAction = SeccompAction::Errno(4095);

/// `BPF_RET | BPF_K` and `BPF_JMP | BPF_JA` (`linux/bpf_common.h`).
const RET_K: u16 = 0x06;
const JUMP_ALWAYS: u16 = 0x05;

/// seccompiler's program for `map`: `on_match` for a call and arguments the rules accept,
/// `otherwise` for the rest.
fn compile(
    map: BTreeMap<i64, Vec<SeccompRule>>,
    otherwise: SeccompAction,
    on_match: SeccompAction,
) -> Result<BpfProgram, String> {
    let filter = SeccompFilter::new(map, otherwise, on_match, TargetArch::x86_64).map_err(|e| e.to_string())?;
    filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())
}

/// The architecture check seccompiler begins every program with.
fn arch_check() -> Result<BpfProgram, String> {
    let mut program = compile(BTreeMap::new(), SeccompAction::Trap, SeccompAction::Allow)?;
    program.truncate(ARCH_CHECK_LEN);
    Ok(program)
}

/// Tests for the calls of `map` that return `on_match` when their rules accept, and otherwise
/// go on with the instructions that follow: seccompiler's program without its architecture
/// check, each return of [`FALL_THROUGH`] turned into a jump past its end (BPF jumps are
/// relative and forward, so the part keeps its meaning wherever it is placed).
fn prefix(map: BTreeMap<i64, Vec<SeccompRule>>, on_match: SeccompAction) -> Result<BpfProgram, String> {
    let fall_through = u32::from(FALL_THROUGH);
    let mut body = compile(map, FALL_THROUGH, on_match)?.split_off(ARCH_CHECK_LEN);
    let len = body.len();
    for (i, insn) in body.iter_mut().enumerate() {
        if insn.code == RET_K && insn.k == fall_through {
            *insn = seccompiler::sock_filter { code: JUMP_ALWAYS, jt: 0, jf: 0, k: (len - 1 - i) as u32 };
        }
    }
    Ok(body)
}

/// Offset of `si_syscall` in the x86-64 `siginfo_t` of a `SIGSYS` (after `si_signo`,
/// `si_errno`, `si_code`, padding and `si_call_addr`).
const SI_SYSCALL_OFFSET: usize = 24;

/// Formats `value` in decimal into `buf`; returns the digits (no allocation).
fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[at..];
        }
    }
}

/// The `SIGSYS` handler: one line on stderr, then `_exit(1)`. Only async-signal-safe calls
/// (`write`, `_exit`), no allocation.
extern "C" fn on_sigsys(_signal: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` for SIGSYS, whose `si_syscall` field is
    // at SI_SYSCALL_OFFSET on x86-64.
    let nr = unsafe { info.cast::<u8>().add(SI_SYSCALL_OFFSET).cast::<i32>().read() };
    let mut digits = [0u8; 20];
    let parts: [&[u8]; 3] = [
        b"proxy: the proxy made system call ",
        decimal(u64::from(nr.unsigned_abs()), &mut digits),
        b", which its seccomp filter does not allow; stopping (HERMIT_SECCOMP=0 turns the filter off)\n",
    ];
    for part in parts {
        // SAFETY: writing a live buffer to stderr; `write` is async-signal-safe.
        unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    // SAFETY: `_exit` is async-signal-safe and ends the process.
    unsafe { libc::_exit(1) }
}

/// Installs the `SIGSYS` handler and the filter on every thread of the proxy (TSYNC);
/// returns the number of system calls allowed. With `selftest`, then makes a forbidden
/// call (`execve` with null arguments), which must end the proxy with the message. The
/// proxy may set the affinity of the `vcpu_threads` (thread ids) besides its own.
pub fn install(selftest: bool, debug: bool, vcpu_threads: &[i32]) -> Result<usize, String> {
    let allow = allow_list(std::process::id(), debug, vcpu_threads)?;
    // SAFETY: an all-zero `sigaction` is valid; the handler is an `extern "C"` function of
    // the SA_SIGINFO signature that only calls async-signal-safe functions.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigsys as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut()) != 0 {
            return Err(format!("cannot install the SIGSYS handler: {}", std::io::Error::last_os_error()));
        }
    }
    seccompiler::apply_filter_all_threads(&allow).map_err(|e| format!("cannot install the seccomp filter: {e}"))?;
    if selftest {
        // SAFETY: execve with null arguments fails with EFAULT if it is allowed at all.
        unsafe { libc::syscall(libc::SYS_execve, 0usize, 0usize, 0usize) };
        return Err("seccomp self-test: execve was not stopped by the filter".into());
    }
    Ok(rules(std::process::id(), debug, vcpu_threads)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_is_consistent() {
        let map = rules(1234, false, &[]).unwrap();
        assert_eq!(map.len(), ALLOWED.len() + 8, "no call is listed twice");
        for forbidden in [
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_fork,
            libc::SYS_vfork,
            libc::SYS_ptrace,
            libc::SYS_socket,
            libc::SYS_connect,
            libc::SYS_open,
            libc::SYS_rt_sigaction,
            libc::SYS_kill,
            libc::SYS_process_vm_writev,
            libc::SYS_seccomp,
            libc::SYS_mount,
        ] {
            assert!(!map.contains_key(&forbidden), "{forbidden} must not be allowed");
        }
        let program = allow_list(1234, false, &[1235, 1236]).unwrap();
        assert!(!program.is_empty() && program.len() < 4096, "{} instructions", program.len());
        let threads: Vec<i32> = (0..crate::affinity::NAMED_VCPU_THREADS as i32).map(|i| 2000 + i).collect();
        let most = allow_list(1234, true, &threads).unwrap();
        assert!(most.len() < 4096, "{} instructions with the most vCPU threads named", most.len());
        assert_eq!(program[..ARCH_CHECK_LEN], arch_check().unwrap()[..]);
        assert_eq!(program[1].jt, 1, "the architecture check skips the kill");
        let fall_through = u32::from(FALL_THROUGH);
        assert!(!program.iter().any(|insn| insn.code == RET_K && insn.k == fall_through), "every marker was replaced");
    }

    #[test]
    fn kvm_ioctl_numbers() {
        assert_eq!(KVM_IOCTLS[0].1, 0xae80);
        assert_eq!(KVM_IOCTLS[1].1, 0x8090_ae81);
        assert_eq!(KVM_IOCTLS[2].1, 0x8138_ae83);
    }

    #[test]
    fn formats_numbers() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(59, &mut buf), b"59");
        assert_eq!(decimal(u64::MAX, &mut buf), b"18446744073709551615");
    }

    /// Runs `body` in a forked child with the filter installed (no handler: a trap is the
    /// default SIGSYS action); returns how the child ended.
    fn in_filtered_child(body: fn() -> i32) -> (bool, i32) {
        in_child_filtered_with(&[], body)
    }

    /// The same with `vcpu_threads` named in the filter.
    fn in_child_filtered_with(vcpu_threads: &[i32], body: fn() -> i32) -> (bool, i32) {
        let allow = allow_list(std::process::id(), false, vcpu_threads).unwrap();
        // SAFETY: the child only makes system calls (prctl/seccomp via seccompiler, which
        // does not allocate, and `body`'s) and leaves with `_exit`.
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            if seccompiler::apply_filter(&allow).is_err() {
                // SAFETY: ends the child.
                unsafe { libc::_exit(100) };
            }
            // SAFETY: ends the child with the body's status.
            unsafe { libc::_exit(body()) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        if libc::WIFSIGNALED(status) {
            (true, libc::WTERMSIG(status))
        } else {
            (false, libc::WEXITSTATUS(status))
        }
    }

    #[test]
    fn filter_allows_the_list_and_traps_the_rest() {
        // Allowed calls work; clone3 reports ENOSYS.
        let allowed = in_filtered_child(|| {
            // SAFETY: plain system calls without memory arguments (clone3 with a null
            // struct fails before doing anything).
            unsafe {
                if libc::syscall(libc::SYS_getpid) <= 0 || libc::syscall(libc::SYS_sched_yield) != 0 {
                    return 1;
                }
                if libc::syscall(libc::SYS_clone3, 0usize, 0usize) != -1 || *libc::__errno_location() != libc::ENOSYS {
                    return 2;
                }
            }
            0
        });
        assert_eq!(allowed, (false, 0));
        // A forbidden call traps: SIGSYS.
        let forbidden = in_filtered_child(|| {
            // SAFETY: getppid has no arguments; the filter traps it.
            unsafe { libc::syscall(libc::SYS_getppid) };
            3
        });
        assert_eq!(forbidden, (true, libc::SIGSYS));
        // Executable memory is refused.
        let exec = in_filtered_child(|| {
            // SAFETY: an anonymous mapping request; the filter traps it.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            4
        });
        assert_eq!(exec, (true, libc::SIGSYS));
    }

    /// This test process's id, for a filtered child.
    static PARENT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

    /// Sets the affinity of thread `tid` to the calling thread's own set.
    fn same_affinity(tid: i32) -> i32 {
        // SAFETY: cpu_set_t is plain data, read and written with its own size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return -1;
            }
            libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &set)
        }
    }

    #[test]
    fn affinity_only_of_the_calling_thread_and_the_named_ones() {
        // This process's main thread (tid = pid) stands for a vCPU thread; it gets the set it
        // has (the child inherited it), so nothing changes.
        let parent = std::process::id() as i32;
        PARENT.store(parent, std::sync::atomic::Ordering::Relaxed);
        let named = in_child_filtered_with(&[parent], || {
            if same_affinity(0) != 0 {
                return 1;
            }
            if same_affinity(PARENT.load(std::sync::atomic::Ordering::Relaxed)) != 0 {
                return 2;
            }
            0
        });
        assert_eq!(named, (false, 0));
        let other = in_child_filtered_with(&[parent], || {
            // Process 1 is no vCPU thread: the filter traps the call before the kernel
            // checks the permission.
            same_affinity(1);
            3
        });
        assert_eq!(other, (true, libc::SIGSYS));
        let unnamed = in_filtered_child(|| {
            same_affinity(PARENT.load(std::sync::atomic::Ordering::Relaxed));
            4
        });
        assert_eq!(unnamed, (true, libc::SIGSYS));
    }

    /// Opens `/dev/null` for reading and writing (inside a filtered child: `openat`).
    fn dev_null() -> i32 {
        // SAFETY: a constant NUL-terminated path.
        unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) }
    }

    #[test]
    fn the_calls_tested_first_keep_their_conditions() {
        // Record locks and the status flags pass; a terminal-size request reaches the kernel.
        let allowed = in_filtered_child(|| {
            let fd = dev_null();
            let mut lock = libc::flock { l_type: libc::F_RDLCK as i16, l_whence: 0, l_start: 0, l_len: 1, l_pid: 0 };
            // SAFETY: fcntl and ioctl on our descriptor with valid out-pointers.
            unsafe {
                if fd < 0 || libc::fcntl(fd, libc::F_GETFL) < 0 || libc::fcntl(fd, libc::F_SETLK, &mut lock) != 0 {
                    return 1;
                }
                lock.l_type = libc::F_UNLCK as i16;
                if libc::fcntl(fd, libc::F_SETLK, &mut lock) != 0 {
                    return 2;
                }
                let mut size: libc::winsize = std::mem::zeroed();
                if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) != -1 || *libc::__errno_location() != libc::ENOTTY {
                    return 3;
                }
            }
            0
        });
        assert_eq!(allowed, (false, 0));
        // Other fcntl commands and ioctls trap.
        let setown = in_filtered_child(|| {
            // SAFETY: F_SETOWN on our descriptor; the filter traps it.
            unsafe { libc::fcntl(dev_null(), libc::F_SETOWN, 1) };
            5
        });
        assert_eq!(setown, (true, libc::SIGSYS));
        let fionread = in_filtered_child(|| {
            let mut n = 0i32;
            // SAFETY: FIONREAD with a valid out-pointer; the filter traps it.
            unsafe { libc::ioctl(dev_null(), libc::FIONREAD, &mut n) };
            6
        });
        assert_eq!(fionread, (true, libc::SIGSYS));
    }
}

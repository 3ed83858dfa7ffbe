//! vCPU placement on the host (`HERMIT_CPU_AFFINITY`): pinning vCPU threads to host CPUs and
//! a NUMA memory policy for guest RAM on hosts with several nodes.
//!
//! The list is taskset's (`0-3,8`): vCPU `i` runs only on the `i`-th listed host CPU. Helper
//! threads (the vCPU starter, the fast-channel poller, population) keep the proxy's original
//! set: the poller, which a vCPU thread starts, restores it itself. Without the variable
//! nothing is pinned (the default). With it, on a host with several NUMA nodes guest RAM is
//! bound to the node of the listed CPUs, or interleaved over their nodes if they lie on
//! several (guest RAM is one flat memory for every vCPU: the kernel has no NUMA notion).

use std::sync::OnceLock;

/// The pinning chosen at start: host CPU per vCPU and the proxy's original set.
struct Plan {
    pins: Vec<u32>,
    original: Vec<u32>,
}

static PLAN: OnceLock<Plan> = OnceLock::new();

/// The thread ids of the vCPU threads, in the order of their ids (none under QEMU).
static VCPU_THREADS: OnceLock<Vec<i32>> = OnceLock::new();

/// The proxy's CPUs as the run started, before any thread restricted itself.
static PROXY_CPUS: OnceLock<Vec<u32>> = OnceLock::new();

/// Records the calling thread's CPUs as the proxy's (at the start of the run).
pub fn remember_proxy_cpus() {
    let _ = PROXY_CPUS.set(allowed_cpus());
}

/// The proxy's CPUs ([`remember_proxy_cpus`]), for a helper thread that a vCPU thread
/// started and so inherited its restriction; the calling thread's own before the record.
pub fn proxy_cpus() -> Vec<u32> {
    PROXY_CPUS.get().cloned().unwrap_or_else(allowed_cpus)
}

/// The most vCPU threads the system-call filter names (one rule each; a filter has at most
/// 4,096 instructions): a guest with more gets no trade of CPUs with its vCPUs.
pub const NAMED_VCPU_THREADS: usize = 64;

/// Records the thread ids of the vCPU threads (`tids[i]`: vCPU `i`), before the
/// system-call filter, which lets the proxy set their affinity; none beyond
/// [`NAMED_VCPU_THREADS`].
pub fn record_vcpu_threads(tids: Vec<i32>) {
    if tids.len() <= NAMED_VCPU_THREADS {
        let _ = VCPU_THREADS.set(tids);
    }
}

/// The thread ids of the vCPU threads (empty before [`record_vcpu_threads`]).
pub fn vcpu_threads() -> &'static [i32] {
    VCPU_THREADS.get().map_or(&[], Vec::as_slice)
}

/// `cpus` without `cpu`, unless that leaves none (or `cpu` is not among them): where a
/// thread that takes `cpu` leaves the others.
pub fn cpus_but(cpus: &[u32], cpu: u32) -> Option<Vec<u32>> {
    let others: Vec<u32> = cpus.iter().copied().filter(|&c| c != cpu).collect();
    (!others.is_empty() && others.len() < cpus.len()).then_some(others)
}

/// Parses a taskset-style CPU list: comma-separated numbers and ranges `a-b` (whitespace
/// around items allowed), in the order given; duplicates and empty lists are errors.
pub fn parse_list(text: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for item in text.split(',').map(str::trim) {
        let number = |s: &str| s.trim().parse::<u32>().map_err(|_| format!("{s:?} is not a CPU number"));
        let (first, last) = match item.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None if item.is_empty() => return Err("empty item in the list".into()),
            None => (number(item)?, number(item)?),
        };
        if last < first {
            return Err(format!("range {item:?} runs backwards"));
        }
        if last - first >= 4096 {
            return Err(format!("range {item:?} is too long"));
        }
        for cpu in first..=last {
            if cpus.contains(&cpu) {
                return Err(format!("CPU {cpu} is listed twice"));
            }
            cpus.push(cpu);
        }
    }
    Ok(cpus)
}

/// Checks a parsed list for `vcpus` vCPUs against the host CPUs the proxy may use.
pub fn check(list: &[u32], vcpus: u32, allowed: &[u32]) -> Result<(), String> {
    if list.len() < vcpus as usize {
        return Err(format!("lists {} host CPU(s) for {vcpus} vCPUs; vCPU i runs on the i-th listed CPU", list.len()));
    }
    if let Some(cpu) = list.iter().take(vcpus as usize).find(|cpu| !allowed.contains(cpu)) {
        return Err(format!("host CPU {cpu} is not one the proxy may run on ({})", format_list(allowed)));
    }
    Ok(())
}

/// `0-3,8` for `[0, 1, 2, 3, 8]`.
pub fn format_list(cpus: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if j > i { format!("{}-{}", cpus[i], cpus[j]) } else { cpus[i].to_string() });
        i = j + 1;
    }
    out.join(",")
}

/// The host CPUs the calling thread may run on.
pub fn allowed_cpus() -> Vec<u32> {
    // SAFETY: cpu_set_t is plain data; all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed.
    if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as u32)
        // SAFETY: `cpu` is below CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu as usize, &set) })
        .collect()
}

/// Restricts the calling thread to `cpus`.
fn set_current(cpus: &[u32]) -> std::io::Result<()> {
    pin_thread(0, cpus)
}

/// Restricts thread `tid` (0: the calling one; another process's thread needs the right to
/// change its affinity, e.g. QEMU's vCPU threads, children of the proxy) to `cpus`.
pub fn pin_thread(tid: i32, cpus: &[u32]) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: CPU_SET ignores numbers beyond the set's size.
        unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    }
    // SAFETY: `set` is a readable cpu_set_t of the size passed.
    if unsafe { libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The verbose line of a pinning (`pins[i]` is vCPU `i`'s host CPU), the same under both
/// monitors.
pub fn describe(pins: &[u32]) -> String {
    let each: Vec<String> = pins.iter().enumerate().map(|(i, cpu)| format!("vCPU {i} -> CPU {cpu}")).collect();
    format!("pinned {}", each.join(", "))
}

/// Records the plan (`pins[i]` is vCPU `i`'s host CPU) for [`pin_vcpu`] and [`unpin`].
pub fn plan(pins: Vec<u32>, verbose: bool) {
    if verbose {
        eprintln!("proxy: {}", describe(&pins));
    }
    let _ = PLAN.set(Plan { pins, original: allowed_cpus() });
}

/// Pins the calling vCPU thread `id` to its host CPU, if there is a plan.
pub fn pin_vcpu(id: u32) -> Result<(), String> {
    let Some(cpu) = PLAN.get().and_then(|plan| plan.pins.get(id as usize)) else {
        return Ok(());
    };
    set_current(&[*cpu]).map_err(|e| format!("cannot pin vCPU {id} to host CPU {cpu}: {e}"))
}

/// Whether `HERMIT_CPU_AFFINITY` pins the vCPU threads.
pub fn pinned() -> bool {
    PLAN.get().is_some()
}

/// Gives a helper thread started by a pinned vCPU thread the proxy's original set back.
pub fn unpin() {
    if let Some(plan) = PLAN.get() {
        let _ = set_current(&plan.original);
    }
}

/// What to do with guest RAM on a host with `nodes` NUMA nodes when the vCPUs run on
/// CPUs of the nodes `used` (sorted, without duplicates).
#[derive(Debug, PartialEq, Eq)]
pub enum MemoryPolicy {
    /// One node (or no NUMA information): leave the host's default policy.
    Default,
    /// All vCPUs on one node of several: bind guest RAM to it.
    Bind(u32),
    /// vCPUs on several nodes: interleave guest RAM over them.
    Interleave(Vec<u32>),
}

/// The policy for the nodes the pinned vCPUs use (see [`MemoryPolicy`]).
pub fn memory_policy(nodes: usize, used: &[u32]) -> MemoryPolicy {
    match used {
        _ if nodes < 2 => MemoryPolicy::Default,
        [] => MemoryPolicy::Default,
        [node] => MemoryPolicy::Bind(*node),
        several => MemoryPolicy::Interleave(several.to_vec()),
    }
}

/// The host's NUMA nodes and their CPUs (`/sys/devices/system/node/node*/cpulist`); empty
/// without NUMA information.
pub fn host_nodes() -> Vec<(u32, Vec<u32>)> {
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/node") else {
        return Vec::new();
    };
    let mut nodes: Vec<(u32, Vec<u32>)> = dir
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let node = entry.file_name().to_str()?.strip_prefix("node")?.parse::<u32>().ok()?;
            let list = std::fs::read_to_string(entry.path().join("cpulist")).ok()?;
            let cpus = if list.trim().is_empty() { Vec::new() } else { parse_list(list.trim()).ok()? };
            Some((node, cpus))
        })
        .collect();
    nodes.sort();
    nodes
}

/// Applies the NUMA policy of `HERMIT_CPU_AFFINITY` (if set) to guest RAM before the guest
/// or the image loader touches it, under both monitors (under QEMU the RAM is a memfd: the
/// policy is the shared one of that file, which QEMU's page faults follow too), and says what
/// it did in verbose mode.
pub fn place_guest_ram(config: &crate::config::Config, ram: &crate::guest::GuestRam) -> Result<(), String> {
    let Some(list) = &config.cpu_affinity else { return Ok(()) };
    let regions: Vec<(u64, u64)> = ram.regions().iter().map(|&(_, host, len)| (host, len)).collect();
    let placed = place_memory(&list[..config.cpus as usize], &regions)?;
    if config.verbose {
        eprintln!("proxy: {placed}");
    }
    Ok(())
}

/// Applies the memory policy for `pins` to guest RAM (`(host address, length)` regions)
/// before the guest touches it; returns a line for verbose mode.
pub fn place_memory(pins: &[u32], regions: &[(u64, u64)]) -> Result<String, String> {
    let nodes = host_nodes();
    let mut used: Vec<u32> =
        pins.iter().filter_map(|cpu| nodes.iter().find(|(_, cpus)| cpus.contains(cpu)).map(|(n, _)| *n)).collect();
    used.sort_unstable();
    used.dedup();
    let (mode, mask) = match memory_policy(nodes.len(), &used) {
        MemoryPolicy::Default => {
            return Ok(format!("{} NUMA node(s): guest memory keeps the default policy", nodes.len().max(1)))
        }
        MemoryPolicy::Bind(node) => (libc::MPOL_BIND, vec![node]),
        MemoryPolicy::Interleave(nodes) => (libc::MPOL_INTERLEAVE, nodes),
    };
    let mut bits = [0u64; 16];
    for &node in &mask {
        if node as usize >= bits.len() * 64 {
            return Err(format!("NUMA node {node} is beyond the proxy's node mask"));
        }
        bits[node as usize / 64] |= 1 << (node % 64);
    }
    for &(host, len) in regions {
        // SAFETY: `host..host + len` is a guest-RAM mapping the proxy owns; mbind only sets
        // the policy for its future page faults. `bits` holds `bits.len() * 64` node bits.
        let rc =
            unsafe { libc::syscall(libc::SYS_mbind, host, len, mode, bits.as_ptr(), (bits.len() * 64) as u64, 0u32) };
        if rc != 0 {
            return Err(format!("mbind of guest memory failed: {}", std::io::Error::last_os_error()));
        }
    }
    let what = if mode == libc::MPOL_BIND { "bound to" } else { "interleaved over" };
    Ok(format!("guest memory {what} NUMA node(s) {}", format_list(&mask)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpus_left_beside_one_taken() {
        assert_eq!(cpus_but(&[0, 1], 1), Some(vec![0]));
        assert_eq!(cpus_but(&[0, 1, 2, 3], 2), Some(vec![0, 1, 3]));
        assert_eq!(cpus_but(&[3], 3), None, "one CPU: nowhere to go");
        assert_eq!(cpus_but(&[0, 1], 5), None, "not one of ours");
        assert_eq!(cpus_but(&[], 0), None);
    }

    #[test]
    fn lists_parse_like_taskset() {
        assert_eq!(parse_list("0-3,8").unwrap(), vec![0, 1, 2, 3, 8]);
        assert_eq!(parse_list(" 5 , 1-2 ").unwrap(), vec![5, 1, 2]);
        assert_eq!(parse_list("7").unwrap(), vec![7]);
        for bad in ["", "1,", "a", "3-1", "1,1", "0-2,2", "-1", "1-", "0-100000"] {
            assert!(parse_list(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lists_are_checked_against_the_vcpus_and_the_allowed_cpus() {
        assert!(check(&[0, 1], 2, &[0, 1]).is_ok());
        assert!(check(&[1, 0, 5], 2, &[0, 1]).is_ok(), "unused entries are not checked");
        assert!(check(&[0], 2, &[0, 1]).unwrap_err().contains("1 host CPU(s) for 2 vCPUs"));
        assert!(check(&[0, 3], 2, &[0, 1]).unwrap_err().contains("host CPU 3 is not one the proxy may run on (0-1)"));
    }

    #[test]
    fn lists_format_back() {
        assert_eq!(format_list(&[0, 1, 2, 3, 8]), "0-3,8");
        assert_eq!(format_list(&[4]), "4");
        assert_eq!(format_list(&[]), "");
    }

    #[test]
    fn memory_follows_the_nodes_of_the_pinned_cpus() {
        assert_eq!(memory_policy(1, &[0]), MemoryPolicy::Default, "one node: nothing to choose");
        assert_eq!(memory_policy(0, &[]), MemoryPolicy::Default, "no NUMA information");
        assert_eq!(memory_policy(2, &[1]), MemoryPolicy::Bind(1));
        assert_eq!(memory_policy(4, &[0, 2]), MemoryPolicy::Interleave(vec![0, 2]));
    }

    #[test]
    fn this_host_reads_its_nodes() {
        // Every host CPU the proxy may use belongs to at most one node.
        let nodes = host_nodes();
        for cpu in allowed_cpus() {
            assert!(nodes.iter().filter(|(_, cpus)| cpus.contains(&cpu)).count() <= 1);
        }
    }
}

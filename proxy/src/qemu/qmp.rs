//! `HERMIT_CPU_AFFINITY` under QEMU: the proxy asks QEMU's machine protocol (QMP, on a socket
//! pair passed as `-chardev socket,fd=N`) for each vCPU's host thread (`query-cpus-fast`),
//! pins the thread of vCPU `i` to the `i`-th listed host CPU, and only then lets the guest
//! run (`cont`: QEMU was started with `-S`), so that no guest instruction runs unpinned, as
//! under uhyve. QEMU's other threads (main loop, I/O) keep the proxy's CPUs.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::Value;

/// How long QEMU may take to answer (TCG start-up on a loaded host included).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Longest line QEMU may send (its answers here are a few hundred bytes per vCPU).
const MAX_LINE: u64 = 1 << 20;

/// Most lines (events) QEMU may send before the answer to one command.
const MAX_SKIPPED: usize = 1000;

/// Whether `tid` is a thread of process `pid`: QEMU's answer must not name another
/// process's thread, which the proxy would then pin.
fn thread_of(pid: u32, tid: i32) -> bool {
    tid > 0 && std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists()
}

/// Host thread of each vCPU, by vCPU index, from a `query-cpus-fast` answer.
pub fn vcpu_threads(answer: &Value) -> Result<Vec<(u32, i32)>, String> {
    let list = answer.get("return").and_then(Value::as_array).ok_or("QMP: query-cpus-fast gave no list")?;
    let mut threads = list
        .iter()
        .map(|cpu| {
            let index = cpu.get("cpu-index").and_then(Value::as_u64).and_then(|i| u32::try_from(i).ok());
            let tid = cpu.get("thread-id").and_then(Value::as_i64).and_then(|t| i32::try_from(t).ok());
            index.zip(tid).ok_or_else(|| format!("QMP: a vCPU without index or thread: {cpu}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    threads.sort_unstable();
    Ok(threads)
}

/// The host CPUs each distinct thread gets: vCPU `i` runs on `pins[i]`; a thread that runs
/// several vCPUs (single-threaded TCG) gets all of theirs.
pub fn thread_sets(threads: &[(u32, i32)], pins: &[u32]) -> Vec<(i32, Vec<u32>)> {
    let mut sets: Vec<(i32, Vec<u32>)> = Vec::new();
    for &(vcpu, tid) in threads {
        let Some(&cpu) = pins.get(vcpu as usize) else { continue };
        match sets.iter_mut().find(|(t, _)| *t == tid) {
            Some((_, cpus)) if !cpus.contains(&cpu) => cpus.push(cpu),
            Some(_) => {}
            None => sets.push((tid, vec![cpu])),
        }
    }
    sets
}

/// A QMP session over `socket`.
struct Session {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Session {
    fn new(socket: UnixStream) -> Result<Self, String> {
        socket.set_read_timeout(Some(TIMEOUT)).map_err(|e| format!("QMP: {e}"))?;
        let writer = socket.try_clone().map_err(|e| format!("QMP: {e}"))?;
        let mut session = Session { reader: BufReader::new(socket), writer };
        session.answer("greeting", "QMP")?;
        session.execute("qmp_capabilities")?;
        Ok(session)
    }

    /// Reads lines until one has `key` (skipping at most [`MAX_SKIPPED`] events); an `error`
    /// answer fails, and so does a line longer than [`MAX_LINE`].
    fn answer(&mut self, what: &str, key: &str) -> Result<Value, String> {
        for _ in 0..=MAX_SKIPPED {
            let mut line = String::new();
            match (&mut self.reader).take(MAX_LINE).read_line(&mut line) {
                Ok(0) => return Err(format!("QMP: QEMU closed the connection before answering {what}")),
                Ok(_) if !line.ends_with('\n') => {
                    return Err(format!("QMP: QEMU's answer to {what} is longer than {MAX_LINE} bytes"))
                }
                Ok(_) => {}
                Err(e) => return Err(format!("QMP: no answer to {what}: {e}")),
            }
            let value: Value = serde_json::from_str(&line).map_err(|e| format!("QMP: {e} in {line:?}"))?;
            if let Some(error) = value.get("error") {
                return Err(format!("QMP: {what} failed: {error}"));
            }
            if value.get(key).is_some() {
                return Ok(value);
            }
        }
        Err(format!("QMP: QEMU sent more than {MAX_SKIPPED} events and no answer to {what}"))
    }

    fn execute(&mut self, command: &str) -> Result<Value, String> {
        let request = format!("{{\"execute\":\"{command}\"}}\n");
        self.writer.write_all(request.as_bytes()).map_err(|e| format!("QMP: cannot send {command}: {e}"))?;
        self.answer(command, "return")
    }
}

/// Pins the vCPU threads of QEMU (process `qemu`) as `pins` says (vCPU `i` on `pins[i]`),
/// then starts the guest unless `stay_stopped` (GDB will continue it).
pub fn pin_and_start(
    socket: UnixStream,
    qemu: u32,
    pins: &[u32],
    stay_stopped: bool,
    verbose: bool,
) -> Result<(), String> {
    let mut session = Session::new(socket)?;
    let threads = vcpu_threads(&session.execute("query-cpus-fast")?)?;
    if let Some((vcpu, tid)) = threads.iter().find(|(_, tid)| !thread_of(qemu, *tid)) {
        return Err(format!("QMP: vCPU {vcpu} runs in thread {tid}, which is not one of QEMU's (pid {qemu})"));
    }
    for (tid, cpus) in thread_sets(&threads, pins) {
        crate::affinity::pin_thread(tid, &cpus)
            .map_err(|e| format!("HERMIT_CPU_AFFINITY: cannot pin QEMU's thread {tid}: {e}"))?;
        if verbose {
            let vcpus: Vec<String> = threads.iter().filter(|(_, t)| *t == tid).map(|(v, _)| v.to_string()).collect();
            eprintln!(
                "proxy: QEMU thread {tid} (vCPU {}) pinned to CPU {}",
                vcpus.join(", "),
                crate::affinity::format_list(&cpus)
            );
        }
    }
    if verbose {
        eprintln!("proxy: {}", crate::affinity::describe(pins));
    }
    if !stay_stopped {
        session.execute("cont")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_from_an_answer() {
        let answer: Value = serde_json::from_str(
            r#"{"return": [{"thread-id": 4242, "props": {"core-id": 0}, "qom-path": "/machine/unattached/device[1]",
               "cpu-index": 1, "target": "x86_64"},
               {"thread-id": 4241, "props": {"core-id": 0}, "cpu-index": 0, "target": "x86_64"}]}"#,
        )
        .unwrap();
        assert_eq!(vcpu_threads(&answer), Ok(vec![(0, 4241), (1, 4242)]));
        assert!(vcpu_threads(&serde_json::from_str(r#"{"return": [{"cpu-index": 0}]}"#).unwrap()).is_err());
        assert!(vcpu_threads(&serde_json::from_str(r#"{"error": {}}"#).unwrap()).is_err());
    }

    #[test]
    fn one_set_per_thread() {
        assert_eq!(thread_sets(&[(0, 10), (1, 11)], &[1, 0]), vec![(10, vec![1]), (11, vec![0])]);
        // Single-threaded TCG: one thread runs every vCPU.
        assert_eq!(thread_sets(&[(0, 10), (1, 10), (2, 10)], &[3, 1, 3]), vec![(10, vec![3, 1])]);
    }

    #[test]
    fn a_session_with_a_fake_qemu() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fake = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            let mut reader = BufReader::new(theirs.try_clone().unwrap());
            let mut out = theirs;
            out.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n").unwrap();
            let mut seen = Vec::new();
            for answer in [
                "{\"return\": {}}\n".to_string(),
                format!("{{\"return\": [{{\"cpu-index\": 0, \"thread-id\": {tid}}}]}}\n"),
                "{\"timestamp\": {}, \"event\": \"RESUME\"}\n{\"return\": {}}\n".to_string(),
            ] {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                seen.push(line.trim().to_string());
                out.write_all(answer.as_bytes()).unwrap();
            }
            (seen, crate::affinity::allowed_cpus())
        });
        let first = crate::affinity::allowed_cpus()[0];
        // The fake QEMU's thread stands for vCPU 0; it is pinned to the first allowed CPU.
        pin_and_start(ours, std::process::id(), &[first], false, false).unwrap();
        let (seen, fake_cpus) = fake.join().unwrap();
        assert_eq!(
            seen,
            ["{\"execute\":\"qmp_capabilities\"}", "{\"execute\":\"query-cpus-fast\"}", "{\"execute\":\"cont\"}"]
        );
        assert_eq!(fake_cpus, vec![first]);
    }

    /// A session with a fake QEMU that sends its greeting, then `after` once it has read
    /// `qmp_capabilities`, and closes the connection.
    fn session_against(after: Vec<u8>) -> Result<Session, String> {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fake = std::thread::spawn(move || {
            let mut reader = BufReader::new(theirs.try_clone().unwrap());
            let mut out = theirs;
            out.write_all(b"{\"QMP\": {}}\n").unwrap();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            // The proxy stops reading early when it refuses the answer.
            let _ = out.write_all(&after);
        });
        let session = Session::new(ours);
        fake.join().unwrap();
        session
    }

    #[test]
    fn endless_answers_are_refused() {
        // One line of 3 MiB: read whole before, as much memory as QEMU sent.
        let err = session_against(vec![b' '; 3 << 20]).err().unwrap();
        assert!(err.contains("longer than 1048576 bytes"), "{err}");
        // Events without end before the answer.
        let events = b"{\"event\": \"RESUME\"}\n".repeat(MAX_SKIPPED + 1);
        let err = session_against(events).err().unwrap();
        assert!(err.contains("more than 1000 events"), "{err}");
        // The answer after many events is still read.
        let mut events = b"{\"event\": \"RESUME\"}\n".repeat(MAX_SKIPPED);
        events.extend_from_slice(b"{\"return\": {}}\n");
        assert!(session_against(events).is_ok());
    }

    #[test]
    fn threads_of_other_processes_are_not_pinned() {
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = sleeper.id();
        let cpus_of = |pid: u32| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            status.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap().to_string()
        };
        let before = cpus_of(pid);
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fake = std::thread::spawn(move || {
            let mut reader = BufReader::new(theirs.try_clone().unwrap());
            let mut out = theirs;
            out.write_all(b"{\"QMP\": {}}\n").unwrap();
            for answer in [
                "{\"return\": {}}\n".to_string(),
                format!("{{\"return\": [{{\"cpu-index\": 0, \"thread-id\": {pid}}}]}}\n"),
            ] {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                out.write_all(answer.as_bytes()).unwrap();
            }
        });
        // The answer names the sleeper's thread, not one of this process (QEMU here).
        let last = *crate::affinity::allowed_cpus().last().unwrap();
        let err = pin_and_start(ours, std::process::id(), &[last], true, false).unwrap_err();
        fake.join().unwrap();
        let after = cpus_of(pid);
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        assert!(err.contains("not one of QEMU's"), "{err}");
        assert_eq!(before, after, "another process's thread was pinned");
    }
}

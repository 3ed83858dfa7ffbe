//! User-mode networking (`HERMIT_NETIF=user`): Debian's `passt` as the guest's network,
//! connected over a socket pair (qemu's stream protocol: a 4-byte big-endian length, then
//! the Ethernet frame). No root, no tap, no socket file: `passt --fd` gets its end of the
//! pair, and `--one-off` makes it exit as soon as the proxy's end closes, whichever way the
//! proxy ends (exit, fault, SIGINT/SIGTERM or SIGKILL).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The MTU behind passt (`NETMTU`). Not passt's own 65520 (a 64 KiB segment per frame, as
/// pasta gives a Linux process): at it a guest -> host stream of 64 MiB stalled for about a
/// second (smoltcp's minimum retransmission timeout) in 32 of 400 runs, at 32768 in 11 of
/// 200, at 16384 in 4 of 400, as at 9000 (4 of 400). Host -> guest, with the kernel's window
/// floor, 16384 is as fast as 65520 (64 KiB writes, medians of 20-run sets 953 / 807 against
/// 839 / 870 MiB/s) and ahead of 9000 (738, with 205 ms pauses in 3 of 20 runs); guest ->
/// host 757-771 against 750 at 9000 (ARCHITECTURE.md, "Host networking").
pub const MTU: u32 = 16384;

/// How long passt may take to fail at startup (bad options, a forwarded port in use)
/// before the proxy takes it as running.
const STARTUP: Duration = Duration::from_millis(60);

/// Send buffer asked for on passt's end of the socket pair (host -> guest). passt writes a whole TCP window of
/// the guest's at once and drops the frames that find the pair full (lost, not delayed); with
/// the host's default (208 KiB, which also counts each frame's kernel overhead) a 186 KiB
/// window of 9000-byte frames did not fit, and at each hole Debian 12's passt sent the whole
/// window again at every duplicate ACK: a host->guest stream moved 1.7 bytes per byte
/// delivered (and with 1 MiB windows about 1 MiB/s). Root (`CAP_NET_ADMIN`) gets it whole;
/// others get at most `net.core.wmem_max` (208 KiB on a stock system, which Linux doubles:
/// enough for the 256 KiB windows the kernel uses behind passt, not for 1 MiB ones). The
/// proxy's own end keeps the default: with 4 MiB there too, the guest's frames queued up to
/// 4 MiB ahead of passt and guest->host streams fell to about half (1 KiB writes 189-240
/// against 389-527 MiB/s, 3 + 2 interleaved pairs at load 0.7-1.4).
pub const SOCKET_BUF: usize = 4 << 20;

/// The TCP receive buffer the guest's connections get behind passt
/// (`HeaderExt::net_tcp_buffer`): a window as large as the socket pair carries whole, for a
/// send buffer of `sndbuf` bytes as Linux reports it (twice what was asked; each 9000-byte
/// frame also costs the kernel about 40% more than its bytes): 4 MiB where the host gave
/// the whole [`SOCKET_BUF`] (root), 1 MiB where it allowed 2 MiB or more, else the 256 KiB
/// that fit the 416 KiB an unprivileged proxy gets on a stock host. With 256 KiB each window
/// was a stop-and-wait round through passt and the guest (64 KiB writes host->guest 42-71
/// MiB/s, 1 MiB: 90-216, 3 interleaved pairs at load 4-5). With 1 MiB the guest's window
/// was used up often, and the small windows it then advertised (before the kernel's window
/// floor) stalled the host's sender for about 205 ms at a time (the kernel's
/// `NIC_BUFFER_MAX`; ARCHITECTURE.md, "Host networking").
pub fn tcp_buffer(sndbuf: usize) -> usize {
    if sndbuf >= 2 * SOCKET_BUF {
        4 << 20
    } else if sndbuf >= 2 << 20 {
        1 << 20
    } else {
        256 << 10
    }
}

/// The send buffer Linux reports for the socket `fd` (0 if it cannot say).
fn send_buffer(fd: i32) -> usize {
    let mut size: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is an open socket; `size` and `len` are live and of the right sizes.
    let ret = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, (&raw mut size).cast(), &raw mut len) };
    if ret == 0 {
        usize::try_from(size).unwrap_or(0)
    } else {
        0
    }
}

/// Asks for a send buffer of [`SOCKET_BUF`] on the socket `fd`: forced past
/// `net.core.wmem_max` where the proxy may, else capped by it (a failure leaves the default:
/// slower, still correct).
fn enlarge_send_buffer(fd: i32) {
    let size = SOCKET_BUF as libc::c_int;
    for option in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
        // SAFETY: `fd` is an open socket; the option value is a live `c_int` of its size.
        let ret = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw const size).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if ret == 0 {
            return;
        }
    }
}

/// The arguments for passt: foreground, quiet, one client, the socket at `fd`, the
/// forwarded TCP `ports`, `ip` as the guest's address if given (else passt hands out the
/// host's address by DHCP), and passt's own capture into `pcap` if asked for.
pub fn arguments(fd: i32, ports: &[u16], ip: Option<[u8; 4]>, pcap: Option<&Path>) -> Vec<String> {
    let mut args: Vec<String> = ["--foreground", "--quiet", "--one-off", "--fd"].map(String::from).to_vec();
    args.push(fd.to_string());
    if !ports.is_empty() {
        args.push("--tcp-ports".into());
        args.push(ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","));
    }
    if let Some([a, b, c, d]) = ip {
        args.push("--address".into());
        args.push(format!("{a}.{b}.{c}.{d}"));
    }
    if let Some(path) = pcap {
        args.push("--pcap".into());
        args.push(path.to_string_lossy().into_owned());
    }
    args
}

/// Starts passt and returns the proxy's end of its socket and the TCP buffer for the guest
/// ([`tcp_buffer`]). `pcap`: passt records the frames
/// it exchanges with the guest there (`HERMIT_PASST_PCAP`; run as root, passt writes it as
/// `nobody`, so its directory must let that user create it).
pub fn start(
    ports: &[u16],
    ip: Option<[u8; 4]>,
    pcap: Option<&Path>,
    verbose: bool,
) -> Result<(OwnedFd, usize), String> {
    let (ours, theirs) =
        UnixStream::pair().map_err(|e| format!("HERMIT_NETIF=user: cannot create a socket pair: {e}"))?;
    enlarge_send_buffer(theirs.as_raw_fd());
    let buffer = tcp_buffer(send_buffer(theirs.as_raw_fd()));
    let fd = theirs.as_raw_fd();
    let mut command = Command::new("passt");
    command.args(arguments(fd, ports, ip, pcap)).stdin(Stdio::null()).stdout(Stdio::null());
    if !verbose {
        // passt reports to syslog and says so on stderr for every line when there is none.
        command.stderr(Stdio::null());
    }
    // SAFETY: the closure only makes async-signal-safe system calls (fcntl) between fork
    // and exec: it keeps passt's end of the pair open across exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "HERMIT_NETIF=user needs passt, which is not installed (apt-get install passt)".to_string()
        } else {
            format!("HERMIT_NETIF=user: cannot start passt: {e}")
        }
    })?;
    drop(theirs);
    let started = Instant::now();
    while started.elapsed() < STARTUP {
        if let Ok(Some(status)) = child.try_wait() {
            let hint = if verbose { "" } else { " (HERMIT_VERBOSE=1 shows its messages)" };
            return Err(format!("HERMIT_NETIF=user: passt stopped at once ({status}){hint}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // passt runs on as the proxy's child and ends with the connection; nobody waits for it.
    drop(child);
    Ok((ours.into(), buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_pair_takes_a_whole_window() {
        let (a, _b) = UnixStream::pair().unwrap();
        let before = send_buffer(a.as_raw_fd());
        enlarge_send_buffer(a.as_raw_fd());
        let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/wmem_max").unwrap().trim().parse().unwrap();
        // SAFETY: `geteuid` has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let at_least = 2 * if root { SOCKET_BUF } else { SOCKET_BUF.min(wmem_max) };
        let after = send_buffer(a.as_raw_fd());
        assert!(after >= at_least.max(before), "{before} -> {after}, expected at least {at_least}");
    }

    #[test]
    fn the_guest_window_fits_the_socket_pair() {
        assert_eq!(tcp_buffer(0), 256 << 10, "unknown: the default");
        assert_eq!(tcp_buffer(425_984), 256 << 10, "a stock host's 208 KiB, doubled");
        assert_eq!(tcp_buffer(2 << 20), 1 << 20);
        assert_eq!(tcp_buffer(4 << 20), 1 << 20);
        assert_eq!(tcp_buffer(2 * SOCKET_BUF), 4 << 20, "root's 4 MiB, doubled");
    }

    #[test]
    fn passt_arguments() {
        assert_eq!(arguments(5, &[], None, None), ["--foreground", "--quiet", "--one-off", "--fd", "5"]);
        let args = arguments(7, &[8080, 9000], Some([10, 0, 2, 15]), Some(Path::new("/tmp/p.pcap")));
        assert_eq!(args[5..], ["--tcp-ports", "8080,9000", "--address", "10.0.2.15", "--pcap", "/tmp/p.pcap"]);
    }
}

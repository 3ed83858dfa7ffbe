//! Attaching a host tap device (`HERMIT_NETIF=<name>` or `@<fd>`) as uhyve did:
//! `/dev/net/tun` with `IFF_TAP | IFF_NO_PI`, non-blocking.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

/// `TUNSETIFF` (`_IOW('T', 202, int)`).
const TUNSETIFF: u64 = 0x4004_54ca;

/// The `struct ifreq` prefix `TUNSETIFF` reads: the name and the flags.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Opens and attaches the existing tap device `name`. The device must exist (made with
/// `ip tuntap add <name> mode tap [user <user>]`): the proxy never creates one, so nothing
/// is left behind, and a mistyped name is an error rather than a new, unconfigured device.
pub fn open(name: &str) -> Result<OwnedFd, String> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', '\0']) || name.trim() != name {
        return Err(format!("HERMIT_NETIF={name:?}: not a network interface name"));
    }
    let sys = std::path::Path::new("/sys/class/net").join(name);
    if !sys.exists() {
        return Err(format!(
            "HERMIT_NETIF={name}: no such network interface; create the tap first \
             (ip tuntap add {name} mode tap user $USER; ip link set {name} up)"
        ));
    }
    if !sys.join("tun_flags").exists() {
        return Err(format!("HERMIT_NETIF={name}: the interface exists but is not a tap device"));
    }
    let path = CString::new("/dev/net/tun").expect("no NUL");
    // SAFETY: a NUL-terminated path and plain flags.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => {
                format!(
                    "HERMIT_NETIF={name}: no permission to open /dev/net/tun ({e}); it must be readable and writable"
                )
            }
            _ => format!("HERMIT_NETIF={name}: cannot open /dev/net/tun: {e}"),
        });
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let tun = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req =
        IfReq { name: [0; libc::IFNAMSIZ], flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short, _pad: [0; 22] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: TUNSETIFF reads an `ifreq`, which `req` is laid out as (and large enough for).
    if unsafe { libc::ioctl(fd, TUNSETIFF as _, &mut req) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) => format!(
                "HERMIT_NETIF={name}: no permission to attach the tap (it must belong to this user: \
                 ip tuntap add {name} mode tap user $USER, or run with CAP_NET_ADMIN)"
            ),
            Some(libc::EBUSY) => format!("HERMIT_NETIF={name}: the tap is busy (another process has it attached)"),
            Some(libc::EINVAL) => {
                format!("HERMIT_NETIF={name}: cannot attach as a tap without packet information ({e})")
            }
            _ => format!("HERMIT_NETIF={name}: cannot attach the tap: {e}"),
        });
    }
    Ok(tun)
}

/// `TUNGETIFF` (`_IOR('T', 210, unsigned int)`): the attached device's name and flags.
const TUNGETIFF: u64 = 0x8004_54d2;

/// The MTU of the tap attached at `fd` (`SIOCGIFMTU` of its name), or 1500 if it cannot be
/// read.
pub fn mtu(fd: i32) -> u32 {
    let mut req = IfReq { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
    // SAFETY: TUNGETIFF writes an `ifreq`, which `req` is laid out as (and large enough for).
    if unsafe { libc::ioctl(fd, TUNGETIFF as _, &mut req) } < 0 {
        return 1500;
    }
    // SAFETY: a plain datagram socket for the interface ioctl, closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return 1500;
    }
    // SAFETY: `sock` was just opened and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(sock) };
    // SIOCGIFMTU reads the name and writes the MTU as an int where the flags were.
    let mut ifr = [0u8; 40];
    ifr[..libc::IFNAMSIZ].copy_from_slice(&req.name);
    // SAFETY: a 40-byte `struct ifreq` with the name set; the ioctl writes within it.
    if unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&sock), libc::SIOCGIFMTU, ifr.as_mut_ptr()) } < 0 {
        return 1500;
    }
    let mtu = i32::from_ne_bytes([ifr[16], ifr[17], ifr[18], ifr[19]]);
    u32::try_from(mtu).unwrap_or(1500)
}

/// Takes over the descriptor `fd` of an already attached tap (`HERMIT_NETIF=@<fd>`, as
/// uhyve), made non-blocking.
pub fn from_fd(fd: i32) -> Result<OwnedFd, String> {
    // SAFETY: F_GETFL takes no pointer; an invalid descriptor fails with EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fd <= 2 || flags < 0 {
        return Err(format!("HERMIT_NETIF=@{fd}: not an open descriptor of a tap"));
    }
    // SAFETY: as above; the flags are the descriptor's own plus O_NONBLOCK.
    unsafe {
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    // SAFETY: the user handed this descriptor to the proxy; nothing else in the proxy uses it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

//! Attaching a host tap device (`HERMIT_NETIF=<name>` or `@<fd>`) as uhyve did:
//! `/dev/net/tun` with `IFF_TAP | IFF_NO_PI`, non-blocking; with `IFF_VNET_HDR` (a
//! 12-byte virtio-net header before every frame) unless `HERMIT_NET_OFFLOAD=0`, so that the
//! tap's offloads can be turned on once the kernel asks for them ([`set_offload`]).

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

/// `TUNSETOFFLOAD` (`_IOW('T', 208, unsigned int)`).
const TUNSETOFFLOAD: u64 = 0x4004_54d0;
/// `TUNSETVNETHDRSZ` (`_IOW('T', 216, int)`).
const TUNSETVNETHDRSZ: u64 = 0x4004_54d8;
/// `IFF_VNET_HDR`: frames carry a virtio-net header.
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// `TUNSETOFFLOAD` bits: partial checksums, TSO for IPv4 and IPv6.
pub const TUN_F_CSUM: u32 = 1;
/// See [`TUN_F_CSUM`].
pub const TUN_F_TSO4: u32 = 2;
/// See [`TUN_F_CSUM`].
pub const TUN_F_TSO6: u32 = 4;

/// The ioctl number `TUNSETOFFLOAD`, for the system-call filter (it is made at run time,
/// when the kernel sets up its rings).
pub const TUNSETOFFLOAD_IOCTL: u64 = TUNSETOFFLOAD;

/// Turns the tap's offloads (`TUN_F_*` bits) on or off (0): with them the tap hands over
/// and takes frames larger than its MTU (GSO) and frames with a partial checksum, described
/// by the virtio-net header. An errno if the tap refuses.
pub fn set_offload(fd: i32, bits: u32) -> Result<(), i32> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value.
    if unsafe { libc::ioctl(fd, TUNSETOFFLOAD as _, libc::c_ulong::from(bits)) } < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO));
    }
    Ok(())
}

/// Prepares an attached tap for the proxy: the virtio-net header's size (with `vnet`), and
/// offloads off until the kernel asks for them (a persistent tap keeps the offloads of its
/// last user, and with them it would hand a reader frames it cannot take). False if the
/// header cannot be used (the proxy then opens or uses the tap without it).
fn prepare(fd: i32, vnet: bool) -> bool {
    let _ = set_offload(fd, 0);
    if !vnet {
        return true;
    }
    let size: libc::c_int = hermit_interface::vnet::HDR_LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads one int from the live `size`.
    unsafe { libc::ioctl(fd, TUNSETVNETHDRSZ as _, &size) == 0 }
}

/// Opens and attaches the existing tap device `name`, with the virtio-net header if `vnet`
/// (and the tap takes it); returns the descriptor and whether frames carry the header. The
/// device must exist (made with `ip tuntap add <name> mode tap [user <user>]`): the proxy
/// never creates one, so nothing is left behind, and a mistyped name is an error rather than
/// a new, unconfigured device.
pub fn open(name: &str, vnet: bool) -> Result<(OwnedFd, bool), String> {
    match attach(name, vnet) {
        Ok(fd) => {
            use std::os::fd::AsRawFd;
            if prepare(fd.as_raw_fd(), vnet) {
                return Ok((fd, vnet));
            }
            drop(fd);
            let fd = attach(name, false)?;
            prepare(fd.as_raw_fd(), false);
            Ok((fd, false))
        }
        Err(e) if vnet => attach(name, false).map(|fd| (fd, false)).map_err(|_| e),
        Err(e) => Err(e),
    }
}

fn attach(name: &str, vnet: bool) -> Result<OwnedFd, String> {
    // As the kernel's `dev_valid_name`: no '/', ':' or white space (and no control
    // characters, which would also garble the messages below).
    let bad = |c: char| c == '/' || c == ':' || c.is_whitespace() || c.is_control();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(bad) {
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
    let vnet_flag = if vnet { IFF_VNET_HDR } else { 0 };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short | vnet_flag,
        _pad: [0; 22],
    };
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

/// The largest tap MTU the guest is told (`NETMTU`): with larger frames a 256 KiB TCP
/// window would hold few segments.
pub const MTU_MAX: u32 = 9000;

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
/// uhyve), made non-blocking; whether its frames carry the virtio-net header (the caller
/// attached it with `IFF_VNET_HDR`: then the header is made 12 bytes and offloads are off
/// until the kernel asks; with `vnet` false the proxy cannot use such a tap).
pub fn from_fd(fd: i32, vnet: bool) -> Result<(OwnedFd, bool), String> {
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
    let mut req = IfReq { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
    // SAFETY: TUNGETIFF writes an `ifreq`, which `req` is laid out as (and large enough for).
    let has_vnet = unsafe { libc::ioctl(fd, TUNGETIFF as _, &mut req) } == 0 && req.flags & IFF_VNET_HDR != 0;
    if has_vnet && !(vnet && prepare(fd, true)) {
        return Err(format!(
            "HERMIT_NETIF=@{fd}: the tap was attached with IFF_VNET_HDR{}",
            if vnet { ", and its header size cannot be set" } else { " and HERMIT_NET_OFFLOAD=0 asks for none" }
        ));
    }
    if !has_vnet {
        prepare(fd, false);
    }
    // SAFETY: the user handed this descriptor to the proxy; nothing else in the proxy uses it.
    Ok((unsafe { OwnedFd::from_raw_fd(fd) }, has_vnet))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names the kernel would refuse never reach a message unquoted or a path.
    #[test]
    fn odd_names_are_refused_quoted() {
        for name in ["", "a/b", "a:1", "tap\n0", " tap0", "tap 0", "tap\u{7f}", "0123456789abcdef"] {
            let e = attach(name, false).unwrap_err();
            assert!(e.contains("not a network interface name"), "{name:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}

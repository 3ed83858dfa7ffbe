//! The proxy as the ivshmem server of QEMU's `ivshmem-doorbell` device: the NIC's receive
//! interrupt under QEMU, where the proxy has no VM file descriptor for `KVM_IRQFD`.
//!
//! QEMU's side of the protocol (QEMU's `docs/specs/ivshmem-spec.rst`) is a UNIX stream socket
//! carrying little-endian 64-bit messages: the protocol version (0), the device's own peer ID,
//! -1 with the shared memory's descriptor, then the peer ID again with one eventfd per
//! vector, which QEMU watches (TCG) or binds to an MSI route with an irqfd (KVM). The proxy
//! writes them all into a socket pair before QEMU starts (QEMU reads the first three while
//! it creates the device, the last one from its main loop) and keeps the eventfd: writing it
//! raises MSI-X vector 0, which the kernel points at vector 0x2B of core 0
//! (`src/drivers/ivshmem.rs`). No other peer ever exists, and QEMU never writes to us.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use hermit_interface::qemu::NET_IRQ_SHM_SIZE;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

/// The device's peer ID (any of 0..=65535: it is the only peer).
const PEER_ID: i64 = 0;
/// The ivshmem protocol's version.
const PROTOCOL_VERSION: i64 = 0;

/// A prepared ivshmem server: QEMU's end of the socket and the interrupt's eventfd.
pub struct Server {
    /// The socket end QEMU gets (`-chardev socket,fd=N`); close it once QEMU has started.
    pub qemu_end: OwnedFd,
    /// Our end, kept open for the whole run (QEMU would see a disconnected server).
    pub our_end: UnixStream,
    /// Writing 1 raises the interrupt.
    pub event: EventFd,
}

/// Creates the socket pair, the shared memory and the eventfd and queues the whole
/// handshake for QEMU.
pub fn server(memfd: impl Fn(&str) -> Result<std::fs::File, String>) -> Result<Server, String> {
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("cannot create the interrupt socket: {e}"))?;
    let shm = memfd("hermit-ivshmem")?;
    shm.set_len(NET_IRQ_SHM_SIZE).map_err(|e| format!("cannot size the ivshmem memory: {e}"))?;
    let event = EventFd::new(EFD_NONBLOCK).map_err(|e| format!("cannot create an eventfd: {e}"))?;
    let send = |value: i64, fd: Option<i32>| {
        let bytes = value.to_le_bytes();
        let fds: Vec<i32> = fd.into_iter().collect();
        // One message per sendmsg: QEMU reads each 8-byte message with its descriptor.
        match ours.send_with_fds(&[&bytes[..]], &fds) {
            Ok(8) => Ok(()),
            Ok(n) => Err(format!("the ivshmem handshake was cut after {n} bytes")),
            Err(e) => Err(format!("cannot send the ivshmem handshake: {e}")),
        }
    };
    send(PROTOCOL_VERSION, None)?;
    send(PEER_ID, None)?;
    send(-1, Some(shm.as_raw_fd()))?;
    send(PEER_ID, Some(event.as_raw_fd()))?;
    Ok(Server { qemu_end: theirs.into(), our_end: ours, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{FromRawFd, IntoRawFd};

    fn memfd(name: &str) -> Result<std::fs::File, String> {
        let cname = std::ffi::CString::new(name).unwrap();
        // SAFETY: a valid name; the descriptor is new and ours.
        let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor.
        Ok(unsafe { std::fs::File::from_raw_fd(fd) })
    }

    #[test]
    fn the_handshake_as_qemu_reads_it() {
        let server = server(memfd).unwrap();
        let qemu = UnixStream::from(server.qemu_end);
        let mut got = Vec::new();
        for _ in 0..4 {
            let mut buf = [0u8; 8];
            let (n, file) = qemu.recv_with_fd(&mut buf).unwrap();
            assert_eq!(n, 8);
            got.push((i64::from_le_bytes(buf), file.map(|f| f.into_raw_fd())));
        }
        assert_eq!((got[0].0, got[0].1.is_none()), (0, true));
        assert_eq!((got[1].0, got[1].1.is_none()), (PEER_ID, true));
        assert_eq!(got[2].0, -1);
        // SAFETY: descriptors just received, owned by the test.
        let shm = unsafe { std::fs::File::from_raw_fd(got[2].1.unwrap()) };
        assert_eq!(shm.metadata().unwrap().len(), NET_IRQ_SHM_SIZE);
        assert_eq!(got[3].0, PEER_ID);
        // The eventfd QEMU got is ours: raising it shows there.
        // SAFETY: as above.
        let theirs = unsafe { EventFd::from_raw_fd(got[3].1.unwrap()) };
        server.event.write(1).unwrap();
        assert_eq!(theirs.read().unwrap(), 1);
    }
}

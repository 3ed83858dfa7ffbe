//! The NIC's device, a frame at a time through the proxy: writes and reads on the tap, passt's stream records.

use std::cell::RefCell;
use std::os::fd::AsRawFd;

use hermit_interface::vnet::HDR_LEN;

use super::frames::{self, StreamDecoder, MAX_FRAME};
use super::{handshake, Backend, Nic};

impl Nic {
    /// Records `frame` in the capture file, if there is one.
    pub(super) fn capture(&self, frame: &[u8]) {
        if let Some(capture) = &self.capture {
            capture.record(frame);
        }
    }

    pub(super) fn fd(&self) -> i32 {
        match &self.backend {
            Backend::Tap { fd, .. } | Backend::Stream { fd, .. } => fd.as_raw_fd(),
        }
    }

    /// Sends one frame; false if it was dropped (the device is full or gone).
    pub(super) fn send(&self, frame: &[u8]) -> bool {
        match &self.backend {
            Backend::Tap { fd, vnet } => {
                let hdr = if *vnet { &NO_OFFLOAD[..] } else { &[] };
                let iov = [
                    libc::iovec { iov_base: hdr.as_ptr().cast_mut().cast(), iov_len: hdr.len() },
                    libc::iovec { iov_base: frame.as_ptr().cast_mut().cast(), iov_len: frame.len() },
                ];
                // SAFETY: writes from two live buffers of their lengths.
                let n = unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr(), 2) };
                n == (hdr.len() + frame.len()) as isize
            }
            Backend::Stream { fd, tx, injected, .. } => {
                let record = frames::stream_record(frame);
                let sent = {
                    let _guard = tx.lock().expect("passt writer");
                    write_all(fd.as_raw_fd(), &record)
                };
                if let Some(ack) = handshake::ack_for_syn_ack(frame).filter(|_| sent) {
                    // Debian 12's passt spins for ever (100% CPU, the network dead) when the
                    // guest's first data arrives in the same read as its SYN-ACK: the guest
                    // sends nothing before this ACK, so it is handed over only once passt
                    // has read the SYN-ACK.
                    wait_read_by_peer(fd.as_raw_fd(), PASST_READ_WAIT);
                    let mut owed = injected.lock().expect("injected frames");
                    if owed.len() < INJECTED_MAX {
                        owed.push(ack);
                    }
                    drop(owed);
                    self.raise_if_armed();
                }
                sent
            }
        }
    }

    /// Receives one frame into `buf`; its length, or `None` when none waits.
    pub(super) fn receive(&self, buf: &mut [u8]) -> Option<usize> {
        match &self.backend {
            Backend::Tap { fd, vnet } => {
                let mut hdr = [0u8; HDR_LEN];
                let hdr = if *vnet { &mut hdr[..] } else { &mut [] };
                let iov = [
                    libc::iovec { iov_base: hdr.as_mut_ptr().cast(), iov_len: hdr.len() },
                    libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() },
                ];
                // SAFETY: reads into two live buffers of their lengths.
                let n = unsafe { libc::readv(fd.as_raw_fd(), iov.as_ptr(), 2) };
                (n > hdr.len() as isize).then_some(n as usize - hdr.len())
            }
            Backend::Stream { .. } => self.receive_stream(|frame| {
                let n = frame.len().min(buf.len());
                buf[..n].copy_from_slice(&frame[..n]);
                n
            }),
        }
    }

    /// Hands the next frame from passt (the proxy's own owed frames first) to `deliver`, in
    /// place in the stream's buffer; its result, or `None` when no whole frame waits (or
    /// passt's stream is broken). Not for a tap.
    pub(super) fn receive_stream<R>(&self, deliver: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let Backend::Stream { fd, rx, injected, .. } = &self.backend else { return None };
        let owed = {
            let mut owed = injected.lock().expect("injected frames");
            (!owed.is_empty()).then(|| owed.remove(0))
        };
        if let Some(frame) = owed {
            return Some(deliver(&frame));
        }
        let mut decoder = rx.lock().expect("passt reader");
        while !decoder.has_frame() {
            if decoder.read_from(fd.as_raw_fd()) <= 0 {
                return None;
            }
        }
        match decoder.next_frame() {
            Ok(Some(frame)) => Some(deliver(frame)),
            Ok(None) => None,
            Err(bad) => {
                eprintln!("proxy: passt sent a record of {} bytes; network stopped", bad.0);
                *decoder = StreamDecoder::default();
                None
            }
        }
    }

    /// Whether a whole frame is already buffered in the proxy.
    pub(super) fn buffered(&self) -> bool {
        match &self.backend {
            Backend::Tap { .. } => false,
            Backend::Stream { rx, injected, .. } => {
                !injected.lock().expect("injected frames").is_empty() || rx.lock().expect("passt reader").has_frame()
            }
        }
    }
}

/// Most handshake ACKs owed to the guest that wait for it to read them (one per SYN-ACK it
/// sent; a guest that sends SYN-ACKs and reads nothing gets no more).
pub(super) const INJECTED_MAX: usize = 64;

/// How long a SYN-ACK may wait for passt to read it before the handshake's ACK is given to
/// the guest anyway.
const PASST_READ_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Waits (at most `limit`) until the peer of the stream socket `fd` has read everything
/// written to it (`SIOCOUTQ` 0).
fn wait_read_by_peer(fd: i32, limit: std::time::Duration) {
    let start = std::time::Instant::now();
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: SIOCOUTQ writes one int to the live `queued`.
        let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
        if r < 0 || queued == 0 || start.elapsed() >= limit {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(20));
    }
}

/// Writes all of `bytes` to the blocking descriptor `fd`.
fn write_all(fd: i32, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writes from a live buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

thread_local! {
    /// A frame buffer per serving thread (a ring entry fits).
    pub(super) static FRAME: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_FRAME.max(hermit_interface::netring::MAX_BUF as usize)]);
}

/// The virtio-net header of a frame without offloads.
pub(super) const NO_OFFLOAD: [u8; HDR_LEN] = [0; HDR_LEN];

//! Host tests of the NIC: its hypercalls over sockets in place of a tap or passt, its rings, the poller.

use super::device::{INJECTED_MAX, NO_OFFLOAD};
use super::poller::RX_TAKE_AFTER;
use super::*;
use crate::host::Host;
use crate::hypercall::field;
use frames::MAX_FRAME;
use hermit_interface::hypercall::{NetBatch, NetRead, NET_BATCH_MAX};
use hermit_interface::netring::{NetRing, NETRING_F_VNET_HDR, NETRING_KICK, NETRING_RECV, NETRING_SETUP};
use hermit_interface::vnet::HDR_LEN;
use std::ffi::CString;
use std::mem::offset_of;
use std::os::unix::net::UnixDatagram;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const REQ: u64 = 0x1000;
const BUF: u64 = 0x2000;

fn host(nic: Option<Nic>) -> Host {
    let ram = crate::guest::GuestRam::new(32 << 20, false).unwrap();
    let host = Host::new(ram, 0x80_0000, vec![CString::new("app").unwrap()], vec![], false, true, false);
    if let Some(nic) = nic {
        let _ = host.net.set(Arc::new(nic));
    }
    host
}

fn request(host: &Host, data: u64, len: u64) {
    host.ram.write(field(REQ, offset_of!(NetRead, data)), data).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRead, len)), len).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRead, ret)), 7i32).unwrap();
}

fn result(host: &Host) -> (i32, u64) {
    let ret = host.ram.read::<i32>(field(REQ, offset_of!(NetRead, ret))).unwrap();
    (ret, host.ram.read::<u64>(field(REQ, offset_of!(NetRead, len))).unwrap())
}

fn frame(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

/// A NIC over one end of a datagram socket pair (non-blocking, as a tap), and the other end:
/// the host's side of the segment.
fn socket_nic() -> (Nic, UnixDatagram) {
    let (ours, peer) = UnixDatagram::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    (Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9]), peer)
}

/// Writes a batch request at [`REQ`] with its table at `table`.
fn batch_request(host: &Host, table: u64, frames: &[(u64, u32)]) {
    for (i, &(data, len)) in frames.iter().enumerate() {
        let at = table + 16 * i as u64;
        host.ram.write(at, data).unwrap();
        host.ram.write(at + 8, len).unwrap();
        host.ram.write(at + 12, 0u32).unwrap();
    }
    host.ram.write(field(REQ, offset_of!(NetBatch, frames)), table).unwrap();
    host.ram.write(field(REQ, offset_of!(NetBatch, count)), frames.len() as u32).unwrap();
    host.ram.write(field(REQ, offset_of!(NetBatch, ret)), 7i32).unwrap();
}

fn batch_ret(host: &Host) -> i32 {
    host.ram.read::<i32>(field(REQ, offset_of!(NetBatch, ret))).unwrap()
}

/// A guest that answers SYN after SYN with a SYN-ACK and never reads: the ACKs the proxy
/// owes it wait in a bounded queue, oldest first (it grew by one per SYN-ACK, host memory
/// the guest chose).
#[test]
fn owed_acks_are_bounded() {
    let (ours, peer) = UnixStream::pair().unwrap();
    let nic = Nic::over_socket(ours.into(), true, [2, 0, 0, 0, 0, 9]);
    // passt: reads everything, at once (the proxy waits until it has read a SYN-ACK).
    let reader = std::thread::spawn(move || std::io::copy(&mut &peer, &mut std::io::sink()));
    let mut syn_acks = Vec::new();
    for seq in 0..(INJECTED_MAX as u32 + 40) {
        let mut f = handshake::tests::syn_ack(0x12);
        f[38..42].copy_from_slice(&seq.to_be_bytes());
        assert!(nic.send(&f));
        syn_acks.push(seq);
    }
    let mut buf = vec![0u8; MAX_FRAME];
    let mut acks = Vec::new();
    while let Some(n) = nic.receive(&mut buf) {
        assert_eq!(n, 54);
        acks.push(u32::from_be_bytes(buf[42..46].try_into().unwrap()).wrapping_sub(1));
    }
    assert_eq!(acks, syn_acks[..INJECTED_MAX], "the first ones, in order");
    drop(nic);
    reader.join().unwrap().unwrap();
}

#[test]
fn batches_both_ways() {
    let (nic, peer) = socket_nic();
    peer.set_nonblocking(true).unwrap();
    let host = host(Some(nic));
    const TABLE: u64 = 0x3000;
    // Three frames, the middle one too short: two go out, in order.
    let (a, b) = (frame(60, 1), frame(1514, 2));
    host.ram.write_bytes(0x10000, &a).unwrap();
    host.ram.write_bytes(0x20000, &b).unwrap();
    batch_request(&host, TABLE, &[(0x10000, 60), (0x20000, 13), (0x20000, 1514)]);
    netwritev(&host, REQ).unwrap();
    assert_eq!(batch_ret(&host), 2);
    let mut got = vec![0u8; 70000];
    assert_eq!(peer.recv(&mut got).unwrap(), 60);
    assert_eq!(&got[..60], &a[..]);
    assert_eq!(peer.recv(&mut got).unwrap(), 1514);
    assert_eq!(&got[..1514], &b[..]);
    assert!(peer.recv(&mut got).is_err(), "nothing else was sent");
    // Two frames wait, four buffers: both arrive (the second cut to its buffer).
    peer.send(&frame(70, 3)).unwrap();
    peer.send(&frame(3000, 4)).unwrap();
    batch_request(&host, TABLE, &[(0x10000, 2048), (0x20000, 1000), (0x30000, 2048), (0x40000, 2048)]);
    netreadv(&host, REQ).unwrap();
    assert_eq!(batch_ret(&host), 2);
    assert_eq!(host.ram.read::<u32>(TABLE + 8).unwrap(), 70);
    assert_eq!(host.ram.read::<u32>(TABLE + 16 + 8).unwrap(), 1000);
    let mut back = vec![0u8; 1000];
    host.ram.read_bytes(0x20000, &mut back).unwrap();
    assert_eq!(back, frame(3000, 4)[..1000]);
    // Too many entries, or a table outside RAM: the guest is stopped.
    host.ram.write(field(REQ, offset_of!(NetBatch, count)), NET_BATCH_MAX + 1).unwrap();
    assert!(netreadv(&host, REQ).is_err());
    batch_request(&host, (32 << 20) - 8, &[]);
    host.ram.write(field(REQ, offset_of!(NetBatch, count)), 1u32).unwrap();
    assert!(netwritev(&host, REQ).is_err());
    // A buffer outside RAM: stopped, nothing consumed.
    peer.send(&frame(80, 5)).unwrap();
    batch_request(&host, TABLE, &[(0x10000, 2048), ((32 << 20) - 100, 2048)]);
    assert!(netreadv(&host, REQ).is_err());
    batch_request(&host, TABLE, &[(0x10000, 2048)]);
    netreadv(&host, REQ).unwrap();
    assert_eq!((batch_ret(&host), host.ram.read::<u32>(TABLE + 8).unwrap()), (1, 80));
}

#[test]
fn polling_guest_cores_take_the_signal_instead_of_the_interrupt() {
    use std::sync::atomic::Ordering;
    use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
    let (ours, _peer) = UnixDatagram::pair().unwrap();
    let nic = Nic::over_socket(ours.into(), false, [2, 0, 0, 0, 0, 9]);
    let event = EventFd::new(EFD_NONBLOCK).unwrap();
    nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
    let irq = nic.irq.get().unwrap();
    // Without the feature: the interrupt alone.
    nic.announce(irq);
    assert_eq!(event.read().unwrap(), 1);
    let ram = crate::guest::GuestRam::new(32 << 20, false).unwrap();
    const SIGNAL: u64 = 0x5000;
    assert!(nic.notify.set((ram.clone(), SIGNAL)).is_ok());
    let (signal, polling) = (ram.atomic_u32(SIGNAL).unwrap(), ram.atomic_u32(SIGNAL + 4).unwrap());
    // A core polls: the signal, no interrupt.
    polling.store(1, Ordering::SeqCst);
    nic.announce(irq);
    assert_eq!(signal.swap(0, Ordering::SeqCst), 1);
    assert!(event.read().is_err(), "no interrupt while a core polls");
    // None polls: the signal and the interrupt.
    polling.store(0, Ordering::SeqCst);
    nic.announce(irq);
    assert_eq!(signal.load(Ordering::SeqCst), 1);
    assert_eq!(event.read().unwrap(), 1);
}

/// Writes a `NETRING` request at [`REQ`].
/// Waits up to 10 s for the receive ring at `area` to hold a frame and checks that its
/// first entry is `expected`.
fn expect_first_rx(host: &Host, area: u64, layout: &hermit_interface::netring::Layout, expected: &[u8]) {
    let start = std::time::Instant::now();
    let prod = host.ram.atomic_u32(area + hermit_interface::netring::control::RX_PROD).unwrap();
    while prod.load(Ordering::Acquire) == 0 {
        assert!(start.elapsed().as_secs() < 10, "no frame in the receive ring");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(host.ram.read::<u32>(area + layout.rx_len_at(0)).unwrap() as usize, expected.len());
    let mut back = vec![0u8; expected.len()];
    host.ram.read_bytes(area + layout.rx_buf_at(0), &mut back).unwrap();
    assert_eq!(back, expected);
}

fn ring_request(host: &Host, op: u32, gpa: u64, slots: u32, buf: u32) -> i32 {
    host.ram.write(field(REQ, offset_of!(NetRing, op)), op).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRing, slots)), slots).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRing, gpa)), gpa).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRing, buf)), buf).unwrap();
    host.ram.write(field(REQ, offset_of!(NetRing, ret)), 7i32).unwrap();
    let served = netring(host, REQ);
    served.map(|()| host.ram.read::<i32>(field(REQ, offset_of!(NetRing, ret))).unwrap()).unwrap_or(i32::MIN)
}

#[test]
fn rings_carry_frames_both_ways() {
    use hermit_interface::netring::{control, Layout};
    use std::sync::atomic::Ordering;
    use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
    const AREA: u64 = 0x40_0000;
    let (nic, peer) = socket_nic();
    peer.set_nonblocking(true).unwrap();
    // Without a receive interrupt the rings are refused (the guest keeps the batches).
    let host = host(Some(nic));
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), -libc::ENODEV);
    let event = EventFd::new(EFD_NONBLOCK).unwrap();
    let nic = host.net.get().unwrap();
    nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
    // A bad area stops the guest; a good one is taken once.
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA + 8, 16, 2048), i32::MIN);
    assert_eq!(ring_request(&host, 9, AREA, 16, 2048), i32::MIN);
    let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
    word(control::RX_WANT_SIGNAL).store(1, Ordering::SeqCst);
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), -libc::EBUSY);
    let layout = Layout::new(16, 2048).unwrap();
    // Host to guest: the receive thread puts the frame into the ring and, as the guest
    // asked, raises the interrupt (no core polls).
    peer.send(&frame(70, 3)).unwrap();
    let start = std::time::Instant::now();
    expect_first_rx(&host, AREA, &layout, &frame(70, 3));
    while event.read().is_err() {
        assert!(start.elapsed().as_secs() < 10, "no interrupt");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(word(control::RX_WANT_SIGNAL).load(Ordering::SeqCst), 0, "the request was taken");
    // Guest to host: a published frame goes out with a kick.
    host.ram.write(AREA + layout.tx_len_at(0), 60u32).unwrap();
    host.ram.write_bytes(AREA + layout.tx_buf_at(0), &frame(60, 4)).unwrap();
    word(control::TX_PROD).store(1, Ordering::Release);
    assert_eq!(ring_request(&host, NETRING_KICK, 0, 0, 0), 0);
    assert_eq!(word(control::TX_CONS).load(Ordering::Acquire), 1);
    let mut got = vec![0u8; 2048];
    assert_eq!(peer.recv(&mut got).unwrap(), 60);
    assert_eq!(&got[..60], &frame(60, 4)[..]);
    assert!(ring_summary(&host).unwrap().starts_with("network rings: 1 frames sent"));
}

/// While the poller polls it reads the tap for the receive ring itself and the receive
/// thread keeps off the tap; once the poller parks the thread reads it again.
#[test]
fn the_poller_reads_the_tap_while_it_polls() {
    use hermit_interface::netring::{control, Layout};
    use std::sync::atomic::Ordering;
    use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
    const AREA: u64 = 0x40_0000;
    let (nic, peer) = socket_nic();
    let host = host(Some(nic));
    let event = EventFd::new(EFD_NONBLOCK).unwrap();
    let nic = host.net.get().unwrap();
    nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
    let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
    let layout = Layout::new(16, 2048).unwrap();
    let wait_for = |prod: u32, what: &str| {
        let start = std::time::Instant::now();
        while word(control::RX_PROD).load(Ordering::Acquire) < prod {
            assert!(start.elapsed().as_secs() < 10, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    // The poller takes the tap once it has polled for RX_TAKE_AFTER; wait until the
    // receive thread left it.
    assert_eq!(poll_tx(&host, || {}), 0);
    assert!(!nic.rx_by_poller.load(Ordering::Relaxed), "not at the first scan");
    std::thread::sleep(RX_TAKE_AFTER);
    assert_eq!(poll_tx(&host, || {}), 0);
    assert!(nic.rx_by_poller.load(Ordering::Relaxed));
    std::thread::sleep(std::time::Duration::from_millis(50));
    // A frame is read by the poller while it scans, and announced. On a loaded host this
    // thread may lose its CPU for longer than RX_POLLER_STALL between the send and its next
    // scan: the receive thread then reads the frame, as it should for a stalled poller, and
    // keeps the tap for RX_REVOKE_FOR; the poller, scanning on, takes it back, and the next
    // frame tries again.
    let stats = &nic.ring.get().unwrap().stats;
    let mut sent = 0;
    loop {
        let stalls = stats.rx_stalls.load(Ordering::Relaxed);
        word(control::RX_WANT_SIGNAL).store(1, Ordering::SeqCst);
        poll_tx(&host, || {});
        peer.send(&frame(70, 5)).unwrap();
        sent += 1;
        let start = std::time::Instant::now();
        while word(control::RX_PROD).load(Ordering::Acquire) < sent {
            assert!(start.elapsed().as_secs() < 10, "the poller did not read the tap");
            poll_tx(&host, || {});
        }
        assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(sent - 1)).unwrap(), 70);
        assert_eq!(event.read().unwrap(), 1, "announced with the interrupt (no core polls)");
        if stats.rx_stalls.load(Ordering::Relaxed) == stalls {
            break;
        }
        assert!(sent < 10, "the receive thread took every frame from a scanning poller");
        let start = std::time::Instant::now();
        while !nic.rx_by_poller.load(Ordering::Relaxed) {
            assert!(start.elapsed().as_secs() < 10, "the poller did not take the tap back");
            poll_tx(&host, || {});
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }
    assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
    // A poller that stops scanning without parking (it lost its CPU): the receive thread
    // reads the tap after RX_POLLER_STALL and keeps it; the poller leaves it until it
    // parks.
    let stalls = stats.rx_stalls.load(Ordering::Relaxed);
    peer.send(&frame(75, 7)).unwrap();
    wait_for(sent + 1, "the receive thread read the tap of a stalled poller");
    assert!(stats.rx_stalls.load(Ordering::Relaxed) > stalls);
    assert!(!nic.rx_by_poller.load(Ordering::Relaxed));
    std::thread::sleep(RX_TAKE_AFTER);
    poll_tx(&host, || {});
    assert!(!nic.rx_by_poller.load(Ordering::Relaxed), "not taken again at once");
    assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
    // Parked: the receive thread takes the next frame.
    poller_parked(&host);
    assert!(!nic.rx_by_poller.load(Ordering::Relaxed));
    let stalls = stats.rx_stalls.load(Ordering::Relaxed);
    peer.send(&frame(80, 6)).unwrap();
    wait_for(sent + 2, "the receive thread read the tap again");
    assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(sent + 1)).unwrap(), 80);
    assert_eq!(stats.rx_polled.load(Ordering::Relaxed), 1);
    assert_eq!(stats.rx_stalls.load(Ordering::Relaxed), stalls, "not as a stall");
    // The next time the poller polls long enough it takes the tap again.
    poll_tx(&host, || {});
    std::thread::sleep(RX_TAKE_AFTER);
    poll_tx(&host, || {});
    assert!(nic.rx_by_poller.load(Ordering::Relaxed));
}

#[test]
fn batches_without_a_nic() {
    let host = host(None);
    batch_request(&host, 0x3000, &[(0x10000, 60)]);
    netwritev(&host, REQ).unwrap();
    assert_eq!(batch_ret(&host), -1);
    netreadv(&host, REQ).unwrap();
    assert_eq!(batch_ret(&host), -1);
}

#[test]
fn without_a_nic() {
    let host = host(None);
    host.ram.write::<i32>(REQ, 5).unwrap();
    netstat(&host, REQ).unwrap();
    assert_eq!(host.ram.read::<i32>(REQ).unwrap(), 0);
    request(&host, BUF, 100);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host).0, -1);
    request(&host, BUF, 60);
    netwrite(&host, REQ).unwrap();
    assert_eq!(result(&host).0, -1);
}

/// The guest sends `frame(1514, 1)` with `NETWRITE`, which succeeds; what the peer received.
fn netwrite_a_frame(host: &Host, peer: &UnixDatagram) -> Vec<u8> {
    let out = frame(1514, 1);
    host.ram.write_bytes(BUF, &out).unwrap();
    request(host, BUF, out.len() as u64);
    netwrite(host, REQ).unwrap();
    assert_eq!(result(host), (0, 1514));
    let mut got = vec![0u8; 70000];
    let n = peer.recv(&mut got).unwrap();
    got.truncate(n);
    got
}

#[test]
fn tap_frames_both_ways() {
    let (nic, peer) = socket_nic();
    let host = host(Some(nic));
    netstat(&host, REQ).unwrap();
    assert_eq!(host.ram.read::<i32>(REQ).unwrap(), 1);
    netinfo(&host, REQ).unwrap();
    let mut mac = [0u8; 18];
    host.ram.read_bytes(REQ, &mut mac).unwrap();
    assert_eq!(&mac, b"02:00:00:00:00:09\0");
    // Guest to host.
    assert_eq!(netwrite_a_frame(&host, &peer), frame(1514, 1));
    // Too short or too long: dropped.
    for len in [13, MAX_FRAME as u64 + 1] {
        request(&host, BUF, len);
        netwrite(&host, REQ).unwrap();
        assert_eq!(result(&host).0, -1, "{len}");
    }
    // Host to guest: nothing, a frame, a frame cut to the buffer, nothing.
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host).0, -1);
    peer.send(&frame(60, 2)).unwrap();
    peer.send(&frame(9000, 3)).unwrap();
    netread_expect(&host, &frame(60, 2));
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host), (0, 2048));
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host).0, -1);
}

/// `NETREAD` into a 2 KiB buffer: `want` arrived whole.
fn netread_expect(host: &Host, want: &[u8]) {
    request(host, BUF, 2048);
    netread(host, REQ).unwrap();
    assert_eq!(result(host), (0, want.len() as u64));
    let mut back = vec![0u8; want.len()];
    host.ram.read_bytes(BUF, &mut back).unwrap();
    assert_eq!(back, want);
}

/// A tap with the virtio-net header whose guest did not ask for offloads: the proxy adds
/// a zero header to what it sends and strips the tap's from what it receives, for the
/// one-frame calls, the batches and the plain rings alike.
#[test]
fn a_vnet_tap_without_offloads_carries_plain_frames() {
    use hermit_interface::netring::{control, Layout, MAX_BUF};
    use std::sync::atomic::Ordering;
    use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
    let (ours, peer) = UnixDatagram::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    peer.set_nonblocking(true).unwrap();
    let host = host(Some(Nic::over_vnet_socket(ours.into(), [2, 0, 0, 0, 0, 9])));
    let got = netwrite_a_frame(&host, &peer);
    assert_eq!(got.len(), HDR_LEN + 1514);
    assert_eq!(got[..HDR_LEN], NO_OFFLOAD);
    assert_eq!(got[HDR_LEN..], frame(1514, 1));
    peer.send(&[&[0u8; HDR_LEN][..], &frame(60, 2)].concat()).unwrap();
    netread_expect(&host, &frame(60, 2));
    // Plain rings on the same tap; a ring asking for the header is refused (a socket
    // takes no TUNSETOFFLOAD), and unknown flags stop the guest.
    const AREA: u64 = 0x40_0000;
    let event = EventFd::new(EFD_NONBLOCK).unwrap();
    host.net.get().unwrap().set_irq(RxIrq::from_event(event.try_clone().unwrap()));
    host.ram.write(field(REQ, offset_of!(NetRing, flags)), 2u32).unwrap();
    let bad_flags = {
        host.ram.write(field(REQ, offset_of!(NetRing, op)), NETRING_SETUP).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, slots)), 16u32).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, gpa)), AREA).unwrap();
        host.ram.write(field(REQ, offset_of!(NetRing, buf)), 2048u32).unwrap();
        netring(&host, REQ)
    };
    assert!(bad_flags.is_err());
    host.ram.write(field(REQ, offset_of!(NetRing, flags)), NETRING_F_VNET_HDR).unwrap();
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, MAX_BUF), -libc::EOPNOTSUPP);
    host.ram.write(field(REQ, offset_of!(NetRing, flags)), 0u32).unwrap();
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
    let layout = Layout::new(16, 2048).unwrap();
    let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
    peer.send(&[&[0u8; HDR_LEN][..], &frame(70, 3)].concat()).unwrap();
    expect_first_rx(&host, AREA, &layout, &frame(70, 3));
    host.ram.write(AREA + layout.tx_len_at(0), 300u32).unwrap();
    host.ram.write_bytes(AREA + layout.tx_buf_at(0), &frame(300, 4)).unwrap();
    word(control::TX_PROD).store(1, Ordering::Release);
    assert_eq!(ring_request(&host, NETRING_KICK, 0, 0, 0), 0);
    let mut got = vec![0u8; 70000];
    assert_eq!(peer.recv(&mut got).unwrap(), HDR_LEN + 300);
    assert_eq!(got[..HDR_LEN], NO_OFFLOAD);
    assert_eq!(&got[HDR_LEN..HDR_LEN + 300], &frame(300, 4)[..]);
}

#[test]
fn a_buffer_outside_ram_stops_the_guest() {
    let (nic, peer) = socket_nic();
    let host = host(Some(nic));
    peer.send(&frame(60, 2)).unwrap();
    request(&host, (32 << 20) - 10, 2048);
    assert!(netread(&host, REQ).is_err());
    // The frame is still there for a good request.
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host), (0, 60));
    request(&host, u64::MAX - 5, 100);
    assert!(netwrite(&host, REQ).is_err());
}

#[test]
fn passt_stream_frames_both_ways() {
    use std::io::{Read as _, Write as _};
    let (ours, mut peer) = UnixStream::pair().unwrap();
    let host = host(Some(Nic::over_socket(ours.into(), true, [2, 0, 0, 0, 0, 9])));
    let out = frame(100, 4);
    host.ram.write_bytes(BUF, &out).unwrap();
    request(&host, BUF, 100);
    netwrite(&host, REQ).unwrap();
    assert_eq!(result(&host), (0, 100));
    let mut got = [0u8; 104];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got[..4], &[0, 0, 0, 100]);
    assert_eq!(&got[4..], &out[..]);
    // Two frames in one write, then half of a third.
    let mut stream = frames::stream_record(&frame(60, 5));
    stream.extend(frames::stream_record(&frame(1500, 6)));
    let third = frames::stream_record(&frame(80, 7));
    stream.extend(&third[..40]);
    peer.write_all(&stream).unwrap();
    for expected in [frame(60, 5), frame(1500, 6)] {
        request(&host, BUF, 2048);
        netread(&host, REQ).unwrap();
        assert_eq!(result(&host), (0, expected.len() as u64));
        let mut back = vec![0u8; expected.len()];
        host.ram.read_bytes(BUF, &mut back).unwrap();
        assert_eq!(back, expected);
    }
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host).0, -1, "half a record is no frame");
    peer.write_all(&third[40..]).unwrap();
    request(&host, BUF, 2048);
    netread(&host, REQ).unwrap();
    assert_eq!(result(&host), (0, 80));
}

/// An idle vCPU's `NETRING_RECV` sends the transmit ring and reads the tap into the
/// receive ring itself, waiting for a frame up to the time it gave (capped); meanwhile
/// the receive thread and the poller keep off the tap.
#[test]
fn idle_vcpus_read_the_tap_themselves() {
    use hermit_interface::netring::{control, Layout, NETRING_RECV_MAX_WAIT_US};
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
    const AREA: u64 = 0x40_0000;
    let (nic, peer) = socket_nic();
    peer.set_nonblocking(true).unwrap();
    let host = host(Some(nic));
    assert_eq!(ring_request(&host, NETRING_RECV, 0, 10, 0), -libc::ENODEV, "no rings yet");
    let event = EventFd::new(EFD_NONBLOCK).unwrap();
    let nic = host.net.get().unwrap();
    nic.set_irq(RxIrq::from_event(event.try_clone().unwrap()));
    assert_eq!(ring_request(&host, NETRING_SETUP, AREA, 16, 2048), 0);
    let layout = Layout::new(16, 2048).unwrap();
    let word = |offset| host.ram.atomic_u32(AREA + offset).unwrap();
    // Nothing waits: the call waits about as long as asked, and at most the cap.
    let start = Instant::now();
    assert_eq!(ring_request(&host, NETRING_RECV, 0, 100, 0), 0);
    assert!(start.elapsed() >= Duration::from_micros(90), "waited {:?}", start.elapsed());
    assert!(nic.idle_rx.active());
    let start = Instant::now();
    assert_eq!(ring_request(&host, NETRING_RECV, 0, 1_000_000, 0), 0);
    assert!(start.elapsed() >= Duration::from_micros(u64::from(NETRING_RECV_MAX_WAIT_US) - 10));
    assert!(start.elapsed() < Duration::from_millis(900), "capped: {:?}", start.elapsed());
    // A frame and a published transmit entry: both move in the call.
    host.ram.write(AREA + layout.tx_len_at(0), 60u32).unwrap();
    host.ram.write_bytes(AREA + layout.tx_buf_at(0), &frame(60, 4)).unwrap();
    word(control::TX_PROD).store(1, Ordering::Release);
    peer.send(&frame(70, 3)).unwrap();
    assert_eq!(ring_request(&host, NETRING_RECV, 0, 100, 0), 1);
    assert_eq!(word(control::RX_PROD).load(Ordering::Acquire), 1);
    assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(0)).unwrap(), 70);
    assert_eq!(word(control::TX_CONS).load(Ordering::Acquire), 1);
    let mut got = vec![0u8; 2048];
    assert_eq!(peer.recv(&mut got).unwrap(), 60);
    assert_eq!(&got[..60], &frame(60, 4)[..]);
    // The poller leaves the tap and earns nothing from these frames.
    assert_eq!(poll_tx(&host, || {}), 0);
    assert!(!nic.rx_by_poller.load(Ordering::Relaxed));
    assert!(ring_summary(&host).unwrap().contains("receives by idle vCPUs"));
    // Once the vCPUs stop asking, the receive thread reads the tap again.
    std::thread::sleep(super::idle_rx::HOLD);
    word(control::RX_CONS).store(1, Ordering::Release);
    peer.send(&frame(80, 6)).unwrap();
    let start = Instant::now();
    while word(control::RX_PROD).load(Ordering::Acquire) < 2 {
        assert!(start.elapsed().as_secs() < 10, "the receive thread did not read the tap");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(host.ram.read::<u32>(AREA + layout.rx_len_at(1)).unwrap(), 80);
}

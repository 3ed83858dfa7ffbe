//! The NIC's hypercalls: the original's one-frame calls, the batches and `NETRING`, each checking the guest's request.

use std::mem::offset_of;
use std::sync::atomic::Ordering;

use hermit_interface::header::{self, offset, HeaderExt};
use hermit_interface::hypercall::{NetBatch, NetFrame, NetMtu, NetRead, NetWrite, NET_BATCH_MAX};
use hermit_interface::netring::{NetRing, NETRING_F_VNET_HDR, NETRING_KICK, NETRING_RECV, NETRING_SETUP};

use super::device::FRAME;
use super::frames::{self, MAX_FRAME, MIN_FRAME};
use super::ring;
use crate::guest::GuestError;
use crate::host::Host;
use crate::hypercall::field;

/// `NETRING` (extension): `NETRING_SETUP` checks and takes the guest's ring area (`ret`
/// -`EBUSY` for a second one, -`ENODEV` without a NIC or its receive interrupt: the guest
/// keeps the batched calls); `NETRING_KICK` sends what waits in the transmit ring. Another
/// operation, or a bad area, stops the guest.
pub fn netring(host: &Host, arg: u64) -> Result<(), GuestError> {
    let op: u32 = host.ram.read(field(arg, offset_of!(NetRing, op)))?;
    let nic = host.net.get();
    let ret = match op {
        NETRING_SETUP => {
            let slots: u32 = host.ram.read(field(arg, offset_of!(NetRing, slots)))?;
            let gpa: u64 = host.ram.read(field(arg, offset_of!(NetRing, gpa)))?;
            let buf: u32 = host.ram.read(field(arg, offset_of!(NetRing, buf)))?;
            let flags: u32 = host.ram.read(field(arg, offset_of!(NetRing, flags)))?;
            if flags & !NETRING_F_VNET_HDR != 0 {
                return Err(GuestError::Invalid(format!("unknown NETRING flags {flags:#x}")));
            }
            let vnet = flags & NETRING_F_VNET_HDR != 0;
            let ring = ring::Ring::new(&host.ram, gpa, slots, buf, vnet)?;
            match nic {
                Some(nic) if nic.irq.get().is_some() => {
                    if nic.ring.get().is_some() {
                        -libc::EBUSY
                    } else if vnet && !nic.offload_on() {
                        -libc::EOPNOTSUPP
                    } else {
                        ring.start()?;
                        let _ = nic.ring.set(ring);
                        // Wake the receive thread if it waits to be re-armed: it moves to
                        // the ring (or starts now, if NETINFO did not start it).
                        *nic.armed.lock().expect("rx arm") = true;
                        nic.rearmed.notify_one();
                        nic.start_watcher();
                        0
                    }
                }
                _ => -libc::ENODEV,
            }
        }
        NETRING_KICK => match nic.and_then(|nic| Some((nic, nic.ring.get()?))) {
            Some((nic, ring)) => {
                ring.stats.kicks.fetch_add(1, Ordering::Relaxed);
                let n = nic.drain_ring(ring, true)?;
                ring.stats.tx_kicked.fetch_add(u64::from(n), Ordering::Relaxed);
                ring.add_activity(n);
                0
            }
            None => -libc::ENODEV,
        },
        NETRING_RECV => match nic.and_then(|nic| Some((nic, nic.ring.get()?, nic.irq.get()?))) {
            Some((nic, ring, irq)) => {
                let wait: u32 = host.ram.read(field(arg, offset_of!(NetRing, slots)))?;
                i32::try_from(nic.idle_receive(ring, irq, wait)?).unwrap_or(i32::MAX)
            }
            None => -libc::ENODEV,
        },
        other => return Err(GuestError::Invalid(format!("unknown NETRING operation {other}"))),
    };
    host.ram.write(field(arg, offset_of!(NetRing, ret)), ret)
}

/// `NETSTAT`: 1 with a NIC.
pub fn netstat(host: &Host, arg: u64) -> Result<(), GuestError> {
    host.ram.write::<i32>(arg, i32::from(host.net.get().is_some()))
}

/// `NETINFO`: the MAC address as a string (empty without a NIC); starts the receive interrupt.
pub fn netinfo(host: &Host, arg: u64) -> Result<(), GuestError> {
    match host.net.get() {
        Some(nic) => {
            host.ram.write_bytes(arg, &frames::mac_string(nic.mac))?;
            let ext = host.entry + offset::EXT as u64;
            let features = host.ram.load_u64(ext + offset_of!(HeaderExt, features) as u64).unwrap_or(0);
            if features & header::FEATURE_NET_NOTIFY != 0 {
                let _ = nic.notify.set((host.ram.clone(), ext + offset_of!(HeaderExt, net_rx_signal) as u64));
            }
            nic.start_watcher();
            Ok(())
        }
        None => host.ram.write::<u8>(arg, 0),
    }
}

/// `NETWRITE`: sends the frame at guest-physical `data`; `ret` 0 and `len` = bytes sent, or
/// `ret` -1 (no NIC, a length outside [`MIN_FRAME`]..=[`MAX_FRAME`], or the device dropped it).
pub fn netwrite(host: &Host, arg: u64) -> Result<(), GuestError> {
    let data: u64 = host.ram.read(field(arg, offset_of!(NetWrite, data)))?;
    let len: u64 = host.ram.read(field(arg, offset_of!(NetWrite, len)))?;
    let sent = match host.net.get() {
        Some(nic) if (MIN_FRAME as u64..=MAX_FRAME as u64).contains(&len) => FRAME.with(|buf| {
            let mut buf = buf.borrow_mut();
            let frame = &mut buf[..len as usize];
            host.ram.read_bytes(data, frame)?;
            let sent = nic.send(frame);
            if sent {
                nic.capture(frame);
            }
            Ok::<_, GuestError>(sent)
        })?,
        _ => false,
    };
    if sent {
        host.ram.write(field(arg, offset_of!(NetWrite, len)), len)?;
        host.ram.write(field(arg, offset_of!(NetWrite, ret)), 0i32)
    } else {
        host.ram.write(field(arg, offset_of!(NetWrite, ret)), -1i32)
    }
}

/// `NETREAD`: one waiting frame into guest-physical `data` of `len` bytes (`len` becomes the
/// frame's length, a longer frame is cut to the buffer), `ret` 0; or `ret` -1 when none
/// waits, which re-arms the interrupt.
pub fn netread(host: &Host, arg: u64) -> Result<(), GuestError> {
    let data: u64 = host.ram.read(field(arg, offset_of!(NetRead, data)))?;
    let size: u64 = host.ram.read(field(arg, offset_of!(NetRead, len)))?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetRead, ret)), -1i32);
    };
    let room = size.min(MAX_FRAME as u64) as usize;
    host.ram.check(data, room as u64)?;
    let got = FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        let n = nic.receive(&mut buf)?;
        nic.capture(&buf[..n]);
        let n = n.min(room);
        Some(host.ram.write_bytes(data, &buf[..n]).map(|()| n))
    });
    match got {
        Some(n) => {
            host.ram.write(field(arg, offset_of!(NetRead, len)), n? as u64)?;
            host.ram.write(field(arg, offset_of!(NetRead, ret)), 0i32)
        }
        None => {
            nic.rearm();
            host.ram.write(field(arg, offset_of!(NetRead, ret)), -1i32)
        }
    }
}

/// `NETMTU` (extension): the interface's MTU, `ret` 0; `ret` -1 and 1500 without a NIC.
pub fn netmtu(host: &Host, arg: u64) -> Result<(), GuestError> {
    let (mtu, ret) = host.net.get().map_or((1500, -1), |nic| (nic.mtu, 0));
    host.ram.write(field(arg, offset_of!(NetMtu, mtu)), mtu)?;
    host.ram.write(field(arg, offset_of!(NetMtu, ret)), ret)
}

/// The address of the batch request's table at `arg` and its frame descriptors (at most
/// [`NET_BATCH_MAX`]; every access bounds-checked).
fn batch_frames(host: &Host, arg: u64) -> Result<(u64, Vec<NetFrame>), GuestError> {
    let frames: u64 = host.ram.read(field(arg, offset_of!(NetBatch, frames)))?;
    let count: u32 = host.ram.read(field(arg, offset_of!(NetBatch, count)))?;
    if count > NET_BATCH_MAX {
        return Err(GuestError::Invalid(format!("{count} frames in one batch (at most {NET_BATCH_MAX})")));
    }
    let size = std::mem::size_of::<NetFrame>() as u64;
    host.ram.check(frames, u64::from(count) * size)?;
    (0..u64::from(count))
        .map(|i| {
            let at = frames + i * size;
            let data = host.ram.read::<u64>(at + offset_of!(NetFrame, data) as u64)?;
            let len = host.ram.read::<u32>(at + offset_of!(NetFrame, len) as u64)?;
            Ok(NetFrame { data, len, reserved: 0 })
        })
        .collect::<Result<_, _>>()
        .map(|list| (frames, list))
}

/// `NETWRITEV` (extension): sends the batch's frames in order; `ret` = frames sent (a frame
/// of a length outside [`MIN_FRAME`]..=[`MAX_FRAME`] or dropped by the device is skipped),
/// -1 without a NIC.
pub fn netwritev(host: &Host, arg: u64) -> Result<(), GuestError> {
    let (_, frames) = batch_frames(host, arg)?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetBatch, ret)), -1i32);
    };
    let mut sent = 0i32;
    FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        for f in &frames {
            let len = f.len as usize;
            if !(MIN_FRAME..=MAX_FRAME).contains(&len) {
                continue;
            }
            host.ram.read_bytes(f.data, &mut buf[..len])?;
            let ok = nic.send(&buf[..len]);
            if ok {
                nic.capture(&buf[..len]);
            }
            sent += i32::from(ok);
        }
        Ok::<_, GuestError>(())
    })?;
    host.ram.write(field(arg, offset_of!(NetBatch, ret)), sent)
}

/// `NETREADV` (extension): fills the batch's buffers with waiting frames, in order (each
/// `len` becomes the frame's length, a longer frame is cut to its buffer); `ret` = frames
/// received, -1 without a NIC. Fewer than the buffers means none waits any more: the
/// interrupt is re-armed, as by `NETREAD`'s -1.
pub fn netreadv(host: &Host, arg: u64) -> Result<(), GuestError> {
    // The table as checked (read again, another vCPU could have moved it).
    let (table, frames) = batch_frames(host, arg)?;
    let Some(nic) = host.net.get() else {
        return host.ram.write(field(arg, offset_of!(NetBatch, ret)), -1i32);
    };
    let size = std::mem::size_of::<NetFrame>() as u64;
    for f in &frames {
        host.ram.check(f.data, u64::from(f.len).min(MAX_FRAME as u64))?;
    }
    let mut got = 0usize;
    FRAME.with(|buf| {
        let mut buf = buf.borrow_mut();
        for (i, f) in frames.iter().enumerate() {
            let Some(n) = nic.receive(&mut buf) else { break };
            nic.capture(&buf[..n]);
            let n = n.min(f.len as usize);
            host.ram.write_bytes(f.data, &buf[..n])?;
            host.ram.write(table + i as u64 * size + offset_of!(NetFrame, len) as u64, n as u32)?;
            got += 1;
        }
        Ok::<_, GuestError>(())
    })?;
    if got < frames.len() {
        nic.rearm();
    }
    host.ram.write(field(arg, offset_of!(NetBatch, ret)), got as i32)
}

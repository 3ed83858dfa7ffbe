//! HermitCore in Rust: the kernel that becomes `libhermit.a` and is linked into every application.
//!
//! The kernel is a library operating system. An application compiled with
//! `x86_64-hermit-gcc` calls the `sys_*` functions of this crate directly; there is no
//! system-call instruction. The boot flow is:
//!
//! loader (`proxy`) → `_start` (CPL 0, [`arch`]) → [`boot`] (CPL 3) → `libc_start` (crt0)
//! → `main`.
//!
//! Everything after the first few dozen instructions runs at CPL 3 in one address space
//! whose pages are all user-accessible: on PVM hosts CPL 0 is emulated thousands of times
//! slower than CPL 3, and on hardware KVM the difference costs nothing. CPL 0 is kept for
//! the exception and interrupt trampolines in [`arch`].
//!
//! Unsafe code is allowed only in `arch`, `mm`, `drivers`, `synch`, `scheduler`, `boot`,
//! `libc` and `syscalls`; every other module (`net` included) forbids it. The C ABI lives only under [`syscalls`].
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod errno;

mod config;
mod fmt;
mod mm;
mod time;

/// When TCP connections delay their ACKs, tested on the host.
#[cfg(test)]
#[path = "net/ack.rs"]
mod ack;
/// CPU affinity masks and their C form, tested on the host.
#[cfg(test)]
#[path = "scheduler/affinity.rs"]
mod affinity;
mod arch;
/// The answers to ARP probes, tested on the host (`super::arp` of the device module).
#[cfg(test)]
#[path = "net/arp.rs"]
mod arp;
/// No inline assembly promises the compiler more than it keeps, checked on the host.
#[cfg(test)]
#[path = "arch/asm_options.rs"]
mod asm_options;
#[cfg(not(test))]
mod boot;
/// Bound ports and their conflicts by address and family (`IPV6_V6ONLY`), tested on the host.
#[cfg(test)]
#[path = "net/bound.rs"]
mod bound;
/// `makecontext`'s stack arithmetic, tested on the host.
#[cfg(test)]
#[path = "syscalls/context_stack.rs"]
mod context_stack;
#[cfg(not(test))]
mod drivers;
/// The floor under the TCP windows the guest advertises behind passt (`super::floor` of the
/// device module), tested on the host.
#[cfg(test)]
#[path = "net/floor.rs"]
mod floor;
/// IP fragments put back together and cut up (`super::frag` of the device module), tested on
/// the host.
#[cfg(test)]
#[path = "net/frag.rs"]
mod frag;
#[cfg(not(test))]
mod fs;
/// The preferred I/O block size of host files, tested on the host.
#[cfg(test)]
#[path = "fs/blksize.rs"]
mod fsblksize;
/// Where writes meet shared file mappings and which pages changed, tested on the host.
#[cfg(test)]
#[path = "fs/dirty.rs"]
mod fsdirty;
/// Which record-lock releases the guest may post without waiting, tested on the host.
#[cfg(test)]
#[path = "fs/lockrange.rs"]
mod fslockrange;
/// The guest's file offsets of host regular files, tested on the host.
#[cfg(test)]
#[path = "fs/offset.rs"]
mod fsoffset;
/// Path arithmetic of the working directory, tested on the host.
#[cfg(test)]
#[path = "fs/path.rs"]
mod fspath;
/// `struct sockaddr_un` of Unix sockets, tested on the host.
#[cfg(test)]
#[path = "fs/unix/addr.rs"]
mod fsunixaddr;
/// The fast-channel poller's heartbeat, tested on the host.
#[cfg(test)]
#[path = "drivers/heartbeat.rs"]
mod heartbeat;
/// TCP keep-alive and handshake timing mapped onto smoltcp's timers, tested on the host.
#[cfg(test)]
#[path = "net/keepalive.rs"]
mod keepalive;
#[cfg(not(test))]
mod libc;
/// Listening TCP sockets and the stack's poll round that arms their listeners, tested on the
/// host.
#[cfg(test)]
#[path = "net/listen.rs"]
mod listen;
#[cfg(not(test))]
mod logging;
/// Frames from the NIC that claim loopback or our own addresses, tested on the host
/// (`super::martian` of the device module; its `super::addr` is `netaddr`).
#[cfg(test)]
#[path = "net/martian.rs"]
mod martian;
/// Multicast memberships' argument parsing and per-socket bookkeeping (`super::multicast` of
/// the socket module), tested on the host.
#[cfg(test)]
#[path = "net/multicast.rs"]
mod multicast;
#[cfg(not(test))]
mod net;
/// Socket addresses and the NETINFO MAC string, tested on the host.
#[cfg(test)]
#[path = "net/addr.rs"]
mod netaddr;
/// ICMP errors for our UDP datagrams (`super::refused` of the device module), tested on the
/// host.
#[cfg(test)]
#[path = "net/refused.rs"]
mod refused;
#[cfg(test)]
use netaddr as addr;
/// When an idle core counts its host CPU as busy, tested on the host.
#[cfg(test)]
#[path = "scheduler/host_busy.rs"]
mod host_busy;
/// The table of the segment's hosts behind the neighbour helpers (`super::hosts`), tested
/// with them.
#[cfg(test)]
#[path = "net/hosts.rs"]
mod hosts;
/// The device's table of the NIC's segment (`super::neighbors` of the device module), tested
/// on the host.
#[cfg(test)]
#[path = "net/neighbors.rs"]
mod neighbors;
/// Its IPv6 hosts (`super::neighbors6` of the device module), tested on the host.
#[cfg(test)]
#[path = "net/neighbors6.rs"]
mod neighbors6;
/// The network device's frame routing (loopback and NIC), tested on the host.
#[cfg(test)]
#[path = "net/device.rs"]
mod netdevice;
/// The receive path (smoltcp over the device layer) under mutated frames, tested on the host.
#[cfg(test)]
#[path = "net/hostile.rs"]
mod nethostile;
/// The interfaces (`lo`, `eth0`) and their addresses as `sys_netif` reports them, tested on
/// the host.
#[cfg(test)]
#[path = "net/netif.rs"]
mod netif;
/// Checksum and segmentation offload on the NIC's rings, tested on the host
/// (`super::offload` of the device module).
#[cfg(test)]
#[path = "net/offload.rs"]
mod offload;
/// The scheduler's pure placement logic, tested on the host (the rest needs the machine).
#[cfg(test)]
#[path = "scheduler/placement.rs"]
mod placement;
/// The pool of ended TCP sockets, tested on the host.
#[cfg(test)]
#[path = "net/pool.rs"]
mod pool;
/// The device layer's zero-window probes and copies of the peer's ACKs (a third duplicate, a
/// lost tail's three; `super::probe` of the device module), tested on the host.
#[cfg(test)]
#[path = "net/probe.rs"]
mod probe;
/// smoltcp behind the device layer against a peer that acts as passt: the probes and the
/// copies of the peer's ACKs end its 1 s waits, tested on the host.
#[cfg(test)]
#[path = "net/probestall.rs"]
mod probestall;
/// Router advertisements screened before smoltcp (`super::ra` of the device module), tested
/// on the host.
#[cfg(test)]
#[path = "net/ra.rs"]
mod ra;
/// Which member of an `SO_REUSEPORT` group takes a flow, tested on the host.
#[cfg(test)]
#[path = "net/reuseport.rs"]
mod reuseport;
/// Where the network device's frames go (loopback, NIC), tested on the host
/// (`super::route` of the device module).
#[cfg(test)]
#[path = "net/route.rs"]
mod route;
/// The scheduler's ready queue (with work stealing's pick), tested on the host.
#[cfg(test)]
#[path = "scheduler/runqueue.rs"]
mod runqueue;
#[cfg(not(test))]
mod scheduler;
#[cfg(not(test))]
mod synch;
#[cfg(not(test))]
mod syscalls;
/// smoltcp behind the device layer against a peer of raw TCP frames: the harness of the window
/// and probe host tests.
#[cfg(test)]
#[path = "net/tcppeer.rs"]
mod tcppeer;
/// How early an idle core arms its timer before a halt, tested on the host.
#[cfg(test)]
#[path = "scheduler/timer_lead.rs"]
mod timer_lead;
/// UDP datagrams sorted among the sockets that share a port, tested on the host.
#[cfg(test)]
#[path = "net/udpshare.rs"]
mod udpshare;
/// When the scheduler counts a wake-up IPI as late, tested on the host.
#[cfg(test)]
#[path = "scheduler/wakeup.rs"]
mod wakeup;
/// The TCP window the peer sees, one unit below smoltcp's (`super::window` of the device
/// module), tested on the host.
#[cfg(test)]
#[path = "net/window.rs"]
mod window;

#[cfg(test)]
mod headers {
    /// The committed C headers must be what cbindgen generates from the current sources;
    /// refresh them with `cmake --build build --target update-headers`.
    #[test]
    fn are_current() {
        // The generated header `$generated` and its committed copy `include/$committed`.
        macro_rules! pair {
            ($generated:literal, $committed:literal) => {
                (
                    include_str!(concat!(env!("HERMIT_GENERATED_HEADERS"), "/", $generated)),
                    include_str!(concat!("../include/", $committed)),
                    $committed,
                )
            };
        }
        let pairs = [
            pair!("syscall.h", "hermit/syscall.h"),
            pair!("errno.h", "hermit/errno.h"),
            pair!("_pthreadtypes.h", "sys/_pthreadtypes.h"),
            pair!("semaphore.h", "semaphore.h"),
            pair!("ucontext.h", "ucontext.h"),
        ];
        for (generated, committed, name) in pairs {
            assert_eq!(
                generated, committed,
                "include/{name} is stale: run `cmake --build build --target update-headers`"
            );
        }
    }
}

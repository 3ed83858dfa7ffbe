//! Opening the guest's NIC: a tap or passt from the configuration, its initial state, the tap's offloads.

#[cfg(test)]
use std::os::fd::OwnedFd;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, Once, OnceLock};

use hermit_interface::hypercall::NET_MTU_MAX;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::frames::{self, StreamDecoder};
use super::{capture, passt, probe, tap, turn, Backend, Nic};
use crate::config::{Config, Netif};

/// The tap whose offloads the proxy turned on (-1: none).
static OFFLOADED_TAP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// At the end of the run: turns the tap's offloads off again. A persistent tap keeps them
/// after the proxy closed it, and a later user that reads it without the virtio-net header
/// (the original uhyve, a proxy with `HERMIT_NET_OFFLOAD=0`) would get 64 KiB frames and
/// partial checksums it cannot take. (A proxy killed by a signal cannot; the next proxy turns
/// them off when it attaches the tap.)
pub fn offloads_off() {
    let fd = OFFLOADED_TAP.swap(-1, Ordering::SeqCst);
    if fd >= 0 {
        let _ = tap::set_offload(fd, 0);
    }
}

/// The `TUNSETOFFLOAD` ioctl number, for the system-call filter.
pub const TUNSETOFFLOAD_IOCTL: u64 = tap::TUNSETOFFLOAD_IOCTL;

impl Nic {
    /// Opens the interface `config` asks for (`HERMIT_NETIF`), or `None`. Runs before the
    /// file sandbox and the system-call filter exist (passt is a new process).
    pub fn open(config: &Config) -> Result<Option<Nic>, String> {
        let Some(netif) = &config.netif else { return Ok(None) };
        let mut tcp_buffer = 0;
        let backend = match netif {
            Netif::Tap(name) => {
                let (fd, vnet) = tap::open(name, config.net_offload && config.net_ring)?;
                Backend::Tap { fd, vnet }
            }
            Netif::Fd(fd) => {
                let (fd, vnet) = tap::from_fd(*fd, config.net_offload && config.net_ring)?;
                Backend::Tap { fd, vnet }
            }
            Netif::User => {
                let (fd, buffer) =
                    passt::start(&config.app_ports, config.ip, config.passt_pcap.as_deref(), config.verbose)?;
                tcp_buffer = buffer;
                Backend::Stream {
                    fd,
                    rx: Mutex::new(StreamDecoder::default()),
                    tx: Mutex::new(()),
                    injected: Mutex::new(Vec::new()),
                }
            }
        };
        let mac = config.mac.unwrap_or_else(|| {
            let mut random = [0u8; 6];
            // SAFETY: getrandom writes at most `random.len()` bytes into it.
            unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
            frames::local_mac(random)
        });
        if let Backend::Tap { fd, vnet } = &backend {
            let ip = config.ip.unwrap_or(crate::config::TAP_DEFAULTS[0]);
            let what = match netif {
                Netif::Fd(n) => format!("the tap @{n}"),
                Netif::Tap(name) => name.clone(),
                Netif::User => String::new(),
            };
            if ip != [0; 4] {
                probe::check(fd.as_fd(), mac, ip, &what, *vnet)?;
            }
        }
        let capture = config.capture_net.as_deref().map(capture::Capture::create).transpose()?;
        let mtu = match &backend {
            Backend::Tap { fd, .. } => tap::mtu(fd.as_raw_fd()).min(tap::MTU_MAX),
            Backend::Stream { .. } => passt::MTU,
        };
        let wake = EventFd::new(EFD_NONBLOCK).map_err(|e| format!("cannot create an eventfd for the network: {e}"))?;
        let mut nic = Nic::with(backend, mac, capture, mtu.clamp(576, NET_MTU_MAX), wake);
        nic.tcp_buffer = tcp_buffer;
        Ok(Some(nic))
    }

    /// The TCP buffer the kernel should use over this NIC (`HeaderExt::net_tcp_buffer`; 0:
    /// its own default).
    pub fn tcp_buffer(&self) -> u64 {
        self.tcp_buffer as u64
    }

    /// A NIC over `backend` in its initial state: nothing announced, no ring, the receive
    /// side armed and the tap the receive thread's.
    fn with(backend: Backend, mac: [u8; 6], capture: Option<capture::Capture>, mtu: u32, wake: EventFd) -> Nic {
        Nic {
            backend,
            mac,
            irq: OnceLock::new(),
            armed: Mutex::new(true),
            rearmed: Condvar::new(),
            watcher: Once::new(),
            capture,
            notify: OnceLock::new(),
            mtu,
            tcp_buffer: 0,
            ring: OnceLock::new(),
            announced: Default::default(),
            wake,
            rx_by_poller: AtomicBool::new(false),
            rx_revoked: Mutex::new(None),
            rx_poller_reads: Default::default(),
            rx_back: Mutex::new(()),
            handed_back: Condvar::new(),
            turns: turn::Turnarounds::default(),
            idle_rx: super::idle_rx::IdleRx::default(),
        }
    }

    /// A NIC over `fd`: a datagram socket stands in for a tap, a stream socket for passt.
    #[cfg(test)]
    pub(crate) fn over_socket(fd: OwnedFd, stream: bool, mac: [u8; 6]) -> Nic {
        let wake = EventFd::new(EFD_NONBLOCK).expect("an eventfd");
        let backend = if stream {
            Backend::Stream {
                fd,
                rx: Mutex::new(StreamDecoder::default()),
                tx: Mutex::new(()),
                injected: Mutex::new(Vec::new()),
            }
        } else {
            Backend::Tap { fd, vnet: false }
        };
        Nic::with(backend, mac, None, 1500, wake)
    }

    /// Turns the tap's offloads on (checksum, TSO for IPv4 and IPv6) for a guest whose rings
    /// carry the virtio-net header; false where the NIC cannot (passt, a tap without the
    /// header, a tap that refuses).
    pub(super) fn offload_on(&self) -> bool {
        match &self.backend {
            Backend::Tap { fd, vnet: true } => {
                let on = tap::set_offload(fd.as_raw_fd(), tap::TUN_F_CSUM | tap::TUN_F_TSO4 | tap::TUN_F_TSO6).is_ok();
                if on {
                    OFFLOADED_TAP.store(fd.as_raw_fd(), Ordering::SeqCst);
                }
                on
            }
            _ => false,
        }
    }

    /// A NIC over a datagram socket that stands in for a tap with the virtio-net header.
    #[cfg(test)]
    pub(crate) fn over_vnet_socket(fd: OwnedFd, mac: [u8; 6]) -> Nic {
        let mut nic = Nic::over_socket(fd, false, mac);
        if let Backend::Tap { vnet, .. } = &mut nic.backend {
            *vnet = true;
        }
        nic
    }
}

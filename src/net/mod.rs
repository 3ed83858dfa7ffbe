//! The guest network stack: smoltcp with one interface over the guest loopback and, when
//! the loader has one, the uhyve-net NIC ([`device`]), and the BSD sockets on it
//! ([`socket`]).
//!
//! One kernel lock guards the interface and every socket. There is no polling thread: each
//! socket call polls the interface, and a blocked call sleeps on [`EVENTS`] until a poll
//! changed something, the NIC's receive interrupt arrived ([`interrupt`]) or smoltcp's next
//! timer is due (its `poll_delay`). Without pending timers nothing wakes up.
//!
//! Addresses: 127.0.0.1/8 and ::1/128 always; with a NIC the header's `hcip`/`hcmask`/
//! `hcgateway` (DHCPv4 when `hcip` is 0.0.0.0), the IPv6 link-local address from the MAC and
//! those smoltcp's SLAAC forms from router advertisements (with their default routes).
#![forbid(unsafe_code)]

pub mod ack;
pub mod addr;
pub mod arp;
pub mod bound;
pub mod device;
pub mod dns;
pub mod epoll;
pub mod floor;
pub mod frag;
mod hosts;
pub mod keepalive;
pub mod listen;
mod martian;
pub mod multicast;
pub mod neighbors;
pub mod neighbors6;
pub mod netif;
pub mod offload;
pub mod poll;
pub mod pool;
pub mod probe;
mod ra;
pub mod refused;
pub mod reuseport;
mod route;
pub mod socket;
pub mod udpshare;
mod window;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, dns as smoldns};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address};

use crate::errno::{Result, EINTR, ETIMEDOUT};
use crate::synch::futex;
use crate::synch::spinlock::SpinLock;
use device::Device;

/// Adds an interface address, with a warning if smoltcp has no room for it.
macro_rules! push_addr {
    ($addrs:expr, $cidr:expr) => {
        let cidr = $cidr;
        if $addrs.push(cidr).is_err() {
            log::warn!("net: no room for the address {cidr}");
        }
    };
}

/// Whether `cidr` is an address smoltcp's SLAAC formed (IPv6, neither ::1 nor link-local).
fn from_slaac(cidr: &IpCidr) -> bool {
    matches!(cidr, IpCidr::Ipv6(c) if !c.address().is_loopback() && !c.address().is_unicast_link_local())
}

/// Sets the interface's addresses: the NIC's IPv4 address first (smoltcp takes the first
/// IPv4 address as the source of every IPv4 packet whose socket has none, ARP requests
/// included), then 127.0.0.1/8, ::1, the link-local address and the addresses SLAAC had
/// formed (kept: smoltcp adds them again only when an advertisement brings news).
fn set_addrs(iface: &mut Interface, device: &mut Device, v4: Option<Ipv4Cidr>, link_local: Option<Ipv6Address>) {
    iface.update_ip_addrs(|addrs| {
        let slaac: Vec<IpCidr> = addrs.iter().filter(|c| from_slaac(c)).copied().collect();
        addrs.clear();
        if let Some(v4) = v4 {
            push_addr!(addrs, IpCidr::Ipv4(v4));
        }
        push_addr!(addrs, IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        push_addr!(addrs, IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        if let Some(ll) = link_local {
            push_addr!(addrs, IpCidr::new(IpAddress::Ipv6(ll), 64));
        }
        for cidr in slaac {
            push_addr!(addrs, cidr);
        }
    });
    addrs_changed(iface, device);
}

/// After the interface's addresses changed (by us or by SLAAC; smoltcp then flushed its
/// neighbour cache): the device forgets the hosts it had handed smoltcp and learns our IPv6
/// addresses on the NIC and the default router.
fn addrs_changed(iface: &Interface, device: &mut Device) {
    device.forget_neighbors();
    device.neighbors6.set_addrs(iface.ip_addrs().iter().filter_map(|cidr| match cidr {
        IpCidr::Ipv6(c) if !c.address().is_loopback() => Some((c.address().octets(), c.prefix_len())),
        _ => None,
    }));
    let router = iface.routes().get_default_ipv6_route().and_then(|route| match route.via_router {
        IpAddress::Ipv6(router) => Some(router.octets()),
        IpAddress::Ipv4(_) => None,
    });
    device.neighbors6.set_router(router);
}

/// The interface, its device and all sockets.
pub struct Stack {
    /// The smoltcp interface.
    pub iface: Interface,
    /// Every socket of the guest.
    pub sockets: SocketSet<'static>,
    /// Loopback and NIC.
    pub device: Device,
    dhcp: Option<SocketHandle>,
    /// DHCP has given an address (or none was asked for).
    configured: bool,
    /// The IPv6 link-local address, with a NIC.
    link_local: Option<Ipv6Address>,
    /// When SLAAC last changed the addresses or routes (`Interface::slaac_updated_at`) as
    /// [`Stack::poll`] last saw it.
    slaac_seen: Instant,
    /// The DNS client socket, once a server is known.
    pub dns: Option<SocketHandle>,
    /// Its servers.
    pub dns_servers: Vec<IpAddress>,
    /// The offset in 49152..=65535 of the last ephemeral port given out; it starts at a
    /// random one each boot (RFC 6056): from a fixed start every guest's first connection
    /// came from port 49153, and a host that still held the previous guest's connection to
    /// the same server in `TIME_WAIT` answered its SYN with an ACK, so connecting took
    /// smoltcp's one-second retransmission about every other run (`net.curl-tap`).
    next_port: u16,
    /// Ports bound by sockets (UDP and TCP apart), with their families ([`bound`]).
    pub ports: Vec<bound::Port>,
    /// Closed TCP sockets still finishing their connection; freed once `Closed` or
    /// `TIME_WAIT`.
    pub closing: Vec<SocketHandle>,
    /// Uptime (ns) when the NIC was last asked for frames.
    nic_asked_ns: u64,
    /// Uptime (ns) of the next timer the last [`with_stack`] found ([`Stack::delay`]);
    /// `u64::MAX` for none.
    due_ns: u64,
    /// Ended TCP sockets whose buffers new ones reuse.
    pub pool: pool::Pool,
    /// The multicast groups sockets joined ([`multicast`]).
    pub memberships: multicast::Memberships,
    /// The datagrams of UDP ports several sockets share, sorted among them ([`udpshare`]).
    pub shelves: udpshare::Shelves,
    /// Listeners in `SYN_RECEIVED` and the uptime (ns) a sweep first saw each so
    /// ([`Stack::expire_half_open`]).
    half_open: Vec<(SocketHandle, u64)>,
    /// Uptime (ns) of the last such sweep.
    swept_ns: u64,
    /// The listening TCP sockets and their smoltcp listeners.
    pub listens: listen::Listens,
    /// Connecting TCP sockets (their smoltcp timeout is the handshake's) and the timeout
    /// each gets once the handshake ended ([`Stack::end_handshakes`]).
    pub handshakes: Vec<(SocketHandle, Option<Duration>)>,
}

static STACK: SpinLock<Option<Stack>> = SpinLock::new(None);

/// The default TCP buffer, set when the stack is made (0 before): [`socket::TCP_BUFFER`], or
/// [`socket::TCP_BUFFER_OFFLOAD`] with the tap's offloads.
static TCP_DEFAULT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The default TCP buffer of new sockets; makes the stack if there is none yet (so it must
/// not be called under the stack's lock before the stack exists).
pub fn tcp_buffer() -> usize {
    match TCP_DEFAULT.load(Ordering::Relaxed) {
        0 => {
            let _ = with_stack(|_| ());
            TCP_DEFAULT.load(Ordering::Relaxed)
        }
        n => n,
    }
}

/// Bumped whenever a poll may have changed a socket's state (and by the receive interrupt);
/// blocked socket calls, `poll` and `select` sleep on it.
pub static EVENTS: AtomicU32 = AtomicU32::new(0);

/// Set by the NIC's receive interrupt: frames wait in the loader. The loader raises the
/// interrupt for the first frame after a `NETREAD` that found none, so after such a drain
/// nothing can wait unannounced, and a poll asks the NIC only when this is set (or after
/// [`NIC_POLL_NS`], in case an interrupt went astray).
static RX_PENDING: AtomicBool = AtomicBool::new(true);

/// The longest a busy stack goes without asking the NIC even without its interrupt.
const NIC_POLL_NS: u64 = 1_000_000;

/// Most interface rounds of one poll (each sends up to one packet per socket): more than a
/// 64 KiB send buffer in 1500-byte frames.
const POLL_ROUNDS: usize = 64;

/// How long a listener may wait in `SYN_RECEIVED` for the handshake's last ACK before it
/// listens again: lwIP's `TCP_SYN_RCVD_TIMEOUT`, which the original had (Linux gives up
/// after its fifth SYN-ACK, about a minute).
const SYN_RECEIVED_NS: u64 = 20_000_000_000;

/// The share of guest memory (1 / this) the buffers of all TCP sockets may take
/// ([`pool::Pool::take`]): a listening socket's connection beyond it waits (its SYN is
/// dropped), a `connect` fails with `ENOBUFS`.
const TCP_MEMORY_SHARE: u64 = 2;

/// How often [`Stack::expire_half_open`] looks at the sockets.
const SWEEP_NS: u64 = 1_000_000_000;

/// Our MAC address without a NIC (locally administered).
const LOOPBACK_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/// The TCP buffer the loader asks for over its NIC (the header extension's
/// `net_tcp_buffer`), 0 without a NIC or a request.
fn nic_tcp_buffer(nic: bool) -> u64 {
    crate::drivers::hypercall::header_ext().filter(|_| nic).map_or(0, |ext| ext.net_tcp_buffer)
}

fn now() -> Instant {
    Instant::from_micros((crate::time::uptime_ns() / 1000) as i64)
}

impl Stack {
    /// The bound ports changed: which UDP ports sockets share ([`udpshare`]).
    pub fn ports_changed(&mut self) {
        self.shelves.recount(&self.ports);
    }

    fn new() -> Self {
        let nic = crate::drivers::net::probe();
        let mac = nic.unwrap_or(LOOPBACK_MAC);
        let boxed: Option<Box<dyn device::Nic>> = nic.map(|_| Box::new(crate::drivers::net::UhyveNet::new()) as _);
        let mut device = Device::new(EthernetAddress(mac), boxed);
        // Our fragments' identifications start anywhere (RFC 7739).
        device.fragments = frag::Fragments::new(crate::syscalls::misc::random_u64() as u32);
        let offloads = device.offload_stats().is_some();
        let buffer =
            if offloads { socket::TCP_BUFFER_OFFLOAD } else { socket::nic_buffer(nic_tcp_buffer(nic.is_some())) };
        TCP_DEFAULT.store(buffer, Ordering::Relaxed);
        if nic_tcp_buffer(nic.is_some()) != 0 {
            // Behind passt (the one loader that asks for a TCP buffer).
            device.floor = floor::Floor::new(floor::bytes(buffer));
            device.probes.nudges = true;
            device.fragments.cut = false;
        }
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        // smoltcp draws initial sequence numbers and ephemeral values from this seed: without
        // it every boot used the same ones.
        config.random_seed = crate::syscalls::misc::random_u64();
        // Router solicitations, addresses from advertised prefixes, default routes (not
        // without a NIC: smoltcp sends the solicitation from the link-local address).
        config.slaac = nic.is_some();
        BORN_NS.store(crate::time::uptime_ns().max(1), Ordering::Relaxed);
        let mut iface = Interface::new(config, &mut device, now());
        let header = crate::arch::header();
        let ip = Ipv4Address::from(header.hcip);
        let mut dhcp = None;
        let mut sockets = SocketSet::new(vec![]);
        let link_local = nic.map(addr::link_local);
        let mut static_v4 = None;
        if nic.is_some() {
            if ip.is_unspecified() {
                dhcp = Some(sockets.add(dhcpv4::Socket::new()));
            } else {
                static_v4 = Some(Ipv4Cidr::new(ip, addr::prefix_len(header.hcmask)));
                let gateway = Ipv4Address::from(header.hcgateway);
                if !gateway.is_unspecified() {
                    ra::add_ipv4_gateway(&mut iface, gateway);
                    device.neighbors.set_gateway(Some(gateway.octets()));
                }
            }
        }
        set_addrs(&mut iface, &mut device, static_v4, link_local);
        device.ipv4 = static_v4.map(|cidr| cidr.address().octets());
        device.neighbors.set_net(static_v4.map(|cidr| (cidr.address().octets(), cidr.prefix_len())));
        log::info!("net: {} {:?}", if nic.is_some() { "uhyve-net" } else { "loopback only" }, iface.ip_addrs());
        let configured = dhcp.is_none();
        Self {
            iface,
            sockets,
            device,
            dhcp,
            configured,
            link_local,
            slaac_seen: Instant::ZERO,
            dns: None,
            dns_servers: Vec::new(),
            next_port: (crate::syscalls::misc::random_u64() % 16384) as u16,
            ports: Vec::new(),
            closing: Vec::new(),
            nic_asked_ns: 0,
            due_ns: 0,
            pool: pool::Pool::new(pool::POOL_BYTES, (crate::mm::ram_bytes() / TCP_MEMORY_SHARE) as usize),
            memberships: multicast::Memberships::default(),
            shelves: udpshare::Shelves::new(crate::syscalls::misc::random_u64()),
            half_open: Vec::new(),
            handshakes: Vec::new(),
            swept_ns: 0,
            listens: listen::Listens::new(crate::syscalls::misc::random_u64()),
        }
    }

    /// Puts back to listening every listener that has been in `SYN_RECEIVED` for
    /// [`SYN_RECEIVED_NS`]: the handshake's last ACK never came (a peer that vanished, or a
    /// SYN with a forged source). smoltcp keeps such a socket for ever, and each counts in
    /// its listening socket's backlog ([`listen`]): as many SYNs from a host that never
    /// answers left a server refusing every connection until it ended. Looked at most every
    /// [`SWEEP_NS`], before the poll takes new frames (so a connection that comes then finds
    /// a listener again); the time counts from the first sweep that saw the socket so. The
    /// listening sockets are tidied then too ([`listen::Listens::tidy`]).
    fn expire_half_open(&mut self, uptime: u64) {
        use smoltcp::socket::{tcp, Socket};
        if uptime.saturating_sub(self.swept_ns) < SWEEP_NS {
            return;
        }
        self.swept_ns = uptime;
        let mut still = Vec::new();
        for (handle, socket) in self.sockets.iter_mut() {
            let Socket::Tcp(socket) = socket else { continue };
            let endpoint = socket.listen_endpoint();
            if socket.state() != tcp::State::SynReceived || endpoint.port == 0 {
                continue;
            }
            let since = self.half_open.iter().find(|&&(h, _)| h == handle).map_or(uptime, |&(_, since)| since);
            if uptime - since < SYN_RECEIVED_NS {
                still.push((handle, since));
                continue;
            }
            // No reset for the peer: it did not answer (as Linux drops an expired request).
            socket.abort();
            if socket.listen(endpoint).is_err() {
                log::warn!("net: a listener on port {} could not listen again", endpoint.port);
            }
        }
        self.half_open = still;
        self.listens.tidy(&mut self.sockets, &mut self.pool);
    }

    /// Gives each connecting socket whose handshake ended its timeout after the handshake
    /// (keep-alive's, or none: [`keepalive`]), whether or not the program looks at it: the
    /// handshake's would close an idle connection that long after the peer's last segment.
    fn end_handshakes(&mut self) {
        use smoltcp::socket::tcp;
        let sockets = &mut self.sockets;
        self.handshakes.retain(|&(handle, after)| {
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            if socket.state() == tcp::State::SynSent {
                return true;
            }
            socket.set_timeout(after);
            false
        });
    }

    /// Whether nothing can wait for a poll since the last one: no receive interrupt or
    /// signal, the NIC asked within [`NIC_POLL_NS`], no loopback frame, no timer due. A
    /// socket call's first poll is left out then: smoltcp's sends and timers look at every
    /// socket (about 22 ns each: a `recv` that found nothing beside 64 open connections
    /// took 5.9 µs, 3.2 without it). A frame that reaches the descriptor rings later is
    /// announced (a poll that empties the receive ring asks for the signal), and the signal
    /// makes the next call poll and wakes the waiters.
    fn quiet(&self) -> bool {
        let uptime = crate::time::uptime_ns();
        self.nothing_arrived(uptime) && uptime < self.due_ns
    }

    /// Whether no frame can wait to be taken at `uptime`: no receive interrupt or signal,
    /// the NIC asked within [`NIC_POLL_NS`], no loopback frame.
    fn nothing_arrived(&self, uptime: u64) -> bool {
        !RX_PENDING.load(Ordering::SeqCst)
            && uptime.saturating_sub(self.nic_asked_ns) < NIC_POLL_NS
            && !self.device.loopback_pending()
    }

    /// After a socket call: smoltcp's (and the probes') next timer if a poll would do
    /// nothing now, else `None`. A poll walks every socket at least twice (sending, then the
    /// next timer; beside 64 connections of an epoll server over a tap about 6,000 cycles a
    /// walk), and most calls queue nothing: a `recv` that found nothing or took a request,
    /// an `accept`. When nothing arrived and no frame of ours waits to be flushed, one walk
    /// tells: smoltcp's `poll_at` mirrors the start of each socket's dispatch (data, a flag,
    /// a window update or an ACK to send now answers zero).
    fn settled(&mut self) -> Option<Option<Duration>> {
        if !self.nothing_arrived(crate::time::uptime_ns()) || self.device.tx_waiting() {
            return None;
        }
        let delay = self.delay();
        delay.is_none_or(|d| d > Duration::ZERO).then_some(delay)
    }

    /// Polls the interface until it has nothing left to do; true if a socket may have
    /// changed.
    fn poll(&mut self) -> bool {
        let mut changed = false;
        let uptime = crate::time::uptime_ns();
        if RX_PENDING.swap(false, Ordering::SeqCst) || uptime.saturating_sub(self.nic_asked_ns) >= NIC_POLL_NS {
            self.device.poll_nic();
            self.nic_asked_ns = uptime;
        }
        self.expire_half_open(uptime);
        self.probe();
        // smoltcp sends at most one packet per socket and round, and loopback frames
        // produced by one round are received in the next one: go on while rounds do
        // something (a send fills the window in one call, not one segment per call).
        let mut taken = 0;
        let mut round = now();
        for _ in 0..POLL_ROUNDS {
            round = now();
            let (iface, device, sockets) = (&mut self.iface, &mut self.device, &mut self.sockets);
            let (listens, pool, closing) = (&mut self.listens, &mut self.pool, &mut self.closing);
            let (busy, took) = listen::poll_round(iface, round, device, sockets, listens, pool, closing);
            changed |= busy;
            changed |= udpshare::settle(sockets, &self.ports, &mut self.shelves, pool, iface.ip_addrs());
            taken += took;
            if !busy && !self.device.loopback_pending() {
                break;
            }
        }
        self.listens.polled(taken);
        self.end_handshakes();
        // smoltcp applies what an advertisement brought at its next round: now.
        ra::maintain(&mut self.iface, now());
        let slaac = self.iface.slaac_updated_at();
        if slaac != self.slaac_seen {
            self.slaac_seen = slaac;
            addrs_changed(&self.iface, &mut self.device);
            let slaac: Vec<IpCidr> = self.iface.ip_addrs().iter().filter(|c| from_slaac(c)).copied().collect();
            let router = self.iface.routes().get_default_ipv6_route().map(|r| r.via_router);
            log::info!("net: router advertisements: addresses {slaac:?}, default router {router:?}");
            changed = true;
        }
        self.device.flush();
        if self.device.take_nic_rx() > 0 {
            changed = true;
        }
        self.dhcp_events();
        self.pool.reap(&mut self.iface, &mut self.sockets, &mut self.closing, round);
        changed
    }

    /// Sends the zero-window probes that are due ([`probe`]) for connections with data queued.
    fn probe(&mut self) {
        let now = u64::try_from(now().total_micros()).unwrap_or(0);
        if self.device.probes.next_due().is_none_or(|at| at > now) {
            return;
        }
        let sockets = &self.sockets;
        self.device.probe(now, |flow| {
            sockets.iter().any(|(_, socket)| {
                let smoltcp::socket::Socket::Tcp(tcp) = socket else { return false };
                let (Some(local), Some(remote)) = (tcp.local_endpoint(), tcp.remote_endpoint()) else { return false };
                let addr = |a: IpAddress| match a {
                    IpAddress::Ipv4(v4) => probe::flow_addr(&v4.octets()),
                    IpAddress::Ipv6(v6) => v6.octets(),
                };
                tcp.send_queue() > 0 && *flow == (addr(local.addr), local.port, addr(remote.addr), remote.port)
            })
        });
    }

    fn dhcp_events(&mut self) {
        let Some(handle) = self.dhcp else { return };
        let event = self.sockets.get_mut::<dhcpv4::Socket>(handle).poll();
        match event {
            Some(dhcpv4::Event::Configured(config)) => {
                log::info!("net: DHCP gave {} via {:?}", config.address, config.router);
                set_addrs(&mut self.iface, &mut self.device, Some(config.address), self.link_local);
                self.device.ipv4 = Some(config.address.address().octets());
                self.device.neighbors.set_net(Some((config.address.address().octets(), config.address.prefix_len())));
                if let Some(router) = config.router {
                    ra::add_ipv4_gateway(&mut self.iface, router);
                }
                self.device.neighbors.set_gateway(config.router.map(|r| r.octets()));
                self.configured = true;
                let servers: alloc::vec::Vec<IpAddress> =
                    config.dns_servers.iter().map(|s| IpAddress::Ipv4(*s)).collect();
                self.set_dns(&servers);
            }
            Some(dhcpv4::Event::Deconfigured) => {
                set_addrs(&mut self.iface, &mut self.device, None, self.link_local);
                self.device.ipv4 = None;
                self.device.neighbors.set_net(None);
                self.device.neighbors.set_gateway(None);
                self.iface.routes_mut().remove_default_ipv4_route();
            }
            None => {}
        }
    }

    fn set_dns(&mut self, servers: &[IpAddress]) {
        if let Some(old) = self.dns.take() {
            self.sockets.remove(old);
        }
        self.dns_servers = servers.to_vec();
        if !servers.is_empty() {
            let slots: Vec<Option<smoldns::DnsQuery>> = (0..4).map(|_| None).collect();
            self.dns = Some(self.sockets.add(smoldns::Socket::new(servers, slots)));
        }
    }

    /// The DNS socket, created with the gateway (or 10.0.2.3 under user-mode networking) as
    /// server if DHCP named none.
    pub fn dns_socket(&mut self) -> Option<SocketHandle> {
        if self.dns.is_none() && self.device.has_nic() {
            let header = crate::arch::header();
            let gateway = Ipv4Address::from(header.hcgateway);
            let server = if gateway.is_unspecified() { Ipv4Address::new(10, 0, 2, 3) } else { gateway };
            self.set_dns(&[IpAddress::Ipv4(server)]);
        }
        self.dns
    }

    /// Whether a UDP payload of `len` bytes to `dest` cannot leave (`EMSGSIZE`): its packet
    /// longer than the IP MTU smoltcp believes (64 KiB with a NIC: 65,507 bytes over IPv4,
    /// 65,487 over IPv6, where Linux takes 65,527; smoltcp would drop it), or than the NIC's
    /// MTU where its link takes no IP fragments (behind passt) and `dest` is not the guest
    /// itself (as Linux with `IP_MTU_DISCOVER` set to `IP_PMTUDISC_DO`); elsewhere the device
    /// cuts such a datagram into fragments ([`frag`]).
    pub fn datagram_too_long(&self, len: usize, dest: IpAddress) -> bool {
        let (header, loopback) = match dest {
            IpAddress::Ipv4(v4) => (20 + 8, v4.is_loopback()),
            IpAddress::Ipv6(v6) => (40 + 8, v6.is_loopback()),
        };
        if len + header > self.device.ip_mtu() {
            return true;
        }
        let Some(mtu) = self.device.nic_mtu().filter(|_| !self.device.fragments.cut) else { return false };
        len + header > mtu && !loopback && !self.iface.has_ip_addr(dest)
    }

    /// A free ephemeral port (49152..=65535) not used by a socket of `used`.
    pub fn ephemeral_port(&mut self, used: impl Fn(&Self, u16) -> bool) -> u16 {
        for _ in 0..16384 {
            self.next_port = self.next_port.wrapping_add(1) % 16384;
            let port = 49152 + self.next_port;
            if !used(self, port) {
                return port;
            }
        }
        49152
    }

    /// How long until smoltcp next needs a poll (`None`: no timer pending).
    fn delay(&mut self) -> Option<Duration> {
        let now = now();
        let smoltcp = self.iface.poll_delay(now, &self.sockets);
        let probe = self
            .device
            .probes
            .next_due()
            .map(|at| Duration::from_micros(at.saturating_sub(u64::try_from(now.total_micros()).unwrap_or(0))));
        match (smoltcp, probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Runs `f` on the stack (created at the first use), polling before it (unless
/// [`Stack::quiet`]) and after it (unless [`Stack::settled`]); wakes every waiter if anything
/// may have changed. Returns `f`'s result and the delay until smoltcp's next timer.
pub fn with_stack<R>(f: impl FnOnce(&mut Stack) -> R) -> (R, Option<Duration>) {
    let mut guard = STACK.lock();
    let stack = guard.get_or_insert_with(Stack::new);
    let mut changed = !stack.quiet() && stack.poll();
    let result = f(stack);
    let delay = stack.settled().unwrap_or_else(|| {
        changed |= stack.poll();
        stack.delay()
    });
    stack.due_ns =
        delay.map_or(u64::MAX, |d| crate::time::uptime_ns().saturating_add(d.total_micros().saturating_mul(1000)));
    set_timer_due(delay);
    drop(guard);
    if changed {
        notify();
    }
    (result, delay)
}

/// TSC time of smoltcp's next timer when it is near ([`TIMER_NEAR`]: a delayed ACK), else
/// 0: an idle core polls the stack then ([`idle_poll`], and a halting core's timer), so that
/// a delayed ACK leaves although no socket call of the program is under way.
static TIMER_DUE: AtomicU64 = AtomicU64::new(0);

/// Timers at most this far ahead are served by idle cores ([`TIMER_DUE`]); later ones
/// (retransmissions, keep-alive) by the blocked calls that wait for them, as before.
const TIMER_NEAR: Duration = Duration::from_millis(2);

/// The shortest wait [`TIMER_DUE`] asks for: a timer smoltcp reports due at once (a frame
/// it could not send) does not make idle cores poll without pause.
const TIMER_MIN_NS: u64 = 20_000;

/// Records when smoltcp's next timer is due, if it is near (under the stack's lock).
fn set_timer_due(delay: Option<Duration>) {
    let due = match delay {
        Some(d) if d <= TIMER_NEAR => {
            let ns = (d.total_micros() * 1000).max(TIMER_MIN_NS);
            crate::time::deadline_after(ns)
        }
        _ => 0,
    };
    TIMER_DUE.store(due, Ordering::Relaxed);
}

/// When an idle core must poll the stack for a near timer (a delayed ACK), as a TSC time;
/// `None` for none. The scheduler wakes a halting core then.
pub fn timer_due() -> Option<u64> {
    Some(TIMER_DUE.load(Ordering::Relaxed)).filter(|&due| due != 0)
}

/// How long the end of the program waits for TCP data still on its way.
const EXIT_DRAIN_NS: u64 = 2_000_000_000;

/// At the end of the program: waits (at most two seconds) until every TCP connection has
/// sent and had acknowledged what the program wrote, its FIN included, so that a server's
/// last reply is not lost with the VM (Linux keeps sending after a process ended; here the
/// VM ends with the program). Nothing if the program never used the network.
pub fn drain_before_exit() {
    {
        let guard = STACK.lock();
        let Some(stack) = guard.as_ref() else { return };
        let pool = &stack.pool;
        log::info!(
            "net: TCP sockets: {} made, {} reused; {} ({} KiB of buffers) left in the pool",
            pool.made,
            pool.reused,
            pool.len(),
            pool.bytes() >> 10
        );
        log::info!(
            "net: {} listeners armed after a SYN took one, at most {} in one poll; SYNs dropped: {} for a full backlog, {} short of memory",
            stack.listens.rearmed,
            stack.listens.burst,
            stack.listens.turned_away,
            stack.listens.short_of_memory
        );
        if let Some((parked, stalled)) = crate::drivers::net_ring::kick_counts() {
            log::info!(
                "net: transmit ring kicks: {parked} for a parked poller, {stalled} for a stalled one; {} receives by idle cores",
                crate::drivers::net_ring::idle_receives()
            );
        }
        if stack.device.bad_checksums > 0 {
            log::info!("net: {} received TCP and UDP packets dropped for a bad checksum", stack.device.bad_checksums);
        }
        if stack.device.oversize > 0 {
            log::info!("net: {} received packets longer than the MTU (not TCP) dropped", stack.device.oversize);
        }
        if stack.device.martians > 0 {
            log::info!(
                "net: {} received frames dropped for claiming loopback or our own addresses (or a multicast prefix)",
                stack.device.martians
            );
        }
        let fragments = stack.device.fragments.stats;
        if fragments != frag::Stats::default() {
            log::info!(
                "net: IP fragments: {} datagrams put back together, {} given up or bad, {} packets of ours sent in fragments, {} too long dropped",
                fragments.reassembled,
                fragments.dropped,
                fragments.fragmented,
                fragments.unsent
            );
        }
        let (neighbors, neighbors6) = (&stack.device.neighbors, &stack.device.neighbors6);
        if neighbors.fed + neighbors.asks + neighbors6.fed + neighbors6.asks > 0 {
            log::info!(
                "net: {} hosts of the segment handed to smoltcp, {} ARP requests of ours; IPv6: {} hosts, {} solicitations of ours",
                neighbors.fed,
                neighbors.asks,
                neighbors6.fed,
                neighbors6.asks
            );
        }
        let floor = &stack.device.floor;
        if floor.bytes() > 0 {
            log::info!(
                "net: {} TCP windows below the floor of {} KiB advertised as zero",
                floor.zeroed,
                floor.bytes() >> 10
            );
        }
        let probes = &stack.device.probes;
        if probes.sent + probes.nudged + probes.tails + probes.resent > 0 {
            log::info!(
                "net: {} zero-window probes of ours sent, {} third duplicate ACKs given to smoltcp, {} lost tails (three ACK copies each), {} segments sent again",
                probes.sent,
                probes.nudged,
                probes.tails,
                probes.resent
            );
        }
        if let Some(stats) = stack.device.offload_stats() {
            log::info!(
                "net: offloads: {} GSO frames sent, {} received frames with a bad checksum, {} too large frames dropped",
                stats.gso_sent,
                stats.bad_checksum,
                stats.too_large
            );
        }
    }
    let deadline = crate::time::deadline_after(EXIT_DRAIN_NS);
    loop {
        let seen = EVENTS.load(Ordering::SeqCst);
        let (pending, delay) = with_stack(|stack| {
            // A closed socket in `TIME_WAIT` that owes its peer an ACK ([`pool::Pool::reap`]).
            pool::Pool::acknowledging(&stack.sockets, &stack.closing)
                || stack.sockets.iter().any(|(_, socket)| match socket {
                    smoltcp::socket::Socket::Tcp(tcp) => {
                        use smoltcp::socket::tcp::State;
                        tcp.send_queue() > 0 || matches!(tcp.state(), State::FinWait1 | State::Closing | State::LastAck)
                    }
                    _ => false,
                })
        });
        if !pending || wait(seen, delay, Some(deadline)).is_err() {
            return;
        }
    }
}

/// How long a call that needs an address waits for DHCP.
const DHCP_WAIT_NS: u64 = 5_000_000_000;

/// Waits (at most five seconds) until DHCP configured the interface, if it was asked to:
/// the original configured the network before `main`, so programs connect at once.
pub fn wait_configured() -> Result<()> {
    let deadline = crate::time::deadline_after(DHCP_WAIT_NS);
    loop {
        let seen = EVENTS.load(Ordering::SeqCst);
        let (configured, delay) = with_stack(|stack| stack.configured);
        if configured {
            return Ok(());
        }
        match wait(seen, delay, Some(deadline)) {
            Err(ETIMEDOUT) => return Ok(()),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
}

/// How long after the stack was made a connection to an IPv6 address beyond the link-local
/// scope waits for a router advertisement, if no SLAAC address exists yet: routers answer a
/// solicitation within half a second (RFC 4861's `MAX_RA_DELAY_TIME`).
const RA_WAIT_NS: u64 = 1_000_000_000;

/// Uptime (ns) when the stack was made and SLAAC sent its first router solicitation; 0 before.
static BORN_NS: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds left of [`RA_WAIT_NS`] after the stack was made (all of it before).
fn ra_wait_left() -> u64 {
    match BORN_NS.load(Ordering::Relaxed) {
        0 => RA_WAIT_NS,
        born => (born + RA_WAIT_NS).saturating_sub(crate::time::uptime_ns()),
    }
}

/// Waits (at most until [`RA_WAIT_NS`] after the stack was made) until SLAAC formed an
/// address, if `addr` is an IPv6 address that needs one: smoltcp solicits routers when the
/// stack is made, at the program's first socket call, and a connection started before the
/// advertisement came would have left from the link-local address, which no router forwards.
pub fn wait_routable(addr: IpAddress) -> Result<()> {
    let IpAddress::Ipv6(v6) = addr else { return Ok(()) };
    if v6.is_loopback() || v6.is_unicast_link_local() || v6.is_multicast() || v6.is_unspecified() {
        return Ok(());
    }
    loop {
        // Past the first second (every call but the program's first ones) the stack is not
        // looked at: a datagram to such an address would otherwise poll it twice more.
        if ra_wait_left() == 0 {
            return Ok(());
        }
        let seen = EVENTS.load(Ordering::SeqCst);
        let (ready, delay) =
            with_stack(|stack| !stack.device.has_nic() || stack.iface.ip_addrs().iter().any(from_slaac));
        let left = ra_wait_left();
        if ready || left == 0 {
            return Ok(());
        }
        let deadline = crate::time::deadline_after(left);
        match wait(seen, delay, Some(deadline)) {
            Err(ETIMEDOUT) => return Ok(()),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
}

/// Wakes every task waiting for network (or pipe) events.
pub fn notify() {
    EVENTS.fetch_add(1, Ordering::SeqCst);
    futex::wake(&EVENTS, usize::MAX);
}

/// Wakes the network's waiters (they poll, and ask the NIC) if the NIC's receive interrupt
/// arrived on this core since the last check (the trampoline sets a per-core flag; the
/// scheduler calls this after a halt and on preemption), or the loader signalled frames in
/// the header extension.
pub fn check_interrupt() {
    // A load first: idle cores call this at every turn of their spin, and a swap would
    // write the per-core block (which other cores write to wake this one) each time.
    let flag = &crate::arch::percore().net_irq;
    let irq = flag.load(Ordering::Relaxed) != 0 && flag.swap(0, Ordering::Relaxed) != 0;
    if irq | crate::drivers::net::take_rx_signal() {
        frames_wait();
    }
}

fn frames_wait() {
    RX_PENDING.store(true, Ordering::SeqCst);
    notify();
}

/// An idle core starts to spin: it polls for received frames until [`idle_end`], so the
/// loader need not interrupt anyone (`FEATURE_NET_NOTIFY`). True if it polls.
pub fn idle_begin() -> bool {
    crate::drivers::net::start_polling()
}

/// While an idle core spins (after [`idle_begin`] returned true): wakes the network's
/// waiters if frames wait or the receive interrupt arrived, and kicks the loader if
/// transmit-ring frames wait for a stalled poller; during a bulk receive with the receive
/// ring empty it reads the tap through the loader instead (`net_ring::idle_receive`, not
/// past `due`, the TSC of the core's next deadline). A few loads when nothing happened.
pub fn idle_poll(due: u64) {
    let timer = TIMER_DUE.load(Ordering::Relaxed);
    crate::drivers::net_ring::idle_receive(if timer != 0 { due.min(timer) } else { due });
    check_interrupt();
    crate::drivers::net_ring::tx_watchdog();
    let due = TIMER_DUE.load(Ordering::Relaxed);
    if due != 0 && crate::arch::rdtsc() >= due && TIMER_DUE.swap(0, Ordering::Relaxed) != 0 {
        let _ = with_stack(|_| ());
    }
}

/// TSC of the last `recv` that took data for a bulk receiver ([`ack::Ack::bulk`]) over a
/// NIC without offloads (behind passt); 0: none yet. Over a tap with offloads the host's
/// 64 KiB frames come through the poller and the cut spin was no gain (host -> guest 16 KiB
/// writes 1049 against 1189 MiB/s, medians of 6 interleaved pairs at load 0.4-4): not there.
static BULK_RX_AT: AtomicU64 = AtomicU64::new(0);

/// How long after such a `recv` an idle core spins at most [`BULK_SPIN_NS`].
const BULK_WINDOW_NS: u64 = 10_000_000;

/// The idle spin while a stream is being received: its data comes in bursts the host
/// makes on the CPUs the spinning vCPU would take from it (behind passt the stack's peer
/// is passt and its host socket, two more threads on the host's CPUs), and it waits for
/// the next burst as well woken by the receive interrupt.
const BULK_SPIN_NS: u64 = 50_000;

/// A `recv` took data for a bulk receiver.
fn bulk_received() {
    BULK_RX_AT.store(crate::arch::rdtsc(), Ordering::Relaxed);
}

/// How many TSC cycles an idle core should spin before it halts: `spin`, or at most
/// [`BULK_SPIN_NS`] within [`BULK_WINDOW_NS`] of a bulk receiver's `recv`.
pub fn idle_spin(spin: u64) -> u64 {
    let at = BULK_RX_AT.load(Ordering::Relaxed);
    let clock = crate::time::clock();
    if at != 0 && crate::arch::rdtsc().wrapping_sub(at) < clock.ns_to_cycles(BULK_WINDOW_NS) {
        spin.min(clock.ns_to_cycles(BULK_SPIN_NS))
    } else {
        spin
    }
}

/// The spinning core stops polling (it halts or runs a task); wakes the waiters if frames
/// were announced until then.
pub fn idle_end() {
    if crate::drivers::net::stop_polling() {
        frames_wait();
    }
}

/// Sleeps until [`EVENTS`] moves on from `seen`, smoltcp's timer `delay` is due or the TSC
/// `deadline` passes. `ETIMEDOUT` only for the caller's deadline; `EINTR` for a signal,
/// except without a deadline after handlers that restart calls
/// ([`futex::wait_restarting`]): the caller then looks again and waits on, as Linux restarts
/// a blocking socket call without a timeout.
pub fn wait(seen: u32, delay: Option<Duration>, deadline: Option<u64>) -> Result<()> {
    let now = crate::arch::rdtsc();
    if deadline.is_some_and(|d| now >= d) {
        return Err(ETIMEDOUT);
    }
    let timer = delay.map(|d| now + crate::time::clock().ns_to_cycles(d.total_micros().max(1) * 1000));
    let wake_at = match (timer, deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    // A timed call is not restarted (Linux's rule for sockets with a timeout).
    let result = if deadline.is_some() {
        futex::wait(&EVENTS, seen, wake_at)
    } else {
        futex::wait_restarting(&EVENTS, seen, wake_at)
    };
    match result {
        Err(EINTR) => Err(EINTR),
        _ => Ok(()),
    }
}

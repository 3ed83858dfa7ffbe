//! Name lookups through smoltcp's DNS client: the server from DHCP, else the gateway (or
//! 10.0.2.3, the user-mode convention). Only with a NIC; "localhost" and numeric names are
//! the C library's (`getaddrinfo`).

use smoltcp::socket::dns::{self, GetQueryResultError};
use smoltcp::wire::{DnsQueryType, IpAddress};

use super::{with_stack, EVENTS};
use crate::errno::{Result, EAGAIN, EHOSTUNREACH, EINVAL, ENOENT, ETIMEDOUT};

/// How long one lookup may take.
const TIMEOUT_NS: u64 = 10_000_000_000;

/// The addresses of `name` (`A` records, or `AAAA` if `v6`); `ENOENT` if there are none,
/// `EHOSTUNREACH` without a NIC, `ETIMEDOUT` after ten seconds, `EINTR` for a signal.
pub fn lookup(name: &str, v6: bool) -> Result<alloc::vec::Vec<IpAddress>> {
    let kind = if v6 { DnsQueryType::Aaaa } else { DnsQueryType::A };
    super::wait_configured()?;
    let (started, _) = with_stack(|stack| {
        let handle = stack.dns_socket().ok_or(EHOSTUNREACH)?;
        let now = crate::time::uptime_ns();
        for &server in &stack.dns_servers {
            stack.device.resolve(server, now);
        }
        let cx = stack.iface.context();
        let socket = stack.sockets.get_mut::<dns::Socket>(handle);
        socket.start_query(cx, name, kind).map(|q| (handle, q)).map_err(|e| match e {
            dns::StartQueryError::NoFreeSlot => EAGAIN,
            _ => EINVAL,
        })
    });
    let (handle, query) = started?;
    let deadline = crate::time::deadline_after(TIMEOUT_NS);
    loop {
        let seen = EVENTS.load(core::sync::atomic::Ordering::SeqCst);
        let (result, delay) =
            with_stack(|stack| match stack.sockets.get_mut::<dns::Socket>(handle).get_query_result(query) {
                Ok(addrs) => Some(Ok(addrs.iter().copied().collect())),
                Err(GetQueryResultError::Pending) => None,
                Err(GetQueryResultError::Failed) => Some(Err(ENOENT)),
            });
        if let Some(result) = result {
            return result;
        }
        if let Err(e) = super::wait(seen, delay, Some(deadline)) {
            with_stack(|stack| stack.sockets.get_mut::<dns::Socket>(handle).cancel_query(query));
            return Err(if e == ETIMEDOUT { ETIMEDOUT } else { e });
        }
    }
}

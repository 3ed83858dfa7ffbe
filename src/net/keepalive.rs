//! TCP keep-alive and handshake timing: Linux's options mapped onto smoltcp's two timers.
//!
//! smoltcp has one keep-alive interval (a probe after each such silence) and one timeout (the
//! connection is aborted once the peer has been silent that long while smoltcp waits for it:
//! a handshake, data in flight, or keep-alive probes). Linux has `TCP_KEEPIDLE` (silence
//! before the first probe), `TCP_KEEPINTVL` (between probes) and `TCP_KEEPCNT` (unanswered
//! probes before the abort), and `TCP_SYNCNT` (SYN retransmissions before `connect` gives
//! up). Mapped so that a dead peer or an address that never answers is given up at the time
//! Linux gives it up; deviation: smoltcp probes after the shorter of idle and interval, so an
//! idle connection is probed sooner than on Linux (harmless traffic, never an abort sooner).

use smoltcp::time::Duration;

/// `TCP_KEEPIDLE` by default (Linux's `tcp_keepalive_time`), in milliseconds: lwIP's
/// `TCP_KEEPALIVE` option sets it in milliseconds, `TCP_KEEPIDLE` in seconds.
pub const IDLE_MS: u64 = 7_200_000;
/// `TCP_KEEPINTVL` by default (`tcp_keepalive_intvl`), seconds.
pub const INTERVAL_S: u32 = 75;
/// `TCP_KEEPCNT` by default (`tcp_keepalive_probes`).
pub const COUNT: u32 = 9;
/// `TCP_SYNCNT` by default (`tcp_syn_retries`): `connect` gives up after 127 s.
pub const SYN_COUNT: u32 = 6;
/// Linux's limit for `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (`MAX_TCP_KEEPIDLE`), seconds.
const MAX_SECONDS: u32 = 32_767;
/// Linux's limit for `TCP_KEEPCNT` (`MAX_TCP_KEEPCNT`).
const MAX_COUNT: u32 = 127;
/// Linux's limit for `TCP_SYNCNT` (`MAX_TCP_SYNCNT`).
const MAX_SYN_COUNT: u32 = 127;

/// `n` if it lies in `1..=max`, the range Linux accepts for these options.
fn within(n: i32, max: u32) -> Option<u32> {
    u32::try_from(n).ok().filter(|n| (1..=max).contains(n))
}

/// A `TCP_KEEPIDLE` or `TCP_KEEPINTVL` value in seconds, if Linux accepts it.
pub fn seconds(n: i32) -> Option<u32> {
    within(n, MAX_SECONDS)
}

/// A `TCP_KEEPCNT` value, if Linux accepts it.
pub fn count(n: i32) -> Option<u32> {
    within(n, MAX_COUNT)
}

/// A `TCP_SYNCNT` value, if Linux accepts it.
pub fn syn_count(n: i32) -> Option<u32> {
    within(n, MAX_SYN_COUNT)
}

/// A socket's keep-alive settings (`SO_KEEPALIVE` and the three `TCP_KEEP*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// `SO_KEEPALIVE`.
    pub on: bool,
    /// `TCP_KEEPIDLE` in milliseconds.
    pub idle_ms: u64,
    /// `TCP_KEEPINTVL` in seconds.
    pub interval_s: u32,
    /// `TCP_KEEPCNT`.
    pub count: u32,
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self { on: false, idle_ms: IDLE_MS, interval_s: INTERVAL_S, count: COUNT }
    }
}

impl KeepAlive {
    /// smoltcp's keep-alive interval and timeout, if keep-alive is on.
    pub fn timers(&self) -> Option<(Duration, Duration)> {
        if !self.on {
            return None;
        }
        let interval = Duration::from_secs(u64::from(self.interval_s));
        let idle = Duration::from_millis(self.idle_ms);
        let probe = if idle < interval { idle } else { interval };
        Some((probe, idle + interval * self.count))
    }
}

impl KeepAlive {
    /// smoltcp's timeout once a connection's keep-alive options changed from `before`, its
    /// peer last heard at most `age` ago (smoltcp counts from the peer's last segment), if
    /// keep-alive is on. As Linux: `SO_KEEPALIVE` turned on probes first `TCP_KEEPIDLE` later;
    /// with it on, a new `TCP_KEEPIDLE` probes that long after the peer's last segment, or at
    /// once if that time passed; `TCP_KEEPCNT` probes later the connection is given up. With
    /// the age as the silence so far (the most it can be), the abort comes no sooner than on
    /// Linux, at most the connection's age later (exactly on time while the age is within the
    /// idle time of a change with keep-alive on).
    pub fn abort_after(&self, before: &KeepAlive, age: Duration) -> Option<Duration> {
        let (_, abort) = self.timers()?;
        let idle = Duration::from_millis(self.idle_ms);
        Some(if !before.on {
            abort + age
        } else if age > idle {
            abort - idle + age
        } else {
            abort
        })
    }
}

/// How long `connect` waits for the handshake with `syn_count` retransmissions, as Linux
/// waits: its retransmission timeout starts at 1 s and doubles up to 120 s, and it gives up
/// one timeout after the last SYN (1 + 2 + ... + 64 = 127 s for the default 6). smoltcp's
/// own timeout also starts at 1 s and doubles.
pub fn syn_timeout(syn_count: u32) -> Duration {
    let secs: u64 = (0..=syn_count.min(MAX_SYN_COUNT)).map(|i| (1u64 << i.min(7)).min(120)).sum();
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_defaults_give_up_when_linux_does() {
        assert_eq!(KeepAlive::default().timers(), None);
        let on = KeepAlive { on: true, ..KeepAlive::default() };
        // 7200 s of silence, then 9 probes 75 s apart: 2 h 11 min 15 s.
        assert_eq!(on.timers(), Some((Duration::from_secs(75), Duration::from_secs(7875))));
        assert_eq!(syn_timeout(SYN_COUNT), Duration::from_secs(127));
        assert_eq!(syn_timeout(2), Duration::from_secs(7));
        assert_eq!(syn_timeout(8), Duration::from_secs(127 + 120 + 120));
    }

    #[test]
    fn a_short_idle_probes_at_the_idle_time() {
        let k = KeepAlive { on: true, idle_ms: 1000, interval_s: 2, count: 3 };
        assert_eq!(k.timers(), Some((Duration::from_secs(1), Duration::from_secs(7))));
    }

    #[test]
    fn keep_alive_set_late_gives_up_from_the_silence_so_far() {
        let k = KeepAlive { on: true, idle_ms: 10_000, interval_s: 2, count: 3 };
        let on = KeepAlive { idle_ms: 1000, ..k };
        // A new idle time within the silence so far: idle + 3 x 2 s from the last segment.
        assert_eq!(k.abort_after(&on, Duration::from_secs(4)), Some(Duration::from_secs(16)));
        // Silent for 60 s already: the first probe at once, the abort 6 s later.
        assert_eq!(k.abort_after(&on, Duration::from_secs(60)), Some(Duration::from_secs(66)));
        // Turned on after 60 s: the first probe 10 s later, the abort 16 s later.
        let off = KeepAlive { on: false, ..k };
        assert_eq!(k.abort_after(&off, Duration::from_secs(60)), Some(Duration::from_secs(76)));
        assert_eq!(off.abort_after(&k, Duration::from_secs(60)), None);
    }

    #[test]
    fn values_outside_linux_s_ranges_are_refused() {
        assert_eq!(seconds(0), None);
        assert_eq!(seconds(-5), None);
        assert_eq!(seconds(32_767), Some(32_767));
        assert_eq!(seconds(32_768), None);
        assert_eq!(count(127), Some(127));
        assert_eq!(count(128), None);
        assert_eq!(syn_count(1), Some(1));
        assert_eq!(syn_count(0), None);
    }
}

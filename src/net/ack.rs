//! When a TCP connection delays its acknowledgements: Linux's quick-ack choice, for smoltcp.
//!
//! smoltcp acknowledges received data at once when it has no ACK delay, so a request's pure
//! ACK left before its answer (over a tap, one more host write on the answer's way, 5-10 us
//! here). A connection that is established, or a listener, delays it by up to
//! [`ACK_DELAY`] instead, so that the answer carries it; smoltcp still acknowledges at once
//! when more than a segment is unacknowledged, a segment is out of order, the window opens
//! wide, or a FIN arrives without data. A connection whose program receives twice without
//! sending in between is a bulk receiver and acknowledges at once again (a delay already
//! running still runs out, once), until the program sends. The handshake of a connecting
//! socket is acknowledged at once. A delayed ACK leaves with the next segment, at the next
//! socket call of the program, when a blocked socket call's timer is due, or from an idle
//! core ([`super::idle_poll`], and a halting core's timer): a program that computes after
//! a `recv` on a guest whose other cores are busy leaves it until its next socket call, as
//! it leaves frames that arrive meanwhile.

use smoltcp::time::Duration;

/// How long a connection holds back the acknowledgement of received data for an answer to
/// carry it.
pub const ACK_DELAY: Duration = Duration::from_millis(1);

/// The quick-ack state of one connection.
#[derive(Clone, Copy, Default, Debug)]
pub struct Ack {
    /// Established and not a bulk receiver: ACKs are delayed.
    delayed: bool,
    /// The program received data and has not sent since.
    unanswered: bool,
}

impl Ack {
    /// The connection is established: it delays from now on. `Some(ACK_DELAY)` when the
    /// socket's delay must be set.
    pub fn established(&mut self) -> Option<Duration> {
        (!self.delayed).then(|| {
            self.delayed = true;
            ACK_DELAY
        })
    }

    /// The program received data. `Some(None)` when the socket's delay must be turned off
    /// (it received twice without an answer: a bulk receiver).
    pub fn received(&mut self) -> Option<Option<Duration>> {
        if self.unanswered && self.delayed {
            self.delayed = false;
            return Some(None);
        }
        self.unanswered = true;
        None
    }

    /// Whether the connection is a bulk receiver: its program received twice without
    /// sending in between.
    pub fn bulk(&self) -> bool {
        self.unanswered && !self.delayed
    }

    /// The program sent data. `Some(Some(ACK_DELAY))` when the socket's delay must be turned
    /// on again.
    pub fn sent(&mut self) -> Option<Option<Duration>> {
        self.unanswered = false;
        self.established().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_response_delays_and_bulk_receiving_does_not() {
        let mut ack = Ack::default();
        assert_eq!(ack.established(), Some(ACK_DELAY));
        assert_eq!(ack.established(), None, "set once");
        // Requests and answers: the delay stays.
        for _ in 0..3 {
            assert_eq!(ack.received(), None);
            assert_eq!(ack.sent(), None);
        }
        // Two receives without an answer: quick ACKs, and they stay quick while receiving.
        assert_eq!(ack.received(), None);
        assert!(!ack.bulk());
        assert_eq!(ack.received(), Some(None));
        assert!(ack.bulk());
        assert_eq!(ack.received(), None);
        // An answer: delayed again.
        assert_eq!(ack.sent(), Some(Some(ACK_DELAY)));
        assert_eq!(ack.sent(), None);
        assert_eq!(ack.received(), None);
    }

    #[test]
    fn a_sender_that_never_receives_keeps_the_delay() {
        let mut ack = Ack::default();
        assert_eq!(ack.sent(), Some(Some(ACK_DELAY)), "sending establishes the delay");
        for _ in 0..3 {
            assert_eq!(ack.sent(), None);
        }
    }
}

//! Pure logic of the NIC: frame size limits, MAC addresses and the length-prefixed stream
//! of qemu's `-netdev stream` protocol that `passt` speaks.

/// Smallest frame the proxy sends: an Ethernet header.
pub const MIN_FRAME: usize = 14;
/// Largest frame the proxy moves in either direction: an Ethernet header and the largest
/// IPv4/IPv6 packet (passt's default MTU is 65520).
pub const MAX_FRAME: usize = 14 + 65535;

/// Parses `xx:xx:xx:xx:xx:xx` (hex digits, `:` or `-` between).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    (mac[0] & 1 == 0).then_some(mac)
}

/// A MAC address from random bytes: unicast and locally administered, as uhyve made them.
pub fn local_mac(mut random: [u8; 6]) -> [u8; 6] {
    random[0] = (random[0] & 0xfe) | 0x02;
    random
}

/// The NETINFO string: `xx:xx:xx:xx:xx:xx` and a NUL (18 bytes).
pub fn mac_string(mac: [u8; 6]) -> [u8; 18] {
    let text = format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    let mut out = [0u8; 18];
    out[..17].copy_from_slice(text.as_bytes());
    out
}

/// A frame with its 4-byte big-endian length in front, as one buffer for one `write`.
pub fn stream_record(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + frame.len());
    out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    out.extend_from_slice(frame);
    out
}

/// Splits the byte stream from `passt` into frames: bytes are read straight into its buffer
/// ([`StreamDecoder::read_from`], up to [`READ_ROOM`] per `recv`) and frames are handed out
/// in place, so a frame is copied once on its way to the guest.
#[derive(Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    /// The first byte not yet handed out.
    start: usize,
    /// The end of the bytes read.
    end: usize,
}

/// Room made for each read from the stream: a socket pair whose send buffer holds a 4 MiB
/// window of passt's frames gives up to this much per `recv`.
pub const READ_ROOM: usize = 256 << 10;

/// The peer sent a length no Ethernet frame has.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLength(pub u32);

impl StreamDecoder {
    /// Makes room for `n` more bytes after the buffered ones: the part of a record not yet
    /// handed out moves to the front when the tail has less.
    fn room(&mut self, n: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.len() - self.end < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < n {
                self.buf.resize(self.end + n, 0);
            }
        }
    }

    /// Appends bytes read from the stream.
    #[cfg(test)]
    pub fn push(&mut self, bytes: &[u8]) {
        self.room(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Reads what the stream socket `fd` holds, up to [`READ_ROOM`] bytes, without waiting
    /// (a `poll` first: the socket is blocking for the writer, and the system-call filter
    /// has no `recvfrom`): the bytes read, 0 at the end of the stream, -1 if nothing waits
    /// or on an error.
    pub fn read_from(&mut self, fd: i32) -> isize {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 0) } <= 0 || pfd.revents & (libc::POLLIN | libc::POLLHUP) == 0 {
            return -1;
        }
        self.room(READ_ROOM);
        let spare = &mut self.buf[self.end..];
        // SAFETY: `read` writes at most `spare.len()` bytes into the live slice `spare`.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        if n > 0 {
            self.end += n as usize;
        }
        n
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, BadLength> {
        let rest = &self.buf[self.start..self.end];
        let Some(header) = rest.get(..4) else { return Ok(None) };
        let len = u32::from_be_bytes(header.try_into().expect("4 bytes"));
        if len as usize > MAX_FRAME {
            return Err(BadLength(len));
        }
        let end = 4 + len as usize;
        if rest.len() < end {
            return Ok(None);
        }
        let at = self.start + 4;
        self.start += end;
        Ok(Some(&self.buf[at..at + len as usize]))
    }

    /// Whether a whole frame is buffered.
    pub fn has_frame(&self) -> bool {
        let rest = &self.buf[self.start..self.end];
        rest.get(..4).is_some_and(|h| {
            let len = u32::from_be_bytes(h.try_into().expect("4 bytes")) as usize;
            len > MAX_FRAME || rest.len() >= 4 + len
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:0a:00:05:02"), Some([2, 0, 10, 0, 5, 2]));
        assert_eq!(parse_mac("02-AB-0a-00-05-02"), Some([2, 0xab, 10, 0, 5, 2]));
        assert_eq!(parse_mac("01:00:5e:00:00:01"), None, "multicast");
        assert_eq!(parse_mac("02:00:0a:00:05"), None);
        assert_eq!(parse_mac("02:00:0a:00:05:2"), None);
        assert_eq!(parse_mac("02:00:0a:00:05:zz"), None);
        let mac = local_mac([0xff; 6]);
        assert_eq!(mac[0], 0xfe);
        assert_eq!(mac[0] & 3, 2);
        assert_eq!(&mac_string([2, 0xab, 0, 1, 2, 3]), b"02:ab:00:01:02:03\0");
    }

    #[test]
    fn stream_frames_split_anywhere() {
        let frames: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 14 + 100 * i as usize]).collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| stream_record(f)).collect();
        for chunk in [1, 3, 7, 64, stream.len()] {
            let mut decoder = StreamDecoder::default();
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                decoder.push(piece);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    got.push(frame.to_vec());
                }
            }
            assert_eq!(got, frames, "chunk {chunk}");
            assert!(!decoder.has_frame());
        }
    }

    #[test]
    fn frames_are_read_from_the_socket_in_big_pieces() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let frames: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 14 + 997 * i as usize]).collect();
        let mut decoder = StreamDecoder::default();
        assert_eq!(decoder.read_from(b.as_raw_fd()), -1, "nothing waits");
        let mut got = Vec::new();
        for chunk in frames.chunks(7) {
            for f in chunk {
                a.write_all(&stream_record(f)).unwrap();
            }
            while decoder.read_from(b.as_raw_fd()) > 0 {}
            while let Some(frame) = decoder.next_frame().unwrap() {
                got.push(frame.to_vec());
            }
        }
        assert_eq!(got, frames);
        drop(a);
        assert_eq!(decoder.read_from(b.as_raw_fd()), 0, "the end of the stream");
    }

    #[test]
    fn oversized_lengths_are_refused() {
        let mut decoder = StreamDecoder::default();
        decoder.push(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(decoder.has_frame());
        assert_eq!(decoder.next_frame(), Err(BadLength(MAX_FRAME as u32 + 1)));
        let mut decoder = StreamDecoder::default();
        decoder.push(&[0, 0, 0, 20, 1, 2]);
        assert!(!decoder.has_frame());
        assert_eq!(decoder.next_frame(), Ok(None));
    }
}

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

/// Splits the byte stream from `passt` into frames.
#[derive(Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    start: usize,
}

/// The peer sent a length no Ethernet frame has.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLength(pub u32);

impl StreamDecoder {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > (1 << 20) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, BadLength> {
        let rest = &self.buf[self.start..];
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
        let rest = &self.buf[self.start..];
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

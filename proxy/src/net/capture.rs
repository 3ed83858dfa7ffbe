//! `HERMIT_CAPTURE_NET`: every frame of the guest's NIC, both ways, into a pcap file, as the
//! original's QEMU `-net dump` wrote `qemu-vlan0.pcap` (classic libpcap format, microsecond
//! timestamps, link type Ethernet, frames up to 65535 bytes kept whole).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The original's file name (QEMU's `-net dump` default), in the working directory.
pub const DEFAULT_FILE: &str = "qemu-vlan0.pcap";

/// Longest frame part recorded (the snapshot length in the file header).
const SNAPLEN: u32 = 65535;

/// An open capture file.
pub struct Capture {
    /// `None` once a write failed.
    file: Mutex<Option<File>>,
}

impl Capture {
    /// Creates (or truncates) `path` and writes the file header. Runs before the file sandbox.
    pub fn create(path: &Path) -> Result<Capture, String> {
        let mut file =
            File::create(path).map_err(|e| format!("HERMIT_CAPTURE_NET: cannot create {}: {e}", path.display()))?;
        file.write_all(&file_header())
            .map_err(|e| format!("HERMIT_CAPTURE_NET: cannot write {}: {e}", path.display()))?;
        Ok(Capture { file: Mutex::new(Some(file)) })
    }

    /// Appends `frame` with the current time; a failed write is reported once and then the
    /// capture stops (the network goes on).
    pub fn record(&self, frame: &[u8]) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut bytes = record_header(now.as_secs(), now.subsec_micros(), frame.len()).to_vec();
        bytes.extend_from_slice(&frame[..frame.len().min(SNAPLEN as usize)]);
        let Ok(mut file) = self.file.lock() else { return };
        if let Some(Err(e)) = file.as_mut().map(|f| f.write_all(&bytes)) {
            eprintln!("proxy: HERMIT_CAPTURE_NET: cannot write the capture ({e}); capture stopped");
            *file = None;
        }
    }
}

/// The pcap file header: magic, version 2.4, UTC, snapshot length, link type 1 (Ethernet).
pub fn file_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// A record header: seconds, microseconds, bytes kept, bytes on the wire.
pub fn record_header(secs: u64, micros: u32, len: usize) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
    h[4..8].copy_from_slice(&micros.to_le_bytes());
    h[8..12].copy_from_slice(&(len.min(SNAPLEN as usize) as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(len.min(u32::MAX as usize) as u32).to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            file_header(),
            [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(record_header(0x0102_0304, 5, 60), [4, 3, 2, 1, 5, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0]);
        let big = record_header(1, 2, 65550);
        assert_eq!((&big[8..12], &big[12..16]), (&65535u32.to_le_bytes()[..], &65550u32.to_le_bytes()[..]));
    }

    #[test]
    fn a_file_with_two_frames() {
        let path = std::env::temp_dir().join(format!("capture-test-{}.pcap", std::process::id()));
        let capture = Capture::create(&path).unwrap();
        capture.record(&[1u8; 60]);
        capture.record(&[2u8; 1514]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 60 + 16 + 1514);
        assert_eq!(&bytes[..24], &file_header());
        assert_eq!(&bytes[24 + 8..24 + 12], &60u32.to_le_bytes());
        assert!(bytes[40..100].iter().all(|&b| b == 1));
        assert_eq!(&bytes[100 + 8..100 + 12], &1514u32.to_le_bytes());
    }
}

//! `struct sockaddr_un` in lwIP's layout (a length byte, a one-byte family, 108 bytes of
//! path), as `bind`/`connect` take it and `getsockname`/`getpeername`/`accept` give it.

use alloc::vec::Vec;

use crate::errno::{Result, EINVAL};

/// `AF_UNIX` (Linux's and lwIP's 1).
pub const AF_UNIX: u8 = 1;
/// `offsetof(struct sockaddr_un, sun_path)`: lwIP's `sun_len` and `sun_family` bytes.
pub const PATH_AT: usize = 2;
/// `sizeof(struct sockaddr_un)`: 108 bytes of path, as Linux.
pub const SOCKADDR_UN_LEN: usize = PATH_AT + 108;
/// A socket's name as the program gave it: a path (without its NUL) or an abstract name
/// (its first byte 0, then the bytes the address's length covered).
pub type Name = Vec<u8>;

/// The name in an address given to `bind` or `connect` (`EINVAL` for another family or a
/// length beyond `struct sockaddr_un`); empty for an address without a path (autobind).
pub fn parse(addr: &[u8]) -> Result<Name> {
    if addr.len() < PATH_AT || addr[1] != AF_UNIX || addr.len() > SOCKADDR_UN_LEN {
        return Err(EINVAL);
    }
    let path = &addr[PATH_AT..];
    Ok(match path.first() {
        Some(0) => path.to_vec(),
        _ => path.split(|&b| b == 0).next().unwrap_or_default().to_vec(),
    })
}

/// Writes `name` as a `struct sockaddr_un` into `out` (cut to its length); returns the
/// address's whole length, as Linux: 2 for an unnamed socket, a path's with its NUL.
pub fn format(name: Option<&[u8]>, out: &mut [u8]) -> usize {
    let name = name.unwrap_or_default();
    let path_nul = usize::from(name.first().is_some_and(|&b| b != 0));
    let len = PATH_AT + name.len() + path_nul;
    let mut addr = Vec::with_capacity(len);
    addr.extend_from_slice(&[len.min(255) as u8, AF_UNIX]);
    addr.extend_from_slice(name);
    addr.resize(len, 0);
    let n = out.len().min(len);
    out[..n].copy_from_slice(&addr[..n]);
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(path: &[u8]) -> Vec<u8> {
        let mut a = alloc::vec![0, AF_UNIX];
        a.extend_from_slice(path);
        a
    }

    #[test]
    fn parses_paths_abstract_names_and_autobind() {
        assert_eq!(parse(&addr(b"/tmp/s\0junk")).unwrap(), b"/tmp/s");
        assert_eq!(parse(&addr(b"/tmp/s")).unwrap(), b"/tmp/s");
        assert_eq!(parse(&addr(b"\0abs\0x")).unwrap(), b"\0abs\0x");
        assert!(parse(&addr(b"")).unwrap().is_empty());
        assert_eq!(parse(&[0]), Err(EINVAL));
        assert_eq!(parse(&[0, 2, b'/']), Err(EINVAL));
        assert_eq!(parse(&addr(&[b'a'; 109])), Err(EINVAL));
        assert_eq!(parse(&addr(&[b'a'; 108])).unwrap().len(), 108);
    }

    #[test]
    fn formats_linux_lengths() {
        let mut out = [0xffu8; SOCKADDR_UN_LEN];
        assert_eq!(format(None, &mut out), 2);
        assert_eq!(out[..2], [2, AF_UNIX]);
        assert_eq!(format(Some(b"/s"), &mut out), 5);
        assert_eq!(out[..5], [5, AF_UNIX, b'/', b's', 0]);
        assert_eq!(format(Some(b"\0ab"), &mut out), 5);
        assert_eq!(out[..5], [5, AF_UNIX, 0, b'a', b'b']);
        // Cut to the caller's buffer; the whole length is still returned.
        let mut short = [0u8; 3];
        assert_eq!(format(Some(b"/long"), &mut short), 8);
        assert_eq!(short, [8, AF_UNIX, b'/']);
    }
}

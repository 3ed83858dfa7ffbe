//! Pure path arithmetic for the working directory (host unit tests beside it).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// Lexically normalises absolute `path`: no empty or `.` components, `..` applied (at the
/// root it stays there).
pub fn normalize(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// `base` joined with relative `path` (not normalised: a final `..` or symbolic link
/// component is the host's to resolve).
pub fn join(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + path.len() + 1);
    out.extend_from_slice(base);
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize(b"/a/./b//c/../d/"), b"/a/b/d");
        assert_eq!(normalize(b"/../x"), b"/x");
        assert_eq!(normalize(b"/"), b"/");
        assert_eq!(normalize(b"/a/.."), b"/");
    }

    #[test]
    fn joins() {
        assert_eq!(join(b"/", b"x"), b"/x");
        assert_eq!(join(b"/a/b", b"../c"), b"/a/b/../c");
    }
}

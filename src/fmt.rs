//! Formatting without allocation: a fixed-size line buffer and the `kprintf` format engine.
#![forbid(unsafe_code)]

use core::fmt;

/// A `core::fmt::Write` sink backed by a fixed array; output beyond its size is dropped.
pub struct StackWriter<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackWriter<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends raw bytes, truncating at the capacity.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(N - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
    }
}

impl<const N: usize> fmt::Write for StackWriter<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

/// Where `kprintf` takes its variadic arguments from, one 64-bit slot at a time.
pub trait ArgSource {
    /// The next integer-class argument.
    fn next_int(&mut self) -> u64;
    /// The bytes of a NUL-terminated string argument (`None` for a null pointer).
    fn string(&mut self, ptr: u64) -> Option<&[u8]>;
}

/// Formats a C `printf` format string (the subset the original `kprintf` supported: flags
/// `-0`, width, `l`/`ll`/`z`/`h` modifiers, conversions `d i u x X o p s c %`) into `out`.
/// Returns the number of bytes produced.
pub fn format_c(format: &[u8], args: &mut dyn ArgSource, out: &mut dyn FnMut(&[u8])) -> usize {
    let mut produced = 0;
    let mut emit = |bytes: &[u8], produced: &mut usize| {
        out(bytes);
        *produced += bytes.len();
    };
    let mut i = 0;
    while i < format.len() {
        let c = format[i];
        i += 1;
        if c != b'%' {
            emit(&[c], &mut produced);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        while i < format.len() && (format[i] == b'-' || format[i] == b'0') {
            if format[i] == b'-' {
                left = true;
            } else {
                zero = true;
            }
            i += 1;
        }
        let mut width = 0usize;
        while i < format.len() && format[i].is_ascii_digit() {
            width = width * 10 + usize::from(format[i] - b'0');
            i += 1;
        }
        let mut long = false;
        let mut short = false;
        while i < format.len() && matches!(format[i], b'l' | b'z' | b'h' | b'j' | b't') {
            match format[i] {
                b'h' => short = true,
                _ => long = true,
            }
            i += 1;
        }
        let Some(&conv) = format.get(i) else { break };
        i += 1;
        let mut digits = [0u8; 24];
        let text: &[u8] = match conv {
            b'%' => b"%",
            b'c' => {
                digits[0] = args.next_int() as u8;
                &digits[..1]
            }
            b's' => {
                let ptr = args.next_int();
                args.string(ptr).unwrap_or(b"(null)")
            }
            b'd' | b'i' => {
                let raw = args.next_int();
                let value = if long {
                    raw as i64
                } else if short {
                    i64::from(raw as i16)
                } else {
                    i64::from(raw as i32)
                };
                let n = render(value.unsigned_abs(), 10, false, &mut digits);
                if value < 0 {
                    let start = digits.len() - n - 1;
                    digits[start] = b'-';
                    &digits[start..]
                } else {
                    &digits[digits.len() - n..]
                }
            }
            b'u' | b'x' | b'X' | b'o' | b'p' => {
                let raw = args.next_int();
                let value = if long || conv == b'p' {
                    raw
                } else if short {
                    u64::from(raw as u16)
                } else {
                    u64::from(raw as u32)
                };
                let base = match conv {
                    b'u' => 10,
                    b'o' => 8,
                    _ => 16,
                };
                let mut n = render(value, base, conv == b'X', &mut digits);
                if conv == b'p' {
                    n += 2;
                    let start = digits.len() - n;
                    digits[start] = b'0';
                    digits[start + 1] = b'x';
                }
                &digits[digits.len() - n..]
            }
            other => {
                emit(&[b'%', other], &mut produced);
                continue;
            }
        };
        let pad = width.saturating_sub(text.len());
        let fill = if zero && !left { b'0' } else { b' ' };
        if !left {
            if fill == b'0' && text.first() == Some(&b'-') {
                emit(b"-", &mut produced);
                for _ in 0..pad {
                    emit(b"0", &mut produced);
                }
                emit(&text[1..], &mut produced);
                continue;
            }
            for _ in 0..pad {
                emit(&[fill], &mut produced);
            }
        }
        emit(text, &mut produced);
        if left {
            for _ in 0..pad {
                emit(b" ", &mut produced);
            }
        }
    }
    produced
}

/// Writes `value` in `base` right-aligned into `buf`; returns the number of digits.
fn render(mut value: u64, base: u64, upper: bool, buf: &mut [u8; 24]) -> usize {
    let table = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut n = 0;
    loop {
        buf[buf.len() - 1 - n] = table[(value % base) as usize];
        n += 1;
        value /= base;
        if value == 0 {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Args<'a> {
        ints: &'a [u64],
        strings: &'a [&'a [u8]],
    }

    impl ArgSource for Args<'_> {
        fn next_int(&mut self) -> u64 {
            let (first, rest) = self.ints.split_first().expect("too few arguments");
            self.ints = rest;
            *first
        }
        fn string(&mut self, ptr: u64) -> Option<&[u8]> {
            if ptr == 0 {
                None
            } else {
                Some(self.strings[ptr as usize - 1])
            }
        }
    }

    fn run(format: &str, ints: &[u64], strings: &[&[u8]]) -> String {
        let mut out = Vec::new();
        let mut args = Args { ints, strings };
        let n = format_c(format.as_bytes(), &mut args, &mut |b| out.extend_from_slice(b));
        assert_eq!(n, out.len());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers() {
        assert_eq!(run("%d %i %u", &[(-5i32) as u32 as u64, 7, 42], &[]), "-5 7 42");
        assert_eq!(run("%ld", &[(-5i64) as u64], &[]), "-5");
        assert_eq!(run("%x %X %lx %#", &[255, 255, 0x1_0000_0000], &[]), "ff FF 100000000 %#");
        assert_eq!(run("%05d|%-4d|%4d", &[(-42i32) as u32 as u64, 3, 3], &[]), "-0042|3   |   3");
        assert_eq!(run("%p %o %hd", &[0x1000, 8, 0xffff], &[]), "0x1000 10 -1");
    }

    #[test]
    fn strings_and_chars() {
        assert_eq!(run("[%s] %c %s %%", &[1, u64::from(b'x'), 0], &[b"abc"]), "[abc] x (null) %");
        assert_eq!(run("%-5s|%5s", &[1, 1], &[b"ab"]), "ab   |   ab");
    }

    #[test]
    fn stack_writer_truncates() {
        use core::fmt::Write;
        let mut w = StackWriter::<4>::new();
        write!(w, "hello").unwrap();
        assert_eq!(w.as_bytes(), b"hell");
    }
}

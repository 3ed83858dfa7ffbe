//! A check of the kernel's inline assembly, run on the host: no `asm!` may promise the
//! compiler more than it keeps.
//!
//! - One that writes the flags must not say `preserves_flags`. `preempt_disable`'s `add` did,
//!   and the compiler then kept a comparison's result in the flags across it: a branch after
//!   the add went by the add's flags (a datagram socket's `FIONREAD` answered as a stream's).
//! - One that synchronizes with other cores, interrupts or the host (`out`, `wrmsr`, `hlt`)
//!   must not say `nomem`, which lets the compiler move memory accesses across it: a store
//!   that queued a task could follow the IPI that announces it.

use std::path::Path;

/// Mnemonics that write the arithmetic flags.
const WRITERS: &[&str] = &[
    "add",
    "adc",
    "sub",
    "sbb",
    "inc",
    "dec",
    "neg",
    "cmp",
    "test",
    "and",
    "or",
    "xor",
    "shl",
    "shr",
    "sar",
    "sal",
    "rol",
    "ror",
    "rcl",
    "rcr",
    "bt",
    "bts",
    "btr",
    "btc",
    "xadd",
    "cmpxchg",
    "cmpxchg16b",
    "popf",
    "popfq",
    "mul",
    "imul",
    "div",
    "idiv",
    "bsf",
    "bsr",
    "lzcnt",
    "tzcnt",
    "popcnt",
    "stc",
    "clc",
    "cmc",
    "std",
    "cld",
    "sahf",
    "lock",
];

/// The `asm!` invocations of `text`, each as written (up to its closing parenthesis).
fn invocations(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("asm!(") {
        let mut depth = 0;
        for (i, c) in text[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => continue,
            }
            if depth == 0 {
                found.push(&text[start..start + i + 1]);
                break;
            }
        }
    }
    found
}

/// Mnemonics that synchronize with other cores, interrupts or the host.
const SYNCHRONIZERS: &[&str] = &["out", "outb", "wrmsr", "hlt", "mfence", "sfence", "lfence"];

/// Whether a line of one of an invocation's template strings begins with one of `mnemonics`.
fn uses(invocation: &str, mnemonics: &[&str]) -> bool {
    invocation.split('"').skip(1).step_by(2).flat_map(|s| s.split(['\n', ';'])).any(|line| {
        let first = line.split_whitespace().next().unwrap_or("");
        mnemonics.contains(&first.to_ascii_lowercase().as_str())
    })
}

/// Whether an invocation's template writes the flags.
fn writes_flags(invocation: &str) -> bool {
    uses(invocation, WRITERS)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_asm_promises_more_than_it_keeps() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file");
        for asm in invocations(&text) {
            checked += 1;
            let line = || format!("{}: {}", file.display(), asm.lines().next().unwrap_or(""));
            if asm.contains("preserves_flags") && writes_flags(asm) {
                wrong.push(format!("writes the flags but says preserves_flags: {}", line()));
            }
            if asm.contains("nomem") && uses(asm, SYNCHRONIZERS) {
                wrong.push(format!("synchronizes but says nomem: {}", line()));
            }
        }
    }
    assert!(checked > 20, "only {checked} asm! invocations found");
    assert!(wrong.is_empty(), "asm! that promises too much:\n{}", wrong.join("\n"));
}

#[test]
fn finds_flag_writers_and_synchronizers() {
    assert!(writes_flags(r#"asm!("add dword ptr gs:[{off}], 1", options(nostack))"#));
    assert!(writes_flags(r#"asm!("mov rax, 1", "lock xadd [rdi], rax", options(nostack))"#));
    assert!(!writes_flags(r#"asm!("invlpg [rax]", in("rax") addr, options(nostack, preserves_flags))"#));
    assert!(!writes_flags(r#"asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, preserves_flags))"#));
    assert!(uses(r#"asm!("hlt", options(nostack))"#, SYNCHRONIZERS));
    assert!(!uses(r#"asm!("rdmsr", in("ecx") msr, options(nomem, nostack))"#, SYNCHRONIZERS));
    assert_eq!(invocations("x asm!(\"a\", f(b)) y asm!(\"c\")").len(), 2);
}

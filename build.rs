//! Generates the C headers `hermit/syscall.h`, `hermit/errno.h`, `sys/_pthreadtypes.h`,
//! `semaphore.h` and `ucontext.h` from the kernel's exports.
//!
//! The headers are written to `OUT_DIR`; the committed copies in `include/` are checked
//! against them by the unit test `headers::are_current`. Run with `HERMIT_UPDATE_HEADERS=1`
//! (the CMake target `update-headers`) to refresh the committed copies.

use std::path::{Path, PathBuf};

const SYSCALL_SOURCES: &[&str] = &[
    "src/syscalls/types.rs",
    "src/syscalls/process.rs",
    "src/syscalls/fs.rs",
    "src/syscalls/fdops.rs",
    "src/syscalls/paths.rs",
    "src/syscalls/memory.rs",
    "src/syscalls/mapped.rs",
    "src/syscalls/time.rs",
    "src/syscalls/console.rs",
    "src/syscalls/misc.rs",
    "src/syscalls/sync.rs",
    "src/syscalls/rcce.rs",
    "proxy/interface/src/stat.rs",
];

/// The generated headers and where their committed copies live.
const HEADERS: [(&str, &str); 5] = [
    ("syscall.h", "include/hermit/syscall.h"),
    ("errno.h", "include/hermit/errno.h"),
    ("_pthreadtypes.h", "include/sys/_pthreadtypes.h"),
    ("semaphore.h", "include/semaphore.h"),
    ("ucontext.h", "include/ucontext.h"),
];

fn generate(config: &str, sources: &[&str], out: &Path) {
    let config = cbindgen::Config::from_file(config).expect("cbindgen configuration");
    let mut builder = cbindgen::Builder::new().with_config(config);
    for source in sources {
        builder = builder.with_src(source);
    }
    builder.generate().expect("cbindgen failed").write_to_file(out);
}

fn main() {
    let others = [
        "src/errno.rs",
        "src/synch/semaphore.rs",
        "src/syscalls/pthread/sem.rs",
        "src/syscalls/pthread/types.rs",
        "cbindgen-syscall.toml",
        "cbindgen-errno.toml",
        "cbindgen-pthreadtypes.toml",
        "cbindgen-semaphore.toml",
        "src/syscalls/ucontext.rs",
        "cbindgen-ucontext.toml",
    ];
    for input in SYSCALL_SOURCES.iter().chain(&others) {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=HERMIT_UPDATE_HEADERS");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("hermit");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/hermit");
    generate("cbindgen-syscall.toml", SYSCALL_SOURCES, &out.join("syscall.h"));
    generate("cbindgen-errno.toml", &["src/errno.rs"], &out.join("errno.h"));
    generate("cbindgen-pthreadtypes.toml", &["src/syscalls/pthread/types.rs"], &out.join("_pthreadtypes.h"));
    generate(
        "cbindgen-semaphore.toml",
        &["src/synch/semaphore.rs", "src/syscalls/pthread/sem.rs"],
        &out.join("semaphore.h"),
    );
    generate("cbindgen-ucontext.toml", &["src/syscalls/ucontext.rs"], &out.join("ucontext.h"));
    println!("cargo:rustc-env=HERMIT_GENERATED_HEADERS={}", out.display());
    if std::env::var("HERMIT_UPDATE_HEADERS").is_ok_and(|v| v == "1") {
        for (name, target) in HEADERS {
            std::fs::copy(out.join(name), target).expect("update include/");
        }
    }
}

//! The C ABI of `libhermit.a`: the only home of exported symbols.
//!
//! Every function is a thin shim: it converts raw pointers with [`ptr`], calls a safe core
//! function that returns [`crate::errno::Result`], and maps the error once, into the
//! original convention of a negative errno. Prototypes follow the original
//! `hermit/syscall.h`; `include/hermit/syscall.h` is generated from this module by cbindgen.

mod console;
mod fdops;
mod fs;
mod locks;
mod malloc;
mod memory;
mod misc;
mod paths;
mod process;
mod pthread;
pub mod ptr;
mod sync;
pub mod time;
mod types;

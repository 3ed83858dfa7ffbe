//! The C ABI of `libhermit.a`: the only home of exported symbols.
//!
//! Every function is a thin shim: it converts raw pointers with [`ptr`], calls a safe core
//! function that returns [`crate::errno::Result`], and maps the error once, into the
//! original convention of a negative errno. Prototypes follow the original
//! `hermit/syscall.h`; `include/hermit/syscall.h` is generated from this module by cbindgen.

mod cmsg;
mod console;
pub mod context_stack;
mod epoll;
mod fdops;
mod fs;
mod locks;
mod malloc;
pub mod mapped;
pub mod memory;
pub(crate) mod misc;
mod mmsg;
mod net;
mod paths;
mod pollmask;
mod process;
mod pthread;
pub mod ptr;
mod rcce;
mod sockopt;
mod sync;
pub mod time;
mod types;
mod ucontext;

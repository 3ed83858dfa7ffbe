//! The kernel's panic handler: report on the host's stderr and end the guest.

use core::fmt::Write;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = crate::fmt::StackWriter::<512>::new();
    let _ = writeln!(line, "[hermit] kernel panic: {info}");
    crate::drivers::console::emergency(line.as_bytes());
    crate::drivers::hypercall::exit(crate::errno::EFAULT.neg())
}

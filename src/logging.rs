//! The `log` backend: one line per record, `[uptime][core:task][LEVEL] message`, written to the
//! `.kmsg` ring and, in verbose mode, to the UART.

use core::fmt::Write;

use log::{LevelFilter, Metadata, Record};

use crate::fmt::StackWriter;

struct KernelLogger;

static LOGGER: KernelLogger = KernelLogger;

impl log::Log for KernelLogger {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let uptime_us = crate::time::uptime_ns() / 1000;
        let mut line = StackWriter::<256>::new();
        let _ = writeln!(
            line,
            "[{}.{:06}][{}:{}][{}] {}",
            uptime_us / 1_000_000,
            uptime_us % 1_000_000,
            crate::arch::core_id(),
            crate::scheduler::current_id(),
            record.level(),
            record.args()
        );
        crate::drivers::console::write(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the logger; records up to `Info` are kept.
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

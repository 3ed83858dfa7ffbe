//! Tasks. This version runs one application task per program (the task that calls `main`);
//! the data structures carry what threads will need: an id, a priority, a stack with a guard
//! page, a TLS block and a signal handler.

mod task;
mod tls;

pub use task::{current, current_id, current_stack, is_stack_guard, lock_owner_id, run_main, set_signal_handler};

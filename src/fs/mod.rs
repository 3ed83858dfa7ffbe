//! Files: host files reached through the loader.
#![forbid(unsafe_code)]

pub mod blksize;
#[cfg(not(test))]
pub mod host;

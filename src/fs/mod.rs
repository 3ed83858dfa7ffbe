//! Files: host files reached through the loader.
#![forbid(unsafe_code)]

pub mod host;

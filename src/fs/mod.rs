//! Files: host files reached through the loader, the descriptor table, pipes and the
//! working directory.
#![forbid(unsafe_code)]

pub mod blksize;
pub mod cwd;
pub mod dirty;
pub mod fd;
pub mod host;
pub mod lockrange;
pub mod offset;
pub mod path;
pub mod pipe;
pub mod unix;

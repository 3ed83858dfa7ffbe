//! Fuzz targets for the loader's guest- and file-facing code, run as ignored tests on stable.
//!
//! `HERMIT_FUZZ_SECONDS=60 cargo test --release -p proxy fuzz_ -- --ignored --test-threads=1`
//! runs every target for a minute; `engine` is the mutation loop, one file per target.

mod engine;
mod fast_channel;
mod hypercalls;
mod image;
mod net_ring;
mod paths;

//! The floor: a hand-written io_uring echo or HTTP server, without ringo.
//!
//! It is not a product but a yardstick. It does what the best single-threaded
//! io_uring server would (one multishot accept, one multishot receive per
//! connection into a provided buffer ring, one send at a time per connection
//! from memory that needs no copy, one `io_uring_enter` per loop), so the
//! benchmark can tell how much of a server's CPU per request is the kernel's
//! TCP path, which no runtime can remove, and how much is ringo's own. The
//! loop is shared; what a connection makes of its bytes is the [`Protocol`]:
//! [`echo`] sends each buffer back, [`http`] answers each request head with a
//! fixed response (`--http`).
//!
//! `raw_uring [ADDR] [--buffers N] [--http]` prints `raw_uring: listening on
//! ADDR`; N (a power of two, default 4096) is the number of receive buffers,
//! small in the test that runs the ring dry.

// io_uring is Linux's: elsewhere the yardstick does not exist, and the
// binary says so instead of failing to build the workspace.
#[cfg(target_os = "linux")]
mod buf_ring;
#[cfg(target_os = "linux")]
mod echo;
#[cfg(target_os = "linux")]
mod http;
#[cfg(target_os = "linux")]
mod server;

#[cfg(target_os = "linux")]
use server::Protocol;

#[cfg(target_os = "linux")]
fn main() -> std::io::Result<()> {
    server::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("raw_uring: io_uring exists only on Linux");
    std::process::exit(2);
}

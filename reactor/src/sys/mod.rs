//! What differs between the operating systems ringo builds for, in one place
//! (mio's `sys` layout): the rest of the reactor calls these names and never
//! writes a `cfg` on a platform's socket quirks itself.
//!
//! Every platform module supplies:
//!
//! - `c`: the C socket API by `libc`'s names (`libc` itself on Unix, Winsock
//!   behind the same names on Windows).
//! - `OwnedSocket`, and `Owned` (a socket or a file): what std owns, and
//!   `raw`/`into_raw`/`from_raw`, its number ([`RawSource`], what the compat
//!   driver polls).
//! - `SEND_FLAGS`: the flags of every `send`/`sendto`/`sendmsg`, so a write to
//!   a closed peer is `EPIPE`, not a process-killing `SIGPIPE`, where the
//!   platform has a per-call flag for it.
//! - `socket(domain, ty)`: a new socket, non-blocking, close-on-exec and
//!   without `SIGPIPE`.
//! - `accept(listener, addr, len)`: the compat driver's accept, giving a
//!   connection set up the same way.
//! - `adopt(socket)`: the same set-up for a socket made elsewhere (a std
//!   socket handed over, a `socketpair`).
//! - `allow_rebind(socket)` and `reuse_port(socket)`: a listener's
//!   `SO_REUSEADDR` (Unix only: on Windows it would let another socket steal
//!   a port in use) and `SO_REUSEPORT` (`Unsupported` on Windows).
//!
//! Linux and Android (`linux.rs`) do it all with flags on the call;
//! Apple and the BSDs (`bsd.rs`) add `SO_NOSIGPIPE` to each socket,
//! since macOS has no `MSG_NOSIGNAL` on older releases and `write`/`writev`
//! take no flags anywhere. Windows (`windows/`) has no `SIGPIPE` and no
//! close-on-exec to ask for; it only makes sockets non-blocking.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
#[path = "bsd.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows/mod.rs"]
mod imp;

#[cfg(unix)]
mod unix;

pub(crate) use imp::{accept, adopt, socket, SEND_FLAGS};
#[cfg(windows)]
pub(crate) use imp::{
    allow_rebind, c, from_raw, into_raw, raw, reuse_port, Owned, OwnedSocket, INVALID,
};
pub(crate) use ringo_compat::RawSource;
#[cfg(unix)]
pub(crate) use unix::{
    allow_rebind, c, from_raw, into_raw, raw, reuse_port, Owned, OwnedSocket, INVALID,
};

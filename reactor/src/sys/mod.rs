//! What differs between the operating systems ringo builds for, in one place
//! (mio's `sys` layout): the rest of the reactor calls these names and never
//! writes a `cfg` on a platform's socket quirks itself.
//!
//! Every platform module supplies:
//!
//! - `SEND_FLAGS`: the flags of every `send`/`sendto`/`sendmsg`, so a write to
//!   a closed peer is `EPIPE`, not a process-killing `SIGPIPE`, where the
//!   platform has a per-call flag for it.
//! - `socket(domain, ty)`: a new socket, non-blocking, close-on-exec and
//!   without `SIGPIPE`.
//! - `accept(listener, addr, len)`: the compat driver's accept, giving a
//!   connection set up the same way.
//! - `adopt(fd)`: the same set-up for a socket made elsewhere (a std socket
//!   handed over, a `socketpair`).
//!
//! Linux and Android (`linux.rs`) do it all with flags on the call;
//! Apple and the BSDs (`bsd.rs`) add `SO_NOSIGPIPE` to each socket,
//! since macOS has no `MSG_NOSIGNAL` on older releases and `write`/`writev`
//! take no flags anywhere.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[path = "bsd.rs"]
mod imp;

pub(crate) use imp::{accept, adopt, socket, SEND_FLAGS};

//! What differs between Unix and Windows for the proactor, in one place (mio's
//! `sys` layout). Each platform module supplies:
//!
//! - `RawSource`: how an operation names its socket or fd.
//! - `SourceIndex`: a map from `RawSource` to a registration's slab key.
//! - `Source`: what a registration keeps to register the socket with mio and
//!   to re-arm and deregister it, without ever closing it.
//! - `REARM_AFTER_WOULD_BLOCK`: whether mio reports a source's direction only
//!   once per arming, so that the proactor must re-arm it after every
//!   `WouldBlock`.
//!
//! Unix (`unix.rs`) registers the raw fd itself (`SourceFd`), and epoll and
//! kqueue keep reporting edges on their own, so nothing needs re-arming; fd
//! numbers are small and dense, so the index is a `Vec`.
//!
//! Windows (`windows.rs`) cannot register a raw socket: mio polls through the
//! AFD driver and only for its own socket types, so a registration wraps the
//! borrowed socket in a `mio::net::TcpStream` (the poll is the same for every
//! socket type) and hands it back unclosed when it goes. mio's AFD poll fires
//! once and stays quiet until re-armed, which mio's own types do inside each
//! call that answers `WouldBlock`; the proactor does the same with
//! `reregister`, for the directions somebody waits for (mio keeps a direction
//! an event did not report armed) (a socket that is
//! always writable would otherwise report itself after every re-arm). Hence
//! also no "drained" shortcut there: only a `WouldBlock` re-arms. Socket
//! handles are sparse 64-bit values, so the index is a hash map.

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub use imp::RawSource;
pub(crate) use imp::{Source, SourceIndex, REARM_AFTER_WOULD_BLOCK};

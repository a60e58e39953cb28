//! Apple and the BSDs: a socket is set up after the call that makes it
//! (`fcntl` for non-blocking and close-on-exec where `SOCK_*` flags are
//! missing), and gets `SO_NOSIGPIPE` where the platform has it, because
//! `write`/`writev` on a socket take no flags and macOS lacks `MSG_NOSIGNAL`
//! on older releases. OpenBSD has no `SO_NOSIGPIPE`; there `MSG_NOSIGNAL` on
//! the sends is what there is.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::unix::{set_flag, set_nonblocking_cloexec};
use crate::net::socket::syscall;

/// `MSG_NOSIGNAL` where the libc has it; on Apple, `SO_NOSIGPIPE` on the
/// socket does its work.
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
/// `MSG_NOSIGNAL` where the libc has it; on Apple, `SO_NOSIGPIPE` on the
/// socket does its work.
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: libc::c_int = 0;

/// `SOCK_NONBLOCK | SOCK_CLOEXEC` where `socket` takes them (the BSDs), so
/// no fork on another thread inherits the fd before [`adopt`] runs; Apple
/// has neither, and `adopt`'s `fcntl` does it all there.
#[cfg(not(target_vendor = "apple"))]
const SOCKET_FLAGS: libc::c_int = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
#[cfg(target_vendor = "apple")]
const SOCKET_FLAGS: libc::c_int = 0;

/// A new non-blocking, close-on-exec socket without `SIGPIPE`.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    let fd = syscall!(socket(domain, ty | SOCKET_FLAGS, 0))?;
    // SAFETY: `fd` was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    adopt(&fd)?;
    Ok(fd)
}

/// The next connection on `listener`, set up as [`socket`] sets up its own;
/// the peer's address goes to `addr`/`len`.
///
/// # Safety
///
/// `addr` and `len` must point to a live address buffer and its length.
pub(crate) unsafe fn accept(
    listener: RawFd,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> io::Result<OwnedFd> {
    let fd = syscall!(accept(listener, addr, len))?;
    // SAFETY: `fd` was just accepted and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    adopt(&fd)?;
    Ok(fd)
}

/// Makes a socket non-blocking, close-on-exec and (where the platform has
/// the option) free of `SIGPIPE`.
pub(crate) fn adopt(fd: &OwnedFd) -> io::Result<()> {
    set_nonblocking_cloexec(fd.as_raw_fd())?;
    no_sigpipe(fd.as_raw_fd())
}

/// Sets `SO_NOSIGPIPE`: a write to a closed peer is `EPIPE`, not `SIGPIPE`.
#[cfg(not(target_os = "openbsd"))]
fn no_sigpipe(fd: RawFd) -> io::Result<()> {
    set_flag(fd, libc::SO_NOSIGPIPE)
}

/// OpenBSD has no `SO_NOSIGPIPE`; `MSG_NOSIGNAL` on the sends covers them.
#[cfg(target_os = "openbsd")]
fn no_sigpipe(_fd: RawFd) -> io::Result<()> {
    Ok(())
}

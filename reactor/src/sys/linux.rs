//! Linux and Android: `SOCK_NONBLOCK | SOCK_CLOEXEC` on `socket` and
//! `accept4` set a socket up in the call that makes it, and `MSG_NOSIGNAL`
//! on every send turns a closed peer into `EPIPE`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::unix::set_nonblocking_cloexec;
use crate::net::socket::syscall;

/// `MSG_NOSIGNAL`: a send to a closed peer is `EPIPE`, not `SIGPIPE`.
pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    let fd = syscall!(socket(
        domain,
        ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        0
    ))?;
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The next connection on `listener`, non-blocking and close-on-exec; the
/// peer's address goes to `addr`/`len`.
///
/// # Safety
///
/// `addr` and `len` must point to a live address buffer and its length.
pub(crate) unsafe fn accept(
    listener: RawFd,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    let fd = syscall!(accept4(listener, addr, len, flags))?;
    // SAFETY: `fd` was just accepted and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes a socket from elsewhere non-blocking and close-on-exec.
pub(crate) fn adopt(fd: &OwnedFd) -> io::Result<()> {
    set_nonblocking_cloexec(fd.as_raw_fd())
}

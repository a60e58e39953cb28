//! What every Unix shares: sockets are fds, and the C names are `libc`'s.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};

pub(crate) use libc as c;
pub(crate) use std::os::fd::OwnedFd as OwnedSocket;
/// An fd of any kind: on Unix a socket and a file are owned alike.
pub(crate) use std::os::fd::OwnedFd as Owned;

use super::RawSource;
use crate::net::socket::syscall;

/// No fd has this number.
pub(crate) const INVALID: RawSource = -1;

/// The number an op names `fd` by.
pub(crate) fn raw(socket: &Owned) -> RawSource {
    socket.as_raw_fd()
}

/// Gives `fd` up without closing it.
pub(crate) fn into_raw(socket: impl Into<Owned>) -> RawSource {
    socket.into().into_raw_fd()
}

/// Takes ownership of the socket numbered `raw`.
///
/// # Safety
///
/// `raw` must be an open socket that nothing else owns or closes.
pub(crate) unsafe fn from_raw(raw: RawSource) -> OwnedSocket {
    // SAFETY: the caller's contract.
    unsafe { OwnedSocket::from_raw_fd(raw) }
}

/// Lets a restarted server bind its port while connections of the last one
/// linger in `TIME_WAIT` (`SO_REUSEADDR`).
pub(crate) fn allow_rebind(fd: RawFd) -> io::Result<()> {
    set_flag(fd, libc::SO_REUSEADDR)
}

/// Lets other sockets bind the same address and port (`SO_REUSEPORT`):
/// the kernel spreads the connections among their listeners.
pub(crate) fn reuse_port(fd: RawFd) -> io::Result<()> {
    set_flag(fd, libc::SO_REUSEPORT)
}

/// Turns the socket-level option `name` on.
pub(crate) fn set_flag(fd: RawFd, name: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let on = (&on as *const libc::c_int).cast();
    syscall!(setsockopt(fd, libc::SOL_SOCKET, name, on, size)).map(drop)
}

/// Sets `O_NONBLOCK` and `FD_CLOEXEC` on `fd`.
pub(crate) fn set_nonblocking_cloexec(fd: RawFd) -> io::Result<()> {
    let flags = syscall!(fcntl(fd, libc::F_GETFL))?;
    syscall!(fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    let flags = syscall!(fcntl(fd, libc::F_GETFD))?;
    syscall!(fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC))?;
    Ok(())
}

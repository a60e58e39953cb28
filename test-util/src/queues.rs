//! How many bytes a socket's kernel queues hold, which the backpressure
//! tests subtract from what a peer produced to learn what a server holds
//! itself. Each platform names the send queue differently.

use std::os::fd::RawFd;

/// Bytes received on `fd` and not yet read (`FIONREAD`).
pub fn unread(fd: RawFd) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, to a live local.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    u64::try_from(n).expect("a byte count")
}

/// Bytes written to `fd` and not yet acknowledged by the peer (`TIOCOUTQ`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn unsent(fd: RawFd) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one int through the pointer, to a live local.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    assert_eq!(rc, 0, "TIOCOUTQ: {}", std::io::Error::last_os_error());
    u64::try_from(n).expect("a byte count")
}

/// Bytes written to `fd` and still in its send queue (`FIONWRITE`).
#[cfg(any(target_os = "freebsd", target_os = "netbsd"))]
pub fn unsent(fd: RawFd) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONWRITE writes one int through the pointer, to a live local.
    let rc = unsafe { libc::ioctl(fd, libc::FIONWRITE, &mut n) };
    assert_eq!(rc, 0, "FIONWRITE: {}", std::io::Error::last_os_error());
    u64::try_from(n).expect("a byte count")
}

/// Bytes written to `fd` and still in its send queue (`SO_NWRITE`).
#[cfg(target_vendor = "apple")]
pub fn unsent(fd: RawFd) -> u64 {
    let mut n: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let ptr = (&mut n as *mut libc::c_int).cast();
    // SAFETY: SO_NWRITE writes at most `len` bytes, one int, to a live local.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_NWRITE, ptr, &mut len) };
    assert_eq!(rc, 0, "SO_NWRITE: {}", std::io::Error::last_os_error());
    u64::try_from(n).expect("a byte count")
}

//! Winsock spelled as `libc` spells the BSD socket API, so that the code
//! shared with Unix (addresses, socket options, the readiness attempts of the
//! ops) reads the same on both.
//!
//! The address structs are Winsock's layouts, declared here with `libc`'s
//! field names; the assertions below hold them to `windows-sys`'s. The
//! functions take a [`RawSource`] and `libc`'s argument types and narrow them
//! to Winsock's (lengths are `i32` there: a buffer past 2 GiB moves in
//! parts, as a short send or receive). Each returns -1 on failure, leaving
//! the error where `io::Error::last_os_error` finds it, and succeeds where the
//! `libc` function would: a datagram longer than the buffer is a full
//! receive, truncated, not Winsock's `WSAEMSGSIZE` (see [`truncated`]).

#![allow(non_camel_case_types, missing_docs)]

use std::mem::size_of;

use windows_sys::Win32::Networking::WinSock;

use crate::sys::RawSource;

pub(crate) use std::ffi::{c_char, c_int, c_void};

pub(crate) type socklen_t = i32;
pub(crate) type sa_family_t = u16;

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct sockaddr {
    pub(crate) sa_family: sa_family_t,
    pub(crate) sa_data: [c_char; 14],
}

#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct sockaddr_storage {
    pub(crate) ss_family: sa_family_t,
    pad: [u8; 126],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct in_addr {
    pub(crate) s_addr: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct sockaddr_in {
    pub(crate) sin_family: sa_family_t,
    pub(crate) sin_port: u16,
    pub(crate) sin_addr: in_addr,
    pub(crate) sin_zero: [u8; 8],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct in6_addr {
    pub(crate) s6_addr: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct sockaddr_in6 {
    pub(crate) sin6_family: sa_family_t,
    pub(crate) sin6_port: u16,
    pub(crate) sin6_flowinfo: u32,
    pub(crate) sin6_addr: in6_addr,
    pub(crate) sin6_scope_id: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct linger {
    pub(crate) l_onoff: u16,
    pub(crate) l_linger: u16,
}

const _: () = {
    assert!(size_of::<sockaddr>() == size_of::<WinSock::SOCKADDR>());
    assert!(size_of::<sockaddr_storage>() == size_of::<WinSock::SOCKADDR_STORAGE>());
    assert!(size_of::<sockaddr_in>() == size_of::<WinSock::SOCKADDR_IN>());
    assert!(size_of::<sockaddr_in6>() == size_of::<WinSock::SOCKADDR_IN6>());
    assert!(size_of::<linger>() == size_of::<WinSock::LINGER>());
};

pub(crate) const AF_INET: c_int = WinSock::AF_INET as c_int;
pub(crate) const AF_INET6: c_int = WinSock::AF_INET6 as c_int;
pub(crate) const SOCK_STREAM: c_int = WinSock::SOCK_STREAM as c_int;
pub(crate) const SOCK_DGRAM: c_int = WinSock::SOCK_DGRAM as c_int;
pub(crate) const SOL_SOCKET: c_int = WinSock::SOL_SOCKET as c_int;
pub(crate) const SO_ERROR: c_int = WinSock::SO_ERROR as c_int;
pub(crate) const SO_LINGER: c_int = WinSock::SO_LINGER as c_int;
pub(crate) const IPPROTO_TCP: c_int = WinSock::IPPROTO_TCP as c_int;
pub(crate) const TCP_NODELAY: c_int = WinSock::TCP_NODELAY as c_int;
pub(crate) const SHUT_RD: c_int = WinSock::SD_RECEIVE as c_int;
pub(crate) const SHUT_WR: c_int = WinSock::SD_SEND as c_int;
pub(crate) const SHUT_RDWR: c_int = WinSock::SD_BOTH as c_int;

/// Winsock's codes for the errors the shared code tells apart.
pub(crate) const EINVAL: c_int = WinSock::WSAEINVAL as c_int;
pub(crate) const ENOTCONN: c_int = WinSock::WSAENOTCONN as c_int;
pub(crate) const EISCONN: c_int = WinSock::WSAEISCONN as c_int;
pub(crate) const EALREADY: c_int = WinSock::WSAEALREADY as c_int;
pub(crate) const EINPROGRESS: c_int = WinSock::WSAEINPROGRESS as c_int;
pub(crate) const EMFILE: c_int = WinSock::WSAEMFILE as c_int;
pub(crate) const ENOBUFS: c_int = WinSock::WSAENOBUFS as c_int;

fn socket(fd: RawSource) -> WinSock::SOCKET {
    fd as WinSock::SOCKET
}

/// A buffer length as Winsock takes it: at most `i32::MAX`.
fn len32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Winsock's `SOCKET_ERROR` is -1 already; results only widen.
fn widen(ret: i32) -> isize {
    ret as isize
}

/// A receive of at most `len` bytes that returned `ret`, as Unix reports it:
/// a datagram longer than the buffer fills it, the rest of the datagram is
/// discarded, and the call returns `len`. Winsock fills the buffer and
/// discards the rest the same way, but fails the call with `WSAEMSGSIZE`.
fn truncated(ret: i32, len: i32) -> isize {
    // SAFETY: reads the calling thread's Winsock error; no arguments.
    if ret == WinSock::SOCKET_ERROR && unsafe { WinSock::WSAGetLastError() } == WinSock::WSAEMSGSIZE
    {
        return widen(len);
    }
    widen(ret)
}

// SAFETY (all below): each is a thin call into Winsock; the caller passes
// pointers valid for the lengths given, as with the `libc` function of the
// same name.

pub(crate) unsafe fn setsockopt(
    fd: RawSource,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::setsockopt(socket(fd), level, name, value.cast(), len) }
}

pub(crate) unsafe fn getsockopt(
    fd: RawSource,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::getsockopt(socket(fd), level, name, value.cast(), len) }
}

pub(crate) unsafe fn bind(fd: RawSource, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::bind(socket(fd), addr.cast(), len) }
}

pub(crate) unsafe fn connect(fd: RawSource, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::connect(socket(fd), addr.cast(), len) }
}

pub(crate) unsafe fn listen(fd: RawSource, backlog: c_int) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::listen(socket(fd), backlog) }
}

pub(crate) unsafe fn getsockname(fd: RawSource, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::getsockname(socket(fd), addr.cast(), len) }
}

pub(crate) unsafe fn getpeername(fd: RawSource, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::getpeername(socket(fd), addr.cast(), len) }
}

pub(crate) unsafe fn shutdown(fd: RawSource, how: c_int) -> c_int {
    // SAFETY: see above.
    unsafe { WinSock::shutdown(socket(fd), how) }
}

pub(crate) unsafe fn recv(fd: RawSource, buf: *mut c_void, len: usize, flags: c_int) -> isize {
    let len = len32(len);
    // SAFETY: see above.
    let ret = unsafe { WinSock::recv(socket(fd), buf.cast(), len, flags) };
    truncated(ret, len)
}

pub(crate) unsafe fn send(fd: RawSource, buf: *const c_void, len: usize, flags: c_int) -> isize {
    // SAFETY: see above.
    widen(unsafe { WinSock::send(socket(fd), buf.cast(), len32(len), flags) })
}

pub(crate) unsafe fn sendto(
    fd: RawSource,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> isize {
    // SAFETY: see above.
    widen(unsafe {
        WinSock::sendto(
            socket(fd),
            buf.cast(),
            len32(len),
            flags,
            addr.cast(),
            addr_len,
        )
    })
}

pub(crate) unsafe fn recvfrom(
    fd: RawSource,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> isize {
    let len = len32(len);
    // SAFETY: see above.
    let ret =
        unsafe { WinSock::recvfrom(socket(fd), buf.cast(), len, flags, addr.cast(), addr_len) };
    truncated(ret, len)
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct iovec {
    pub(crate) iov_base: *mut c_void,
    pub(crate) iov_len: usize,
}

/// `msghdr` as the shared code fills it; [`sendmsg`] and [`recvmsg`]
/// translate it to `WSASendTo`/`WSARecvFrom`. No control data.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct msghdr {
    pub(crate) msg_name: *mut c_void,
    pub(crate) msg_namelen: socklen_t,
    pub(crate) msg_iov: *mut iovec,
    pub(crate) msg_iovlen: usize,
    pub(crate) msg_control: *mut c_void,
    pub(crate) msg_controllen: usize,
    pub(crate) msg_flags: c_int,
}

/// Set in `msg_flags` by [`recvmsg`] when a datagram did not fit (Winsock
/// reports that as `WSAEMSGSIZE`, having filled the buffer).
pub(crate) const MSG_TRUNC: c_int = WinSock::MSG_TRUNC as c_int;

/// How many buffers a gather write passes without allocating.
const INLINE_BUFS: usize = 16;

/// The `WSABUF`s for `header`'s iovecs, on the stack for up to
/// `INLINE_BUFS` of them. Lengths past `u32::MAX` are cut: the call then
/// moves less, which its caller sees as a short transfer.
///
/// # Safety
///
/// `header.msg_iov` must point at `header.msg_iovlen` live iovecs.
unsafe fn with_wsabufs<R>(header: &msghdr, f: impl FnOnce(&mut [WinSock::WSABUF]) -> R) -> R {
    // SAFETY: the caller's contract.
    let iovecs = unsafe { std::slice::from_raw_parts(header.msg_iov, header.msg_iovlen) };
    let wsabuf = |v: &iovec| WinSock::WSABUF {
        len: u32::try_from(v.iov_len).unwrap_or(u32::MAX),
        buf: v.iov_base.cast(),
    };
    if iovecs.len() <= INLINE_BUFS {
        let mut bufs = [WinSock::WSABUF {
            len: 0,
            buf: std::ptr::null_mut(),
        }; INLINE_BUFS];
        for (buf, v) in bufs.iter_mut().zip(iovecs) {
            *buf = wsabuf(v);
        }
        f(&mut bufs[..iovecs.len()])
    } else {
        f(&mut iovecs.iter().map(wsabuf).collect::<Vec<_>>())
    }
}

pub(crate) unsafe fn sendmsg(fd: RawSource, header: *const msghdr, flags: c_int) -> isize {
    // SAFETY: see above; `header` is live and names live iovecs.
    let header = unsafe { &*header };
    let mut sent: u32 = 0;
    // SAFETY: `header` names live iovecs (the caller's contract); the
    // WSABUFs point at the same bytes; no overlapped I/O is asked for, so
    // nothing is used after the call returns.
    let ret = unsafe {
        with_wsabufs(header, |bufs| {
            WinSock::WSASendTo(
                socket(fd),
                bufs.as_ptr(),
                bufs.len() as u32,
                &mut sent,
                flags as u32,
                header.msg_name.cast_const().cast(),
                if header.msg_name.is_null() {
                    0
                } else {
                    header.msg_namelen
                },
                std::ptr::null_mut(),
                None,
            )
        })
    };
    if ret != 0 {
        return -1;
    }
    sent as isize
}

pub(crate) unsafe fn recvmsg(fd: RawSource, header: *mut msghdr, flags: c_int) -> isize {
    // SAFETY: see above; `header` is live and names live iovecs.
    let header = unsafe { &mut *header };
    let mut received: u32 = 0;
    let mut wsa_flags = flags as u32;
    let name: *mut WinSock::SOCKADDR = header.msg_name.cast();
    let name_len: *mut i32 = if name.is_null() {
        std::ptr::null_mut()
    } else {
        &mut header.msg_namelen
    };
    // SAFETY: as in `sendmsg`; `name`/`name_len` are the header's live
    // address buffer and its length, or both null.
    let ret = unsafe {
        with_wsabufs(header, |bufs| {
            WinSock::WSARecvFrom(
                socket(fd),
                bufs.as_ptr(),
                bufs.len() as u32,
                &mut received,
                &mut wsa_flags,
                name,
                name_len,
                std::ptr::null_mut(),
                None,
            )
        })
    };
    header.msg_flags = 0;
    if ret != 0 {
        // SAFETY: reads the calling thread's Winsock error; no arguments.
        if unsafe { WinSock::WSAGetLastError() } != WinSock::WSAEMSGSIZE {
            return -1;
        }
        header.msg_flags = MSG_TRUNC;
    }
    received as isize
}

//! Windows: sockets are Winsock handles, polled through mio's AFD support,
//! and the rest of the reactor reaches Winsock through [`c`], which spells
//! it the way `libc` spells the BSD socket API. Nothing sets a socket up at
//! creation but non-blocking mode (handles are not inherited unless asked
//! for, and there is no `SIGPIPE`).

pub(crate) mod c;

use std::io;
use std::os::windows::io::OwnedHandle;
use std::os::windows::io::{AsRawHandle, AsRawSocket, FromRawSocket, IntoRawHandle, IntoRawSocket};
use std::sync::Once;

pub(crate) use std::os::windows::io::OwnedSocket;
use windows_sys::Win32::Networking::WinSock;

use super::RawSource;

/// No socket has this handle.
pub(crate) const INVALID: RawSource = WinSock::INVALID_SOCKET as RawSource;

/// No flag is needed: Windows has no `SIGPIPE`.
pub(crate) const SEND_FLAGS: c::c_int = 0;

/// What a `SharedFd` owns: a socket, or a file's handle (files never reach
/// the poller; their ops run on the blocking pool).
#[derive(Debug)]
pub(crate) enum Owned {
    Socket(OwnedSocket),
    File(OwnedHandle),
}

impl From<OwnedSocket> for Owned {
    fn from(socket: OwnedSocket) -> Owned {
        Owned::Socket(socket)
    }
}

impl From<OwnedHandle> for Owned {
    fn from(handle: OwnedHandle) -> Owned {
        Owned::File(handle)
    }
}

impl Owned {
    /// A second handle to the same socket or file, not inheritable.
    pub(crate) fn try_clone(&self) -> io::Result<Owned> {
        Ok(match self {
            Owned::Socket(socket) => Owned::Socket(socket.try_clone()?),
            Owned::File(handle) => Owned::File(handle.try_clone()?),
        })
    }
}

/// The number an op names `owned` by: a socket's handle, or a file's
/// handle as an integer.
pub(crate) fn raw(owned: &Owned) -> RawSource {
    match owned {
        Owned::Socket(socket) => socket.as_raw_socket(),
        Owned::File(handle) => handle.as_raw_handle() as RawSource,
    }
}

/// Gives `owned` up without closing it.
pub(crate) fn into_raw(owned: impl Into<Owned>) -> RawSource {
    match owned.into() {
        Owned::Socket(socket) => socket.into_raw_socket(),
        Owned::File(handle) => handle.into_raw_handle() as RawSource,
    }
}

/// Takes ownership of the socket numbered `raw`.
///
/// # Safety
///
/// `raw` must be an open socket that nothing else owns or closes.
pub(crate) unsafe fn from_raw(raw: RawSource) -> OwnedSocket {
    // SAFETY: the caller's contract.
    unsafe { OwnedSocket::from_raw_socket(raw) }
}

/// Starts Winsock once per process, before the first socket call. std does
/// the same lazily inside `std::net`, which ringo's own sockets bypass.
fn startup() {
    static STARTUP: Once = Once::new();
    STARTUP.call_once(|| {
        // SAFETY: WSADATA is plain data for which all-zero is valid, and
        // WSAStartup only writes it. The start is never undone: Winsock
        // stays up for the life of the process, as std leaves it.
        let mut data: WinSock::WSADATA = unsafe { std::mem::zeroed() };
        // SAFETY: `data` is a live, writable WSADATA.
        let _ = unsafe { WinSock::WSAStartup(0x202, &mut data) };
    });
}

/// A new non-blocking socket, not inherited by child processes.
pub(crate) fn socket(domain: c::c_int, ty: c::c_int) -> io::Result<OwnedSocket> {
    startup();
    let flags = WinSock::WSA_FLAG_OVERLAPPED | WinSock::WSA_FLAG_NO_HANDLE_INHERIT;
    // SAFETY: no protocol info pointer is passed; the call only reads its
    // integer arguments.
    let socket = unsafe { WinSock::WSASocketW(domain, ty, 0, std::ptr::null(), 0, flags) };
    if socket == WinSock::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `socket` was just created and is owned by nobody else.
    let socket = unsafe { from_raw(socket as RawSource) };
    adopt(&socket)?;
    Ok(socket)
}

/// The next connection on `listener`, non-blocking; the peer's address goes
/// to `addr`/`len`.
///
/// # Safety
///
/// `addr` and `len` must point to a live address buffer and its length.
pub(crate) unsafe fn accept(
    listener: RawSource,
    addr: *mut c::sockaddr,
    len: *mut c::socklen_t,
) -> io::Result<OwnedSocket> {
    // SAFETY: the caller's contract on `addr` and `len`.
    let socket = unsafe { WinSock::accept(listener as WinSock::SOCKET, addr.cast(), len) };
    if socket == WinSock::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `socket` was just accepted and is owned by nobody else.
    let socket = unsafe { from_raw(socket as RawSource) };
    adopt(&socket)?;
    Ok(socket)
}

/// Makes a socket non-blocking (an accepted socket inherits its listener's
/// mode on Windows, but one from elsewhere may be blocking) and not inherited
/// by child processes (an accepted socket does not get its listener's
/// `WSA_FLAG_NO_HANDLE_INHERIT`, at least under Wine; std clears the flag
/// the same way where it cannot ask at creation).
pub(crate) fn adopt(socket: &OwnedSocket) -> io::Result<()> {
    use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
    startup();
    // SAFETY: changes only the inherit flag of a live socket handle.
    let ret =
        unsafe { SetHandleInformation(socket.as_raw_socket() as HANDLE, HANDLE_FLAG_INHERIT, 0) };
    if ret == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut on: u32 = 1;
    // SAFETY: FIONBIO reads one u32 through the live `on`.
    let ret = unsafe {
        WinSock::ioctlsocket(
            socket.as_raw_socket() as WinSock::SOCKET,
            WinSock::FIONBIO,
            &mut on,
        )
    };
    if ret != 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Nothing to do: Windows lets a listener bind over `TIME_WAIT` as it is,
/// and its `SO_REUSEADDR` would let a second socket bind (and take over) a
/// port that is in use, turning `AddrInUse` into a stolen port.
pub(crate) fn allow_rebind(_: RawSource) -> io::Result<()> {
    Ok(())
}

/// Windows has no `SO_REUSEPORT` (its `SO_REUSEADDR` lets a second socket
/// steal the port, which is not the same thing): a server that wants several
/// accepting loops shares one listener among them instead.
pub(crate) fn reuse_port(_: RawSource) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Windows has no SO_REUSEPORT: share one listener among the workers",
    ))
}

/// The calling thread's last Winsock error. Winsock keeps it where
/// `GetLastError` does, so `io::Error::last_os_error` reads the same value;
/// this says so at the call.
pub(crate) fn last_error() -> io::Error {
    io::Error::last_os_error()
}

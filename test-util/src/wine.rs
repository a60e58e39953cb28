//! Whether the tests run under Wine, which runs the Windows build on Linux
//! (`ci/windows.sh`). A few results differ there from real Windows, and only
//! a check of [`under_wine`] may accept them: no assertion is loosened for
//! Windows itself.
//!
//! Known difference: Wine (8.0) reads the peer's reset on a polled socket as a
//! plain end of stream. wineserver peeks at the Unix socket whenever it polls
//! it, and that peek takes the socket's pending `ECONNRESET`, which Wine then
//! never reports to `recv` (see [`is_reset`]).
//!
//! Known difference: Wine (8.0) passes Linux's `EDESTADDRREQ` on as
//! [`WSAEINVAL`], so `send` on an unconnected UDP socket fails with it where
//! Windows answers `WSAENOTCONN`.

use std::io;

/// Winsock's "invalid argument", the code Wine gives some Linux errors that
/// have no Winsock twin of their own.
pub const WSAEINVAL: i32 = 10022;

/// Whether this process runs under Wine, whose ntdll exports
/// `wine_get_version`. Always false off Windows.
#[cfg(windows)]
pub fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: both names are NUL-terminated; ntdll is loaded in every
    // process, and the handle is only looked into, never freed.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

/// Whether this process runs under Wine: never, off Windows.
#[cfg(not(windows))]
pub fn under_wine() -> bool {
    false
}

/// Whether `result`, a read from a socket whose peer reset the connection,
/// reports that reset: `ConnectionReset`, or under Wine also the end of
/// stream Wine reports instead.
pub fn is_reset(result: &io::Result<usize>) -> bool {
    match result {
        Err(error) => error.kind() == io::ErrorKind::ConnectionReset,
        Ok(0) => under_wine(),
        Ok(_) => false,
    }
}

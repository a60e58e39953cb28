//! Socket addresses as the kernel sees them (`sockaddr_storage` + length), and
//! their conversion to and from std's address types.

use crate::sys::c;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
#[cfg(unix)]
use std::path::{Path, PathBuf};

/// A `sockaddr` of any family, with its length.
#[derive(Clone, Copy)]
pub(crate) struct RawAddr {
    storage: c::sockaddr_storage,
    len: c::socklen_t,
}

impl RawAddr {
    /// Room for any address, to be filled by the kernel.
    pub(crate) fn empty() -> RawAddr {
        // SAFETY: sockaddr_storage is a plain C struct for which all-zero is valid.
        let storage = unsafe { mem::zeroed() };
        RawAddr {
            storage,
            len: mem::size_of::<c::sockaddr_storage>() as c::socklen_t,
        }
    }

    /// The address in `bytes`, a `sockaddr` the kernel wrote (cut to the
    /// storage's size).
    pub(crate) fn from_bytes(bytes: &[u8]) -> RawAddr {
        let mut raw = RawAddr::empty();
        let len = bytes.len().min(mem::size_of::<c::sockaddr_storage>());
        // SAFETY: copies `len` bytes, no more than either side holds, between
        // a live slice and the storage; both are plain bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (&mut raw.storage as *mut c::sockaddr_storage).cast::<u8>(),
                len,
            );
        }
        raw.len = len as c::socklen_t;
        raw
    }

    pub(crate) fn as_ptrs(&self) -> (*const c::sockaddr, c::socklen_t) {
        (
            (&self.storage as *const c::sockaddr_storage).cast(),
            self.len,
        )
    }

    pub(crate) fn as_mut_ptrs(&mut self) -> (*mut c::sockaddr, *mut c::socklen_t) {
        (
            (&mut self.storage as *mut c::sockaddr_storage).cast(),
            &mut self.len,
        )
    }

    pub(crate) fn set_len(&mut self, len: c::socklen_t) {
        self.len = len.min(mem::size_of::<c::sockaddr_storage>() as c::socklen_t);
    }

    pub(crate) fn family(&self) -> c::c_int {
        c::c_int::from(self.storage.ss_family)
    }

    /// Encodes an IP socket address.
    pub(crate) fn from_socket_addr(addr: &SocketAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: zeroed sockaddr_in is valid; we set every field that matters.
                let mut sin: c::sockaddr_in = unsafe { mem::zeroed() };
                sin.sin_family = c::AF_INET as c::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = c::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                raw.write(&sin);
            }
            SocketAddr::V6(a) => {
                // SAFETY: zeroed sockaddr_in6 is valid; we set every field that matters.
                let mut sin6: c::sockaddr_in6 = unsafe { mem::zeroed() };
                sin6.sin6_family = c::AF_INET6 as c::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr = c::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                raw.write(&sin6);
            }
        }
        raw
    }

    /// Encodes a Unix socket path.
    #[cfg(unix)]
    pub(crate) fn from_path(path: &Path) -> io::Result<RawAddr> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: zeroed sockaddr_un is valid; we set the family and the path.
        let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
        if bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix socket path length {} over limit {}",
                    bytes.len(),
                    sun.sun_path.len() - 1
                ),
            ));
        }
        if bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unix socket path contains a NUL byte",
            ));
        }
        sun.sun_family = libc::AF_UNIX as c::sa_family_t;
        for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = src as c::c_char;
        }
        let mut raw = RawAddr::empty();
        raw.write(&sun);
        let path_offset = mem::size_of::<libc::sockaddr_un>() - sun.sun_path.len();
        raw.len = (path_offset + bytes.len() + 1) as c::socklen_t;
        Ok(raw)
    }

    fn write<T>(&mut self, addr: &T) {
        const { assert!(mem::size_of::<T>() <= mem::size_of::<c::sockaddr_storage>()) };
        // SAFETY: `T` is a sockaddr type no larger than the storage (checked at
        // compile time above); both are plain bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (addr as *const T).cast::<u8>(),
                (&mut self.storage as *mut c::sockaddr_storage).cast::<u8>(),
                mem::size_of::<T>(),
            );
        }
        self.len = mem::size_of::<T>() as c::socklen_t;
    }

    /// Decodes an IP socket address.
    pub(crate) fn socket_addr(&self) -> io::Result<SocketAddr> {
        match self.family() {
            c::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in; the
                // storage is large and aligned enough for any sockaddr.
                let sin = unsafe {
                    &*(&self.storage as *const c::sockaddr_storage).cast::<c::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            c::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe {
                    &*(&self.storage as *const c::sockaddr_storage).cast::<c::sockaddr_in6>()
                };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            family => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("address family {family} is not IPv4 or IPv6"),
            )),
        }
    }

    /// Decodes a Unix socket address: its path, or `None` when unnamed or abstract.
    #[cfg(unix)]
    pub(crate) fn path(&self) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        if self.family() != libc::AF_UNIX {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun =
            unsafe { &*(&self.storage as *const c::sockaddr_storage).cast::<libc::sockaddr_un>() };
        let path_offset = mem::size_of::<libc::sockaddr_un>() - sun.sun_path.len();
        let len = (self.len as usize)
            .saturating_sub(path_offset)
            .min(sun.sun_path.len());
        let bytes: Vec<u8> = sun.sun_path[..len]
            .iter()
            .map(|&c| c as u8)
            .take_while(|&b| b != 0)
            .collect();
        if bytes.is_empty() {
            return None;
        }
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
    }
}

//! `Connect`: connect a socket to a peer address.
//!
//! On compat this is the classic non-blocking dance: `connect` answers
//! `EINPROGRESS`; once the socket is writable, calling `connect` again answers
//! `EISCONN` (done), `EALREADY` (still going) or the connection's error.
//! Windows answers the first call with `WSAEWOULDBLOCK` instead, and keeps a
//! failed connection's error only in `SO_ERROR` (a second `connect` there
//! would start over), so once started each attempt reads `SO_ERROR` first.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::net::addr::RawAddr;

/// Connects `fd` to `addr`.
pub(crate) struct Connect {
    fd: SharedFd,
    /// Read by the kernel; boxed so it stays put while the op moves.
    addr: Box<RawAddr>,
    started: bool,
}

impl Connect {
    pub(crate) fn new(fd: SharedFd, addr: RawAddr) -> Connect {
        Connect {
            fd,
            addr: Box::new(addr),
            started: false,
        }
    }
}

impl Operation for Connect {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        if self.started {
            if let Some(error) = pending_error(self.fd.raw())? {
                return Err(error);
            }
        }
        let (addr, len) = self.addr.as_ptrs();
        // SAFETY: `addr` points at `len` bytes of a valid sockaddr owned by this op.
        match cvt(unsafe { c::connect(self.fd.raw(), addr, len) } as isize) {
            Ok(_) => Ok(0),
            Err(e) => match e.raw_os_error() {
                Some(c::EISCONN) if self.started => Ok(0),
                Some(c::EINPROGRESS | c::EALREADY | libc::EINTR) => {
                    self.started = true;
                    Err(io::ErrorKind::WouldBlock.into())
                }
                // Windows: WSAEWOULDBLOCK, for a connect now in progress.
                _ if e.kind() == io::ErrorKind::WouldBlock => {
                    self.started = true;
                    Err(e)
                }
                _ => Err(e),
            },
        }
    }
}

/// The socket's pending error (`SO_ERROR`, which reading clears), if any.
fn pending_error(fd: RawSource) -> io::Result<Option<io::Error>> {
    let mut code: c::c_int = 0;
    let mut size = std::mem::size_of::<c::c_int>() as c::socklen_t;
    // SAFETY: getsockopt writes at most `size` bytes, one int, to a live local.
    let ret = unsafe {
        c::getsockopt(
            fd,
            c::SOL_SOCKET,
            c::SO_ERROR,
            (&mut code as *mut c::c_int).cast(),
            &mut size,
        )
    };
    cvt(ret as isize)?;
    Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
}

impl OpCode for Connect {
    type Output = io::Result<()>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let (addr, len) = self.addr.as_ptrs();
        self.fd.sqe(files, |fd| {
            io_uring::opcode::Connect::new(fd, addr, len).build()
        })
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

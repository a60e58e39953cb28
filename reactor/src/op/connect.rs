//! `Connect`: connect a socket to a peer address.
//!
//! On compat this is the classic non-blocking dance: `connect` answers
//! `EINPROGRESS`; once the socket is writable, calling `connect` again answers
//! `EISCONN` (done), `EALREADY` (still going) or the connection's error.

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
                _ => Err(e),
            },
        }
    }
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

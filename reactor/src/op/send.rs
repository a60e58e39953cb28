//! `Send`: write an owned buffer's initialised bytes to a socket.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::buf::{BufResult, IoBuf};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::sys::SEND_FLAGS;

/// Sends `buf.bytes_init()` bytes (or fewer: a short write is not an error).
pub(crate) struct Send<B> {
    fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Send<B> {
    pub(crate) fn new(fd: SharedFd, buf: B) -> Send<B> {
        Send { fd, buf }
    }

    /// The bytes a whole send writes.
    pub(crate) fn len(&self) -> usize {
        self.buf.bytes_init()
    }
}

impl<B: IoBuf> Operation for Send<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let (ptr, len) = (self.buf.stable_ptr(), self.buf.bytes_init());
        // SAFETY: `ptr` is valid for reads of `len` initialised bytes (IoBuf contract).
        cvt(unsafe { c::send(self.fd.raw(), ptr.cast(), len, SEND_FLAGS) })
    }

    /// A short send filled the socket's buffer. (A datagram is sent whole or
    /// not at all, so this never misfires on UDP.)
    fn drained(&self, n: usize) -> bool {
        n < self.buf.bytes_init()
    }
}

impl<B: IoBuf> OpCode for Send<B> {
    type Output = BufResult<usize, B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let len = u32::try_from(self.buf.bytes_init()).unwrap_or(u32::MAX);
        let ptr = self.buf.stable_ptr();
        self.fd.sqe(files, |fd| {
            io_uring::opcode::Send::new(fd, ptr, len)
                .flags(SEND_FLAGS)
                .build()
        })
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        (completion.result, self.buf)
    }
}

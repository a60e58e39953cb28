//! `Writev`: gather-write several owned buffers to a socket in one syscall.
//!
//! Runs as `sendmsg` (on both drivers) rather than `writev`, so it can pass
//! `MSG_NOSIGNAL`. The `msghdr` and `iovec` array are boxed: the kernel reads them
//! through pointers, so they must not move when the op moves into its slot.

use crate::sys::{c, RawSource};
use std::io;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::buf::{BufResult, IoBuf};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::sys::SEND_FLAGS;

/// The kernel-visible part of a gather write.
struct Vectors {
    header: c::msghdr,
    iovecs: Vec<c::iovec>,
}

/// Sends the initialised bytes of every buffer, in order.
pub(crate) struct Writev<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    vectors: Box<Vectors>,
}

impl<B: IoBuf> Writev<B> {
    pub(crate) fn new(fd: SharedFd, bufs: Vec<B>) -> Writev<B> {
        let iovecs: Vec<c::iovec> = bufs
            .iter()
            .map(|b| c::iovec {
                iov_base: b.stable_ptr().cast_mut().cast(),
                iov_len: b.bytes_init(),
            })
            .collect();
        // SAFETY: msghdr is a plain C struct for which all-zero is a valid value
        // (no name, no control data, no flags).
        let header: c::msghdr = unsafe { std::mem::zeroed() };
        let mut vectors = Box::new(Vectors { header, iovecs });
        vectors.header.msg_iov = vectors.iovecs.as_mut_ptr();
        vectors.header.msg_iovlen = vectors.iovecs.len() as _;
        Writev { fd, bufs, vectors }
    }
}

impl<B: IoBuf> Operation for Writev<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        // SAFETY: the header points at `iovecs`, which point at the buffers' initialised
        // bytes (IoBuf contract); all are owned by `self` and live for the call.
        cvt(unsafe { c::sendmsg(self.fd.raw(), &self.vectors.header, SEND_FLAGS) })
    }

    /// A short write filled the socket's buffer.
    fn drained(&self, n: usize) -> bool {
        n < self.vectors.iovecs.iter().map(|v| v.iov_len).sum()
    }
}

impl<B: IoBuf> OpCode for Writev<B> {
    type Output = BufResult<usize, Vec<B>>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let header: *const c::msghdr = &self.vectors.header;
        self.fd.sqe(files, |fd| {
            io_uring::opcode::SendMsg::new(fd, header)
                .flags(SEND_FLAGS as u32)
                .build()
        })
    }

    fn complete(self, completion: Completion) -> BufResult<usize, Vec<B>> {
        (completion.result, self.bufs)
    }
}

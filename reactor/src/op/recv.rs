//! `Recv`: read from a socket into an owned buffer.

use crate::sys::c;
use crate::sys::RawSource;
use std::io;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::buf::{BufResult, IoBufMut};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// `IORING_RECVSEND_POLL_FIRST` (io_uring.h, Linux 5.19): arm the poll before
/// trying the receive. Older kernels ignore it and try first, as before.
#[cfg(target_os = "linux")]
const RECVSEND_POLL_FIRST: u16 = 1;

/// Receives up to `buf.bytes_total()` bytes into the start of `buf`.
pub(crate) struct Recv<B> {
    fd: SharedFd,
    buf: B,
    /// Whether the socket is a byte stream, where a receive that leaves part of
    /// the buffer empty has emptied the socket. A datagram shorter than the
    /// buffer says nothing about the ones queued behind it.
    stream: bool,
}

impl<B: IoBufMut> Recv<B> {
    /// A receive on a stream socket (TCP, Unix stream).
    pub(crate) fn stream(fd: SharedFd, buf: B) -> Recv<B> {
        Recv {
            fd,
            buf,
            stream: true,
        }
    }

    /// A receive of one datagram (a connected UDP socket).
    pub(crate) fn datagram(fd: SharedFd, buf: B) -> Recv<B> {
        Recv {
            fd,
            buf,
            stream: false,
        }
    }

    /// Whether receiving `n` bytes showed the socket emptied (see `stream`).
    fn drained_by(&self, n: usize) -> bool {
        self.stream && n < self.buf.bytes_total()
    }
}

impl<B: IoBufMut> Operation for Recv<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let (ptr, len) = (self.buf.stable_mut_ptr(), self.buf.bytes_total());
        // SAFETY: `ptr` is valid for `len` bytes of writes (IoBufMut contract) and
        // `self.buf` is borrowed mutably for the call.
        cvt(unsafe { c::recv(self.fd.raw(), ptr.cast(), len, 0) })
    }

    /// EOF (`n == 0`) is left alone: nothing follows it to wait for.
    fn drained(&self, n: usize) -> bool {
        n > 0 && self.drained_by(n)
    }
}

impl<B: IoBufMut> OpCode for Recv<B> {
    type Output = BufResult<usize, B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let len = u32::try_from(self.buf.bytes_total()).unwrap_or(u32::MAX);
        // When the last receive emptied the socket, this one would fail its
        // first, inline attempt and only then arm a poll: ask for the poll first
        // and save the failed `recvmsg` (one per request in a ping-pong).
        let ioprio = if self.fd.drained() {
            RECVSEND_POLL_FIRST
        } else {
            0
        };
        let ptr = self.buf.stable_mut_ptr();
        self.fd.sqe(files, |fd| {
            io_uring::opcode::Recv::new(fd, ptr, len)
                .ioprio(ioprio)
                .build()
        })
    }

    fn complete(mut self, completion: Completion) -> BufResult<usize, B> {
        if let Ok(n) = completion.result {
            self.fd.set_drained(self.drained_by(n));
            // SAFETY: the kernel reported writing `n` bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
        }
        (completion.result, self.buf)
    }
}

//! `ReadvAt` / `WritevAt`: scatter-read into, or gather-write from, several
//! owned buffers at a file offset in one op (`IORING_OP_READV` / `WRITEV` with
//! an offset; `preadv` / `pwritev` on the compat blocking pool, or on Windows
//! one positional read or write per buffer in a single blocking call).
//!
//! The `iovec` array lives in a `Vec` owned by the op, so its heap storage stays
//! put when the op moves into its slot, as the kernel reads it until completion.

use std::io;

use ringo_compat::Operation;

use super::fs::{self, io_vec, no_readiness, IoVec, PoolPtr};
use super::{BlockingCall, CompatMode, OpCode};
use crate::buf::{BufResult, IoBuf, IoBufMut};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// Which way the bytes go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

/// The part both ops share: fd, offset, buffers and their `iovec`s.
struct Vectored<B> {
    fd: SharedFd,
    offset: u64,
    bufs: Vec<B>,
    iovecs: Vec<IoVec>,
}

impl<B> Vectored<B> {
    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, direction: Direction) -> io_uring::squeue::Entry {
        let (fd, ptr) = (io_uring::types::Fd(self.fd.raw()), self.iovecs.as_ptr());
        let len = u32::try_from(self.iovecs.len()).unwrap_or(u32::MAX);
        match direction {
            Direction::Read => io_uring::opcode::Readv::new(fd, ptr, len)
                .offset(self.offset)
                .build(),
            Direction::Write => io_uring::opcode::Writev::new(fd, ptr, len)
                .offset(self.offset)
                .build(),
        }
    }

    fn compat_mode(&mut self, direction: Direction) -> CompatMode {
        let (fd, offset) = (self.fd.raw(), self.offset);
        let (iovecs, count) = (PoolPtr(self.iovecs.as_mut_ptr()), self.iovecs.len());
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `iovecs` points at `count` iovecs owned by the op, each
            // naming memory of a buffer the op owns (IoBuf / IoBufMut contract);
            // the op's slot keeps them, and the fd, alive until this call's
            // result is delivered.
            unsafe {
                match direction {
                    Direction::Read => fs::read_vectored_at(fd, iovecs.get(), count, offset),
                    Direction::Write => fs::write_vectored_at(fd, iovecs.get(), count, offset),
                }
            }
        })))
    }
}

/// Reads into the buffers in order, each from its start, at `offset`.
pub(crate) struct ReadvAt<B>(Vectored<B>);

impl<B: IoBufMut> ReadvAt<B> {
    pub(crate) fn new(fd: SharedFd, mut bufs: Vec<B>, offset: u64) -> ReadvAt<B> {
        let iovecs = bufs
            .iter_mut()
            .map(|b| io_vec(b.stable_mut_ptr(), b.bytes_total()))
            .collect();
        ReadvAt(Vectored {
            fd,
            offset,
            bufs,
            iovecs,
        })
    }
}

impl<B: IoBufMut> Operation for ReadvAt<B> {
    no_readiness!();
}

impl<B: IoBufMut> OpCode for ReadvAt<B> {
    type Output = BufResult<usize, Vec<B>>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        self.0.uring_entry(Direction::Read)
    }

    fn compat_mode(&mut self) -> CompatMode {
        self.0.compat_mode(Direction::Read)
    }

    fn complete(self, completion: Completion) -> Self::Output {
        let mut bufs = self.0.bufs;
        if let Ok(n) = completion.result {
            let mut left = n;
            for buf in &mut bufs {
                let filled = left.min(buf.bytes_total());
                // SAFETY: the kernel filled the buffers in order: this one's
                // first `filled` bytes were written.
                unsafe { buf.set_init(filled) };
                left -= filled;
            }
        }
        (completion.result, bufs)
    }
}

/// Writes the buffers' initialised bytes in order at `offset`.
pub(crate) struct WritevAt<B>(Vectored<B>);

impl<B: IoBuf> WritevAt<B> {
    pub(crate) fn new(fd: SharedFd, bufs: Vec<B>, offset: u64) -> WritevAt<B> {
        let iovecs = bufs
            .iter()
            .map(|b| io_vec(b.stable_ptr().cast_mut(), b.bytes_init()))
            .collect();
        WritevAt(Vectored {
            fd,
            offset,
            bufs,
            iovecs,
        })
    }
}

impl<B: IoBuf> Operation for WritevAt<B> {
    no_readiness!();
}

impl<B: IoBuf> OpCode for WritevAt<B> {
    type Output = BufResult<usize, Vec<B>>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        self.0.uring_entry(Direction::Write)
    }

    fn compat_mode(&mut self) -> CompatMode {
        self.0.compat_mode(Direction::Write)
    }

    fn complete(self, completion: Completion) -> Self::Output {
        (completion.result, self.0.bufs)
    }
}

//! The read side of [`PollIo`](super::PollIo): one owned buffer that an
//! owned-buffer read fills and the borrowed-slice API drains.
//!
//! The poll API hands us a `&mut [u8]` that lives only for one call, and the
//! kernel needs a buffer that outlives the call, so bytes land in our buffer
//! first and are copied out: that copy is the one the poll API forces, and the
//! only one. The read in flight is stored here, not in the caller's future, so
//! a caller that stops polling (a timeout, a `select!` that picked another
//! branch) loses nothing: the read completes into our buffer and the next poll
//! hands its bytes out. Dropping it in flight is the owned-buffer op's drop,
//! which leaves the buffer with the runtime until the kernel is done.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::buf::BufResult;

/// Where the read buffer is.
#[derive(Debug)]
enum Buffer<F> {
    /// With us: bytes `pos..buf.len()` are received and not yet handed out.
    /// Empty and zero capacity until the first read needs it.
    Held { buf: Vec<u8>, pos: usize },
    /// In a read op, which gives it back when the read completes.
    Reading(F),
}

/// The read side's state; `F` is the stream's owned-buffer read future.
#[derive(Debug)]
pub(super) struct ReadSide<F> {
    buffer: Buffer<F>,
    /// Capacity of the buffer a read fills.
    capacity: usize,
}

impl<F> ReadSide<F>
where
    F: Future<Output = BufResult<usize, Vec<u8>>> + Unpin,
{
    pub(super) fn new(capacity: usize) -> ReadSide<F> {
        ReadSide {
            buffer: Buffer::Held {
                buf: Vec::new(),
                pos: 0,
            },
            capacity,
        }
    }

    /// Received bytes not handed out yet: if none are buffered, starts (or
    /// resumes) a read with `start` and waits for it. An empty slice means end
    /// of stream. Errors are the read's own, kind unchanged.
    pub(super) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        start: impl FnOnce(Vec<u8>) -> F,
    ) -> Poll<io::Result<&[u8]>> {
        if self.buffered() == 0 {
            if let Buffer::Held { buf, .. } = &mut self.buffer {
                let mut buf = std::mem::take(buf);
                buf.clear();
                buf.reserve_exact(self.capacity);
                self.buffer = Buffer::Reading(start(buf));
            }
            if let Buffer::Reading(read) = &mut self.buffer {
                let (result, buf) = ready!(Pin::new(read).poll(cx));
                // After `Ok(0)` the buffer is empty: end of stream, reported
                // as an empty slice below.
                self.buffer = Buffer::Held { buf, pos: 0 };
                result?;
            }
        }
        match &self.buffer {
            Buffer::Held { buf, pos } => Poll::Ready(Ok(&buf[*pos..])),
            Buffer::Reading(_) => unreachable!("a completed read gives the buffer back"),
        }
    }

    /// Marks `amount` of the bytes [`poll_fill`](Self::poll_fill) returned as
    /// handed out (clamped to what is buffered).
    pub(super) fn consume(&mut self, amount: usize) {
        if let Buffer::Held { buf, pos } = &mut self.buffer {
            *pos = (*pos + amount).min(buf.len());
        }
    }

    /// Copies buffered bytes into `dst`, reading first if none are buffered;
    /// returns how many (0 at end of stream, or when `dst` is empty).
    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
        start: impl FnOnce(Vec<u8>) -> F,
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let available = ready!(self.poll_fill(cx, start))?;
        let n = available.len().min(dst.len());
        dst[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    /// How many received bytes wait in the buffer.
    pub(super) fn buffered(&self) -> usize {
        match &self.buffer {
            Buffer::Held { buf, pos } => buf.len() - pos,
            Buffer::Reading(_) => 0,
        }
    }
}

//! The write side of [`PollIo`](super::PollIo): borrowed bytes are copied
//! into one owned buffer, which an owned-buffer write sends in full.
//!
//! `poll_write` must say how many bytes it took before the kernel has them,
//! and the caller's slice is gone after the call, so the bytes are copied into
//! our buffer (the copy the poll API forces) and reported written at once; a
//! write of that buffer then runs until all of it is sent, resubmitting after
//! short writes. While it runs, further writes wait: at most one buffer of
//! unsent bytes per stream. `poll_flush` waits for it; an error it meets is
//! kept and returned by the next `poll_write`, `poll_flush` or
//! `poll_shutdown`, with its kind unchanged, as a buffered writer does.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::buf::{BufResult, IoBuf, Slice};

/// The write side's state; `F` is the stream's owned-buffer write future.
#[derive(Debug)]
pub(super) struct WriteSide<F> {
    /// The write in flight, with the buffer; `None` when all accepted bytes
    /// are sent.
    writing: Option<F>,
    /// The buffer while no write holds it (empty, maybe zero capacity).
    spare: Vec<u8>,
    /// The most bytes one `poll_write` takes, and so the largest buffer.
    max_chunk: usize,
    /// A buffer larger than this is freed once sent, not kept for the next write.
    keep_capacity: usize,
    /// The error of a write whose bytes were already reported written.
    failed: Option<io::Error>,
    /// Set by `poll_shutdown` once the write half is shut: writes then fail.
    shut_down: bool,
}

impl<F> WriteSide<F>
where
    F: Future<Output = BufResult<usize, Slice<Vec<u8>>>> + Unpin,
{
    pub(super) fn new(max_chunk: usize, keep_capacity: usize) -> WriteSide<F> {
        WriteSide {
            writing: None,
            spare: Vec::new(),
            max_chunk,
            keep_capacity,
            failed: None,
            shut_down: false,
        }
    }

    /// Takes up to `max_chunk` bytes of `bufs` (in order) and starts sending
    /// them with `start`; returns how many it took. Waits while an earlier
    /// write is still in flight.
    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
        mut start: impl FnMut(Slice<Vec<u8>>) -> F,
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_flush(cx, &mut start))?;
        if self.shut_down {
            let message = "write after poll_shutdown: the write half is closed";
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, message)));
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        let take = total.min(self.max_chunk);
        let mut buf = std::mem::take(&mut self.spare);
        buf.reserve_exact(take);
        for part in bufs {
            let room = take - buf.len();
            if room == 0 {
                break;
            }
            buf.extend_from_slice(&part[..part.len().min(room)]);
        }
        self.writing = Some(start(buf.slice(..)));
        Poll::Ready(Ok(take))
    }

    /// Waits until every accepted byte is sent (resubmitting after short
    /// writes with `start`); returns the error of a write that failed since
    /// the last call, once.
    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        mut start: impl FnMut(Slice<Vec<u8>>) -> F,
    ) -> Poll<io::Result<()>> {
        while let Some(write) = &mut self.writing {
            let (result, slice) = ready!(Pin::new(write).poll(cx));
            self.writing = None;
            let sent_to = slice.begin() + *result.as_ref().unwrap_or(&0);
            let mut buf = slice.into_inner();
            match result {
                Ok(0) => {
                    let message = format!(
                        "{} accepted bytes unsent: the stream takes no more",
                        buf.len() - sent_to
                    );
                    self.failed = Some(io::Error::new(io::ErrorKind::WriteZero, message));
                }
                Ok(_) if sent_to < buf.len() => {
                    self.writing = Some(start(buf.slice(sent_to..)));
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.writing = Some(start(buf.slice(sent_to..)));
                    continue;
                }
                Err(e) => self.failed = Some(e),
            }
            buf.clear();
            if buf.capacity() <= self.keep_capacity {
                self.spare = buf;
            }
        }
        Poll::Ready(match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    /// Flushes, then shuts the write half with `shutdown` (polled until
    /// done; once shut, a second call only flushes); later writes fail with
    /// [`io::ErrorKind::BrokenPipe`].
    pub(super) fn poll_shutdown(
        &mut self,
        cx: &mut Context<'_>,
        mut start: impl FnMut(Slice<Vec<u8>>) -> F,
        shutdown: impl FnOnce(&mut Context<'_>) -> Poll<io::Result<()>>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx, &mut start))?;
        if self.shut_down {
            return Poll::Ready(Ok(()));
        }
        ready!(shutdown(cx))?;
        self.shut_down = true;
        Poll::Ready(Ok(()))
    }

    /// Whether accepted bytes are still being sent.
    pub(super) fn is_writing(&self) -> bool {
        self.writing.is_some()
    }
}

//! [`PollIo`]: a ringo stream seen through the poll-based I/O traits of the
//! tokio and futures ecosystems, so crates written for them (hyper, h2, tonic,
//! `tokio::io` codecs, `futures` combinators) run on ringo.
//!
//! ringo's own traits lend the kernel an owned buffer per call; the poll
//! traits lend a borrowed slice for one call. The adapter bridges the two
//! with one owned buffer per direction, so each byte is copied once (the copy
//! the poll API forces) and no more:
//!
//! - **Reads** fill a read buffer of [`READ_BUFFER`] bytes, allocated on the
//!   first read, and hand its bytes out over as many polls as the caller
//!   needs. The read in flight lives in the adapter: a caller that stops
//!   polling mid-read (a timeout, a `select!`) loses no byte — the bytes are
//!   delivered by the next poll — and dropping the adapter mid-read leaves
//!   the buffer to the runtime until the kernel lets go of it.
//! - **Writes** copy up to [`MAX_WRITE_CHUNK`] bytes (from one slice or
//!   several: vectored writes go out in one send) and report them written at
//!   once; the send runs in the background until all of them are out.
//!   `poll_write` waits while one is still running, so at most one chunk is
//!   buffered. `poll_flush` waits for it; `poll_shutdown` flushes, then
//!   shuts the write half (the peer reads end of stream), as tokio documents.
//!   An error of a background send comes back, kind unchanged, from the next
//!   write, flush or shutdown; bytes accepted but not flushed when the adapter
//!   is dropped may be lost, as with any buffered writer.
//!
//! The tokio traits (`AsyncRead`, `AsyncBufRead`, `AsyncWrite`) come with the
//! cargo feature `tokio-io`; the futures ones with `futures-io`. Both sets
//! can be on at once. Without either, the same engine is there as inherent
//! `poll_*` methods, which is how `ringo_service::hyper` bridges to hyper's
//! own I/O traits (feature `hyper` of ringo-service).
//!
//! ```
//! # #[cfg(feature = "tokio-io")] {
//! use ringo_reactor::io::poll::PollIo;
//! use ringo_reactor::net::UnixStream;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! ringo_reactor::run(async {
//!     let (a, b) = UnixStream::pair()?;
//!     let (mut a, mut b) = (PollIo::new(a), PollIo::new(b));
//!     a.write_all(b"ping").await?;
//!     a.flush().await?;
//!     let mut got = [0u8; 4];
//!     b.read_exact(&mut got).await?;
//!     assert_eq!(&got, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```

mod read;
mod write;

#[cfg(feature = "futures-io")]
mod futures;
#[cfg(feature = "tokio-io")]
mod tokio;

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite};
use crate::buf::Slice;
use read::ReadSide;
use write::WriteSide;

/// Bytes one read from the stream may fill: the size of the read buffer,
/// allocated on the first read and kept for the adapter's life. 16 KiB holds
/// a TLS record or an HTTP/2 frame of the default size in one read.
pub const READ_BUFFER: usize = 16 * 1024;

/// The most bytes one `poll_write` takes (the rest waits for the next call).
/// A larger write is sent in chunks of this size, one in flight at a time.
pub const MAX_WRITE_CHUNK: usize = 64 * 1024;

/// A write buffer of at most this capacity is kept for the next write once
/// sent; a larger one (after a big write) is freed, so an idle connection
/// holds at most this much for writing.
pub const KEPT_WRITE_BUFFER: usize = 16 * 1024;

/// A ringo stream `S` (TCP, Unix, anything with ringo's owned-buffer
/// [`AsyncRead`] and [`AsyncWrite`]) as a poll-based stream: tokio's traits
/// with the feature `tokio-io`, the futures ones with `futures-io`. See the
/// [module docs](self) for buffering and cancellation.
pub struct PollIo<S: AsyncRead + AsyncWrite> {
    /// Shared with a shutdown in progress, whose future must own what it borrows.
    stream: Rc<S>,
    read: ReadSide<S::Read<Vec<u8>>>,
    write: WriteSide<S::Write<Slice<Vec<u8>>>>,
    /// `stream.shutdown()` once started, until it completes.
    shutting_down: Option<Pin<Box<dyn Future<Output = io::Result<()>>>>>,
}

impl<S: AsyncRead + AsyncWrite + 'static> PollIo<S> {
    /// Wraps `stream`. Allocates nothing until the first read or write.
    pub fn new(stream: S) -> PollIo<S> {
        PollIo {
            stream: Rc::new(stream),
            read: ReadSide::new(READ_BUFFER),
            write: WriteSide::new(MAX_WRITE_CHUNK, KEPT_WRITE_BUFFER),
            shutting_down: None,
        }
    }

    /// The wrapped stream, for its own methods (addresses, socket options).
    /// Reading or writing it directly would bypass the adapter's buffers.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Received bytes buffered in the adapter and not yet read by the caller.
    pub fn buffered(&self) -> usize {
        self.read.buffered()
    }

    /// Whether written bytes are still being sent (a flush would wait).
    pub fn is_flushing(&self) -> bool {
        self.write.is_writing()
    }

    /// Unwraps the stream. Buffered received bytes are dropped, and so are a
    /// read, write or shutdown in flight (safely: see the module docs), so call
    /// it after a flush, with [`buffered`](Self::buffered) at 0.
    pub fn into_inner(self) -> S {
        let PollIo { stream, .. } = self;
        // The only other owner is a shutdown future, dropped with `self` above.
        Rc::try_unwrap(stream)
            .unwrap_or_else(|_| unreachable!("a shutdown future is the only other owner"))
    }

    /// Received bytes not yet read, reading first if none are buffered; an
    /// empty slice means end of stream. Mark what you use with
    /// [`consume`](Self::consume). What the `AsyncBufRead` impls call; also
    /// the way to bridge to a poll trait of another crate (hyper's `Read`).
    ///
    /// # Errors
    /// The stream's read error, kind unchanged.
    pub fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let stream = &self.stream;
        self.read.poll_fill(cx, |buf| stream.read(buf))
    }

    /// Marks `amount` bytes of what [`poll_fill_buf`](Self::poll_fill_buf)
    /// returned as read (clamped to what is buffered).
    pub fn consume(&mut self, amount: usize) {
        self.read.consume(amount);
    }

    /// Copies received bytes into `dst`, reading first if none are buffered;
    /// returns how many (0 at end of stream or when `dst` is empty).
    ///
    /// # Errors
    /// The stream's read error, kind unchanged.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        let stream = &self.stream;
        self.read.poll_read(cx, dst, |buf| stream.read(buf))
    }

    /// Takes up to [`MAX_WRITE_CHUNK`] bytes of `bufs`, in order, and starts
    /// sending them; returns how many it took. Waits while an earlier send
    /// is still running.
    ///
    /// # Errors
    /// The error of an earlier send (kind unchanged), or
    /// [`io::ErrorKind::BrokenPipe`] after [`poll_shutdown`](Self::poll_shutdown).
    pub fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let stream = &self.stream;
        self.write.poll_write(cx, bufs, |buf| stream.write(buf))
    }

    /// Waits until every byte taken by a write is sent.
    ///
    /// # Errors
    /// The error of a send that failed since the last call, kind unchanged.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = &self.stream;
        self.write.poll_flush(cx, |buf| stream.write(buf))
    }

    /// Flushes, then shuts the write half (the peer reads end of stream);
    /// reading goes on.
    ///
    /// # Errors
    /// As [`poll_flush`](Self::poll_flush), or the shutdown's own error.
    pub fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = &self.stream;
        let shutting_down = &mut self.shutting_down;
        self.write.poll_shutdown(
            cx,
            |buf| stream.write(buf),
            |cx| {
                let shutdown = shutting_down.get_or_insert_with(|| {
                    let stream = stream.clone();
                    Box::pin(async move { stream.shutdown().await })
                });
                let result = std::task::ready!(shutdown.as_mut().poll(cx));
                *shutting_down = None;
                Poll::Ready(result)
            },
        )
    }
}

impl<S: AsyncRead + AsyncWrite + fmt::Debug> fmt::Debug for PollIo<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollIo")
            .field("stream", &self.stream)
            .field("buffered", &self.read.buffered())
            .field("flushing", &self.write.is_writing())
            .finish_non_exhaustive()
    }
}

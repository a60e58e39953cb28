//! The read half of the framed engine, and [`FramedRead`].
//!
//! Reads go straight into the spare capacity of one `BytesMut` with an
//! owned-buffer read, so there is no copy and no allocation per read. The read
//! in flight is stored here — not in the caller's future — so a caller that
//! gives up (a timeout, a `select`) loses neither the buffer nor the bytes
//! already read: the next call resumes the same read.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use ringo_reactor::buf::{IoBuf, Slice};
use ringo_reactor::io::AsyncRead;

use crate::codec::Decoder;

/// Default cap on bytes buffered without a whole frame: past it, the read fails
/// with [`io::ErrorKind::InvalidData`] instead of growing memory.
pub const DEFAULT_MAX_BUFFER: usize = 8 * 1024 * 1024;

/// Spare capacity guaranteed before each read, in bytes. A small request fits in
/// one read; bigger frames grow the buffer as they arrive (codecs may `reserve`).
const READ_CHUNK: usize = 8 * 1024;

/// Decoding state shared by [`Framed`](super::Framed) and [`FramedRead`].
pub(crate) struct ReadState<T: AsyncRead> {
    /// The read in flight, if any; it owns `buf` meanwhile.
    pending: Option<T::Read<Slice<BytesMut>>>,
    buf: BytesMut,
    max_buffer: usize,
    eof: bool,
    /// Bytes the buffer held when it was lent to the read in flight.
    lent: usize,
    /// Set once `decode_eof` returned `None` (or an error): the stream is done.
    finished: bool,
}

impl<T: AsyncRead> ReadState<T> {
    pub(crate) fn new(buf: BytesMut) -> ReadState<T> {
        ReadState {
            pending: None,
            buf,
            max_buffer: DEFAULT_MAX_BUFFER,
            eof: false,
            lent: 0,
            finished: false,
        }
    }

    pub(crate) fn set_max_buffer(&mut self, max: usize) {
        self.max_buffer = max.max(1);
    }

    pub(crate) fn buffer(&self) -> &BytesMut {
        &self.buf
    }

    /// Bytes read and not yet decoded, including while a read is in flight (when
    /// the buffer itself is lent to that read).
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len().max(self.lent)
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Decodes the next frame, reading as needed. `None` at a clean end of stream.
    pub(crate) fn poll_next<D: Decoder>(
        &mut self,
        io: &T,
        codec: &mut D,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<D::Item, D::Error>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            if self.pending.is_none() {
                let decoded = if self.eof {
                    codec.decode_eof(&mut self.buf)
                } else {
                    codec.decode(&mut self.buf)
                };
                match decoded {
                    Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                    Ok(None) if self.eof => {
                        self.finished = true;
                        return Poll::Ready(None);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.finished = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                if self.buf.len() >= self.max_buffer {
                    self.finished = true;
                    let message = format!(
                        "buffered {} bytes without a whole frame, over limit {}",
                        self.buf.len(),
                        self.max_buffer
                    );
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        message,
                    )
                    .into())));
                }
                let mut buf = std::mem::take(&mut self.buf);
                if buf.capacity() - buf.len() < READ_CHUNK {
                    buf.reserve(READ_CHUNK);
                }
                let start = buf.len();
                self.lent = start;
                let end = buf.capacity().min(start + (self.max_buffer - start).max(1));
                self.pending = Some(io.read(buf.slice(start..end)));
            }
            let pending = self
                .pending
                .as_mut()
                .expect("invariant: a read is pending here");
            let (result, slice) = std::task::ready!(Pin::new(pending).poll(cx));
            self.pending = None;
            self.lent = 0;
            self.buf = slice.into_inner();
            match result {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}

impl<T: AsyncRead> fmt::Debug for ReadState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadState")
            .field("buffered", &self.buf.len())
            .field("reading", &self.pending.is_some())
            .field("eof", &self.eof)
            .finish()
    }
}

/// A stream of frames decoded from a reader.
#[derive(Debug)]
pub struct FramedRead<T: AsyncRead, D> {
    state: ReadState<T>,
    io: T,
    codec: D,
}

impl<T: AsyncRead, D: Decoder> FramedRead<T, D> {
    /// Decodes frames from `io` with `codec`.
    pub fn new(io: T, codec: D) -> FramedRead<T, D> {
        FramedRead {
            state: ReadState::new(BytesMut::new()),
            io,
            codec,
        }
    }

    /// Sets the cap on bytes buffered without a whole frame (default [`DEFAULT_MAX_BUFFER`]).
    pub fn set_max_buffer(&mut self, max: usize) {
        self.state.set_max_buffer(max);
    }

    /// The next frame; `None` at a clean end of stream.
    pub async fn next(&mut self) -> Option<Result<D::Item, D::Error>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next frame.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<D::Item, D::Error>>> {
        self.state.poll_next(&self.io, &mut self.codec, cx)
    }

    /// The reader.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The codec.
    pub fn codec_mut(&mut self) -> &mut D {
        &mut self.codec
    }

    /// Bytes read but not yet decoded.
    pub fn read_buffer(&self) -> &BytesMut {
        self.state.buffer()
    }
}

impl<T: AsyncRead, D: Decoder> futures_core::Stream for FramedRead<T, D>
where
    Self: Unpin,
{
    type Item = Result<D::Item, D::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::into_inner(self).poll_next(cx)
    }
}

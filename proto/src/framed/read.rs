//! The read half of the framed engine, and [`FramedRead`].
//!
//! Reads go straight into the spare capacity of one `BytesMut` with an
//! owned-buffer read, so there is no copy and no allocation per read. The read
//! in flight is stored here — not in the caller's future — so a caller that
//! gives up (a timeout, a `select`) loses neither the buffer nor the bytes
//! already read: the next call resumes the same read.
//!
//! On the pooled path ([`Framed::pooled`](super::Framed::pooled)) the transport
//! receives into the runtime's buffer pool instead, and frames are decoded from
//! those buffers, copying into the read buffer only what must be (see
//! `pooled.rs`).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use ringo_reactor::buf::{IoBuf, PooledBuf, Slice};
use ringo_reactor::io::AsyncRead;

use super::pooled::Pooled;
use crate::codec::Decoder;

/// Default cap on bytes buffered without a whole frame; documented on
/// [`FramedRead::set_max_buffer`] and [`Framed::set_max_buffer`](super::Framed::set_max_buffer).
const DEFAULT_MAX_BUFFER: usize = 8 * 1024 * 1024;

/// Spare capacity a read starts with when the buffer is (re)grown, in bytes. A
/// small request fits in one read; bigger frames grow the buffer as they
/// arrive (codecs may `reserve`).
const READ_CHUNK: usize = 8 * 1024;

/// Least spare capacity a read goes ahead with, without growing the buffer
/// first. Below a whole [`READ_CHUNK`], so that a buffer some frames were
/// split off is read into as it is: growing it (usually taking its front back)
/// on every read costs more than a read of a few kilobytes fewer.
const MIN_READ: usize = READ_CHUNK / 2;

/// The read buffer and what decoding it depends on.
struct Buffer {
    buf: BytesMut,
    max_buffer: usize,
    eof: bool,
    /// Set once `decode_eof` returned `None` (or an error): the stream is done.
    finished: bool,
}

/// What decoding the read buffer came to.
enum Decoded<I, E> {
    /// What `poll_next` returns: a frame, an error or the end (the last two
    /// finish the stream).
    Ready(Option<Result<I, E>>),
    /// No whole frame: more bytes are needed, and the cap allows them.
    NeedBytes,
}

impl Buffer {
    fn decode<D: Decoder>(&mut self, codec: &mut D) -> Decoded<D::Item, D::Error> {
        let decoded = if self.eof {
            codec.decode_eof(&mut self.buf)
        } else {
            codec.decode(&mut self.buf)
        };
        match decoded {
            Ok(Some(item)) => return Decoded::Ready(Some(Ok(item))),
            Ok(None) if self.eof => {
                self.finished = true;
                return Decoded::Ready(None);
            }
            Ok(None) => {}
            Err(e) => {
                self.finished = true;
                return Decoded::Ready(Some(Err(e)));
            }
        }
        if self.buf.len() >= self.max_buffer {
            self.finished = true;
            let message = format!(
                "buffered {} bytes without a whole frame, over limit {}",
                self.buf.len(),
                self.max_buffer
            );
            return Decoded::Ready(Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                message,
            )
            .into())));
        }
        Decoded::NeedBytes
    }

    /// Ends the stream with a read's error, unless it only says "try again".
    fn failed<E: From<io::Error>>(&mut self, e: io::Error) -> Option<E> {
        if e.kind() == io::ErrorKind::Interrupted {
            return None;
        }
        self.finished = true;
        Some(e.into())
    }
}

/// Decoding state shared by [`Framed`](super::Framed) and [`FramedRead`].
pub(crate) struct ReadState<T: AsyncRead> {
    /// The read in flight, if any; it owns `buffer.buf` meanwhile.
    pending: Option<T::Read<Slice<BytesMut>>>,
    /// `Some` on the pooled path, which never has a read in flight.
    pooled: Option<Pooled>,
    buffer: Buffer,
    /// Bytes the buffer held when it was lent to the read in flight.
    lent: usize,
    /// On the pooled path, a receive is under way: the codec wanted more
    /// bytes than it had.
    receiving: bool,
}

impl<T: AsyncRead> ReadState<T> {
    pub(crate) fn new(buf: BytesMut) -> ReadState<T> {
        ReadState {
            pending: None,
            pooled: None,
            buffer: Buffer {
                buf,
                max_buffer: DEFAULT_MAX_BUFFER,
                eof: false,
                finished: false,
            },
            lent: 0,
            receiving: false,
        }
    }

    pub(crate) fn set_max_buffer(&mut self, max: usize) {
        self.buffer.max_buffer = max.max(1);
    }

    pub(crate) fn buffer(&self) -> &BytesMut {
        &self.buffer.buf
    }

    /// Bytes read and not yet decoded, including while a read is in flight (when
    /// the buffer itself is lent to that read) and those of a pooled buffer.
    pub(crate) fn buffered(&self) -> usize {
        let held = self.pooled.as_ref().map_or(0, Pooled::held);
        self.buffer.buf.len().max(self.lent) + held
    }

    /// The read buffer, with every byte of a pooled buffer moved in first.
    /// Frees the read buffer's memory if it holds no bytes and is not lent to
    /// a read in flight (so on the pooled path only, in practice: an owned
    /// read waits with the buffer).
    pub(crate) fn release_if_empty(&mut self) {
        if self.pending.is_none() && self.buffer.buf.is_empty() {
            self.buffer.buf = BytesMut::new();
        }
    }

    /// Whether a read is in flight (it owns the read buffer meanwhile).
    pub(crate) fn is_reading(&self) -> bool {
        self.pending.is_some()
    }

    /// The bytes read and not yet decoded, pooled ones included; no read may
    /// be in flight.
    pub(crate) fn into_buffer(mut self) -> BytesMut {
        std::mem::take(self.buffer_mut())
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut BytesMut {
        if let Some(pooled) = &mut self.pooled {
            pooled.drain_into(&mut self.buffer.buf);
        }
        &mut self.buffer.buf
    }

    /// Decodes the next frame, reading as needed. `None` at a clean end of stream.
    pub(crate) fn poll_next<D: Decoder>(
        &mut self,
        io: &T,
        codec: &mut D,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<D::Item, D::Error>>> {
        if self.pooled.is_some() {
            return self.poll_next_pooled(io, codec, cx);
        }
        let buffer = &mut self.buffer;
        loop {
            if buffer.finished {
                return Poll::Ready(None);
            }
            if self.pending.is_none() {
                if let Decoded::Ready(next) = buffer.decode(codec) {
                    return Poll::Ready(next);
                }
                if codec.holds_reads() {
                    return Poll::Pending;
                }
                let mut buf = std::mem::take(&mut buffer.buf);
                if buf.capacity() - buf.len() < MIN_READ {
                    buf.reserve(READ_CHUNK);
                }
                let start = buf.len();
                self.lent = start;
                let end = buf
                    .capacity()
                    .min(start + (buffer.max_buffer - start).max(1));
                self.pending = Some(io.read(buf.slice(start..end)));
            }
            let pending = self
                .pending
                .as_mut()
                .expect("invariant: a read is pending here");
            let (result, slice) = std::task::ready!(Pin::new(pending).poll(cx));
            self.pending = None;
            self.lent = 0;
            buffer.buf = slice.into_inner();
            match result {
                Ok(0) => buffer.eof = true,
                Ok(_) => {}
                Err(e) => {
                    if let Some(e) = buffer.failed(e) {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
        }
    }

    /// [`poll_next`](Self::poll_next) on the pooled path (see `pooled.rs`).
    fn poll_next_pooled<D: Decoder>(
        &mut self,
        io: &T,
        codec: &mut D,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<D::Item, D::Error>>> {
        let buffer = &mut self.buffer;
        let pooled = self
            .pooled
            .as_mut()
            .expect("invariant: called on the pooled path");
        loop {
            if buffer.finished {
                return Poll::Ready(None);
            }
            // As an owned read in flight is polled before decoding again, a
            // receive under way is: the codec has seen every byte already.
            if !self.receiving {
                if buffer.buf.is_empty() && !buffer.eof {
                    match pooled.decode_front(codec, buffer.max_buffer) {
                        Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                        Ok(None) => {}
                        Err(e) => {
                            buffer.finished = true;
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                pooled.copy_into(&mut buffer.buf, buffer.max_buffer);
                if let Decoded::Ready(next) = buffer.decode(codec) {
                    if let Some(Ok(_)) = next {
                        pooled.give_back(&mut buffer.buf);
                    }
                    return Poll::Ready(next);
                }
                if pooled.has_held() {
                    continue;
                }
                if codec.holds_reads() {
                    return Poll::Pending;
                }
                self.receiving = true;
            }
            let received = std::task::ready!(pooled.poll_receive(io, cx));
            self.receiving = false;
            match received {
                Ok(true) => {}
                Ok(false) => buffer.eof = true,
                // The transport has no pooled receive (TLS, a pipe): nothing
                // was read, so owned reads take over from here.
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    self.pooled = None;
                    return self.poll_next(io, codec, cx);
                }
                Err(e) => {
                    if let Some(e) = buffer.failed(e) {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
        }
    }
}

impl<T: AsyncRead> ReadState<T> {
    /// A read state on the pooled path (owned reads if `T` has no pooled
    /// receive).
    pub(crate) fn pooled(buf: BytesMut) -> ReadState<T> {
        let mut state = ReadState::new(buf);
        state.pooled = Some(Pooled::new());
        state
    }

    /// A read state on the pooled path whose first bytes are `received`.
    pub(crate) fn pooled_received(received: PooledBuf) -> ReadState<T> {
        let mut state = ReadState::new(BytesMut::new());
        state.pooled = Some(Pooled::holding(received));
        state
    }

    /// Whether this state holds nothing the transport could not give again:
    /// on the pooled path (whose receive lives in the transport), no byte
    /// read and not decoded, the stream not ended.
    pub(crate) fn is_empty_pooled(&self) -> bool {
        self.pooled.is_some() && self.buffered() == 0 && !self.buffer.eof && !self.buffer.finished
    }
}

impl<T: AsyncRead> fmt::Debug for ReadState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadState")
            .field("buffered", &self.buffer.buf.len())
            .field("reading", &self.pending.is_some())
            .field("pooled", &self.pooled)
            .field("eof", &self.buffer.eof)
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
}

impl<T: AsyncRead, D> FramedRead<T, D> {
    /// A framed reader resuming `state` (from a split [`Framed`](super::Framed)).
    pub(crate) fn from_state(state: ReadState<T>, io: T, codec: D) -> FramedRead<T, D> {
        FramedRead { state, io, codec }
    }
}

impl<T: AsyncRead, D: Decoder> FramedRead<T, D> {
    /// Decodes frames from `io` with `codec`, receiving into the runtime's
    /// buffer pool; see [`Framed::pooled`](super::Framed::pooled).
    pub fn pooled(io: T, codec: D) -> FramedRead<T, D> {
        FramedRead {
            state: ReadState::pooled(BytesMut::new()),
            io,
            codec,
        }
    }
}

impl<T: AsyncRead, D: Decoder> FramedRead<T, D> {
    /// Sets the cap on bytes buffered without a whole frame; default 8 MiB.
    /// Past it, reading fails with [`io::ErrorKind::InvalidData`] instead of
    /// growing memory.
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

    /// The reader, mutably. Reading it directly loses bytes this reader has
    /// buffered (see [`read_buffer`](Self::read_buffer)).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The codec.
    pub fn codec_mut(&mut self) -> &mut D {
        &mut self.codec
    }

    /// Bytes read but not yet decoded (on the pooled path, only those copied
    /// into the read buffer).
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

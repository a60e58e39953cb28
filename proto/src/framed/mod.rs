//! Framed transports: a byte stream seen as a stream of frames.
//!
//! [`Framed`] owns a transport, a codec, one read buffer and one write buffer.
//! [`FramedRead`] and [`FramedWrite`] are the one-direction forms; all three are
//! thin wrappers over the same two engines (`read.rs`, `write.rs`).
//! [`Framed::pooled`] and [`FramedRead::pooled`] read through the runtime's
//! receive buffer pool instead of a read buffer of their own (`pooled.rs`).
//! A [`FileRange`] is written from its file, zero-copy where the transport
//! can (`file.rs`).
//!
//! # Example: a line echo server in a few lines
//!
//! ```no_run
//! use ringo_proto::codec::LinesCodec;
//! use ringo_proto::Framed;
//! use ringo_reactor::net::TcpListener;
//!
//! async fn serve() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:7001")?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         ringo_reactor::spawn(async move {
//!             let mut lines = Framed::new(stream, LinesCodec::new());
//!             while let Some(Ok(line)) = lines.next().await {
//!                 if lines.send(line).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//! }
//!
//! ringo_reactor::run(serve())?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod file;
mod parts;
mod pooled;
mod read;
mod sink;
mod write;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use ringo_reactor::buf::PooledBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use crate::codec::{Decoder, Encoder};
pub use file::{FileChunks, FileRange};
pub use parts::FramedParts;
pub use read::FramedRead;
use read::ReadState;
pub use write::FramedWrite;
use write::WriteState;
pub(crate) use write::DEFAULT_BACKPRESSURE;

/// A transport seen as frames in both directions.
#[derive(Debug)]
pub struct Framed<T: AsyncRead + AsyncWrite, C> {
    // The states hold ops in flight on `io`: declared first, they drop first.
    read: ReadState<T>,
    write: WriteState<T>,
    io: T,
    codec: C,
}

impl<T: AsyncRead + AsyncWrite, C> Framed<T, C> {
    /// Frames `io` with `codec`.
    pub fn new(io: T, codec: C) -> Framed<T, C> {
        Framed::with_read_buffer(io, codec, BytesMut::new())
    }

    /// Frames `io` with `codec`, starting with bytes already read (for example
    /// by a protocol detector).
    pub fn with_read_buffer(io: T, codec: C, buffered: BytesMut) -> Framed<T, C> {
        Framed::with_read_state(io, codec, ReadState::new(buffered))
    }

    fn with_read_state(io: T, codec: C, read: ReadState<T>) -> Framed<T, C> {
        Framed {
            read,
            write: WriteState::new(),
            io,
            codec,
        }
    }

    /// Sets the cap on bytes buffered without a whole frame; default 8 MiB.
    /// Past it, reading fails with `InvalidData` instead of growing memory.
    pub fn set_max_buffer(&mut self, max: usize) {
        self.read.set_max_buffer(max);
    }

    /// Sets how many buffered bytes make [`feed`](Self::feed) flush first;
    /// default 128 KiB. The mark bounds memory when a peer reads slower than
    /// we write.
    pub fn set_backpressure(&mut self, bytes: usize) {
        self.write.set_backpressure(bytes);
    }

    /// The next frame; `None` at a clean end of stream.
    ///
    /// Cancel-safe: dropping this future loses no bytes; the read in flight is
    /// resumed by the next call.
    pub async fn next(&mut self) -> Option<Result<C::Item, C::Error>>
    where
        C: Decoder,
    {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next frame.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<C::Item, C::Error>>>
    where
        C: Decoder,
    {
        self.read.poll_next(&self.io, &mut self.codec, cx)
    }

    /// Encodes `item` for a later flush, flushing first if the write buffer is
    /// past the backpressure mark.
    pub async fn feed<I>(&mut self, item: I) -> Result<(), C::Error>
    where
        C: Encoder<I>,
    {
        if self.write.is_full() {
            self.flush().await?;
        }
        self.write.encode(&mut self.codec, item)
    }

    /// Encodes `item` without any I/O, however full the write buffer is. For
    /// dispatchers that bound what they buffer themselves.
    pub fn encode<I>(&mut self, item: I) -> Result<(), C::Error>
    where
        C: Encoder<I>,
    {
        self.write.encode(&mut self.codec, item)
    }

    /// Encodes `item` and writes everything buffered.
    pub async fn send<I>(&mut self, item: I) -> Result<(), C::Error>
    where
        C: Encoder<I>,
    {
        self.feed(item).await?;
        Ok(self.flush().await?)
    }

    /// Writes everything buffered.
    pub async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Polls writing everything buffered.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write.poll_flush(&self.io, cx)
    }

    /// Polls writing everything buffered, quietly: see
    /// `WriteState::poll_flush_quietly`. For a server's connection, which
    /// has nothing to do with a response once the kernel has it.
    pub(crate) fn poll_flush_quietly(
        &mut self,
        mark: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.write.poll_flush_quietly(&self.io, mark, cx)
    }

    /// Queues `range` to be written after everything encoded so far; see
    /// `WriteState::start_send_file`. For the pipelined dispatcher, which
    /// encodes nothing until [`poll_send_file`](Self::poll_send_file) is done.
    pub(crate) fn start_send_file(&mut self, range: FileRange) -> io::Result<()> {
        self.write.start_send_file(&self.io, range)
    }

    /// Polls writing the queued file range, if any; see
    /// `WriteState::poll_send_file`.
    pub(crate) fn poll_send_file(
        &mut self,
        backpressure: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.write.poll_send_file(&self.io, backpressure, cx)
    }

    /// Bytes encoded but not yet written.
    pub fn write_buffered(&self) -> usize {
        self.write.buffered()
    }

    /// [`write_buffered`](Self::write_buffered) but for a write in flight
    /// that was flushed quietly: the bytes someone waits to see written.
    pub(crate) fn write_awaited(&self) -> usize {
        self.write.awaited()
    }

    /// How many bytes are read but not yet decoded (also while a read is in
    /// flight, when [`read_buffer`](Self::read_buffer) is lent out and empty,
    /// and on the pooled path those still in a received buffer).
    pub fn read_buffered(&self) -> usize {
        self.read.buffered()
    }

    /// Bytes read but not yet decoded. On the pooled path
    /// ([`pooled`](Self::pooled)) only those copied into the read buffer: the
    /// rest of a received buffer joins them in
    /// [`read_buffer_mut`](Self::read_buffer_mut).
    pub fn read_buffer(&self) -> &BytesMut {
        self.read.buffer()
    }

    /// Bytes read but not yet decoded (all of them, on the pooled path too),
    /// to hand over to another protocol.
    pub fn read_buffer_mut(&mut self) -> &mut BytesMut {
        self.read.buffer_mut()
    }

    /// Frees the memory of the read and write buffers, each if it holds no
    /// bytes and no I/O is using it. For a server whose connection has gone
    /// idle: on the pooled path ([`pooled`](Self::pooled)) it then holds no
    /// buffer at all. Not worth calling between every two frames: the next
    /// frame allocates them again (some 250 instructions per request of
    /// `hello_http`), so the pipeline server calls it once a connection has
    /// been quiet for a while.
    pub fn release_buffers(&mut self) {
        self.read.release_if_empty();
        self.write.release_if_empty();
    }

    /// Whether the transport is all this holds that cannot be made again:
    /// on the pooled path, no byte read and not decoded, nothing to write, no
    /// I/O in flight. A server may then keep only the transport
    /// ([`into_io`](Self::into_io)) while the connection idles, and build a
    /// framed transport anew ([`pooled_received`](Self::pooled_received))
    /// when bytes come; the pipeline server parks its idle connections so.
    pub(crate) fn is_parkable(&self) -> bool {
        self.read.is_empty_pooled() && self.write.is_empty()
    }

    /// The transport alone; see [`is_parkable`](Self::is_parkable).
    pub(crate) fn into_io(self) -> T {
        self.io
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The transport, mutably. Reading or writing it directly bypasses the
    /// buffers here: bytes already read but not decoded stay in
    /// [`read_buffer`](Self::read_buffer), frames not flushed stay queued.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The state, transport and codec, for the `Sink` impl.
    fn sink_parts(&mut self) -> (&mut WriteState<T>, &T, &mut C) {
        (&mut self.write, &self.io, &mut self.codec)
    }

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.codec
    }

    /// The codec, mutably.
    pub fn codec_mut(&mut self) -> &mut C {
        &mut self.codec
    }
}

impl<T: AsyncRead + AsyncWrite, C> Framed<T, C> {
    /// Frames `io` with `codec`, receiving into the runtime's
    /// [`BufferPool`](ringo_reactor::buf::BufferPool) rather than into a read
    /// buffer of its own where `io` can.
    ///
    /// An idle connection then holds no receive buffer (on io_uring one
    /// multishot receive stays armed, with no submission per read), and
    /// frames are decoded straight from the received buffers where the codec
    /// can ([`Decoder::decode_slice`], which
    /// [`LinesCodec`](crate::codec::LinesCodec) implements): only a frame
    /// that straddles two buffers is copied into the read buffer. With a codec
    /// that cannot, every byte is copied once into the read buffer — which an
    /// owned read avoids (the read buffer that holds the copies is kept until
    /// [`release_buffers`](Self::release_buffers)).
    ///
    /// On io_uring a reader that stops reading holds at most 64 KiB of the
    /// runtime's shared pool (the multishot receive's limit per arming, Linux
    /// 6.17); on older kernels its multishot is cancelled once four
    /// completions wait, but a burst that arrives before the cancel runs lands
    /// in the pool. The HTTP and RESP servers read this way: an idle
    /// connection holds no receive buffer, at no measurable CPU per request
    /// on io_uring (`benches/README.md`, "Idle keep-alive connections").
    ///
    /// A transport without a pooled receive
    /// ([`AsyncRead::poll_recv_pooled`] fails with `Unsupported`: a TLS
    /// stream, a pipe) is read with owned reads, as by [`new`](Self::new).
    ///
    /// Everything else is as with [`new`](Self::new): the same frames, the
    /// cap of [`set_max_buffer`](Self::set_max_buffer) (a frame is decoded
    /// from a received buffer only if it fits in the cap), and cancel safety.
    /// When the pool is empty, reading waits for a buffer to come back. Don't
    /// read `io` by other means meanwhile: bytes received for one reader are
    /// not seen by another.
    ///
    /// # Examples
    /// ```no_run
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::Framed;
    /// use ringo_reactor::net::TcpStream;
    ///
    /// ringo_reactor::run(async {
    ///     let stream = TcpStream::connect("127.0.0.1:7001").await?;
    ///     let mut lines = Framed::pooled(stream, LinesCodec::new());
    ///     while let Some(line) = lines.next().await {
    ///         lines.send(line?).await?;
    ///     }
    ///     Ok::<(), ringo_proto::codec::LinesCodecError>(())
    /// })?;
    /// # Ok::<(), ringo_proto::codec::LinesCodecError>(())
    /// ```
    pub fn pooled(io: T, codec: C) -> Framed<T, C> {
        Framed::with_read_state(io, codec, ReadState::pooled(BytesMut::new()))
    }

    /// As [`pooled`](Self::pooled), with `received` (from the transport's
    /// pooled receive) as the first bytes to decode.
    pub(crate) fn pooled_received(io: T, codec: C, received: PooledBuf) -> Framed<T, C> {
        Framed::with_read_state(io, codec, ReadState::pooled_received(received))
    }
}

impl<T: AsyncRead + AsyncWrite, C: Decoder> futures_core::Stream for Framed<T, C>
where
    Self: Unpin,
{
    type Item = Result<C::Item, C::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::into_inner(self).poll_next(cx)
    }
}

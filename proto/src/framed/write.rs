//! The write half of the framed engine, and [`FramedWrite`].
//!
//! Frames are encoded into one `BytesMut`; a flush hands that buffer to an
//! owned-buffer write and takes it back, so many frames leave in one syscall
//! (the pipeline dispatcher feeds every ready response, then flushes once). The
//! write in flight is kept here, so a dropped flush loses nothing: the next flush
//! resumes it.
//!
//! A server flushes *quietly* ([`WriteState::poll_flush_quietly`]) while its
//! connection goes on: a write that goes whole then wakes nobody, and waits
//! to be collected by the next flush, which the next request brings. Only a
//! short or failed write wakes the task (see `AsyncWrite::poll_write_quietly`).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use futures_core::Stream;
use ringo_reactor::io::AsyncWrite;

use super::file::{ended_early, FileRange, FileSend};
use crate::codec::Encoder;

/// Default bytes buffered for writing before [`feed`](super::Framed::feed) flushes
/// first; documented on [`FramedWrite::set_backpressure`] and
/// [`Framed::set_backpressure`](super::Framed::set_backpressure).
pub(crate) const DEFAULT_BACKPRESSURE: usize = 128 * 1024;

/// Encoding state shared by [`Framed`](super::Framed) and [`FramedWrite`].
pub(crate) struct WriteState<T: AsyncWrite> {
    /// The write in flight, if any; it owns `buf` meanwhile.
    pending: Option<T::Write<BytesMut>>,
    /// Bytes lent to the write in flight.
    lent: usize,
    /// The write in flight was last polled quietly: nobody waits for it.
    quiet: bool,
    /// Frames encoded since; appended behind any unwritten rest of `pending`.
    buf: BytesMut,
    backpressure: usize,
    /// The file range being written (`file.rs`), if any: it goes after the
    /// bytes in `buf` and before anything encoded once it is done. Boxed:
    /// few responses are files, and every connection holds this field.
    file: Option<Box<FileSend>>,
}

impl<T: AsyncWrite> WriteState<T> {
    pub(crate) fn new() -> WriteState<T> {
        WriteState {
            pending: None,
            lent: 0,
            quiet: false,
            buf: BytesMut::new(),
            backpressure: DEFAULT_BACKPRESSURE,
            file: None,
        }
    }

    pub(crate) fn set_backpressure(&mut self, bytes: usize) {
        self.backpressure = bytes.max(1);
    }

    /// Encodes `item` into the write buffer (no I/O).
    pub(crate) fn encode<I, E: Encoder<I>>(
        &mut self,
        codec: &mut E,
        item: I,
    ) -> Result<(), E::Error> {
        codec.encode(item, &mut self.buf)
    }

    /// Frees the write buffer's memory if nothing is buffered or being
    /// written.
    pub(crate) fn release_if_empty(&mut self) {
        if self.pending.is_none() && self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    /// Whether nothing is buffered, being written or waiting to be sent
    /// from a file.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_none() && self.buf.is_empty() && self.file.is_none()
    }

    /// Whether a write is in flight (it owns the write buffer meanwhile).
    pub(crate) fn is_writing(&self) -> bool {
        self.pending.is_some()
    }

    /// Puts back bytes encoded earlier (from [`FramedParts`](super::FramedParts)),
    /// to be written with the next flush.
    pub(crate) fn restore_buffer(&mut self, buf: BytesMut) {
        self.buf = buf;
    }

    /// The bytes encoded and not yet written; no write may be in flight.
    pub(crate) fn into_buffer(self) -> BytesMut {
        self.buf
    }

    /// A `Sink`'s readiness: room to encode another item, flushing first when
    /// the buffer is past the backpressure mark.
    pub(crate) fn poll_ready(&mut self, io: &T, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_full() {
            return self.poll_flush(io, cx);
        }
        Poll::Ready(Ok(()))
    }

    /// Whether the buffer is past the backpressure mark (flush before feeding more).
    pub(crate) fn is_full(&self) -> bool {
        self.buffered() >= self.backpressure
    }

    /// Bytes not yet known to be written: buffered, or lent to the write in flight.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() + self.lent
    }

    /// Bytes whose writing the writer waits for: [`buffered`](Self::buffered)
    /// but for a write in flight that was polled quietly.
    pub(crate) fn awaited(&self) -> usize {
        match self.quiet {
            true => self.buf.len(),
            false => self.buffered(),
        }
    }

    /// Writes everything buffered.
    pub(crate) fn poll_flush(&mut self, io: &T, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flush(io, None, cx)
    }

    /// Writes everything buffered, as [`poll_flush`](Self::poll_flush) does,
    /// but quietly while the write in flight is all there is to write and
    /// lends fewer than `mark` bytes: `Pending` then registers `cx` for a
    /// short or failed write only (see the module docs). The caller must
    /// flush again when it next runs; [`awaited`](Self::awaited) leaves the
    /// quiet write out.
    pub(crate) fn poll_flush_quietly(
        &mut self,
        io: &T,
        mark: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.flush(io, Some(mark), cx)
    }

    /// Both flushes: quietly below `quiet_below`, if given.
    fn flush(
        &mut self,
        io: &T,
        quiet_below: Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.pending.is_none() {
                if self.buf.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                self.lent = self.buf.len();
                self.pending = Some(io.write(std::mem::take(&mut self.buf)));
            }
            let pending = self
                .pending
                .as_mut()
                .expect("invariant: a write is pending here");
            self.quiet = quiet_below.is_some_and(|mark| self.lent < mark)
                && self.buf.is_empty()
                && self.file.is_none();
            let polled = match self.quiet {
                true => T::poll_write_quietly(pending, cx),
                false => Pin::new(pending).poll(cx),
            };
            let (result, mut buf) = std::task::ready!(polled);
            self.pending = None;
            self.lent = 0;
            self.quiet = false;
            let failure = match result {
                Ok(0) => Some(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "peer accepted no more bytes",
                )),
                // All written (the usual case): `clear` keeps the buffer's
                // front where `advance` would move it, so the next encode
                // finds the whole capacity without reclaiming it first.
                Ok(n) if n >= buf.len() => {
                    buf.clear();
                    None
                }
                Ok(n) => {
                    buf.advance(n);
                    None
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
                Err(e) => Some(e),
            };
            self.take_back(buf);
            if let Some(e) = failure {
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Queues `range` to be written after everything encoded so far, by
    /// [`poll_send_file`](Self::poll_send_file); nothing may be encoded until
    /// that is done. No I/O here.
    ///
    /// # Errors
    /// The transport's file send refused the range for a reason other than
    /// `Unsupported` (which picks copying).
    pub(crate) fn start_send_file(&mut self, io: &T, range: FileRange) -> io::Result<()> {
        debug_assert!(self.file.is_none(), "one file range at a time");
        self.file = Some(Box::new(FileSend::start(io, range)?));
        Ok(())
    }

    /// Writes the queued file range, if any, after the bytes buffered before
    /// it: `Ready(Ok)` once all its bytes went (or, when copied, are in the
    /// write buffer, for the next flush), or at once when none is queued. The
    /// send in flight is kept here, so polling again resumes it. While
    /// copying, a chunk is read only while fewer than `backpressure` bytes
    /// wait to be written.
    ///
    /// # Errors
    /// The transport's or the file's; [`io::ErrorKind::UnexpectedEof`] if the
    /// file ends before the range does (some of it may have gone).
    pub(crate) fn poll_send_file(
        &mut self,
        io: &T,
        backpressure: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(mut file) = self.file.take() else {
            return Poll::Ready(Ok(()));
        };
        let polled = self.poll_file(&mut file, io, backpressure, cx);
        if polled.is_pending() {
            self.file = Some(file);
        }
        polled
    }

    fn poll_file(
        &mut self,
        file: &mut FileSend,
        io: &T,
        backpressure: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        match file {
            FileSend::Transport { send, len } => {
                // The bytes encoded before the range go first: with the
                // file's, in its first segment, when the send can take them.
                if self.pending.is_none() && !self.buf.is_empty() && send.prepend(&self.buf) {
                    self.buf.clear();
                }
                std::task::ready!(self.poll_flush(io, cx))?;
                let sent = std::task::ready!(Pin::new(send).poll(cx))?;
                if sent < *len {
                    return Poll::Ready(Err(ended_early(sent, *len)));
                }
                Poll::Ready(Ok(()))
            }
            FileSend::Copy(chunks) => loop {
                if self.buffered() >= backpressure {
                    std::task::ready!(self.poll_flush(io, cx))?;
                    continue;
                }
                match std::task::ready!(Pin::new(&mut *chunks).poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        self.buf.extend_from_slice(&chunk);
                    }
                    Some(Err(e)) => return Poll::Ready(Err(e)),
                    None => return Poll::Ready(Ok(())),
                }
            },
        }
    }

    /// Takes back the buffer of a finished write: its unwritten rest goes before
    /// anything encoded meanwhile, and its allocation is reused when possible.
    fn take_back(&mut self, mut rest: BytesMut) {
        if rest.is_empty() && self.buf.is_empty() {
            self.buf = rest;
        } else if !rest.is_empty() {
            rest.extend_from_slice(&self.buf);
            self.buf = rest;
        }
    }
}

impl<T: AsyncWrite> fmt::Debug for WriteState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteState")
            .field("buffered", &self.buf.len())
            .field("writing", &self.pending.is_some())
            .field("file", &self.file)
            .finish()
    }
}

/// A sink of frames encoded onto a writer.
#[derive(Debug)]
pub struct FramedWrite<T: AsyncWrite, E> {
    state: WriteState<T>,
    io: T,
    codec: E,
}

impl<T: AsyncWrite, E> FramedWrite<T, E> {
    /// Encodes frames onto `io` with `codec`.
    pub fn new(io: T, codec: E) -> FramedWrite<T, E> {
        FramedWrite::from_state(WriteState::new(), io, codec)
    }

    /// A framed writer resuming `state` (from a split [`Framed`](super::Framed)).
    pub(crate) fn from_state(state: WriteState<T>, io: T, codec: E) -> FramedWrite<T, E> {
        FramedWrite { state, io, codec }
    }

    /// The state, transport and codec, for the `Sink` impl.
    pub(crate) fn sink_parts(&mut self) -> (&mut WriteState<T>, &T, &mut E) {
        (&mut self.state, &self.io, &mut self.codec)
    }

    /// Sets how many buffered bytes make [`feed`](Self::feed) flush first;
    /// default 128 KiB. The mark bounds memory when a peer reads slower than
    /// we write.
    pub fn set_backpressure(&mut self, bytes: usize) {
        self.state.set_backpressure(bytes);
    }

    /// Encodes `item` for a later flush; flushes first if the buffer is full.
    pub async fn feed<I>(&mut self, item: I) -> Result<(), E::Error>
    where
        E: Encoder<I>,
    {
        if self.state.is_full() {
            self.flush().await?;
        }
        self.state.encode(&mut self.codec, item)
    }

    /// Encodes `item` and writes everything buffered.
    pub async fn send<I>(&mut self, item: I) -> Result<(), E::Error>
    where
        E: Encoder<I>,
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
        self.state.poll_flush(&self.io, cx)
    }

    /// The writer.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The writer, mutably. Writing it directly may overtake frames still
    /// buffered here; flush first.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The codec.
    pub fn codec_mut(&mut self) -> &mut E {
        &mut self.codec
    }
}

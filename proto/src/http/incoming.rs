//! Request bodies handed to a handler while they are still arriving.
//!
//! Gathering a body before the handler runs costs its whole size in memory,
//! so an upload server would have to hold every upload whole. Instead a large
//! or chunked body reaches its handler at the head, as a [`BodyReader`]: a
//! stream the connection fills as it decodes data parts. The two sides share
//! one small channel (the connection task runs the handler too, so no lock):
//! the connection pushes decoded chunks, the handler pops them.
//!
//! The channel is the backpressure: once [`BODY_BACKLOG`] bytes wait unread,
//! the connection stops reading the socket (the peer's writes then back up
//! into the kernel queues), and the reader wakes it when it has taken some.
//! A reader that is dropped stops the buffering altogether: what is left of
//! its body is decoded and discarded, so the next pipelined request can be
//! read.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;

use super::{BodyLength, Error, ErrorKind, RequestHead};

/// Requests whose `content-length` is at most this many bytes (64 KiB) are
/// gathered and reach their handler whole; larger ones, and every chunked
/// one, stream. Small bodies are the common case, and a whole `Bytes` costs
/// them no channel.
pub const STREAM_ABOVE: u64 = 64 * 1024;

/// Bytes of a streamed body (64 KiB) that may wait decoded and unread before
/// the connection stops reading; the last chunk fed may pass it by one read's
/// worth, and one more read may wait undecoded.
pub const BODY_BACKLOG: usize = 64 * 1024;

/// A request body type of
/// [`serve_connection_streamed`](super::serve_connection_streamed)'s
/// handlers: made from a gathered body or a stream.
pub trait FromRequestBody {
    /// A body gathered whole (small, empty, or sent after `100 Continue`).
    fn whole(bytes: Bytes) -> Self;

    /// A body streaming in.
    fn streamed(reader: BodyReader) -> Self;
}

/// The body of a request as a streaming handler gets it.
pub enum RequestBody {
    /// The whole body: it had no more than [`STREAM_ABOVE`] bytes (or none).
    Full(Bytes),
    /// The body as it arrives.
    Streamed(BodyReader),
}

impl RequestBody {
    /// The whole body, if it was gathered.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            RequestBody::Full(bytes) => Some(bytes),
            RequestBody::Streamed(_) => None,
        }
    }
}

impl FromRequestBody for RequestBody {
    fn whole(bytes: Bytes) -> Self {
        RequestBody::Full(bytes)
    }

    fn streamed(reader: BodyReader) -> Self {
        RequestBody::Streamed(reader)
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBody::Full(bytes) => f.debug_tuple("Full").field(bytes).finish(),
            RequestBody::Streamed(_) => f.write_str("Streamed(..)"),
        }
    }
}

/// A request body streaming in: a [`Stream`] of its chunks, ending after the
/// last one.
///
/// It fails (one `Err`, then the end) when the body breaks its framing or
/// [`Limits::max_body`](super::Limits::max_body), when the peer closes before
/// its end, or when the connection stops reading before its end (an I/O
/// error, shutdown). The connection then closes after the responses due.
///
/// Dropping it unread is allowed: the rest of the body is read and
/// discarded (bounded by `max_body`), and the connection goes on with the
/// next request.
pub struct BodyReader {
    channel: Rc<RefCell<Channel>>,
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader").finish_non_exhaustive()
    }
}

/// What the connection fed and the reader has not taken yet.
struct Channel {
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    backlog: usize,
    end: End,
    /// The reader waiting for a chunk.
    reader: Option<Waker>,
    /// The connection waiting for room.
    feeder: Option<Waker>,
    /// The reader is gone: data is discarded as it comes.
    dropped: bool,
}

/// How far the body got.
enum End {
    /// More may come.
    Open,
    /// The last chunk was fed.
    Done,
    /// The body failed; the error is yielded once.
    Failed(Error),
}

/// A new body channel: the reader for the handler, the feeder for the
/// connection.
pub(crate) fn channel() -> (BodyReader, BodyFeeder) {
    let channel = Rc::new(RefCell::new(Channel {
        chunks: VecDeque::new(),
        backlog: 0,
        end: End::Open,
        reader: None,
        feeder: None,
        dropped: false,
    }));
    (
        BodyReader {
            channel: channel.clone(),
        },
        BodyFeeder { channel },
    )
}

impl Stream for BodyReader {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut channel = self.channel.borrow_mut();
        if let Some(chunk) = channel.chunks.pop_front() {
            channel.backlog -= chunk.len();
            let feeder = (channel.backlog < BODY_BACKLOG)
                .then(|| channel.feeder.take())
                .flatten();
            drop(channel);
            if let Some(feeder) = feeder {
                feeder.wake();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        match std::mem::replace(&mut channel.end, End::Done) {
            End::Open => {
                channel.end = End::Open;
                match &mut channel.reader {
                    Some(waker) => waker.clone_from(cx.waker()),
                    None => channel.reader = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            End::Done => Poll::Ready(None),
            End::Failed(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        let mut channel = self.channel.borrow_mut();
        channel.dropped = true;
        channel.chunks.clear();
        channel.backlog = 0;
        let feeder = channel.feeder.take();
        drop(channel);
        if let Some(feeder) = feeder {
            feeder.wake();
        }
    }
}

/// The connection's end of a body channel. Dropped before the body ended
/// (the connection stopped reading), it fails the body as incomplete.
pub(crate) struct BodyFeeder {
    channel: Rc<RefCell<Channel>>,
}

// Out of line: these run for streamed bodies only, and inlined into the
// connection's decode loop they would make the common bodiless path bigger.
impl BodyFeeder {
    /// Hands `data` to the reader, or discards it if the reader is gone.
    #[inline(never)]
    pub(crate) fn push(&self, data: Bytes) {
        let mut channel = self.channel.borrow_mut();
        if channel.dropped {
            return;
        }
        channel.backlog += data.len();
        channel.chunks.push_back(data);
        let reader = channel.reader.take();
        drop(channel);
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// True while the backlog is full.
    pub(crate) fn is_full(&self) -> bool {
        let channel = self.channel.borrow();
        !channel.dropped && channel.backlog >= BODY_BACKLOG
    }

    /// [`is_full`](Self::is_full), with `cx` woken once the reader makes room
    /// (or is dropped).
    #[inline(never)]
    pub(crate) fn poll_full(&self, cx: &mut Context<'_>) -> bool {
        if !self.is_full() {
            return false;
        }
        let mut channel = self.channel.borrow_mut();
        match &mut channel.feeder {
            Some(waker) => waker.clone_from(cx.waker()),
            None => channel.feeder = Some(cx.waker().clone()),
        }
        true
    }

    /// The body ended: the reader yields its last chunks, then ends.
    #[inline(never)]
    pub(crate) fn finish(self) {
        self.end(End::Done);
    }

    /// The body failed with an error of `kind`: the reader yields its
    /// chunks so far, then the error.
    #[inline(never)]
    pub(crate) fn fail(self, kind: ErrorKind) {
        self.end(End::Failed(Error::new(kind)));
    }

    fn end(&self, end: End) {
        let mut channel = self.channel.borrow_mut();
        if !matches!(channel.end, End::Open) {
            return;
        }
        channel.end = end;
        let reader = channel.reader.take();
        drop(channel);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

impl Drop for BodyFeeder {
    #[inline(never)]
    fn drop(&mut self) {
        self.end(End::Failed(Error::new(ErrorKind::IncompleteMessage)));
    }
}

/// A request body as a handler of one of the entry points takes it.
pub(crate) trait IncomingBody: Sized {
    /// A gathered body.
    fn whole(bytes: Bytes) -> Self;

    /// A body to stream, and its feeder; `None` where bodies are always
    /// gathered.
    fn stream() -> Option<(Self, BodyFeeder)>;
}

impl IncomingBody for Bytes {
    fn whole(bytes: Bytes) -> Self {
        bytes
    }

    fn stream() -> Option<(Self, BodyFeeder)> {
        None
    }
}

impl<Body: FromRequestBody> IncomingBody for Body {
    #[inline]
    fn whole(bytes: Bytes) -> Self {
        Body::whole(bytes)
    }

    fn stream() -> Option<(Self, BodyFeeder)> {
        let (reader, feeder) = channel();
        Some((Body::streamed(reader), feeder))
    }
}

/// True for a body that streams when it can: see
/// [`serve_connection_streamed`](super::serve_connection_streamed).
pub(crate) fn streams(head: &RequestHead) -> bool {
    !head.expect_continue
        && match head.body {
            BodyLength::Length(len) => len > STREAM_ABOVE,
            BodyLength::Chunked => true,
            BodyLength::Empty | BodyLength::CloseDelimited => false,
        }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn poll(reader: &mut BodyReader) -> Poll<Option<Result<Bytes, Error>>> {
        Pin::new(reader).poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn chunks_come_out_in_order_then_the_end() {
        let (mut reader, feeder) = channel();
        assert!(poll(&mut reader).is_pending());
        feeder.push(Bytes::from_static(b"ab"));
        feeder.push(Bytes::from_static(b"c"));
        feeder.finish();
        assert!(matches!(poll(&mut reader), Poll::Ready(Some(Ok(b))) if b == "ab"));
        assert!(matches!(poll(&mut reader), Poll::Ready(Some(Ok(b))) if b == "c"));
        assert!(matches!(poll(&mut reader), Poll::Ready(None)));
        assert!(matches!(poll(&mut reader), Poll::Ready(None)));
    }

    #[test]
    fn a_feeder_dropped_early_fails_the_body_once_after_its_chunks() {
        let (mut reader, feeder) = channel();
        feeder.push(Bytes::from_static(b"ab"));
        drop(feeder);
        assert!(matches!(poll(&mut reader), Poll::Ready(Some(Ok(_)))));
        let Poll::Ready(Some(Err(e))) = poll(&mut reader) else {
            panic!("the body failed");
        };
        assert!(e.is_incomplete());
        assert!(matches!(poll(&mut reader), Poll::Ready(None)));
    }

    #[test]
    fn the_backlog_fills_and_drains_and_a_dropped_reader_takes_nothing() {
        let (mut reader, feeder) = channel();
        let cx = &mut Context::from_waker(Waker::noop());
        feeder.push(Bytes::from(vec![0; BODY_BACKLOG - 1]));
        assert!(!feeder.poll_full(cx));
        feeder.push(Bytes::from_static(b"x"));
        assert!(feeder.poll_full(cx), "at the backlog bound");
        assert!(matches!(poll(&mut reader), Poll::Ready(Some(Ok(_)))));
        assert!(!feeder.is_full(), "room once read");
        drop(reader);
        for _ in 0..4 {
            feeder.push(Bytes::from(vec![0; BODY_BACKLOG]));
            assert!(!feeder.poll_full(cx), "discarded, never full");
        }
        assert_eq!(feeder.channel.borrow().backlog, 0);
    }
}

//! A protocol's hooks into the pipelined dispatcher: [`Protocol`].
//!
//! The dispatcher knows ordering, in-flight bounds, backpressure and timeouts;
//! what a protocol adds is a handful of decisions only it can make: how a
//! handler's response is written (whole, or a streamed tail, parts of which
//! may be followed by a file's bytes), what to answer a
//! request that fails to decode, when the protocol itself ends the connection
//! (HTTP's `Connection: close`, RESP's `QUIT`), when the server shuts down, and
//! whether reading must wait for the codec's sake (an HTTP body streaming in
//! whose handler has not caught up), what the codec can free while the
//! connection idles, and whether it is between requests, so that the
//! connection may park. They are the methods of one trait, all
//! but [`reply`](Protocol::reply) with defaults, so one entry point,
//! [`Server::serve`](super::Server::serve), serves every protocol; a plain one
//! passes `()`.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::Reply;
use crate::codec::Decoder;
use crate::framed::FileRange;

/// How a pipelined protocol over codec `C` writes a handler's `Resp` (whose
/// failures are `E`) and steers its connection: the decisions only the
/// protocol can make, passed to [`Server::serve`](super::Server::serve).
///
/// `()` is the plain protocol: responses are written whole, a decode error
/// just closes, only the peer or an error ends the connection, and reading
/// never waits on the codec.
pub trait Protocol<C: Decoder, Resp, E> {
    /// A response (or a streamed one's head) encoded at once.
    type Whole;
    /// One part of a streamed response's tail.
    type Part;
    /// A streamed response's tail: its parts, or the handler error that ends
    /// the connection after the parts before it.
    type Tail: Stream<Item = Result<Self::Part, E>>;

    /// How `response` is written: whole, or part by part (see [`Reply`]).
    fn reply(&mut self, response: Resp) -> Reply<Self::Whole, Self::Tail>;

    /// The response to write for a decode error before closing (after the
    /// responses to earlier requests); `None`, the default, just closes.
    fn error_reply(&mut self, error: &C::Error) -> Option<Self::Whole> {
        let _ = error;
        None
    }

    /// Asked each turn: true once the protocol ends the connection after the
    /// responses so far. Reading stops, in-flight requests finish, their
    /// responses are written, and the connection ends with `Ok`. The default
    /// never ends it.
    fn is_done(&mut self, codec: &C) -> bool {
        let _ = codec;
        false
    }

    /// `Ready` once the server shuts down: the connection then stops reading,
    /// finishes the requests in flight (and a streaming tail), writes their
    /// responses and ends with `Ok`. Polled once per turn while reading, with
    /// the connection's waker. The default never shuts down.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Pending
    }

    /// True while reading must wait for the codec's sake (it handed out a
    /// request still being decoded whose consumer has not caught up); `cx` is
    /// then woken when it may go on. Asked before each read, and when a read
    /// answers `Pending` (the codec may hold reads back,
    /// [`Decoder::holds_reads`]). The default never waits.
    fn hold(&mut self, codec: &mut C, cx: &mut Context<'_>) -> bool {
        let _ = (codec, cx);
        false
    }

    /// The file range whose bytes follow `part` of a streamed tail on the
    /// wire, if any. The dispatcher encodes the part (the codec frames the
    /// range and counts its bytes), then writes the range before the next
    /// part: straight from the file where the transport can
    /// ([`AsyncWrite::send_file`](ringo_reactor::io::AsyncWrite::send_file):
    /// splice, `sendfile`), else read into the write buffer. A range the file
    /// cannot fill ends the connection with an
    /// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) codec error. The
    /// default: no part has one.
    fn file_range(&mut self, part: &Self::Part) -> Option<FileRange> {
        let _ = part;
        None
    }

    /// Reading stopped for good (end of stream, an error, shutdown, the
    /// protocol's end): what `codec` has handed out incomplete will not be
    /// completed. Called at least once after that, maybe more.
    fn stopped(&mut self, codec: &mut C) {
        let _ = codec;
    }

    /// The connection has been quiet for a quarter of a second (nothing in
    /// flight, nothing to write, no byte of a next request):
    /// free what `codec` keeps between requests and can make again, as the
    /// dispatcher has freed its own share. Called once per quiet spell. The
    /// default frees nothing.
    fn idle(&mut self, codec: &mut C) {
        let _ = codec;
    }

    /// Whether a quiet connection (as for [`idle`](Self::idle)) may park
    /// ([`Server::serve_parking`](super::Server::serve_parking)): whether
    /// `codec` is between requests, so that one made anew would decode the
    /// next bytes as it would. The dispatcher has checked that no byte is
    /// buffered and nothing is in flight or due; the default says yes. A
    /// codec that keeps a message's state past its bytes (an HTTP body
    /// still arriving for a handler that answered early) says no meanwhile.
    fn parkable(&mut self, codec: &C) -> bool {
        let _ = codec;
        true
    }
}

/// The plain protocol: every response whole, no other hook.
impl<C: Decoder, Resp, E> Protocol<C, Resp, E> for () {
    type Whole = Resp;
    type Part = Resp;
    type Tail = NoTail<Resp, E>;

    #[inline]
    fn reply(&mut self, response: Resp) -> Reply<Resp, NoTail<Resp, E>> {
        Reply::Whole(response)
    }
}

/// The tail type of a protocol whose responses are always whole. It has no
/// value, so a `Reply<W, NoTail<..>>` is a `W` in all but name and the
/// streaming paths of the dispatcher compile away.
pub struct NoTail<P, E> {
    never: Infallible,
    _parts: PhantomData<fn() -> (P, E)>,
}

impl<P, E> Stream for NoTail<P, E> {
    type Item = Result<P, E>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.never {}
    }
}

impl<P, E> fmt::Debug for NoTail<P, E> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

//! Responses written in pieces: a [`Reply`] is whole, or a tail of parts the
//! dispatcher encodes as they are produced.
//!
//! A response produced over time (a large download, server-sent events) must
//! go out as it is produced, not once it is complete: buffering it whole costs
//! its full size in memory, and a stream that never ends would never be sent.
//! So a pipelined response may be a stream of parts. While one streams, it is
//! the connection's current answer: the dispatcher keeps pulling and encoding
//! its parts, and the responses after it wait, finished or not, in their
//! slots, as request order demands. Reading and handling further requests go
//! on as usual.
//!
//! A tail is pulled only while the write buffer is under the backpressure
//! mark, so a peer that reads slowly holds the tail back instead of making
//! the connection buffer without bound: at most the mark plus one part waits
//! to be written. A part may be followed by a file range
//! ([`Protocol::file_range`]): the tail is pulled again only once the range
//! is written, which the transport does from the file where it can (a slow
//! peer then holds the send, with at most a pipe's worth in flight).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::{Protocol, ServerError};
use crate::codec::{Decoder, Encoder};
use crate::framed::Framed;

/// How a response is written ([`Protocol::reply`](super::Protocol::reply)):
/// encoded whole, or part by part.
#[derive(Debug)]
pub enum Reply<W, T> {
    /// Encoded at once, as every response of a plain (`()`) protocol is.
    Whole(W),
    /// A stream of parts (`Result<part, handler error>`), each encoded as it
    /// comes, all before the next response. Its end ends the response; its
    /// error ends the connection as a handler error does, after the parts
    /// before it are written (a part already written cannot be taken back).
    Streamed(T),
}

/// Encodes the parts `tail` has ready while fewer than `backpressure` bytes
/// wait to be written, setting `progressed` for each, and writes the file
/// range that follows a part (see [`Protocol::file_range`]; the write engine
/// keeps it across calls until it is written). `Ready(Ok)` once the tail
/// ended; `Pending` while it waits for its next part (its waker is `cx`'s),
/// for a flush to drain the buffer or for a file send (their completions wake
/// the connection). An encode or file error fails as the codec's, a part's
/// error as the handler's.
pub(super) fn poll_tail<T, C, Tail, P, E, Resp>(
    mut tail: Pin<&mut Tail>,
    framed: &mut Framed<T, C>,
    protocol: &mut P,
    backpressure: usize,
    progressed: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Result<(), ServerError<<C as Decoder>::Error, E>>>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder + Encoder<P::Part, Error = <C as Decoder>::Error>,
    Tail: Stream<Item = Result<P::Part, E>>,
    P: Protocol<C, Resp, E>,
{
    loop {
        match framed.poll_send_file(backpressure, cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(ServerError::Codec(e.into()))),
            Poll::Pending => return Poll::Pending,
        }
        if framed.write_buffered() >= backpressure {
            return Poll::Pending;
        }
        let part = match tail.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(part))) => part,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(ServerError::Handler(e))),
            Poll::Ready(None) => {
                *progressed = true;
                return Poll::Ready(Ok(()));
            }
            Poll::Pending => return Poll::Pending,
        };
        *progressed = true;
        let file = protocol.file_range(&part);
        if let Err(e) = framed.encode(part) {
            return Poll::Ready(Err(ServerError::Codec(e)));
        }
        if let Some(range) = file {
            if let Err(e) = framed.start_send_file(range) {
                return Poll::Ready(Err(ServerError::Codec(e.into())));
            }
        }
    }
}

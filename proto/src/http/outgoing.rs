//! Response bodies a server writes: whole bytes, or a stream of chunks written
//! as they are produced.
//!
//! Most responses are small and whole, and go out as one encoded message. A
//! body produced over time (a large download, server-sent events) must instead
//! go out chunk by chunk: collected first, it would cost its whole size in
//! memory and its last byte's latency before the first byte is sent. Such a
//! response becomes a [`ResponseTail`], the stream of parts (head, data, end)
//! the pipelined dispatcher writes in request order, pulling chunks only as
//! the peer reads them (see `pipeline/tail.rs`).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::{Response, StatusCode};

use super::{BodyLength, ResponsePart};

/// A boxed stream of body chunks, as [`Outgoing::Stream`] holds it.
pub type BodyStream<E> = Pin<Box<dyn Stream<Item = Result<Bytes, E>>>>;

/// The body of a response handed to
/// [`serve_connection`](super::serve_connection).
///
/// A whole body is framed by `content-length`. A stream is written as it
/// produces chunks: framed by `content-length` when its exact `length` is
/// given, else chunked (to an HTTP/1.0 client: delimited by closing the
/// connection). Empty chunks are skipped. A stream that fails, or that yields
/// more or fewer bytes than its declared `length`, ends the connection: the
/// head and the chunks before are already out, so the client sees an
/// incomplete body (a chunk that would pass the declared length is not written
/// at all). A response to `HEAD`, or with status 204 or 304, has no body on the
/// wire: its stream is dropped unpolled, and a `HEAD` response's head carries
/// the framing a `GET` would have had.
pub enum Outgoing<E = Box<dyn std::error::Error + Send + Sync>> {
    /// The whole body.
    Full(Bytes),
    /// A body written chunk by chunk as `chunks` produces them.
    Stream {
        /// The chunks; an `Err` ends the connection mid-body.
        chunks: BodyStream<E>,
        /// The exact total of the chunks' lengths, if known up front.
        length: Option<u64>,
    },
}

impl<E> Outgoing<E> {
    /// A body of the chunks `stream` yields, of a length not known up front.
    pub fn stream<S>(stream: S) -> Outgoing<E>
    where
        S: Stream<Item = Result<Bytes, E>> + 'static,
    {
        Outgoing::Stream {
            chunks: Box::pin(stream),
            length: None,
        }
    }

    /// A body of the chunks `stream` yields, exactly `length` bytes in all.
    pub fn sized_stream<S>(length: u64, stream: S) -> Outgoing<E>
    where
        S: Stream<Item = Result<Bytes, E>> + 'static,
    {
        Outgoing::Stream {
            chunks: Box::pin(stream),
            length: Some(length),
        }
    }
}

impl<E> From<Bytes> for Outgoing<E> {
    fn from(bytes: Bytes) -> Outgoing<E> {
        Outgoing::Full(bytes)
    }
}

impl<E> Default for Outgoing<E> {
    fn default() -> Outgoing<E> {
        Outgoing::Full(Bytes::new())
    }
}

impl<E> fmt::Debug for Outgoing<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outgoing::Full(bytes) => f.debug_tuple("Full").field(bytes).finish(),
            Outgoing::Stream { length, .. } => f
                .debug_struct("Stream")
                .field("length", length)
                .finish_non_exhaustive(),
        }
    }
}

/// A streamed response as the parts the codec encodes: the head at once, then
/// a data part per non-empty chunk, then the end.
pub(crate) struct ResponseTail<E> {
    /// Taken by the first poll.
    head: Option<(Response<()>, BodyLength)>,
    /// `None` once the stream ended (or failed), or when the response has no
    /// body on the wire.
    chunks: Option<BodyStream<E>>,
    /// The end part (or the stream's error) was yielded: nothing follows.
    ended: bool,
}

impl<E> ResponseTail<E> {
    /// The parts of `head` with `chunks` for its body, answering a `HEAD`
    /// request if `to_head`.
    pub(crate) fn new(
        head: Response<()>,
        chunks: BodyStream<E>,
        length: Option<u64>,
        to_head: bool,
    ) -> ResponseTail<E> {
        let status = head.status();
        // RFC 9110 §9.3.2, §15.3.5, §15.4.5: no body bytes follow these heads,
        // so the stream is never polled (it might never end).
        let bodiless =
            to_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        ResponseTail {
            head: Some((head, length.map_or(BodyLength::Chunked, BodyLength::Length))),
            chunks: (!bodiless).then_some(chunks),
            ended: false,
        }
    }
}

impl<E> Stream for ResponseTail<E> {
    type Item = Result<ResponsePart, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some((head, length)) = this.head.take() {
            return Poll::Ready(Some(Ok(ResponsePart::Head(head, length))));
        }
        if let Some(chunks) = &mut this.chunks {
            loop {
                match chunks.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    // An empty chunk would end a chunked body early.
                    Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => {}
                    Poll::Ready(Some(Ok(chunk))) => {
                        return Poll::Ready(Some(Ok(ResponsePart::Data(chunk))))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.chunks = None;
                        this.ended = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => break,
                }
            }
            this.chunks = None;
        }
        if this.ended {
            return Poll::Ready(None);
        }
        this.ended = true;
        Poll::Ready(Some(Ok(ResponsePart::End)))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::Waker;

    use super::*;

    /// Yields its chunks in order, then ends; counts the polls.
    struct Chunks {
        items: std::vec::IntoIter<Result<&'static str, &'static str>>,
        polls: Rc<Cell<usize>>,
    }

    impl Stream for Chunks {
        type Item = Result<Bytes, &'static str>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.polls.set(self.polls.get() + 1);
            Poll::Ready(
                self.items
                    .next()
                    .map(|item| item.map(|s| Bytes::from_static(s.as_bytes()))),
            )
        }
    }

    /// Every part `tail` yields, as text (`H`, `D:<data>`, `E`, `ERR:<error>`).
    fn drain(mut tail: ResponseTail<&'static str>) -> Vec<String> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut seen = Vec::new();
        while let Poll::Ready(Some(part)) = Pin::new(&mut tail).poll_next(&mut cx) {
            seen.push(match part {
                Ok(ResponsePart::Head(_, length)) => format!("H:{length:?}"),
                Ok(ResponsePart::Data(data)) => format!("D:{}", String::from_utf8_lossy(&data)),
                Ok(ResponsePart::End) => "E".to_owned(),
                Err(e) => format!("ERR:{e}"),
            });
        }
        seen
    }

    fn tail(
        status: StatusCode,
        items: Vec<Result<&'static str, &'static str>>,
        length: Option<u64>,
        to_head: bool,
    ) -> (ResponseTail<&'static str>, Rc<Cell<usize>>) {
        let polls = Rc::new(Cell::new(0));
        let chunks = Chunks {
            items: items.into_iter(),
            polls: polls.clone(),
        };
        let mut head = Response::new(());
        *head.status_mut() = status;
        let tail = ResponseTail::new(head, Box::pin(chunks), length, to_head);
        (tail, polls)
    }

    #[test]
    fn a_stream_becomes_head_data_end_without_its_empty_chunks() {
        let items = vec![Ok("a"), Ok(""), Ok("bc"), Ok("")];
        let (parts, _) = tail(StatusCode::OK, items, None, false);
        assert_eq!(drain(parts), ["H:Chunked", "D:a", "D:bc", "E"]);
        let (parts, _) = tail(StatusCode::OK, vec![Ok("xyz")], Some(3), false);
        assert_eq!(drain(parts), ["H:Length(3)", "D:xyz", "E"]);
        let (parts, _) = tail(StatusCode::OK, vec![], None, false);
        assert_eq!(drain(parts), ["H:Chunked", "E"], "an empty stream");
    }

    #[test]
    fn a_failing_stream_yields_its_error_and_nothing_after() {
        let items = vec![Ok("a"), Err("broken"), Ok("never")];
        let (parts, polls) = tail(StatusCode::OK, items, None, false);
        assert_eq!(drain(parts), ["H:Chunked", "D:a", "ERR:broken"]);
        assert_eq!(polls.get(), 2, "not polled after its error");
    }

    #[test]
    fn bodiless_responses_never_poll_their_stream() {
        for (status, to_head) in [
            (StatusCode::OK, true),
            (StatusCode::NO_CONTENT, false),
            (StatusCode::NOT_MODIFIED, false),
        ] {
            let (parts, polls) = tail(status, vec![Ok("body")], Some(4), to_head);
            assert_eq!(
                drain(parts),
                ["H:Length(4)", "E"],
                "{status} head={to_head}"
            );
            assert_eq!(polls.get(), 0, "{status} head={to_head}");
        }
    }
}

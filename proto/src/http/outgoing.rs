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
//!
//! A body that is a file range ([`Outgoing::File`]) is a tail too: its head,
//! then the range, which the dispatcher sends straight from the file to a
//! plain TCP connection (splice on io_uring, `sendfile` on compat) and copies
//! through the write buffer on a transport that cannot (TLS); see
//! `framed/file.rs`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::{Response, StatusCode};

use super::{BodyLength, ResponsePart};
use crate::framed::FileRange;

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
///
/// A file range is framed by `content-length` (its length) and sent from the
/// file, zero-copy where the connection's transport can
/// ([`AsyncWrite::send_file`](ringo_reactor::io::AsyncWrite::send_file)), else
/// read in chunks into the write buffer. A file that ends before the range
/// (truncated while being sent) ends the connection with the body cut short,
/// as a failing stream does, with an
/// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) I/O error.
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
    /// A range of a file, sent from the file.
    File(FileRange),
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
            Outgoing::File(range) => f.debug_tuple("File").field(range).finish(),
        }
    }
}

/// A part of a streamed response as the server writes it: encoded by the
/// codec, or a file range the codec only counts and the dispatcher sends after
/// it ([`Protocol::file_range`](crate::pipeline::Protocol::file_range)).
#[derive(Debug)]
pub(crate) enum TailPart {
    Encoded(ResponsePart),
    File(FileRange),
}

/// Where a streamed response's body comes from.
enum Source<E> {
    Chunks(BodyStream<E>),
    File(FileRange),
}

/// A streamed response as the parts the server writes: the head at once,
/// then a data part per non-empty chunk (or the file range), then the end.
pub(crate) struct ResponseTail<E> {
    /// Taken by the first poll.
    head: Option<(Response<()>, BodyLength)>,
    /// `None` once the body ended (or failed), or when the response has no
    /// body on the wire.
    body: Option<Source<E>>,
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
        let length = length.map_or(BodyLength::Chunked, BodyLength::Length);
        ResponseTail::with_source(head, Source::Chunks(chunks), length, to_head)
    }

    /// The parts of `head` with the file `range` for its body.
    pub(crate) fn file(head: Response<()>, range: FileRange, to_head: bool) -> ResponseTail<E> {
        let length = BodyLength::Length(range.len());
        ResponseTail::with_source(head, Source::File(range), length, to_head)
    }

    fn with_source(
        head: Response<()>,
        body: Source<E>,
        length: BodyLength,
        to_head: bool,
    ) -> ResponseTail<E> {
        let status = head.status();
        // RFC 9110 §9.3.2, §15.3.5, §15.4.5: no body bytes follow these heads,
        // so the stream is never polled (it might never end), nor the file sent.
        let bodiless =
            to_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        ResponseTail {
            head: Some((head, length)),
            body: (!bodiless).then_some(body),
            ended: false,
        }
    }
}

impl<E> Stream for ResponseTail<E> {
    type Item = Result<TailPart, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some((head, length)) = this.head.take() {
            return Poll::Ready(Some(Ok(TailPart::Encoded(ResponsePart::Head(
                head, length,
            )))));
        }
        match this.body.take() {
            Some(Source::File(range)) if !range.is_empty() => {
                return Poll::Ready(Some(Ok(TailPart::File(range))));
            }
            Some(Source::Chunks(mut chunks)) => loop {
                match chunks.as_mut().poll_next(cx) {
                    Poll::Pending => {
                        this.body = Some(Source::Chunks(chunks));
                        return Poll::Pending;
                    }
                    // An empty chunk would end a chunked body early.
                    Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => {}
                    Poll::Ready(Some(Ok(chunk))) => {
                        this.body = Some(Source::Chunks(chunks));
                        let part = ResponsePart::Data(chunk);
                        return Poll::Ready(Some(Ok(TailPart::Encoded(part))));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.ended = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => break,
                }
            },
            Some(Source::File(_)) | None => {}
        }
        if this.ended {
            return Poll::Ready(None);
        }
        this.ended = true;
        Poll::Ready(Some(Ok(TailPart::Encoded(ResponsePart::End))))
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
                Ok(TailPart::Encoded(ResponsePart::Head(_, length))) => format!("H:{length:?}"),
                Ok(TailPart::Encoded(ResponsePart::Data(data))) => {
                    format!("D:{}", String::from_utf8_lossy(&data))
                }
                Ok(TailPart::Encoded(ResponsePart::End)) => "E".to_owned(),
                Ok(TailPart::File(range)) => format!("F:{}+{}", range.offset(), range.len()),
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
    fn a_file_body_is_its_head_its_range_then_the_end_and_nothing_when_bodiless() {
        let file = || {
            let std = std::fs::File::open("/dev/null").expect("/dev/null");
            FileRange::new(ringo_reactor::fs::File::from_std(std), 7, 11)
        };
        let head = |status| {
            let mut head = Response::new(());
            *head.status_mut() = status;
            head
        };
        let sent = ResponseTail::file(head(StatusCode::OK), file(), false);
        assert_eq!(drain(sent), ["H:Length(11)", "F:7+11", "E"]);
        for (status, to_head) in [
            (StatusCode::OK, true),
            (StatusCode::NO_CONTENT, false),
            (StatusCode::NOT_MODIFIED, false),
        ] {
            let bodiless = ResponseTail::file(head(status), file(), to_head);
            assert_eq!(
                drain(bodiless),
                ["H:Length(11)", "E"],
                "{status} head={to_head}"
            );
        }
        let empty = FileRange::new(file().file().try_clone().expect("clone"), 0, 0);
        let nothing = ResponseTail::file(head(StatusCode::OK), empty, false);
        assert_eq!(
            drain(nothing),
            ["H:Length(0)", "E"],
            "an empty range sends no file part"
        );
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

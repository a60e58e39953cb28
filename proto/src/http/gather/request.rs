//! The server's side of gathering: [`ServerCodec`] with each request's body
//! gathered into one `Bytes`, or fed to the handler's `BodyReader` as it is
//! decoded, and the interim `100 Continue` asked for where the client waits
//! for it. The HTTP connection (`connection.rs`) serves what this yields.

use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};

use super::super::incoming::{streams, BodyFeeder, IncomingBody};
use super::super::outgoing::TailPart;
use super::super::{BodyLength, Error, RequestHead, RequestPart, ResponsePart, ServerCodec};
use super::Gathering;
use crate::codec::{Decoder, Encoder};

/// What the gathering decoder yields to the dispatcher.
// Boxing the request would cost an allocation per request to save a few moves
// of a ~200-byte value; the moves are cheaper.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Incoming<Body> {
    /// The client waits for `100 Continue` before sending the body.
    Continue,
    /// A request, body gathered or streaming in.
    Request(Request<Body>),
}

/// [`ServerCodec`] with bodies gathered into one `Bytes` per request, or fed
/// to the handler's `BodyReader` as they are decoded.
pub(crate) struct Gather<Body> {
    pub(crate) inner: ServerCodec,
    partial: Gathering<RequestHead>,
    /// The current request's `100 Continue` was already asked for.
    continued: bool,
    /// The current request had no body and went out with its head.
    bodiless: bool,
    /// The current request went out with its head, its body streaming.
    pub(crate) feeding: Option<BodyFeeder>,
    _body: PhantomData<fn() -> Body>,
}

impl<Body: IncomingBody> Gather<Body> {
    pub(crate) fn new(inner: ServerCodec) -> Self {
        Gather {
            inner,
            partial: Gathering::new(),
            continued: false,
            bodiless: false,
            feeding: None,
            _body: PhantomData,
        }
    }

    /// Whether no request is under way, its body included; see
    /// [`ServerCodec::between_requests`].
    pub(crate) fn between_requests(&self) -> bool {
        self.feeding.is_none() && !self.partial.is_started() && self.inner.between_requests()
    }

    fn next(&mut self, part: Option<RequestPart>) -> Option<Incoming<Body>> {
        match part? {
            RequestPart::Head(head) if head.body == BodyLength::Empty => {
                // Nothing to gather (the usual GET): the request goes out now,
                // not moved into `partial` and out again, and its end is skipped.
                self.bodiless = true;
                return Some(Incoming::Request(
                    head.request.map(|()| Body::whole(Bytes::new())),
                ));
            }
            RequestPart::Head(head) => {
                if streams(&head) {
                    if let Some((body, feeder)) = Body::stream() {
                        self.feeding = Some(feeder);
                        return Some(Incoming::Request(head.request.map(|()| body)));
                    }
                }
                // No room is reserved: a peer's `content-length` claim
                // allocates nothing before its bytes arrive.
                self.partial.start(head, 0);
                self.continued = false;
            }
            RequestPart::Data(data) => {
                if let Some(feeder) = &self.feeding {
                    feeder.push(data);
                } else {
                    self.partial.push(&data);
                }
            }
            RequestPart::End if self.bodiless => self.bodiless = false,
            RequestPart::End => {
                if let Some(feeder) = self.feeding.take() {
                    feeder.finish();
                    return None;
                }
                let (head, body) = self.partial.finish()?;
                return Some(Incoming::Request(head.request.map(|()| Body::whole(body))));
            }
        }
        None
    }

    /// A decode error: a body streaming in fails with it, and the error is
    /// marked as answered by that body's handler.
    #[cold]
    fn failed(&mut self, e: Error) -> Error {
        match self.feeding.take() {
            Some(feeder) => {
                feeder.fail(e.kind());
                e.answered()
            }
            None => e,
        }
    }

    /// Between requests with nothing buffered: the inner codec waits for a
    /// head (or is closed) and would find nothing to decode, so the usual
    /// pass after a request's end skips asking it. At end of stream it is
    /// still asked, as only it can tell a clean end from a cut-off request.
    /// Not so inside a streamed body, whose end may take no bytes.
    fn at_boundary(&self, src: &BytesMut) -> bool {
        src.is_empty() && !self.partial.is_started() && !self.bodiless && self.feeding.is_none()
    }

    fn wants_continue(&mut self) -> bool {
        if self.partial.is_started() && !self.continued && self.inner.continue_needed() {
            self.continued = true;
            return true;
        }
        false
    }
}

impl<Body: IncomingBody> Decoder for Gather<Body> {
    type Item = Incoming<Body>;
    type Error = Error;

    /// A streamed body's backlog is full: its bytes wait in the socket.
    fn holds_reads(&self) -> bool {
        self.feeding.as_ref().is_some_and(BodyFeeder::is_full)
    }

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Incoming<Body>>, Error> {
        loop {
            if self.holds_reads() {
                return Ok(None);
            }
            let part = self.inner.decode(src).map_err(|e| self.failed(e))?;
            let done = part.is_none();
            if let Some(incoming) = self.next(part) {
                return Ok(Some(incoming));
            }
            if self.wants_continue() {
                return Ok(Some(Incoming::Continue));
            }
            if done || self.at_boundary(src) {
                return Ok(None);
            }
        }
    }

    /// At the end of the stream a full backlog does not hold decoding back:
    /// no read follows, and what is buffered is all there is.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Incoming<Body>>, Error> {
        loop {
            let part = self.inner.decode_eof(src).map_err(|e| self.failed(e))?;
            let done = part.is_none();
            if let Some(incoming) = self.next(part) {
                return Ok(Some(incoming));
            }
            if done {
                return Ok(None);
            }
        }
    }
}

impl<Body> Encoder<Response<Bytes>> for Gather<Body> {
    type Error = Error;

    fn encode(&mut self, response: Response<Bytes>, dst: &mut BytesMut) -> Result<(), Error> {
        self.inner.encode(response, dst)
    }
}

impl<Body> Encoder<ResponsePart> for Gather<Body> {
    type Error = Error;

    fn encode(&mut self, part: ResponsePart, dst: &mut BytesMut) -> Result<(), Error> {
        self.inner.encode(part, dst)
    }
}

/// A streamed response's parts; a file range is only counted here, and sent
/// by the dispatcher after the parts before it.
impl<Body> Encoder<TailPart> for Gather<Body> {
    type Error = Error;

    fn encode(&mut self, part: TailPart, dst: &mut BytesMut) -> Result<(), Error> {
        match part {
            TailPart::Encoded(part) => self.inner.encode(part, dst),
            TailPart::File(range) => self.inner.encode_external(range.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::super::super::{BodyReader, RequestBody, STREAM_ABOVE};
    use super::*;

    fn gather() -> Gather<Bytes> {
        Gather::new(ServerCodec::new())
    }

    /// Every request `src` holds, as `METHOD PATH BODY`.
    fn decode_all(codec: &mut Gather<Bytes>, src: &[u8]) -> Vec<String> {
        let mut src = BytesMut::from(src);
        let mut seen = Vec::new();
        while let Some(incoming) = codec.decode(&mut src).expect("decode") {
            let Incoming::Request(request) = incoming else {
                panic!("no request here expects 100-continue");
            };
            let body = String::from_utf8_lossy(request.body());
            seen.push(format!("{} {} {body}", request.method(), request.uri()));
        }
        assert!(src.is_empty(), "left undecoded: {src:?}");
        seen
    }

    #[test]
    fn bodiless_requests_go_out_with_their_heads_between_requests_with_bodies() {
        let mut codec = gather();
        let seen = decode_all(
            &mut codec,
            b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n\
              POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc\
              GET /c HTTP/1.1\r\nhost: x\r\n\r\n\
              POST /d HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
        );
        assert_eq!(seen, ["GET /a ", "POST /b abc", "GET /c ", "POST /d "]);
        let later = decode_all(&mut codec, b"GET /e HTTP/1.1\r\nhost: x\r\n\r\n");
        assert_eq!(
            later,
            ["GET /e "],
            "the skipped ends left the codec in step"
        );
    }

    #[test]
    fn a_head_arriving_in_pieces_after_a_request_is_decoded_whole() {
        let mut codec = gather();
        let mut src = BytesMut::from(&b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src),
            Ok(Some(Incoming::Request(_)))
        ));
        assert!(
            matches!(codec.decode(&mut src), Ok(None)),
            "nothing more yet"
        );
        src.extend_from_slice(b"GET /b HTTP/1.1\r\nho");
        assert!(matches!(codec.decode(&mut src), Ok(None)), "half a head");
        src.extend_from_slice(b"st: x\r\n\r\n");
        let Ok(Some(Incoming::Request(request))) = codec.decode(&mut src) else {
            panic!("the second request, once whole");
        };
        assert_eq!(request.uri(), "/b");
        assert!(src.is_empty());
    }

    fn next_chunk(reader: &mut BodyReader) -> Option<Result<Bytes, Error>> {
        use futures_core::Stream;
        let cx = &mut Context::from_waker(std::task::Waker::noop());
        match Pin::new(reader).poll_next(cx) {
            Poll::Ready(next) => next,
            Poll::Pending => panic!("the body waits for more"),
        }
    }

    #[test]
    fn a_streamed_body_holds_decoding_at_its_backlog_and_ends_without_more_bytes() {
        let mut codec = Gather::<RequestBody>::new(ServerCodec::new());
        let len = STREAM_ABOVE + 1;
        let head = format!("POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\n\r\n");
        let mut src = BytesMut::from(head.as_bytes());
        let Ok(Some(Incoming::Request(request))) = codec.decode(&mut src) else {
            panic!("the head goes out alone");
        };
        let RequestBody::Streamed(mut reader) = request.into_body() else {
            panic!("a body over STREAM_ABOVE streams");
        };
        src.extend_from_slice(&vec![b'y'; usize::try_from(len).expect("fits")]);
        src.extend_from_slice(b"GET /b HTTP/1.1\r\nhost: x\r\n\r\n");
        assert!(matches!(codec.decode(&mut src), Ok(None)));
        assert!(codec.holds_reads(), "the whole body waits unread");
        let chunk = next_chunk(&mut reader).expect("a chunk").expect("data");
        assert_eq!(chunk.len() as u64, len);
        assert!(!codec.holds_reads());
        let Ok(Some(Incoming::Request(next))) = codec.decode(&mut src) else {
            panic!("the body ended with no byte left for it, and the next request follows");
        };
        assert_eq!(next.uri(), "/b");
        assert!(next_chunk(&mut reader).is_none(), "the body ended");
    }

    #[test]
    fn a_body_failing_mid_stream_fails_the_reader_and_asks_for_no_error_reply() {
        let mut codec = Gather::<RequestBody>::new(ServerCodec::new());
        let mut src = BytesMut::from(
            &b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n"
                [..],
        );
        let Ok(Some(Incoming::Request(request))) = codec.decode(&mut src) else {
            panic!("the head goes out alone");
        };
        let RequestBody::Streamed(mut reader) = request.into_body() else {
            panic!("a chunked body streams");
        };
        let Err(e) = codec.decode(&mut src) else {
            panic!("a bad chunk size");
        };
        assert!(e.is_answered());
        assert_eq!(
            next_chunk(&mut reader).and_then(Result::ok).as_deref(),
            Some(&b"ab"[..])
        );
        let failed = next_chunk(&mut reader)
            .and_then(Result::err)
            .map(|e| e.kind());
        assert_eq!(failed, Some(e.kind()));
    }

    #[test]
    fn a_bodiless_request_at_the_end_of_the_stream_ends_cleanly() {
        let mut codec = gather();
        let mut src = BytesMut::from(&b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n"[..]);
        assert!(matches!(
            codec.decode_eof(&mut src),
            Ok(Some(Incoming::Request(_)))
        ));
        assert!(matches!(codec.decode_eof(&mut src), Ok(None)));
    }
}

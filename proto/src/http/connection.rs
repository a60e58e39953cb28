//! Serving HTTP/1.1 on one connection: the codec wired to pipelined dispatch.
//!
//! Requests are read with their bodies gathered (up to [`Limits::max_body`])
//! and handed to the handler as `http::Request<Bytes>`, or, with
//! [`serve_connection_streamed`], large bodies stream to the handler as they
//! are decoded (`incoming.rs`); requests are answered in order, and
//! pipelined requests are handled concurrently up to the configured depth.
//! A response body is whole or streamed ([`Outgoing`]): a streamed one is
//! written as its chunks come, and the responses after it wait their turn.
//! Everything protocol-specific the generic dispatcher cannot know happens
//! here:
//!
//! - `Expect: 100-continue`: the interim `100 Continue` is sent, in order,
//!   before the body is read (RFC 9110 §10.1.1);
//! - `Connection: close`, HTTP/1.0 and suspect framing end the connection after
//!   the response (the codec decides; RFC 9112 §9.6);
//! - a malformed request gets its error response (400, 413, 414, 431, 501,
//!   505) after the responses to earlier requests, then the connection closes;
//! - a connection idle between requests, or one trickling a request head
//!   (slow loris), is closed after its timeout.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode};
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::incoming::{streams, BodyFeeder, FromRequestBody, IncomingBody};
use super::outgoing::ResponseTail;
use super::{
    BodyLength, Error, Limits, Outgoing, RequestHead, RequestPart, ResponsePart, ServerCodec,
};
use crate::codec::{Decoder, Encoder};
use crate::framed::Framed;
use crate::pipeline::{self, Protocol, Reply, ServerError};

/// Default time an idle keep-alive connection is kept open waiting for its
/// next request (nginx's `keepalive_timeout` default is 75 s; we pick 60 s).
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default time a client has to finish sending a request once its first byte
/// arrived: bounds how long a slow-loris peer can hold a connection.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of pipelined requests handled at once per connection.
pub const DEFAULT_MAX_PIPELINED: usize = 16;

/// How an HTTP/1.1 connection is served.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Parser limits (URI, headers, body, chunk lines).
    pub limits: Limits,
    /// Pipelined requests handled at once.
    pub max_pipelined: usize,
    /// See [`DEFAULT_KEEP_ALIVE_TIMEOUT`].
    pub keep_alive_timeout: Duration,
    /// See [`DEFAULT_REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            max_pipelined: DEFAULT_MAX_PIPELINED,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Serves HTTP/1.1 on `io` until the client closes, the protocol ends the
/// connection, a timeout passes or `shutdown` completes (then in-flight
/// requests are answered first).
///
/// Every request body is gathered whole (up to [`Limits::max_body`]) before
/// its handler is called; [`serve_connection_streamed`] streams large ones.
///
/// The handler answers with any body that converts into an [`Outgoing`]:
/// `Bytes`, or an `Outgoing` that streams (see there for its framing and
/// failures). A streamed response keeps the connection busy until its stream
/// ends; shutdown waits for it as for any request in flight.
///
/// The handler's error ends the connection after the responses to earlier
/// requests (a service layer above normally turns errors into 500 responses);
/// so does a body stream's error, after the part of the body before it.
///
/// # Errors
/// The decode, I/O or handler error that ended the connection: a body
/// stream's error is a [`ServerError::Handler`], a stream that does not match
/// its declared length a [`ServerError::Codec`].
pub async fn serve_connection<T, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> Result<(), ServerError<Error, E>>
where
    T: AsyncRead + AsyncWrite,
    H: FnMut(Request<Bytes>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    serve(io, config, config.max_pipelined, handler, shutdown).await
}

/// As [`serve_connection`], with large request bodies streamed to the
/// handler as they arrive instead of gathered; the handler takes them as any
/// [`FromRequestBody`] type (a [`RequestBody`](super::RequestBody), or its
/// own, built where the request is decoded with no conversion after).
///
/// A body of at most [`STREAM_ABOVE`](super::STREAM_ABOVE) bytes by its
/// `content-length` is still gathered ([`FromRequestBody::whole`]), as is
/// any body whose client sent `Expect: 100-continue`: its `100 Continue` goes
/// out, in order, before the body is read, so it must not wait for a handler
/// to ask. Other bodies (the
/// larger, and every chunked one) reach the handler at the head as a
/// [`BodyReader`](super::BodyReader) ([`FromRequestBody::streamed`]), fed as
/// the body is decoded:
///
/// - at most [`BODY_BACKLOG`](super::BODY_BACKLOG) bytes of it wait unread
///   (plus one read's worth); then the connection stops reading until the
///   handler takes some;
/// - [`Limits::max_body`] still bounds the total: past it, as on a framing
///   error or the peer closing mid-body, the reader yields an error, no error
///   response is written (the handler's response answers the request), and
///   the connection closes after the responses due;
/// - a reader dropped unread discards the rest of its body as it arrives, and
///   the connection serves the next request;
/// - reading stops at shutdown too: a body still arriving then fails.
///
/// So that a handler reading its body never waits for a slot of its own,
/// at least two requests are handled at once whatever
/// [`ServerConfig::max_pipelined`] says.
///
/// # Errors
/// As [`serve_connection`].
pub async fn serve_connection_streamed<T, Body, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> Result<(), ServerError<Error, E>>
where
    T: AsyncRead + AsyncWrite,
    Body: FromRequestBody,
    H: FnMut(Request<Body>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    serve(io, config, config.max_pipelined.max(2), handler, shutdown).await
}

/// Both entry points: requests reach `handler` with bodies of type `Body`.
async fn serve<T, Body, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    max_pipelined: usize,
    mut handler: H,
    shutdown: S,
) -> Result<(), ServerError<Error, E>>
where
    T: AsyncRead + AsyncWrite,
    Body: IncomingBody,
    H: FnMut(Request<Body>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    let codec = Gather::<Body>::new(ServerCodec::with_limits(config.limits));
    let framed = Framed::new(io, codec);
    let server = pipeline::Server::new()
        .max_in_flight(max_pipelined)
        .idle_timeout(config.keep_alive_timeout)
        .request_timeout(config.request_timeout);
    let dispatch = move |incoming: Incoming<Body>| match incoming {
        Incoming::Request(request) => Dispatch::Call {
            to_head: request.method() == Method::HEAD,
            call: handler(request),
        },
        Incoming::Continue => Dispatch::Continue,
    };
    server
        .serve(
            framed,
            dispatch,
            HttpProtocol {
                shutdown: pin!(shutdown),
            },
        )
        .await
}

fn interim_continue() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::CONTINUE;
    response
}

/// The dispatcher's future for one [`Incoming`]: the handler's, its response
/// split into a whole one or a streamed one; or the interim `100 Continue`.
///
/// Written by hand rather than as an `async` block: a block would move the
/// handler's future (a whole request's work, the largest value on this path)
/// out of its captures into its own state at the first poll, a copy per
/// request; this one is polled where it was built.
enum Dispatch<F> {
    Call {
        call: F,
        /// The request is a `HEAD`: a streamed body is not even polled.
        to_head: bool,
    },
    Continue,
}

/// What the dispatcher writes for a handler's response.
type HttpReply<E> = Reply<Response<Bytes>, ResponseTail<E>>;

impl<F, B, E> Future for Dispatch<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
{
    type Output = Result<HttpReply<E>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing moves out of a pinned `Dispatch` (it has no method
        // that could, and no `Drop`), so the future in `Call` stays where it was
        // pinned: projecting the pin onto it is sound.
        match unsafe { self.get_unchecked_mut() } {
            Dispatch::Call { call, to_head } => {
                // SAFETY: as above, `call` is pinned with its `Dispatch`.
                let response = std::task::ready!(unsafe { Pin::new_unchecked(call) }.poll(cx))?;
                Poll::Ready(Ok(reply(response, *to_head)))
            }
            Dispatch::Continue => Poll::Ready(Ok(Reply::Whole(interim_continue()))),
        }
    }
}

/// A handler's response as the dispatcher writes it: a whole body as one
/// message, a stream as a tail of parts.
fn reply<B: Into<Outgoing<E>>, E>(response: Response<B>, to_head: bool) -> HttpReply<E> {
    let (parts, body) = response.into_parts();
    match body.into() {
        Outgoing::Full(bytes) => Reply::Whole(Response::from_parts(parts, bytes)),
        Outgoing::Stream { chunks, length } => Reply::Streamed(ResponseTail::new(
            Response::from_parts(parts, ()),
            chunks,
            length,
            to_head,
        )),
    }
}

/// What the gathering decoder yields to the dispatcher.
// Boxing the request would cost an allocation per request to save a few moves
// of a ~200-byte value; the moves are cheaper.
#[allow(clippy::large_enum_variant)]
enum Incoming<Body> {
    /// The client waits for `100 Continue` before sending the body.
    Continue,
    /// A request, body gathered or streaming in.
    Request(Request<Body>),
}

/// [`ServerCodec`] with bodies gathered into one `Bytes` per request, or fed
/// to the handler's `BodyReader` as they are decoded.
struct Gather<Body> {
    inner: ServerCodec,
    partial: Option<(RequestHead, BytesMut)>,
    /// The current request's `100 Continue` was already asked for.
    continued: bool,
    /// The current request had no body and went out with its head.
    bodiless: bool,
    /// The current request went out with its head, its body streaming.
    feeding: Option<BodyFeeder>,
    _body: PhantomData<fn() -> Body>,
}

impl<Body: IncomingBody> Gather<Body> {
    fn new(inner: ServerCodec) -> Self {
        Gather {
            inner,
            partial: None,
            continued: false,
            bodiless: false,
            feeding: None,
            _body: PhantomData,
        }
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
                self.partial = Some((head, BytesMut::new()));
                self.continued = false;
            }
            RequestPart::Data(data) => {
                if let Some(feeder) = &self.feeding {
                    feeder.push(data);
                } else if let Some((_, body)) = &mut self.partial {
                    body.extend_from_slice(&data);
                }
            }
            RequestPart::End if self.bodiless => self.bodiless = false,
            RequestPart::End => {
                if let Some(feeder) = self.feeding.take() {
                    feeder.finish();
                    return None;
                }
                let (head, body) = self.partial.take()?;
                return Some(Incoming::Request(
                    head.request.map(|()| Body::whole(body.freeze())),
                ));
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
        src.is_empty() && self.partial.is_none() && !self.bodiless && self.feeding.is_none()
    }

    fn wants_continue(&mut self) -> bool {
        if self.partial.is_some() && !self.continued && self.inner.continue_needed() {
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

/// What HTTP/1.1 adds to pipelined dispatch: responses whose bodies may
/// stream, error responses, `Connection: close`, shutdown, and reads that
/// wait for a streamed body's handler.
struct HttpProtocol<'a, S> {
    shutdown: Pin<&'a mut S>,
}

impl<Body: IncomingBody, E, S: Future<Output = ()>> Protocol<Gather<Body>, HttpReply<E>, E>
    for HttpProtocol<'_, S>
{
    type Whole = Response<Bytes>;
    type Part = ResponsePart;
    type Tail = ResponseTail<E>;

    /// Split by [`Dispatch`] already, where the request's method is known.
    #[inline]
    fn reply(&mut self, reply: HttpReply<E>) -> HttpReply<E> {
        reply
    }

    /// A request whose body failed after its handler was called has the
    /// handler's response as its answer: no second one.
    fn error_reply(&mut self, e: &Error) -> Option<Response<Bytes>> {
        (!e.is_answered()).then(|| ServerCodec::error_response(e))
    }

    #[inline]
    fn is_done(&mut self, codec: &Gather<Body>) -> bool {
        codec.inner.should_close()
    }

    #[inline]
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.shutdown.as_mut().poll(cx)
    }

    /// Reading waits while a streamed body's backlog is full.
    #[inline]
    fn hold(&mut self, codec: &mut Gather<Body>, cx: &mut Context<'_>) -> bool {
        codec
            .feeding
            .as_ref()
            .is_some_and(|feeder| feeder.poll_full(cx))
    }

    /// Once reading stops, the body still streaming in fails (its feeder is
    /// dropped).
    fn stopped(&mut self, codec: &mut Gather<Body>) {
        codec.feeding = None;
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

#[cfg(test)]
mod tests {
    use super::super::{BodyReader, RequestBody, STREAM_ABOVE};
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

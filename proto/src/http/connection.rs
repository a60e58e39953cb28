//! Serving HTTP/1.1 on one connection: the codec wired to pipelined dispatch.
//!
//! Requests are read with their bodies gathered (up to [`Limits::max_body`])
//! and handed to the handler as `http::Request<Bytes>`, or, with
//! [`serve_connection_streamed`], large bodies stream to the handler as they
//! are decoded (`incoming.rs`); requests are answered in order, and
//! pipelined requests are handled concurrently up to the configured depth.
//! A response body is whole, streamed or a file range ([`Outgoing`]): a
//! streamed one is written as its chunks come, a file range from the file
//! (zero-copy on a plain TCP connection), and the responses after either wait
//! their turn.
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
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::gather::request::{Gather, Incoming};
use super::incoming::{FromRequestBody, IncomingBody};
use super::outgoing::{ResponseTail, TailPart};
use super::{Error, Limits, Outgoing, ServerCodec};
use crate::framed::FileRange;
use crate::pipeline::{self, Protocol, Reply, ServerError};

// The defaults, documented (with why) on the `ServerConfig` fields they fill.
const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_PIPELINED: usize = 16;

/// How an HTTP/1.1 connection is served.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Parser limits (URI, headers, body, chunk lines); default
    /// [`Limits::default`].
    pub limits: Limits,
    /// Pipelined requests handled at once per connection; default 16.
    pub max_pipelined: usize,
    /// How long an idle keep-alive connection is kept open waiting for its
    /// next request; default 60 s (nginx's `keepalive_timeout` default is
    /// 75 s; we pick 60 s).
    pub keep_alive_timeout: Duration,
    /// How long a client has to finish sending a request once its first byte
    /// arrived; default 10 s. Bounds how long a slow-loris peer can hold a
    /// connection.
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
/// `Bytes`, or an `Outgoing` that streams or is a file range (see there for
/// their framing and failures). A streamed or file response keeps the
/// connection busy until its last byte is out; shutdown waits for it as for
/// any request in flight.
///
/// The handler's error ends the connection after the responses to earlier
/// requests (a service layer above normally turns errors into 500 responses);
/// so does a body stream's error, after the part of the body before it.
///
/// # Errors
/// The decode, I/O or handler error that ended the connection: a body
/// stream's error is a [`ServerError::Handler`], a stream that does not match
/// its declared length a [`ServerError::Codec`].
pub fn serve_connection<T, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> impl Future<Output = Result<(), ServerError<Error, E>>>
where
    T: AsyncRead + AsyncWrite,
    H: FnMut(Request<Bytes>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    serve(io, config, config.max_pipelined, handler, shutdown)
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
pub fn serve_connection_streamed<T, Body, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> impl Future<Output = Result<(), ServerError<Error, E>>>
where
    T: AsyncRead + AsyncWrite,
    Body: FromRequestBody,
    H: FnMut(Request<Body>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    serve(io, config, config.max_pipelined.max(2), handler, shutdown)
}

/// Both entry points: requests reach `handler` with bodies of type `Body`.
///
/// Not an `async fn`: that would store its arguments beside the dispatcher's
/// future, which holds them already (rust-lang/rust#62958), and this future
/// is what an idle keep-alive connection costs.
fn serve<T, Body, H, F, B, E, S>(
    io: T,
    config: &ServerConfig,
    max_pipelined: usize,
    mut handler: H,
    shutdown: S,
) -> impl Future<Output = Result<(), ServerError<Error, E>>>
where
    T: AsyncRead + AsyncWrite,
    Body: IncomingBody,
    H: FnMut(Request<Body>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Into<Outgoing<E>>,
    S: Future<Output = ()>,
{
    let limits = config.limits;
    // Parking: an idle keep-alive connection holds no receive buffer, and
    // little else; a request after it gets a new codec (HTTP/1.1's state
    // ends with each request).
    let new_codec = move || Gather::<Body>::new(ServerCodec::with_limits(limits));
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
    let protocol = HttpProtocol {
        shutdown: Box::pin(shutdown),
    };
    server.serve_parking(io, new_codec, dispatch, protocol)
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
/// message, a stream or a file as a tail of parts.
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
        Outgoing::File(range) => Reply::Streamed(ResponseTail::file(
            Response::from_parts(parts, ()),
            range,
            to_head,
        )),
    }
}

/// What HTTP/1.1 adds to pipelined dispatch: responses whose bodies may
/// stream, error responses, `Connection: close`, shutdown, and reads that
/// wait for a streamed body's handler.
struct HttpProtocol<S> {
    shutdown: Pin<Box<S>>,
}

impl<Body: IncomingBody, E, S: Future<Output = ()>> Protocol<Gather<Body>, HttpReply<E>, E>
    for HttpProtocol<S>
{
    type Whole = Response<Bytes>;
    type Part = TailPart;
    type Tail = ResponseTail<E>;

    /// Split by [`Dispatch`] already, where the request's method is known.
    #[inline]
    fn reply(&mut self, reply: HttpReply<E>) -> HttpReply<E> {
        reply
    }

    /// A file body's range: sent after its head, from the file.
    #[inline]
    fn file_range(&mut self, part: &TailPart) -> Option<FileRange> {
        match part {
            TailPart::File(range) => Some(range.clone()),
            TailPart::Encoded(_) => None,
        }
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

    fn idle(&mut self, codec: &mut Gather<Body>) {
        codec.inner.release();
    }

    fn parkable(&mut self, codec: &Gather<Body>) -> bool {
        codec.between_requests()
    }
}

//! The pipelined server dispatcher.
//!
//! Reads requests, calls the handler for each, and writes the responses in
//! request order. At most `max_in_flight` requests are being handled at once;
//! when that many are, the dispatcher stops reading (the peer's writes then
//! back up into its socket buffer — backpressure), and it also stops reading
//! while more than the backpressure mark of responses waits to be written. Every
//! response that is ready when the dispatcher turns goes out in one flush.
//! A response may also stream ([`Protocol::reply`], `tail.rs`): its parts are
//! written as they come, and the responses after it wait their turn.
//!
//! Errors: a decode error or a handler error (or a streaming tail's) stops reading; responses to earlier
//! requests are still written (plus, for a decode error, the codec's error reply
//! if the protocol has one — an HTTP 400, a RESP `-ERR`), then the connection ends
//! and the error is returned to the caller.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::connection::{Served, Settings};
use super::park::Serving;
use super::protocol::Protocol;
use crate::codec::{Decoder, Encoder};
use crate::framed::{Framed, DEFAULT_BACKPRESSURE};

/// Default bound on requests handled at once per connection; documented on
/// [`Server::max_in_flight`].
const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// Why a pipelined connection ended with an error.
#[derive(Debug)]
pub enum ServerError<C, H> {
    /// Reading, decoding, encoding or writing failed (I/O errors arrive here,
    /// converted into the codec's error type).
    Codec(C),
    /// The handler failed; responses to earlier requests were written first.
    Handler(H),
}

impl<C: fmt::Display, H: fmt::Display> fmt::Display for ServerError<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Codec(e) => write!(f, "connection failed: {e}"),
            ServerError::Handler(e) => write!(f, "handler failed: {e}"),
        }
    }
}

impl<C: Error + 'static, H: Error + 'static> Error for ServerError<C, H> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ServerError::Codec(e) => Some(e),
            ServerError::Handler(e) => Some(e),
        }
    }
}

/// Settings of a pipelined server connection.
#[derive(Debug, Clone)]
pub struct Server {
    settings: Settings,
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// The defaults, each given on its setter: 32 requests at once, 128 KiB of
    /// unwritten responses before reading pauses, no idle or request timeout.
    pub fn new() -> Server {
        Server {
            settings: Settings {
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                backpressure: DEFAULT_BACKPRESSURE,
                idle_timeout: None,
                request_timeout: None,
            },
        }
    }

    /// Sets the bound on requests handled at once (at least 1); default 32.
    pub fn max_in_flight(mut self, n: usize) -> Server {
        self.settings.max_in_flight = n.max(1);
        self
    }

    /// Closes a connection that sends no new request for `timeout` while nothing
    /// is in flight (an idle keep-alive connection). Off by default.
    pub fn idle_timeout(mut self, timeout: Duration) -> Server {
        self.settings.idle_timeout = Some(timeout);
        self
    }

    /// Closes a connection whose next request, once its first bytes arrived, is
    /// not complete within `timeout` — the defence against slow-loris peers that
    /// trickle a request head forever. Off by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Server {
        self.settings.request_timeout = Some(timeout);
        self
    }

    /// Sets how many bytes of unwritten responses pause reading; default
    /// 128 KiB, as [`Framed::set_backpressure`]. The mark bounds memory when a
    /// peer reads slower than the server answers.
    pub fn backpressure(mut self, bytes: usize) -> Server {
        self.settings.backpressure = bytes.max(1);
        self
    }

    /// Serves one connection until the peer closes it (`Ok`), the protocol
    /// ends it or shuts it down (`Ok`, after the responses due), or an error
    /// ends it. `handler` answers each request; `protocol` adds what only the
    /// protocol knows (see [`Protocol`]; `()` for a plain one).
    ///
    /// ```no_run
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::pipeline::Server;
    /// use ringo_proto::Framed;
    /// # async fn serve(stream: ringo_reactor::net::TcpStream) {
    /// let echo = |line: String| async move { Ok::<_, std::io::Error>(line) };
    /// let framed = Framed::new(stream, LinesCodec::new());
    /// let _ = Server::new().serve(framed, echo, ()).await;
    /// # }
    /// ```
    pub fn serve<T, C, H, F, Resp, E, P>(
        &self,
        framed: Framed<T, C>,
        handler: H,
        protocol: P,
    ) -> impl Future<Output = Served<C, E>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder
            + Encoder<P::Whole, Error = <C as Decoder>::Error>
            + Encoder<P::Part, Error = <C as Decoder>::Error>,
        H: FnMut(C::Item) -> F,
        F: Future<Output = Result<Resp, E>>,
        P: Protocol<C, Resp, E>,
    {
        // Never parks: the framed transport, codec and all, is the caller's.
        self.serving(framed, None::<fn() -> C>, handler, protocol)
    }

    /// As [`serve`](Self::serve), for a transport read through the
    /// runtime's buffer pool ([`Framed::pooled`]) with codecs made by
    /// `new_codec`: a connection quiet for a while (between a quarter and
    /// half a second, with nothing in flight, nothing to write and no byte of
    /// a next request) is *parked*. It keeps its transport, `handler`,
    /// `protocol` and idle deadline, a few hundred bytes, and drops the rest
    /// of its state; the peer's next bytes build it again, with a codec from
    /// `new_codec`. Timeouts, shutdown and the peer's close end a parked
    /// connection as they end an idle one. A transport without a pooled
    /// receive (TLS) never parks: it releases its buffers in place.
    ///
    /// So `new_codec` must make a codec that decodes a connection's next
    /// request as the one it replaces would at a request boundary.
    ///
    /// ```no_run
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::pipeline::Server;
    /// # async fn serve(stream: ringo_reactor::net::TcpStream) {
    /// let echo = |line: String| async move { Ok::<_, std::io::Error>(line) };
    /// let _ = Server::new().serve_parking(stream, LinesCodec::new, echo, ()).await;
    /// # }
    /// ```
    pub fn serve_parking<T, C, M, H, F, Resp, E, P>(
        &self,
        io: T,
        mut new_codec: M,
        handler: H,
        protocol: P,
    ) -> impl Future<Output = Served<C, E>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder
            + Encoder<P::Whole, Error = <C as Decoder>::Error>
            + Encoder<P::Part, Error = <C as Decoder>::Error>,
        M: FnMut() -> C,
        H: FnMut(C::Item) -> F,
        F: Future<Output = Result<Resp, E>>,
        P: Protocol<C, Resp, E>,
    {
        let framed = Framed::pooled(io, new_codec());
        self.serving(framed, Some(new_codec), handler, protocol)
    }

    /// Both entry points' future. One closure owns the connection's whole
    /// state: an `async fn` would store its arguments twice
    /// (rust-lang/rust#62958), and this future is what an idle keep-alive
    /// connection holds.
    fn serving<T, C, M, H, F, Resp, E, P>(
        &self,
        framed: Framed<T, C>,
        new_codec: Option<M>,
        handler: H,
        protocol: P,
    ) -> impl Future<Output = Served<C, E>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder
            + Encoder<P::Whole, Error = <C as Decoder>::Error>
            + Encoder<P::Part, Error = <C as Decoder>::Error>,
        M: FnMut() -> C,
        H: FnMut(C::Item) -> F,
        F: Future<Output = Result<Resp, E>>,
        P: Protocol<C, Resp, E>,
    {
        let mut serving = Serving::new(self.settings, framed, new_codec, handler, protocol);
        std::future::poll_fn(move |cx| serving.poll(cx))
    }
}

//! Serving RESP on one connection: the codec wired to pipelined dispatch.
//!
//! Redis clients pipeline heavily (`redis-benchmark -P 16`), so commands are
//! decoded and handled up to the configured depth at once and every reply that
//! is ready goes out in one write. A protocol violation is answered with
//! `-ERR Protocol error: ...` after the replies to earlier commands, and the
//! connection closes — as Redis itself does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::{Error, Frame, RespCodec};
use crate::pipeline::{self, NoTail, Protocol, Reply, ServerError};

/// Default commands handled at once per connection; documented on
/// [`ServerConfig::max_pipelined`].
const DEFAULT_MAX_PIPELINED: usize = 64;

/// How a RESP connection is served.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Commands handled at once; default 64, which covers
    /// `redis-benchmark -P 16` with room to spare.
    pub max_pipelined: usize,
    /// Close connections idle this long between commands (Redis's `timeout`
    /// setting; `None`, like Redis's default of 0, keeps them open).
    pub idle_timeout: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_pipelined: DEFAULT_MAX_PIPELINED,
            idle_timeout: None,
        }
    }
}

/// Serves RESP on `io` with `codec` until the client closes, a protocol error
/// (answered first) or `shutdown` (in-flight commands are answered first).
///
/// # Errors
/// The decode, I/O or handler error that ended the connection.
pub fn serve_connection<T, H, F, E, S>(
    io: T,
    codec: RespCodec,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> impl Future<Output = Result<(), ServerError<Error, E>>>
where
    T: AsyncRead + AsyncWrite,
    H: FnMut(Frame) -> F,
    F: Future<Output = Result<Frame, E>>,
    S: Future<Output = ()>,
{
    let mut server = pipeline::Server::new().max_in_flight(config.max_pipelined);
    if let Some(idle) = config.idle_timeout {
        server = server.idle_timeout(idle);
    }
    // Parking: an idle keep-alive connection holds no receive buffer, and
    // little else; a command after it gets a codec set up as `codec`.
    let new_codec = move || codec.fresh();
    let protocol = RespProtocol {
        quit: || false,
        // Owned (not an `async fn`'s pinned local), so the connection's
        // future holds it once; see `pipeline::Server::serve`.
        shutdown: Box::pin(shutdown),
    };
    server.serve_parking(io, new_codec, handler, protocol)
}

/// What RESP adds to pipelined dispatch: `-ERR Protocol error` for a
/// malformed command, shutdown, and the end `quit` says the connection has
/// reached (a `QUIT` read, for a server that answers it itself).
#[derive(Debug)]
pub struct RespProtocol<Q, S> {
    /// True once the connection must read no more commands.
    pub quit: Q,
    /// Completes when the server shuts down: a pinned future, such as
    /// `pin!(fut)` or `Box::pin(fut)`.
    pub shutdown: S,
}

impl<Q, S, E> Protocol<RespCodec, Frame, E> for RespProtocol<Q, S>
where
    Q: FnMut() -> bool,
    S: Future<Output = ()> + Unpin,
{
    type Whole = Frame;
    type Part = Frame;
    type Tail = NoTail<Frame, E>;

    #[inline]
    fn reply(&mut self, reply: Frame) -> Reply<Frame, NoTail<Frame, E>> {
        Reply::Whole(reply)
    }

    fn error_reply(&mut self, e: &Error) -> Option<Frame> {
        e.is_protocol().then(|| e.reply())
    }

    #[inline]
    fn is_done(&mut self, _: &RespCodec) -> bool {
        (self.quit)()
    }

    #[inline]
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.shutdown).poll(cx)
    }
}

//! Serving RESP on one connection: the codec wired to pipelined dispatch.
//!
//! Redis clients pipeline heavily (`redis-benchmark -P 16`), so commands are
//! decoded and handled up to the configured depth at once and every reply that
//! is ready goes out in one write. A protocol violation is answered with
//! `-ERR Protocol error: ...` after the replies to earlier commands, and the
//! connection closes — as Redis itself does.

use std::future::Future;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::{Error, Frame, RespCodec};
use crate::framed::Framed;
use crate::pipeline::{self, ServerError};

/// Default commands handled at once per connection; covers `redis-benchmark -P 16`
/// with room to spare.
pub const DEFAULT_MAX_PIPELINED: usize = 64;

/// How a RESP connection is served.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Commands handled at once.
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
pub async fn serve_connection<T, H, F, E, S>(
    io: T,
    codec: RespCodec,
    config: &ServerConfig,
    handler: H,
    shutdown: S,
) -> Result<(), ServerError<Error, E>>
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
    let framed = Framed::new(io, codec);
    server
        .serve_framed(
            framed,
            handler,
            |e: &Error| e.is_protocol().then(|| e.reply()),
            shutdown,
        )
        .await
}

//! The settings of a [`Client`]: pool size, time limits, parser limits, TLS.

use std::sync::Arc;
use std::time::Duration;

use ringo_proto::http::Limits;
use ringo_proto::tls::rustls::ClientConfig;

use super::Client;
use crate::pool::PoolConfig;

/// Default limit on a whole request; documented on
/// [`ClientBuilder::request_timeout`].
const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default limit on opening one connection; documented on
/// [`ClientBuilder::connect_timeout`].
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(super) pool: PoolConfig,
    pub(super) request_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) limits: Limits,
    pub(super) tls_config: Option<Arc<ClientConfig>>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            pool: PoolConfig::default(),
            request_timeout: DEFAULT_CLIENT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            limits: Limits::default(),
            tls_config: None,
        }
    }
}

impl ClientBuilder {
    /// Most connections to one endpoint (host and port) at once; more
    /// concurrent requests wait. Default 16, the pool's (see
    /// [`PoolConfig::max_connections`]).
    pub fn max_connections_per_host(mut self, max: usize) -> ClientBuilder {
        self.pool.max_connections = max;
        self
    }

    /// Time an unused keep-alive connection is kept open. Default 90 s, as
    /// hyper's client pool, so the client closes a connection before a typical
    /// server's keep-alive timeout would (see [`PoolConfig::idle_timeout`]).
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.pool.idle_timeout = Some(timeout);
        self
    }

    /// Limit on each request, from the call to the whole response: waiting
    /// for a connection, connecting, sending and reading the response; default
    /// 30 s. Past it the call fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) and its connection is
    /// closed.
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.request_timeout = timeout;
        self
    }

    /// Limit on opening one connection (name lookup and TCP handshake);
    /// default 10 s. Past it the call fails with
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) and the pool
    /// backs off as after any connect failure.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Requests sent on one connection before their responses arrive
    /// (HTTP/1.1 pipelining, RFC 9112 §9.3.2). Default 1: many servers and
    /// proxies mishandle pipelining, so it is opt-in.
    pub fn max_pipelined(mut self, max: usize) -> ClientBuilder {
        self.pool.max_calls_per_connection = max;
        self
    }

    /// Largest response body gathered, in bytes; default 8 MiB (see
    /// [`Limits::max_body`]). A larger one fails its request with the codec's
    /// `BodyTooLarge` error and closes the connection.
    pub fn max_body(mut self, bytes: u64) -> ClientBuilder {
        self.limits.max_body = bytes;
        self
    }

    /// All of the response parser's limits (head size, header count, body);
    /// default [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> ClientBuilder {
        self.limits = limits;
        self
    }

    /// The pool settings every endpoint's pool gets: warm and maximum
    /// connections, idle timeout, waiters, reconnect backoff. Default
    /// [`PoolConfig::default`]; this replaces what
    /// [`max_connections_per_host`](Self::max_connections_per_host),
    /// [`idle_timeout`](Self::idle_timeout) and
    /// [`max_pipelined`](Self::max_pipelined) set before it.
    pub fn pool(mut self, config: PoolConfig) -> ClientBuilder {
        self.pool = config;
        self
    }

    /// The TLS configuration of `https` connections (trusted roots, versions,
    /// a session cache shared by every connection so reconnects resume).
    /// Its ALPN list is set to `http/1.1` when empty. Default:
    /// `ringo_proto::tls::client_config()`, the bundled Mozilla roots.
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> ClientBuilder {
        self.tls_config = Some(config);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client::with_config(self)
    }
}

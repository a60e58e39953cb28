//! [`TlsAcceptor`] and [`TlsConnector`]: a configuration plus a handshake
//! time limit, turning a connected stream into a [`TlsStream`].
//!
//! The limit matters on the server: a client that connects and stalls
//! mid-handshake would otherwise hold a connection slot for as long as it
//! likes. Dropping the handshake at the limit drops its ops, which the
//! reactor cancels safely.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use super::TlsStream;

/// The default handshake time limit, 10 s; documented, with why, on
/// [`TlsAcceptor::handshake_timeout`]. Spelled out rather than taken from the
/// HTTP request timeout so TLS builds without the HTTP feature; a test keeps
/// the two equal.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(all(test, feature = "http"))]
#[test]
fn the_handshake_limit_is_the_http_request_limit() {
    assert_eq!(
        DEFAULT_HANDSHAKE_TIMEOUT,
        crate::http::ServerConfig::default().request_timeout
    );
}

/// Accepts TLS connections: the server side of the handshake.
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
}

impl TlsAcceptor {
    /// An acceptor with `config` and the default handshake timeout, 10 s (see
    /// [`handshake_timeout`](Self::handshake_timeout)).
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long a handshake may take before the connection is dropped;
    /// default 10 s, the HTTP server's default request timeout
    /// (`http::ServerConfig::request_timeout`), as a handshake is a request's
    /// first bytes.
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsAcceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// This acceptor, offering `protocol` by ALPN when its configuration
    /// names none (servers of one protocol set theirs this way).
    pub fn with_alpn(mut self, protocol: &[u8]) -> TlsAcceptor {
        if self.config.alpn_protocols.is_empty() {
            let mut config = (*self.config).clone();
            config.alpn_protocols = vec![protocol.to_vec()];
            self.config = Arc::new(config);
        }
        self
    }

    /// The server configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs the server side of the handshake over `io`.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidData`] wrapping the [`rustls::Error`] when the
    /// handshake fails (the peer got an alert where one applies),
    /// [`io::ErrorKind::TimedOut`] past the handshake timeout, or the
    /// stream's own error.
    pub async fn accept<S: AsyncRead + AsyncWrite>(&self, io: S) -> io::Result<TlsStream<S>> {
        let conn = ServerConnection::new(self.config.clone()).map_err(invalid)?;
        limited(self.handshake_timeout, io, conn.into()).await
    }
}

/// Opens TLS connections: the client side of the handshake.
#[derive(Debug, Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    handshake_timeout: Duration,
}

impl TlsConnector {
    /// A connector with `config` and the default handshake timeout, 10 s (see
    /// [`handshake_timeout`](Self::handshake_timeout)). Clones
    /// share the configuration's session cache, so reconnects resume.
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long a handshake may take before it fails; default 10 s, as
    /// [`TlsAcceptor::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsConnector {
        self.handshake_timeout = timeout;
        self
    }

    /// The client configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the client side of the handshake over `io`, checking that the
    /// server's certificate is valid for `server_name` (sent as SNI when it
    /// is a DNS name).
    ///
    /// # Errors
    /// As [`TlsAcceptor::accept`]; a certificate that fails verification is
    /// [`io::ErrorKind::InvalidData`] wrapping
    /// [`rustls::Error::InvalidCertificate`].
    pub async fn connect<S: AsyncRead + AsyncWrite>(
        &self,
        server_name: ServerName<'static>,
        io: S,
    ) -> io::Result<TlsStream<S>> {
        let conn = ClientConnection::new(self.config.clone(), server_name).map_err(invalid)?;
        limited(self.handshake_timeout, io, conn.into()).await
    }
}

/// The handshake of `conn` over `io`, bounded by `timeout`.
async fn limited<S: AsyncRead + AsyncWrite>(
    timeout: Duration,
    io: S,
    conn: Connection,
) -> io::Result<TlsStream<S>> {
    match ringo_reactor::time::timeout(timeout, TlsStream::handshake(io, conn)).await {
        Ok(done) => done,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("tls: handshake took over {timeout:?}"),
        )),
    }
}

fn invalid(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

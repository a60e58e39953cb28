//! [`ProtocolServer`]: the multi-core [`Server`] settings plus one protocol's
//! configuration, shared by the HTTP and Redis servers.
//!
//! Each protocol server is this type with its own configuration type, so the
//! builder methods every protocol has (workers, driver, connection cap,
//! shutdown timeout) are written once here; `http/server.rs` and
//! `redis/server.rs` add only their protocol settings and `serve`.

use ringo_reactor::net::ToSocketAddrs;
use std::time::Duration;

use std::sync::Arc;

use ringo_proto::tls::rustls;
use ringo_proto::tls::TlsAcceptor;
use ringo_reactor::DriverKind;

use super::Server;

/// A protocol server's builder: the multi-core [`Server`] settings plus the
/// protocol's configuration `C`. Protocol modules name it for their
/// configuration (`http::Server`, `redis::Server`) and add their own settings
/// and `serve`.
#[derive(Debug, Clone)]
pub struct ProtocolServer<C> {
    /// The multi-core settings, handed to [`Server::serve`] by the protocol.
    pub(crate) server: Server,
    /// The protocol's configuration, given to each connection.
    pub(crate) config: C,
    /// Set by [`tls`](Self::tls): every connection is TLS.
    tls: Option<TlsAcceptor>,
    /// Set by [`tls_handshake_timeout`](Self::tls_handshake_timeout).
    tls_handshake_timeout: Option<Duration>,
}

impl<C: Default> ProtocolServer<C> {
    /// A server for `addr` (port 0: a free port) with the defaults of
    /// [`Server::bind`] and the protocol's default configuration.
    pub fn bind(addr: impl ToSocketAddrs) -> Self {
        ProtocolServer {
            server: Server::bind(addr),
            config: C::default(),
            tls: None,
            tls_handshake_timeout: None,
        }
    }
}

impl<C> ProtocolServer<C> {
    /// Runs `n` workers; see [`Server::workers`].
    pub fn workers(mut self, n: usize) -> Self {
        self.server = self.server.workers(n);
        self
    }

    /// Caps open connections across all workers; see
    /// [`Server::max_connections`].
    pub fn max_connections(mut self, n: usize) -> Self {
        self.server = self.server.max_connections(n);
        self
    }

    /// How long graceful shutdown waits for open connections; see
    /// [`Server::shutdown_timeout`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.server = self.server.shutdown_timeout(timeout);
        self
    }

    /// The driver every worker uses, overriding `RINGO_DRIVER`; see
    /// [`Server::driver`].
    pub fn driver(mut self, kind: DriverKind) -> Self {
        self.server = self.server.driver(kind);
        self
    }

    /// Serves TLS with `config` (see `ringo_proto::tls` to build one from
    /// PEM files): each connection runs the handshake, under
    /// [`tls_handshake_timeout`](Self::tls_handshake_timeout), before the
    /// protocol; one that fails it is closed (with an alert where one
    /// applies) and logged at debug level.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(TlsAcceptor::new(config));
        self
    }

    /// How long a TLS handshake may take; default 10 s, the HTTP request
    /// timeout (see
    /// [`TlsAcceptor::handshake_timeout`](ringo_proto::tls::TlsAcceptor::handshake_timeout)).
    /// A client stalling mid-handshake is dropped then, freeing its
    /// connection slot.
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = Some(timeout);
        self
    }

    /// The acceptor every connection goes through, if TLS is on.
    pub(crate) fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        let acceptor = self.tls.clone()?;
        Some(match self.tls_handshake_timeout {
            Some(timeout) => acceptor.handshake_timeout(timeout),
            None => acceptor,
        })
    }

    /// Replaces the whole protocol configuration.
    pub fn config(mut self, config: C) -> Self {
        self.config = config;
        self
    }
}

//! The HTTP/1.1 client: a [`Service`] from `http::Request<Bytes>` to
//! `http::Response<Bytes>`, with a keep-alive connection [`Pool`] per
//! endpoint and time limits on connecting and on each request.
//!
//! Each connection is `ringo_proto`'s pipelined client dispatcher over a
//! `Framed<TcpStream, ClientCodec>`, with response bodies gathered into one
//! `Bytes` (up to [`Limits::max_body`], 8 MiB by default). The protocol rules
//! a client must follow on top of the codec live here:
//!
//! - the request target is sent in origin form (`/path?query`) and the `Host`
//!   field is added from the URI when missing (RFC 9112 §3.2, RFC 9110 §7.2);
//! - a response that ends its connection (`Connection: close`, HTTP/1.0
//!   without keep-alive, a close-delimited body; RFC 9112 §9.6) retires the
//!   connection before its caller even sees the response, so it is never
//!   lent again;
//! - a call abandoned mid-flight (its request timed out) retires its
//!   connection too: the late response would hold up the next request on it.
//!
//! `https` URIs go over `ringo_proto::tls` (rustls): the connect step runs
//! the handshake (ALPN `http/1.1`, the name checked against the
//! certificate), and pooled keep-alive works as over plain TCP. The client
//! trusts the bundled Mozilla roots unless given a configuration with
//! [`ClientBuilder::tls_config`].
//!
//! One concern per file: `builder.rs` (the settings), `request.rs` (what a
//! request must look like to be sent, and where it goes), `connect.rs`
//! (opening one connection: TCP, then the TLS handshake for `https`; names
//! resolve off the loop thread through `ringo_reactor::net`),
//! `connection.rs` (a pooled keep-alive connection); responses are gathered by
//! `ringo_proto::http::GatheringClientCodec`, the server's gathering twin.

mod builder;
mod connect;
mod connection;
mod request;

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use ::http::uri::Uri;
use ::http::{Request, Response};
use bytes::Bytes;
use ringo_proto::tls::{self, TlsConnector};

pub use builder::ClientBuilder;
use connect::Connector;
pub use request::RequestError;
use request::{prepare, Endpoint};

use crate::error::{Error, ErrorKind};
use crate::pool::Pool;
use crate::service::Service;
use crate::timeout::Timeout;

/// Endpoints whose pools are kept; documented on [`Client`] ("Endpoints").
const MAX_IDLE_ENDPOINTS: usize = 256;

/// An HTTP/1.1 client with a keep-alive connection [`Pool`] per endpoint
/// (host and port). Clones share the pools.
///
/// `!Send`: it lives on one runtime (thread) with its connections, and its
/// clones share state through `Rc`. A compiler error naming an `Rc` inside
/// ringo means it was moved to another thread: make one per worker, inside
/// the server's factory or the worker's runtime (see the `ringo_service`
/// crate docs, "Thread per core").
///
/// It sends each request's target in origin form and adds `Host` from the
/// URI when missing; `https` over rustls. A connection is
/// reused until a response ends it (`Connection: close`, HTTP/1.0) or a call
/// on it is abandoned (its request timed out), and is then never lent again.
/// Response bodies are gathered whole, up to
/// [`ClientBuilder::max_body`].
///
/// # Endpoints
/// The pools of up to 256 endpoints are kept; past that, pools with no
/// connection (and not backing off) are dropped before a new one is made.
/// Pools that hold connections or remember failures are never dropped, so
/// this bounds only the bookkeeping of endpoints talked to once.
///
/// # Errors
/// Calls fail with the [`ErrorKind`] of what went wrong: `Inner` for a
/// [`RequestError`] or a malformed response (the cause is a
/// `ringo_proto::http::Error`), `Unavailable` when no connection could be
/// opened — refused, unreachable, name not found, connect timeout, or the
/// pool backing off after such failures (cause
/// [`PoolError`](crate::pool::PoolError)) — `Timeout` past the request
/// timeout, `NotWritten` when the connection died before the request left
/// (safe to retry) and `ConnectionLost` when it died after.
///
/// # Examples
/// ```no_run
/// use ringo_service::http::Client;
///
/// ringo_reactor::run(async {
///     let client = Client::new();
///     let response = client.get("http://127.0.0.1:8080/").await?;
///     println!("{}: {} bytes", response.status(), response.body().len());
///     Ok::<(), ringo_service::Error>(())
/// })?;
/// # Ok::<(), ringo_service::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

struct Inner {
    config: ClientBuilder,
    /// Made on the first `https` request.
    tls: OnceCell<TlsConnector>,
    pools: RefCell<HashMap<Endpoint, Pool<Connector>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("endpoints", &self.inner.pools.borrow().len())
            .finish()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with the defaults.
    pub fn new() -> Client {
        Client::builder().build()
    }

    /// A client with the settings of `config`.
    fn with_config(config: ClientBuilder) -> Client {
        Client {
            inner: Rc::new(Inner {
                config,
                tls: OnceCell::new(),
                pools: RefCell::new(HashMap::new()),
            }),
        }
    }

    /// A builder to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Sends `GET uri` and gathers the response.
    ///
    /// # Errors
    /// An unparsable URI (kind `Inner`, cause `http::Error`), or as the
    /// [`Client`]'s calls.
    pub async fn get<U>(&self, uri: U) -> Result<Response<Bytes>, Error>
    where
        Uri: TryFrom<U>,
        <Uri as TryFrom<U>>::Error: Into<::http::Error>,
    {
        let request = Request::get(uri).body(Bytes::new())?;
        self.call(request).await
    }

    /// Open connections to `uri`'s endpoint (for tests and metrics).
    pub fn connections(&self, uri: &Uri) -> usize {
        let Ok((endpoint, _)) = Endpoint::of(uri) else {
            return 0;
        };
        self.inner
            .pools
            .borrow()
            .get(&endpoint)
            .map_or(0, Pool::connections)
    }

    /// The connector of `https` connections, made on first use.
    fn tls_connector(&self) -> TlsConnector {
        let inner = &self.inner;
        let connector = inner.tls.get_or_init(|| {
            let mut config = match &inner.config.tls_config {
                Some(config) => (**config).clone(),
                None => tls::client_config(),
            };
            if config.alpn_protocols.is_empty() {
                config.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
            }
            TlsConnector::new(Arc::new(config)).handshake_timeout(inner.config.connect_timeout)
        });
        connector.clone()
    }

    /// The pool of `endpoint`, made if there is none.
    fn pool(&self, endpoint: Endpoint) -> Pool<Connector> {
        let mut pools = self.inner.pools.borrow_mut();
        if let Some(pool) = pools.get(&endpoint) {
            return pool.clone();
        }
        if pools.len() >= MAX_IDLE_ENDPOINTS {
            pools.retain(|_, pool| pool.connections() > 0 || pool.status() != crate::Status::Open);
        }
        let config = &self.inner.config;
        let connector = Connector {
            endpoint: endpoint.clone(),
            connect_timeout: config.connect_timeout,
            limits: config.limits,
            max_pipelined: config.pool.max_calls_per_connection.max(1),
            tls: endpoint.tls.then(|| self.tls_connector()),
        };
        let pool = Pool::new(connector, config.pool.clone());
        pools.insert(endpoint, pool.clone());
        pool
    }
}

impl Service<Request<Bytes>> for Client {
    type Response = Response<Bytes>;
    type Error = Error;

    async fn call(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let (endpoint, request) =
            prepare(request).map_err(|cause| Error::with_source(ErrorKind::Inner, cause))?;
        let pool = self.pool(endpoint);
        Timeout::new(&pool, self.inner.config.request_timeout)
            .call(request)
            .await
    }
}

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
//! Plain `http` only: there is no TLS in ringo, so `https` URIs fail at once
//! with a [`RequestError`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use ::http::header::{HeaderValue, HOST};
use ::http::uri::{PathAndQuery, Scheme, Uri};
use ::http::{Method, Request, Response, StatusCode};
use bytes::{Bytes, BytesMut};
use ringo_proto::http::{BodyLength, ResponsePart};
use ringo_proto::http::{ClientCodec, Error as HttpError, ErrorKind as HttpErrorKind, Limits};
use ringo_proto::{pipeline, Decoder, Encoder, Framed};
use ringo_reactor::net::TcpStream;
use ringo_reactor::JoinHandle;

use crate::error::{Error, ErrorKind};
use crate::pool::{Connection, MakeConnection, Pool, PoolConfig};
use crate::service::Service;
use crate::timeout::Timeout;

/// Default limit on a whole request: waiting for a connection, connecting,
/// sending and reading the response. Past it the call fails with
/// [`ErrorKind::Timeout`] and its connection is closed.
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default limit on opening one connection (name lookup and TCP handshake);
/// past it the call fails with [`ErrorKind::Unavailable`] and the pool backs
/// off as after any connect failure.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default endpoints whose pools are kept; past it, pools with no connection
/// (and not backing off) are dropped before a new one is made. Pools that
/// hold connections or remember failures are never dropped, so this bounds
/// only the bookkeeping of endpoints talked to once.
pub const DEFAULT_MAX_IDLE_ENDPOINTS: usize = 256;

/// A request this client cannot send; the cause of an
/// [`ErrorKind::Inner`] error, returned before any connection is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The URI's scheme is not `http` (`https` needs TLS, which ringo lacks).
    UnsupportedScheme(String),
    /// The URI is not in absolute form `http://host[:port]/path`.
    NotAbsolute(Uri),
    /// The method needs a tunnel (`CONNECT`), which this client does not make.
    UnsupportedMethod(Method),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::UnsupportedScheme(scheme) if scheme.eq_ignore_ascii_case("https") => {
                f.write_str("scheme https not supported: ringo has no tls")
            }
            RequestError::UnsupportedScheme(scheme) => {
                write!(f, "scheme {scheme} not supported: only http")
            }
            RequestError::NotAbsolute(uri) => {
                write!(f, "uri {uri} not in absolute form http://host[:port]/path")
            }
            RequestError::UnsupportedMethod(method) => write!(f, "method {method} not supported"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Configures a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pool: PoolConfig,
    request_timeout: Duration,
    connect_timeout: Duration,
    limits: Limits,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            pool: PoolConfig::default(),
            request_timeout: DEFAULT_CLIENT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            limits: Limits::default(),
        }
    }
}

impl ClientBuilder {
    /// Most connections to one endpoint (host and port) at once; more
    /// concurrent requests wait (default
    /// [`DEFAULT_MAX_CONNECTIONS`](crate::pool::DEFAULT_MAX_CONNECTIONS)).
    pub fn max_connections_per_host(mut self, max: usize) -> ClientBuilder {
        self.pool.max_connections = max;
        self
    }

    /// Time an unused keep-alive connection is kept open (default
    /// [`DEFAULT_IDLE_TIMEOUT`](crate::pool::DEFAULT_IDLE_TIMEOUT)).
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.pool.idle_timeout = Some(timeout);
        self
    }

    /// Limit on each request, from the call to the whole response (default
    /// [`DEFAULT_CLIENT_REQUEST_TIMEOUT`]).
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.request_timeout = timeout;
        self
    }

    /// Limit on opening a connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
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

    /// Largest response body gathered, in bytes (default
    /// [`DEFAULT_MAX_BODY`](ringo_proto::http::DEFAULT_MAX_BODY), 8 MiB); a larger one fails its request with the
    /// codec's `BodyTooLarge` error and closes the connection.
    pub fn max_body(mut self, bytes: u64) -> ClientBuilder {
        self.limits.max_body = bytes;
        self
    }

    /// All of the response parser's limits (head size, header count, body).
    pub fn limits(mut self, limits: Limits) -> ClientBuilder {
        self.limits = limits;
        self
    }

    /// The pool settings every endpoint's pool gets: warm and maximum
    /// connections, idle timeout, waiters, reconnect backoff.
    pub fn pool(mut self, config: PoolConfig) -> ClientBuilder {
        self.pool = config;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Rc::new(Inner {
                config: self,
                pools: RefCell::new(HashMap::new()),
            }),
        }
    }
}

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
/// URI when missing; plain `http` only (ringo has no TLS). A connection is
/// reused until a response ends it (`Connection: close`, HTTP/1.0) or a call
/// on it is abandoned (its request timed out), and is then never lent again.
/// Response bodies are gathered whole, up to
/// [`ClientBuilder::max_body`].
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

    /// The pool of `endpoint`, made if there is none.
    fn pool(&self, endpoint: Endpoint) -> Pool<Connector> {
        let mut pools = self.inner.pools.borrow_mut();
        if let Some(pool) = pools.get(&endpoint) {
            return pool.clone();
        }
        if pools.len() >= DEFAULT_MAX_IDLE_ENDPOINTS {
            pools.retain(|_, pool| pool.connections() > 0 || pool.status() != crate::Status::Open);
        }
        let config = &self.inner.config;
        let connector = Connector {
            endpoint: endpoint.clone(),
            connect_timeout: config.connect_timeout,
            limits: config.limits,
            max_pipelined: config.pool.max_calls_per_connection.max(1),
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

/// Where a request goes: lower-case host (without IPv6 brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    /// The endpoint of an absolute `http` URI, and its `Host` field value
    /// (the authority without user info, RFC 9110 §7.2).
    fn of(uri: &Uri) -> Result<(Endpoint, HeaderValue), RequestError> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(RequestError::NotAbsolute(uri.clone()));
        };
        if *scheme != Scheme::HTTP {
            return Err(RequestError::UnsupportedScheme(scheme.as_str().to_owned()));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(RequestError::NotAbsolute(uri.clone()));
        }
        let endpoint = Endpoint {
            host: host.to_ascii_lowercase(),
            // RFC 9110 §4.2.1: the default port of http is 80.
            port: authority.port_u16().unwrap_or(80),
        };
        let host_field = authority.as_str().rsplit('@').next().unwrap_or_default();
        let host_field = HeaderValue::from_str(host_field)
            .map_err(|_| RequestError::NotAbsolute(uri.clone()))?;
        Ok((endpoint, host_field))
    }
}

/// Checks a request and puts it in the form sent to an origin server: the
/// target in origin form, `Host` set.
fn prepare(mut request: Request<Bytes>) -> Result<(Endpoint, Request<Bytes>), RequestError> {
    if request.method() == Method::CONNECT {
        return Err(RequestError::UnsupportedMethod(Method::CONNECT));
    }
    let (endpoint, host) = Endpoint::of(request.uri())?;
    // RFC 9112 §3.2.1: to an origin server the target is the absolute path
    // and query, "/" when the path is empty.
    let origin = request
        .uri()
        .path_and_query()
        .filter(|pq| pq.as_str().starts_with('/'))
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(origin);
    request.headers_mut().entry(HOST).or_insert(host);
    Ok((endpoint, request))
}

/// Opens connections to one endpoint for its pool.
#[derive(Debug)]
struct Connector {
    endpoint: Endpoint,
    connect_timeout: Duration,
    limits: Limits,
    max_pipelined: usize,
}

impl MakeConnection for Connector {
    type Conn = HttpConnection;

    async fn connect(&self) -> Result<HttpConnection, Error> {
        let Endpoint { host, port } = &self.endpoint;
        let open = async {
            let addr = resolve(host, *port).await?;
            TcpStream::connect(addr).await
        };
        let stream = ringo_reactor::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "connect to {host}:{port} not finished within limit {:?}",
                        self.connect_timeout
                    ),
                )
            })??;
        stream.set_nodelay(true)?;
        let retired = Rc::new(Cell::new(false));
        let codec = Gather::new(ClientCodec::with_limits(self.limits), retired.clone());
        let (client, connection) =
            pipeline::Client::with_max_queued(Framed::new(stream, codec), self.max_pipelined);
        let endpoint = format!("{host}:{port}");
        let task = ringo_reactor::spawn(async move {
            if let Err(e) = connection.run().await {
                log::debug!("http client: connection to {endpoint} ended: {e}");
            }
        });
        Ok(HttpConnection {
            client,
            retired,
            task,
        })
    }
}

/// One keep-alive connection: the pipelined dispatcher's handle, and the
/// task driving the socket, which ends when the connection is dropped.
struct HttpConnection {
    client: pipeline::Client<Request<Bytes>, Gathered>,
    /// Set when the connection must not be lent again: a response closed it,
    /// or a call on it was abandoned.
    retired: Rc<Cell<bool>>,
    task: JoinHandle<()>,
}

impl Drop for HttpConnection {
    fn drop(&mut self) {
        // A retired connection may still await a response nobody wants.
        self.task.abort();
    }
}

impl Connection for HttpConnection {
    fn is_closed(&self) -> bool {
        self.retired.get() || self.client.is_closed()
    }
}

impl Service<Request<Bytes>> for HttpConnection {
    type Response = Response<Bytes>;
    type Error = Error;

    async fn call(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let mut abandoned = Abandoned {
            retired: &self.retired,
            armed: true,
        };
        let result = self.client.call(request).await;
        abandoned.armed = false;
        Ok(result??)
    }
}

/// Retires the connection if its call is dropped before the response came.
struct Abandoned<'a> {
    retired: &'a Cell<bool>,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.retired.set(true);
        }
    }
}

/// A gathered response, or the protocol error that stopped it. The error is
/// an item, not a stream error, so that its own caller gets it typed; the
/// codec decodes nothing after it and the connection is retired.
type Gathered = Result<Response<Bytes>, HttpError>;

/// [`ClientCodec`] with each response's body gathered into one `Bytes`.
#[derive(Debug)]
struct Gather {
    inner: ClientCodec,
    /// The response being gathered: its head and the body so far.
    partial: Option<(::http::response::Parts, BytesMut)>,
    /// Shared with the connection: set when no further response will come.
    retired: Rc<Cell<bool>>,
    /// Set after a `101` or an error item: the stream is no longer HTTP/1.1
    /// responses, so nothing more is decoded.
    done: bool,
}

impl Gather {
    fn new(inner: ClientCodec, retired: Rc<Cell<bool>>) -> Gather {
        Gather {
            inner,
            partial: None,
            retired,
            done: false,
        }
    }

    fn gather(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Gathered>, HttpError> {
        if self.done {
            src.clear();
            return Ok(None);
        }
        loop {
            let part = if eof {
                self.inner.decode_eof(src)
            } else {
                self.inner.decode(src)
            };
            let part = match part {
                Ok(Some(part)) => part,
                Ok(None) => return Ok(None),
                // Cut short: the connection broke, and every call on it
                // fails as the dispatcher reports (ConnectionLost).
                Err(e) if e.is_incomplete() || e.is_io() => return Err(e),
                Err(e) => {
                    self.retired.set(true);
                    self.done = true;
                    self.partial = None;
                    src.clear();
                    return Ok(Some(Err(e)));
                }
            };
            match part {
                ResponsePart::Head(head, body) => {
                    let (parts, ()) = head.into_parts();
                    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
                        // Nothing follows in HTTP/1.1 (RFC 9110 §15.2.2); this
                        // client speaks no other protocol, so the connection
                        // ends here.
                        self.retired.set(true);
                        self.done = true;
                        return Ok(Some(Ok(Response::from_parts(parts, Bytes::new()))));
                    }
                    let expected = match body {
                        BodyLength::Length(n) => {
                            usize::try_from(n.min(self.inner.limits().max_body)).unwrap_or(0)
                        }
                        _ => 0,
                    };
                    self.partial = Some((parts, BytesMut::with_capacity(expected)));
                }
                ResponsePart::Data(data) => match &mut self.partial {
                    Some((_, body)) => body.extend_from_slice(&data),
                    None => return Err(HttpErrorKind::UnexpectedResponse.into()),
                },
                ResponsePart::End => {
                    let Some((parts, body)) = self.partial.take() else {
                        return Err(HttpErrorKind::UnexpectedResponse.into());
                    };
                    if self.inner.should_close() {
                        self.retired.set(true);
                    }
                    return Ok(Some(Ok(Response::from_parts(parts, body.freeze()))));
                }
            }
        }
    }
}

impl Decoder for Gather {
    type Item = Gathered;
    type Error = HttpError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Gathered>, HttpError> {
        self.gather(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Gathered>, HttpError> {
        self.gather(src, true)
    }
}

impl Encoder<Request<Bytes>> for Gather {
    type Error = HttpError;

    fn encode(&mut self, request: Request<Bytes>, dst: &mut BytesMut) -> Result<(), HttpError> {
        self.inner.encode(request, dst)
    }
}

/// The address of `host`: an IP literal as it is, a name looked up on a
/// helper thread (the system resolver blocks, and the loop thread must not).
async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let lookup = Arc::new(Mutex::new(Lookup::default()));
    let worker = lookup.clone();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("ringo-resolve".to_owned())
        .spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .and_then(|mut addrs| {
                    addrs.next().ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("no address for host {name}"),
                        )
                    })
                });
            let waker = {
                let mut lookup = worker.lock().unwrap_or_else(PoisonError::into_inner);
                lookup.result = Some(result);
                lookup.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        })?;
    poll_fn(|cx| {
        let mut lookup = lookup.lock().unwrap_or_else(PoisonError::into_inner);
        match lookup.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                lookup.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// A name lookup's result, handed from the helper thread.
#[derive(Default)]
struct Lookup {
    result: Option<io::Result<SocketAddr>>,
    waker: Option<Waker>,
}

#[cfg(test)]
mod tests;

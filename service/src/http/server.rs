//! The HTTP/1.1 server: a [`Service`] from `http::Request<Body>` to
//! `http::Response<Body>`, served on every core by the multi-core
//! [`server`](crate::server).
//!
//! Each connection runs `ringo_proto::http::serve_connection_streamed`
//! (parsing, limits, pipelining, keep-alive and header-read timeouts, graceful
//! close, streamed request and response bodies); this module only adapts bodies and turns service errors
//! into responses, so one failed request never costs the client its
//! connection: a [`Timeout`](ErrorKind::Timeout) becomes 504 Gateway Timeout,
//! an [`Overloaded`](ErrorKind::Overloaded), [`RateLimited`](ErrorKind::RateLimited)
//! or [`CircuitOpen`](ErrorKind::CircuitOpen) 503 Service Unavailable, any other
//! error 500; the cause goes to the `log` error level (install a logger, such
//! as `env_logger`, to see it). To answer errors your own way, put
//! [`ServiceBuilder::handle_error`](crate::ServiceBuilder::handle_error)
//! outermost. A response body's stream failing is another matter: its head
//! is out by then, so the connection closes with the body cut short.

use ringo_reactor::net::ToSocketAddrs;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ::http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use ringo_proto::http::{serve_connection_streamed, ServerConfig};
use ringo_proto::pipeline::ServerError;
use ringo_proto::tls::{TlsAcceptor, ALPN_HTTP1};
use ringo_reactor::net::TcpStream;

use super::Body;
use crate::server::{self, Running, Served, Shutdown};
use crate::{Error, ErrorKind, Service};

/// Serves HTTP/1.1 on `addr` with the defaults: a worker per core, the
/// default [`ServerConfig`] and server limits. `factory` runs once per worker
/// thread; the service it makes handles every connection of that worker.
///
/// # Errors
/// As [`server::Server::serve`]: binding failed or a worker could not start.
///
/// # Examples
/// ```no_run
/// use ringo_service::http::{self, Body};
/// use ringo_service::service_fn;
///
/// let running = http::serve("127.0.0.1:8080", || {
///     service_fn(|_req: ::http::Request<Body>| async {
///         Ok::<_, std::convert::Infallible>(::http::Response::new(Body::from("Hello, World!")))
///     })
/// })?;
/// running.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve<F, S>(addr: impl ToSocketAddrs, factory: F) -> io::Result<Running>
where
    F: Fn() -> S + Send + Sync + 'static,
    S: Service<Request<Body>, Response = Response<Body>> + 'static,
    S::Error: Into<Error>,
{
    Server::bind(addr).serve(factory)
}

/// Configures an HTTP/1.1 server: the multi-core settings of
/// [`server::Server`] (shared with every protocol, see
/// [`server::ProtocolServer`]) plus the protocol's [`ServerConfig`] (limits,
/// pipelining depth, timeouts; replace it whole with `config`).
pub type Server = server::ProtocolServer<ServerConfig>;

impl Server {
    /// How long an idle keep-alive connection waits for its next request;
    /// default 60 s (see
    /// [`ServerConfig::keep_alive_timeout`](ringo_proto::http::ServerConfig::keep_alive_timeout)).
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.config.keep_alive_timeout = timeout;
        self
    }

    /// How long a client may take to send a request once it started (the
    /// slow-loris bound); default 10 s (see
    /// [`ServerConfig::request_timeout`](ringo_proto::http::ServerConfig::request_timeout)).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Starts the workers; `factory` runs once per worker thread and the
    /// service it makes handles every connection of that worker (so
    /// middleware state such as a concurrency limit is per worker).
    ///
    /// # Errors
    /// As [`server::Server::serve`].
    pub fn serve<F, S>(self, factory: F) -> io::Result<Running>
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: Service<Request<Body>, Response = Response<Body>> + 'static,
        S::Error: Into<Error>,
    {
        let tls = self.tls_acceptor().map(|tls| tls.with_alpn(ALPN_HTTP1));
        let config = Arc::new(self.config);
        self.server.serve(move || {
            let service = Rc::new(factory());
            let config = config.clone();
            let tls = tls.clone();
            move |stream: TcpStream, shutdown: Shutdown| {
                connection(
                    stream,
                    tls.clone(),
                    config.clone(),
                    service.clone(),
                    shutdown,
                )
            }
        })
    }
}

/// Serves one connection until it closes, after a TLS handshake when `tls`
/// is set. Not an `async fn`: see `server/connection.rs`.
fn connection<S>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    config: Arc<ServerConfig>,
    service: Rc<S>,
    shutdown: Shutdown,
) -> impl Future<Output = ()>
where
    S: Service<Request<Body>, Response = Response<Body>> + 'static,
    S::Error: Into<Error>,
{
    // Responses (and the chunks of streamed ones) are written as soon as
    // they are ready, so Nagle's algorithm only adds delay.
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("http: cannot set TCP_NODELAY: {e}");
    }
    let peer = stream.peer_addr().ok();
    let handler = move |request: Request<Body>| respond(service.clone(), request);
    let served = match tls {
        None => Served::Plain(serve_connection_streamed(
            stream,
            &config,
            handler,
            shutdown.wait(),
        )),
        Some(tls) => Served::Tls(Box::pin(async move {
            match tls.accept(stream).await {
                Ok(stream) => {
                    Some(serve_connection_streamed(stream, &config, handler, shutdown.wait()).await)
                }
                Err(e) => {
                    log::debug!("http: connection from {peer:?}: tls handshake failed: {e}");
                    None
                }
            }
        })),
    };
    served.then(move |served| match served {
        None | Some(Ok(())) => {}
        // `respond` never fails, so this is a streamed body's error.
        Some(Err(ServerError::Handler(e))) => {
            log::error!("http: connection from {peer:?}: response body failed: {e}");
        }
        Some(Err(e)) => log::debug!("http: connection from {peer:?} ended: {e}"),
    })
}

/// Calls the service; its error becomes a logged 504, 503 or 500 (see the
/// module docs). A streamed body goes
/// out as it is produced; its errors come later, from the stream (see
/// [`connection`]), which is why they share the service's error type.
///
/// This future is stored once per request in flight and moved into place, so
/// its size is per-request work: it takes the service by `Rc` rather than
/// being wrapped in another future.
async fn respond<S>(service: Rc<S>, request: Request<Body>) -> Result<Response<Body>, Error>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<Error>,
{
    let target = Target::of(&request);
    match service.call(request).await {
        Ok(response) => Ok(response),
        Err(e) => {
            let e: Error = e.into();
            log::error!("http: {target}: service failed: {e}");
            Ok(error_response(&e))
        }
    }
}

/// A request's method and URI, for the error log lines of [`respond`].
///
/// Kept only when those lines would print: the service consumes the request,
/// so they are cloned ahead, and the URI's clone and drop cost two reference
/// count updates per request.
struct Target(Option<(Method, Uri)>);

impl Target {
    fn of<B>(request: &Request<B>) -> Target {
        Target(
            log::log_enabled!(log::Level::Error)
                .then(|| (request.method().clone(), request.uri().clone())),
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((method, uri)) => write!(f, "{method} {uri}"),
            None => f.write_str("a request"),
        }
    }
}

/// The reply to a request whose service failed with `error`: its status says
/// whether trying again later may help; its body says no more than the status.
fn error_response(error: &Error) -> Response<Body> {
    let (status, text): (_, &'static [u8]) = match error.kind() {
        ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, b"gateway timeout\n"),
        ErrorKind::Overloaded | ErrorKind::RateLimited | ErrorKind::CircuitOpen => {
            (StatusCode::SERVICE_UNAVAILABLE, b"service unavailable\n")
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            b"internal server error\n",
        ),
    };
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn a_target_names_its_request_when_kept() {
        let kept = Target(Some((Method::POST, Uri::from_static("/orders?id=7"))));
        assert_eq!(kept.to_string(), "POST /orders?id=7");
        assert_eq!(Target(None).to_string(), "a request");
    }

    #[test]
    fn a_target_is_not_kept_when_error_lines_would_not_print() {
        // No logger is installed in unit tests, so error lines go nowhere.
        let request = Request::new(Bytes::new());
        assert!(!log::log_enabled!(log::Level::Error));
        assert!(Target::of(&request).0.is_none());
    }
}

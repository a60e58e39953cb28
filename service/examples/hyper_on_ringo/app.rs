//! The example's server: hyper's HTTP/1.1 and HTTP/2 (h2c, prior knowledge)
//! on one port of a ringo listener, or over TLS, where ALPN picks `h2` or
//! `http/1.1`. `tests/hyper.rs` runs this same code against curl on both
//! drivers.

use std::convert::Infallible;
use std::io;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use ringo_proto::tls::TlsAcceptor;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpListener;
use ringo_service::hyper::{server, RingoExecutor, RingoIo};

/// The largest request body `/echo` takes; a larger one is answered 413.
pub const MAX_ECHO_BODY: usize = 1024 * 1024;

/// Accepts connections on `listener` forever, each served by hyper in its own
/// task on this thread's runtime; with `tls`, each runs the handshake first
/// (its ALPN list says `h2` and `http/1.1`; hyper-util's builder serves
/// whichever the client picked, as it tells them apart by the first bytes).
pub async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>) -> io::Result<()> {
    // One builder per thread, shared by its connections.
    let builder = Rc::new(server());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let builder = builder.clone();
        let tls = tls.clone();
        drop(ringo_reactor::spawn(async move {
            match tls {
                None => serve_connection(&builder, stream).await,
                // A failed handshake (logged by nobody here) ends that
                // connection only.
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        serve_connection(&builder, stream).await;
                    }
                }
            }
        }));
    }
}

/// Serves one connection over `stream` until it ends. A connection's error
/// (a peer that went away mid-request, bad HTTP) ends that connection only.
async fn serve_connection<S: AsyncRead + AsyncWrite + 'static>(
    builder: &hyper_util::server::conn::auto::Builder<RingoExecutor>,
    stream: S,
) {
    let service = hyper::service::service_fn(respond);
    let _ = builder
        .serve_connection(RingoIo::new(stream), service)
        .await;
}

/// `POST /echo` sends the body back; anything else says hello and names the
/// protocol version, so a client can tell HTTP/1.1 from HTTP/2.
pub async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::POST && request.uri().path() == "/echo" {
        return Ok(
            match Limited::new(request.into_body(), MAX_ECHO_BODY)
                .collect()
                .await
            {
                Ok(body) => Response::new(Full::new(body.to_bytes())),
                Err(_) => {
                    let mut response = Response::new(Full::new(Bytes::from_static(
                        b"body too large, or the request was cut short\n",
                    )));
                    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                    response
                }
            },
        );
    }
    let text = format!("Hello from hyper on ringo over {:?}\n", request.version());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

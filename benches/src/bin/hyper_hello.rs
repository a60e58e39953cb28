//! The HTTP baseline: hyper 1.x hello-world on a tokio current-thread runtime,
//! keep-alive, the same 13-byte body and content type as ringo's `hello_http`.
//!
//! `hyper_hello [ADDR] [--tls CERT KEY]` prints `hyper_hello: listening on
//! ADDR`. With `--tls` it is the HTTPS baseline: tokio-rustls with the
//! configuration ringo's `hello_http --tls` builds from the same files
//! (`ringo_proto::tls::server_config_from_pem`, ALPN `http/1.1`), so both
//! serve the same rustls, provider, suites and key.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:0".to_owned();
    let mut tls = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--tls" {
            let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                return Err(std::io::Error::other("--tls needs CERT and KEY"));
            };
            let mut config = ringo_proto::tls::server_config_from_pem(cert, key)?;
            config.alpn_protocols = vec![ringo_proto::tls::ALPN_HTTP1.to_vec()];
            tls = Some(TlsAcceptor::from(Arc::new(config)));
        } else {
            addr = arg;
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("hyper_hello: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let tls = tls.clone();
            tokio::spawn(async move {
                let http = http1::Builder::new();
                let _ = match tls {
                    None => {
                        http.serve_connection(TokioIo::new(stream), service_fn(hello))
                            .await
                    }
                    Some(tls) => match tls.accept(stream).await {
                        Ok(stream) => {
                            http.serve_connection(TokioIo::new(stream), service_fn(hello))
                                .await
                        }
                        Err(_) => return,
                    },
                };
            });
        }
    })
}

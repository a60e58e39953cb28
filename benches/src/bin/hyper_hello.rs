//! The HTTP baseline: hyper 1.x hello-world on a tokio current-thread runtime,
//! keep-alive, the same 13-byte body and content type as ringo's `hello_http`.
//! With `--h2`, HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1.
//!
//! `hyper_hello [ADDR] [--h2] [--tls CERT KEY]` prints `hyper_hello: listening
//! on ADDR`. With `--tls` it is the HTTPS baseline: tokio-rustls with the
//! configuration ringo's `hello_http --tls` builds from the same files
//! (`ringo_proto::tls::server_config_from_pem`, ALPN `http/1.1`), so both
//! serve the same rustls, provider, suites and key.

#[path = "../hyper_hello_service.rs"]
mod hyper_hello_service;

use std::sync::Arc;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_hello_service::hello;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Serves one connection over `io`, HTTP/1.1 or HTTP/2.
async fn serve<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: I, h2: bool) {
    let io = TokioIo::new(io);
    let _ = if h2 {
        http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service_fn(hello))
            .await
    } else {
        http1::Builder::new()
            .serve_connection(io, service_fn(hello))
            .await
    };
}

fn main() -> std::io::Result<()> {
    let args = hyper_hello_service::args()?;
    let tls = match &args.tls {
        Some((cert, key)) => {
            let mut config = ringo_proto::tls::server_config_from_pem(cert, key)?;
            config.alpn_protocols = vec![ringo_proto::tls::ALPN_HTTP1.to_vec()];
            Some(TlsAcceptor::from(Arc::new(config)))
        }
        None => None,
    };
    let h2 = args.h2;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&args.addr).await?;
        println!("hyper_hello: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve(stream, h2).await,
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(stream).await {
                            serve(stream, h2).await;
                        }
                    }
                }
            });
        }
    })
}

//! The HTTP baseline: hyper 1.x hello-world on a tokio current-thread runtime,
//! keep-alive, the same 13-byte body and content type as ringo's `hello_http`.
//! With `--h2`, HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1.
//!
//! `hyper_hello [ADDR] [--h2]` prints `hyper_hello: listening on ADDR`.

#[path = "../hyper_hello_service.rs"]
mod hyper_hello_service;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_hello_service::hello;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    let (addr, h2) = hyper_hello_service::args();
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
            let io = TokioIo::new(stream);
            tokio::spawn(async move {
                let _ = if h2 {
                    http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service_fn(hello))
                        .await
                } else {
                    http1::Builder::new()
                        .serve_connection(io, service_fn(hello))
                        .await
                };
            });
        }
    })
}

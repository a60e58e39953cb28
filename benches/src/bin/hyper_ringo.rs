//! hyper on ringo: the same hyper hello-world as `hyper_hello`, with
//! ringo's runtime under it (`ringo_service::hyper`) instead of tokio's, one
//! thread. `RINGO_DRIVER` picks io_uring or compat. With `--h2`, HTTP/2
//! (h2c, prior knowledge) instead of HTTP/1.1.
//!
//! `hyper_ringo [ADDR] [--h2]` prints `hyper_ringo: listening on ADDR`.

#[path = "../hyper_hello_service.rs"]
mod hyper_hello_service;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_hello_service::hello;
use ringo_reactor::net::TcpListener;
use ringo_service::hyper::{RingoExecutor, RingoIo};

fn main() -> std::io::Result<()> {
    let args = hyper_hello_service::args()?;
    if args.tls.is_some() {
        return Err(std::io::Error::other("hyper_ringo serves no TLS"));
    }
    let h2 = args.h2;
    let addr = args.addr;
    ringo_reactor::run(async {
        let listener = TcpListener::bind(addr)?;
        println!("hyper_ringo: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let io = RingoIo::new(stream);
            drop(ringo_reactor::spawn(async move {
                let _ = if h2 {
                    http2::Builder::new(RingoExecutor)
                        .serve_connection(io, service_fn(hello))
                        .await
                } else {
                    http1::Builder::new()
                        .serve_connection(io, service_fn(hello))
                        .await
                };
            }));
        }
    })
}

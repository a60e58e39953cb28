//! hyper on ringo (feature `hyper`): the runtime hooks hyper asks of its
//! host — [`RingoExecutor`] to spawn its tasks, [`RingoTimer`] for its
//! timeouts, [`RingoIo`] for its I/O — so that `hyper::server::conn::http1`
//! and `http2` serve connections a ringo listener accepted, and
//! `hyper::client::conn` runs over a ringo [`TcpStream`](ringo_reactor::net::TcpStream).
//!
//! ringo's own HTTP server ([`crate::http`]) stays the fast path for
//! HTTP/1.1; this is for what it does not do — HTTP/2, and code already
//! written against hyper (axum, tonic's transport) — without leaving ringo's
//! runtime. Everything runs on the connection's thread: tasks need not be
//! `Send`, as in the rest of ringo.
//!
//! [`server`] returns hyper-util's builder that serves HTTP/1.1 and HTTP/2
//! (h2c with prior knowledge, told apart by the first bytes) on one port.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use ringo_reactor::net::TcpListener;
//! use ringo_service::hyper::{server, RingoIo};
//!
//! ringo_reactor::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:3000")?;
//!     // One builder per thread, shared by its connections.
//!     let builder = std::rc::Rc::new(server());
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         let builder = builder.clone();
//!         ringo_reactor::spawn(async move {
//!             let hello = hyper::service::service_fn(|_req| async {
//!                 Ok::<_, Infallible>(hyper::Response::new(String::from("Hello, World!")))
//!             });
//!             let _ = builder.serve_connection(RingoIo::new(stream), hello).await;
//!         });
//!     }
//!     #[allow(unreachable_code)]
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod executor;
mod io;
mod timer;

pub use executor::RingoExecutor;
pub use io::RingoIo;
pub use timer::{RingoSleep, RingoTimer};

/// hyper-util's server builder for HTTP/1.1 and HTTP/2 on one port, with
/// ringo's executor and timer set for both protocols (so hyper's HTTP/1.1
/// header read timeout and HTTP/2 keep-alive pings work). Configure it
/// further through its `http1()` and `http2()`, then call
/// `serve_connection(RingoIo::new(stream), service)` per connection; share
/// one builder per thread (it is not cheap to make per connection).
pub fn server() -> hyper_util::server::conn::auto::Builder<RingoExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(RingoExecutor);
    builder.http1().timer(RingoTimer);
    builder.http2().timer(RingoTimer);
    builder
}

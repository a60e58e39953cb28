//! HTTP/1.1 servers: write a function from `http::Request<Body>` to a future
//! of `http::Response<Body>`, and [`serve`] runs it on every core.
//!
//! The protocol work — parsing with limits, pipelining, keep-alive, the
//! header-read (slow-loris) and idle timeouts, `100-continue`, graceful close
//! — is `ringo_proto::http`'s; this module binds it to the [`Service`] trait
//! and the multi-core [`server`](crate::server), with a [`Body`] type that
//! holds whole bytes or a stream.
//!
//! ```no_run
//! use ringo_service::http::{self, Body};
//! use ringo_service::service_fn;
//!
//! let hello = || service_fn(|_req: ::http::Request<Body>| async {
//!     Ok::<_, std::convert::Infallible>(::http::Response::new(Body::from("Hello, World!")))
//! });
//! let running = http::Server::bind("127.0.0.1:8080")
//!     .workers(2)
//!     .request_timeout(std::time::Duration::from_secs(5))
//!     .serve(hello)?;
//! ringo_service::server::shutdown_on_ctrl_c(running.handle());
//! running.wait()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Service`]: crate::Service

mod body;
mod client;
pub mod files;
mod server;

/// The `http` crate's types this module speaks, re-exported so versions match.
pub use ::http::{
    header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
pub use body::Body;
pub use client::{Client, ClientBuilder, RequestError};
pub use files::ServeDir;
pub use ringo_proto::http::ServerConfig;
pub use server::{serve, Server};

//! ringo's service layer: your server as a function.
//!
//! A [`Service`] is an async function from a request to a response. Servers
//! bind a protocol from `ringo-proto` to a service; clients are services;
//! middleware wraps any service, whatever the protocol.
//!
//! # Which server?
//!
//! | type | reach for it when |
//! |---|---|
//! | [`http::Server`] (or [`http::serve`]) | an HTTP/1.1 server from a `Service<http::Request<Body>>`, on every core |
//! | [`redis::Server`] (or [`redis::serve`]) | a RESP server from a `Service<Frame>`, on every core |
//! | [`server::Server`] | your own protocol on every core: a factory of per-connection handlers |
//!
//! All three run one worker thread per core and shut down gracefully.
//! `ringo_proto::pipeline::Server` and `ringo_proto::multiplex::Server` are
//! lower down: they serve one already-accepted connection of your own protocol.
//!
//! # Thread per core: `Send` outside, `Rc` inside
//!
//! A server runs one runtime per core. Its *factory* is `Send + Sync` — it is
//! shared by every worker thread — and is called once per worker to make that
//! worker's service, which need not be `Send`: it may hold `Rc`, `RefCell`,
//! and the worker's own clients ([`redis::Pool`], [`http::Client`]: `!Send`,
//! they own sockets of that worker's runtime). State for all workers goes in
//! an `Arc` captured by the factory; state for one worker in an `Rc` made by
//! the factory call:
//!
//! ```no_run
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use std::sync::{atomic::{AtomicU64, Ordering}, Arc};
//! use ringo_service::http::{self, Body, Request, Response};
//! use ringo_service::service_fn;
//!
//! let all_workers = Arc::new(AtomicU64::new(0));        // Send + Sync: shared
//! let running = http::serve("127.0.0.1:8080", move || {  // once per worker
//!     let all_workers = all_workers.clone();
//!     let this_worker = Rc::new(Cell::new(0u64));       // !Send: this worker only
//!     service_fn(move |_req: Request<Body>| {
//!         let (all, mine) = (all_workers.clone(), this_worker.clone());
//!         async move {
//!             mine.set(mine.get() + 1);
//!             let total = all.fetch_add(1, Ordering::Relaxed) + 1;
//!             let text = format!("{} here, {total} in all\n", mine.get());
//!             Ok::<_, std::convert::Infallible>(Response::new(Body::from(text)))
//!         }
//!     })
//! })?;
//! running.wait()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Error`] is the exception: `Send + Sync`, so it can leave a worker.
//!
//! The `http` and `bytes` crates this API speaks are re-exported
//! ([`http::Request`] and friends, [`bytes`]), so a user need not pick
//! matching versions; logs go through the `log` crate — install a logger
//! (`env_logger::init()`) to see why a request failed.

pub mod balance;
pub mod boxed;
pub mod breaker;
pub mod builder;
pub mod error;
pub mod ext;
pub mod handle_error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod layer;
pub mod limit;
pub mod observe;
pub mod pool;
pub mod rate;
#[cfg(feature = "redis")]
pub mod redis;
pub mod retry;
mod rng;
pub mod server;
pub mod service;
pub mod shed;
pub mod timeout;

pub use balance::{Balance, Load};
pub use boxed::{BoxService, DynService, RcService};
pub use breaker::{CircuitBreaker, CircuitBreakerLayer};
pub use builder::ServiceBuilder;
/// The `bytes` crate of [`Body`](http::Body) chunks and Redis frames.
pub use bytes;
pub use error::{BoxError, Error, ErrorKind};
pub use ext::ServiceExt;
pub use handle_error::{HandleError, HandleErrorLayer};
pub use layer::{layer_fn, Identity, Layer, Stack};
pub use observe::{Metrics, Observe, ObserveLayer};
pub use retry::{Budget, Retry, RetryLayer};
pub use server::{Running, Server, Shutdown, ShutdownHandle};
pub use service::{service_fn, Service, ServiceFn, Status};

/// The README's code blocks, compiled (and where safe, run) as doctests so
/// they cannot drift from the API. They use HTTP and Redis, so they need
/// both features.
#[cfg(all(doctest, feature = "http", feature = "redis"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

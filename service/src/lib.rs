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

pub mod balance;
pub mod boxed;
pub mod breaker;
pub mod builder;
pub mod error;
pub mod ext;
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
pub use error::{Error, ErrorKind};
pub use ext::ServiceExt;
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

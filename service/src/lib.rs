//! ringo's service layer: your server as a function.
//!
//! A [`Service`] is an async function from a request to a response. Servers
//! bind a protocol from `ringo-proto` to a service; clients are services;
//! middleware wraps any service, whatever the protocol.

#![warn(missing_docs, missing_debug_implementations)]

pub mod balance;
pub mod boxed;
pub mod breaker;
pub mod builder;
pub mod error;
pub mod ext;
pub mod handle_error;
pub mod http;
pub mod layer;
pub mod limit;
pub mod observe;
pub mod pool;
pub mod rate;
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
pub use error::{BoxError, Error, ErrorKind};
pub use ext::ServiceExt;
pub use handle_error::{HandleError, HandleErrorLayer};
pub use layer::{layer_fn, Identity, Layer, Stack};
pub use observe::{Metrics, Observe, ObserveLayer};
pub use retry::{Budget, Retry, RetryLayer};
pub use server::{Running, Server, Shutdown, ShutdownHandle};
pub use service::{service_fn, Service, ServiceFn, Status};

/// The README's code blocks, compiled (and where safe, run) as doctests so
/// they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

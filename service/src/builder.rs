//! [`ServiceBuilder`]: a middleware stack written top to bottom.
//!
//! Nesting constructors by hand reads inside out
//! (`Timeout::new(ConcurrencyLimit::new(svc, 5), d)`); the builder lists layers
//! in the order a request meets them, outermost first, as tower's does.

use std::fmt;
use std::time::Duration;

use crate::ext::{AndThenLayer, MapErrLayer, MapRequestLayer, MapResponseLayer};
use crate::handle_error::HandleErrorLayer;
use crate::layer::{Identity, Layer, Stack};
use crate::limit::ConcurrencyLimitLayer;
use crate::rate::{Rate, RateLimitLayer};
use crate::shed::LoadShedLayer;
use crate::timeout::TimeoutLayer;

/// Stacks layers around a service, the first added outermost.
///
/// `ServiceBuilder::new().layer(a).layer(b).service(s)` is `a(b(s))`: a request
/// goes through `a`, then `b`, then reaches `s`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, Service, ServiceBuilder};
///
/// let svc = ServiceBuilder::new()
///     .timeout(Duration::from_secs(1))
///     .concurrency_limit(64)
///     .map_request(|line: &str| line.len())
///     .service(service_fn(|n: usize| async move { Ok::<_, std::io::Error>(n * 2) }));
/// assert_eq!(ringo_reactor::run(svc.call("abc")).unwrap(), 6);
/// ```
#[derive(Clone)]
pub struct ServiceBuilder<L> {
    layer: L,
}

impl ServiceBuilder<Identity> {
    /// An empty stack.
    pub fn new() -> ServiceBuilder<Identity> {
        ServiceBuilder { layer: Identity }
    }
}

impl Default for ServiceBuilder<Identity> {
    fn default() -> Self {
        ServiceBuilder::new()
    }
}

impl<L> ServiceBuilder<L> {
    /// Adds `layer` inside the layers added so far.
    pub fn layer<T>(self, layer: T) -> ServiceBuilder<Stack<T, L>> {
        ServiceBuilder {
            layer: Stack::new(layer, self.layer),
        }
    }

    /// Adds a [`Timeout`](crate::timeout::Timeout) of `limit` per call.
    pub fn timeout(self, limit: Duration) -> ServiceBuilder<Stack<TimeoutLayer, L>> {
        self.layer(TimeoutLayer::new(limit))
    }

    /// Adds a [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit) of `max`
    /// calls at once.
    pub fn concurrency_limit(self, max: usize) -> ServiceBuilder<Stack<ConcurrencyLimitLayer, L>> {
        self.layer(ConcurrencyLimitLayer::new(max))
    }

    /// Adds a [`LoadShed`](crate::shed::LoadShed), rejecting calls while the
    /// layers below report they are not `Open`.
    pub fn load_shed(self) -> ServiceBuilder<Stack<LoadShedLayer, L>> {
        self.layer(LoadShedLayer::new())
    }

    /// Adds a waiting [`RateLimit`](crate::rate::RateLimit) of `rate`; for a
    /// rejecting one, add a [`RateLimitLayer`] with [`layer`](Self::layer).
    pub fn rate_limit(self, rate: Rate) -> ServiceBuilder<Stack<RateLimitLayer, L>> {
        self.layer(RateLimitLayer::new(rate))
    }

    /// Converts requests with `f` before the layers below see them.
    pub fn map_request<F>(self, f: F) -> ServiceBuilder<Stack<MapRequestLayer<F>, L>> {
        self.layer(MapRequestLayer::new(f))
    }

    /// Converts responses from the layers below with `f`.
    pub fn map_response<F>(self, f: F) -> ServiceBuilder<Stack<MapResponseLayer<F>, L>> {
        self.layer(MapResponseLayer::new(f))
    }

    /// Converts errors from the layers below with `f`.
    pub fn map_err<F>(self, f: F) -> ServiceBuilder<Stack<MapErrLayer<F>, L>> {
        self.layer(MapErrLayer::new(f))
    }

    /// Turns errors from the layers below into responses with `f` (the stack
    /// then never fails); put it outermost to answer a timeout or an overload
    /// your own way. See [`HandleError`](crate::HandleError).
    pub fn handle_error<F>(self, f: F) -> ServiceBuilder<Stack<HandleErrorLayer<F>, L>> {
        self.layer(HandleErrorLayer::new(f))
    }

    /// Passes responses from the layers below through the async function `f`.
    pub fn and_then<F>(self, f: F) -> ServiceBuilder<Stack<AndThenLayer<F>, L>> {
        self.layer(AndThenLayer::new(f))
    }

    /// Wraps `service` in the stack.
    pub fn service<S>(&self, service: S) -> L::Service
    where
        L: Layer<S>,
    {
        self.layer.layer(service)
    }

    /// The stack as one layer.
    pub fn into_inner(self) -> L {
        self.layer
    }
}

impl<S, L: Layer<S>> Layer<S> for ServiceBuilder<L> {
    type Service = L::Service;

    fn layer(&self, inner: S) -> L::Service {
        self.layer.layer(inner)
    }
}

impl<L: fmt::Debug> fmt::Debug for ServiceBuilder<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServiceBuilder").field(&self.layer).finish()
    }
}

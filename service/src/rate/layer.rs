//! [`RateLimitLayer`]: puts a [`RateLimit`] around each service it wraps.

use super::{Rate, RateLimit, WhenEmpty};
use crate::layer::Layer;

/// Wraps services in a [`RateLimit`]; each wrapped service gets its own bucket.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::rate::{Rate, RateLimitLayer, WhenEmpty};
///
/// let echo = service_fn(|n: u8| async move { Ok::<_, std::io::Error>(n) });
/// let layer = RateLimitLayer::new(Rate::new(100, Duration::from_secs(1))).when_empty(WhenEmpty::Reject);
/// let svc = layer.layer(echo);
/// assert_eq!(ringo_reactor::run(svc.call(1)).unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RateLimitLayer {
    rate: Rate,
    when_empty: WhenEmpty,
}

impl RateLimitLayer {
    /// A layer limiting calls to `rate`; calls wait for a token by default.
    pub fn new(rate: Rate) -> RateLimitLayer {
        RateLimitLayer {
            rate,
            when_empty: WhenEmpty::Wait,
        }
    }

    /// What a call does when no token is left; see [`WhenEmpty`].
    pub fn when_empty(mut self, when_empty: WhenEmpty) -> RateLimitLayer {
        self.when_empty = when_empty;
        self
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit::new(inner, self.rate).when_empty(self.when_empty)
    }
}

//! [`ConcurrencyLimitLayer`]: puts a [`ConcurrencyLimit`] around each service
//! it wraps.

use super::ConcurrencyLimit;
use crate::layer::Layer;

/// Wraps services in a [`ConcurrencyLimit`] of `max` calls; each wrapped
/// service gets its own permits.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::limit::ConcurrencyLimitLayer;
///
/// let echo = service_fn(|n: u8| async move { Ok::<_, std::io::Error>(n) });
/// let svc = ConcurrencyLimitLayer::new(4).layer(echo);
/// assert_eq!(svc.max(), 4);
/// assert_eq!(ringo_reactor::run(svc.call(1)).unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ConcurrencyLimitLayer {
    max: usize,
}

impl ConcurrencyLimitLayer {
    /// A layer letting at most `max` calls in at once.
    pub fn new(max: usize) -> ConcurrencyLimitLayer {
        ConcurrencyLimitLayer { max }
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> ConcurrencyLimit<S> {
        ConcurrencyLimit::new(inner, self.max)
    }
}

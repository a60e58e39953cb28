//! [`TimeoutLayer`]: puts a [`Timeout`] around each service it wraps.

use std::time::Duration;

use super::Timeout;
use crate::layer::Layer;

/// Wraps services in a [`Timeout`] of `limit` per call.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::timeout::TimeoutLayer;
///
/// let quick = service_fn(|()| async { Ok::<_, std::io::Error>("done") });
/// let svc = TimeoutLayer::new(Duration::from_secs(1)).layer(quick);
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap(), "done");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
}

impl TimeoutLayer {
    /// A layer giving each call at most `limit`.
    pub fn new(limit: Duration) -> TimeoutLayer {
        TimeoutLayer { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout::new(inner, self.limit)
    }
}

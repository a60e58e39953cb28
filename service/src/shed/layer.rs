//! [`LoadShedLayer`]: puts a [`LoadShed`] around each service it wraps.

use super::LoadShed;
use crate::layer::Layer;

/// Wraps services in a [`LoadShed`], optionally with an in-flight bound.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::shed::LoadShedLayer;
///
/// let echo = service_fn(|n: u8| async move { Ok::<_, std::io::Error>(n) });
/// let svc = LoadShedLayer::new().max_in_flight(100).layer(echo);
/// assert_eq!(ringo_reactor::run(svc.call(1)).unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadShedLayer {
    max_in_flight: Option<usize>,
}

impl LoadShedLayer {
    /// A layer shedding calls whenever the inner service is not `Open`.
    pub fn new() -> LoadShedLayer {
        LoadShedLayer {
            max_in_flight: None,
        }
    }

    /// Also sheds calls while `max` calls are in flight; see
    /// [`LoadShed::max_in_flight`].
    pub fn max_in_flight(mut self, max: usize) -> LoadShedLayer {
        self.max_in_flight = Some(max);
        self
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> LoadShed<S> {
        let shed = LoadShed::new(inner);
        match self.max_in_flight {
            Some(max) => shed.max_in_flight(max),
            None => shed,
        }
    }
}

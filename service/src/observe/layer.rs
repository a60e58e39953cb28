//! [`ObserveLayer`]: wraps services in [`Observe`] recording into one
//! [`Metrics`].

use std::fmt;

use super::{DefaultClassifier, Metrics, NoAccessLog, Observe};
use crate::layer::Layer;

/// Makes [`Observe`] services that all record into the layer's [`Metrics`],
/// with a clone of its classifier and describer.
///
/// # Examples
/// ```
/// use ringo_service::observe::{Metrics, ObserveLayer, Outcome};
/// use ringo_service::{service_fn, Error, Layer, Service};
///
/// let metrics = Metrics::new();
/// let layer = ObserveLayer::new(metrics.clone()).with_classifier(|result: &Result<u16, Error>| match result {
///     Ok(status) if *status >= 500 => Outcome::Failure,
///     Ok(_) => Outcome::Success,
///     Err(e) => Outcome::Error(e.kind()),
/// });
/// let status = layer.layer(service_fn(|code: u16| async move { Ok::<_, std::io::Error>(code) }));
/// ringo_reactor::run(async {
///     status.call(200).await.unwrap();
///     status.call(503).await.unwrap();
/// });
/// assert_eq!((metrics.successes(), metrics.failures()), (1, 1));
/// ```
#[derive(Clone)]
pub struct ObserveLayer<C = DefaultClassifier, D = NoAccessLog> {
    metrics: Metrics,
    classifier: C,
    describer: D,
}

impl ObserveLayer {
    /// A layer recording into `metrics`, with the default classifier and no
    /// access log.
    pub fn new(metrics: Metrics) -> ObserveLayer {
        ObserveLayer {
            metrics,
            classifier: DefaultClassifier,
            describer: NoAccessLog,
        }
    }
}

impl<C, D> ObserveLayer<C, D> {
    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> ObserveLayer<C2, D> {
        ObserveLayer {
            metrics: self.metrics,
            classifier,
            describer: self.describer,
        }
    }

    /// Logs each call, describing its request with `describer`.
    pub fn with_access_log<D2>(self, describer: D2) -> ObserveLayer<C, D2> {
        ObserveLayer {
            metrics: self.metrics,
            classifier: self.classifier,
            describer,
        }
    }

    /// The metrics the services record into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl<S, C: Clone, D: Clone> Layer<S> for ObserveLayer<C, D> {
    type Service = Observe<S, C, D>;

    fn layer(&self, inner: S) -> Observe<S, C, D> {
        Observe::new(inner, self.metrics.clone())
            .with_classifier(self.classifier.clone())
            .with_access_log(self.describer.clone())
    }
}

impl<C, D> fmt::Debug for ObserveLayer<C, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObserveLayer")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

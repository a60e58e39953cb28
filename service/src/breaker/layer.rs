//! [`CircuitBreakerLayer`]: wraps services in [`CircuitBreaker`]s, one circuit
//! per service.

use std::fmt;

use super::{default_backoff, Accrual, CircuitBreaker};
use crate::layer::Layer;
use crate::observe::DefaultClassifier;
use crate::retry::Backoff;

/// Makes [`CircuitBreaker`]s with the same settings; each service gets its
/// own circuit (one per peer is the point) and a backoff forked from the
/// layer's, so breakers do not reopen in lockstep.
///
/// # Examples
/// ```
/// use ringo_service::breaker::{Accrual, CircuitBreakerLayer, CircuitState};
/// use ringo_service::{service_fn, Layer};
///
/// let layer = CircuitBreakerLayer::new().with_accrual(Accrual::new().with_consecutive_failures(3));
/// let breaker = layer.layer(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n) }));
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// ```
#[derive(Clone)]
pub struct CircuitBreakerLayer<C = DefaultClassifier> {
    accrual: Accrual,
    backoff: Backoff,
    classifier: C,
}

impl CircuitBreakerLayer {
    /// The defaults of [`CircuitBreaker::new`].
    pub fn new() -> CircuitBreakerLayer {
        CircuitBreakerLayer {
            accrual: Accrual::new(),
            backoff: default_backoff(),
            classifier: DefaultClassifier,
        }
    }
}

impl Default for CircuitBreakerLayer {
    fn default() -> CircuitBreakerLayer {
        CircuitBreakerLayer::new()
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// Opens as `accrual` says.
    pub fn with_accrual(mut self, accrual: Accrual) -> CircuitBreakerLayer<C> {
        self.accrual = accrual;
        self
    }

    /// Forks each breaker's backoff from `backoff`.
    pub fn with_backoff(mut self, backoff: Backoff) -> CircuitBreakerLayer<C> {
        self.backoff = backoff;
        self
    }

    /// Classifies results with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> CircuitBreakerLayer<C2> {
        CircuitBreakerLayer {
            accrual: self.accrual,
            backoff: self.backoff,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> CircuitBreaker<S, C> {
        CircuitBreaker::new(inner)
            .with_accrual(self.accrual)
            .with_backoff(self.backoff.fork())
            .with_classifier(self.classifier.clone())
    }
}

impl<C> fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("accrual", &self.accrual)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

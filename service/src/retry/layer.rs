//! [`RetryLayer`]: wraps services in [`Retry`] sharing one [`Budget`].

use std::fmt;

use super::{Backoff, Budget, DefaultPolicy, Retry, DEFAULT_MAX_ATTEMPTS};
use crate::layer::Layer;

/// Makes [`Retry`] services: each gets a clone of the policy, a handle to the
/// layer's one [`Budget`], and its own [`Backoff`] forked from the layer's (so
/// instances do not retry in lockstep).
///
/// # Examples
/// ```
/// use ringo_service::retry::{Budget, DefaultPolicy, RetryLayer};
/// use ringo_service::{service_fn, Layer, Service};
///
/// let layer = RetryLayer::new(DefaultPolicy::idempotent()).with_max_attempts(2);
/// let a = layer.layer(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n) }));
/// let b = layer.layer(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n) }));
/// assert_eq!(ringo_reactor::run(a.call(1)).unwrap(), 1);
/// assert_eq!(ringo_reactor::run(b.call(2)).unwrap(), 2);
/// ```
#[derive(Clone)]
pub struct RetryLayer<P = DefaultPolicy> {
    policy: P,
    budget: Budget,
    backoff: Backoff,
    max_attempts: u32,
}

impl<P> RetryLayer<P> {
    /// A layer retrying as `policy` says, with a default [`Budget`] shared by
    /// all its services, the default [`Backoff`] and at most 3 attempts per
    /// request.
    pub fn new(policy: P) -> RetryLayer<P> {
        RetryLayer {
            policy,
            budget: Budget::default(),
            backoff: Backoff::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Shares `budget` among the services made; default one
    /// [`Budget::default`] for them all.
    pub fn with_budget(mut self, budget: Budget) -> RetryLayer<P> {
        self.budget = budget;
        self
    }

    /// Forks each service's backoff from `backoff`; default
    /// [`Backoff::default`] (10 ms doubling up to 1 s).
    pub fn with_backoff(mut self, backoff: Backoff) -> RetryLayer<P> {
        self.backoff = backoff;
        self
    }

    /// Makes at most `attempts` calls per request (0 counts as 1); default 3,
    /// as [`Retry::with_max_attempts`].
    pub fn with_max_attempts(mut self, attempts: u32) -> RetryLayer<P> {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The budget the services share.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }
}

impl<S, P: Clone> Layer<S> for RetryLayer<P> {
    type Service = Retry<S, P>;

    fn layer(&self, inner: S) -> Retry<S, P> {
        Retry::new(inner, self.policy.clone())
            .with_budget(self.budget.clone())
            .with_backoff(self.backoff.fork())
            .with_max_attempts(self.max_attempts)
    }
}

impl<P> fmt::Debug for RetryLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("budget", &self.budget)
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

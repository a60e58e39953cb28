//! [`Retry`]: calls the inner service again when an attempt fails in a way
//! its [`Policy`] calls transient.
//!
//! Three things keep retries from making an outage worse: a cap on attempts
//! per request, an exponential [`Backoff`] with jitter between attempts, and a
//! [`Budget`] — shared by every `Retry` in front of one peer — that caps
//! retries at a share of requests. A request that was never written
//! ([`ErrorKind::NotWritten`](crate::ErrorKind::NotWritten)) is the exception:
//! it cost the peer nothing, so it is sent again at once without spending
//! budget (still within the attempt cap).

mod backoff;
mod budget;
mod layer;
mod policy;

use std::fmt;

use ringo_reactor::time::sleep;

use crate::error::Error;
use crate::service::{Service, Status};

pub use backoff::{Backoff, Jitter};
pub use budget::{Budget, MAX_BUDGET_TTL, MAX_RETRY_RATIO, MIN_BUDGET_TTL};
pub use layer::RetryLayer;
pub use policy::{Decision, DefaultPolicy, Policy};

/// Default attempts per request, the first one included; documented on
/// [`Retry::with_max_attempts`].
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Retries failed calls of `S` as policy `P`, backoff and budget allow.
///
/// The request type must be `Clone`: each attempt sends a clone, and the last
/// possible attempt sends the original. Cheap clones (`Bytes`, `Rc`) suit best.
///
/// # Examples
/// ```
/// use std::cell::Cell;
/// use ringo_service::retry::{DefaultPolicy, Retry};
/// use ringo_service::{service_fn, Error, ErrorKind, Service};
///
/// let calls = Cell::new(0);
/// let flaky = service_fn(|n: u32| {
///     calls.set(calls.get() + 1);
///     let first = calls.get() == 1;
///     async move { if first { Err(Error::new(ErrorKind::NotWritten)) } else { Ok(n + 1) } }
/// });
/// let retry = Retry::new(flaky, DefaultPolicy::new());
/// assert_eq!(ringo_reactor::run(retry.call(41)).unwrap(), 42);
/// assert_eq!(calls.get(), 2);
/// ```
///
/// Clones share the budget (and whatever the inner service's clones share).
#[derive(Clone)]
pub struct Retry<S, P = DefaultPolicy> {
    inner: S,
    policy: P,
    budget: Budget,
    backoff: Backoff,
    /// At least 1.
    max_attempts: u32,
}

impl<S, P> Retry<S, P> {
    /// Wraps `inner`, retrying as `policy` says, with its own default
    /// [`Budget`], the default [`Backoff`] and at most 3 attempts per request.
    pub fn new(inner: S, policy: P) -> Retry<S, P> {
        Retry {
            inner,
            policy,
            budget: Budget::default(),
            backoff: Backoff::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Spends retries from `budget`, which other services may share; default
    /// a [`Budget::default`] of its own.
    pub fn with_budget(mut self, budget: Budget) -> Retry<S, P> {
        self.budget = budget;
        self
    }

    /// Waits as `backoff` says before each budgeted retry; default
    /// [`Backoff::default`] (10 ms doubling up to 1 s).
    pub fn with_backoff(mut self, backoff: Backoff) -> Retry<S, P> {
        self.backoff = backoff;
        self
    }

    /// Makes at most `attempts` calls per request, the first one included (0
    /// counts as 1: no retries); default 3. When the last attempt fails, its
    /// result is returned as it is.
    pub fn with_max_attempts(mut self, attempts: u32) -> Retry<S, P> {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The budget retries are spent from.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The retry policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, P, Req> Service<Req> for Retry<S, P>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    P: Policy<Req, S::Response>,
    Req: Clone,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        self.budget.deposit();
        let mut attempt = 1;
        // Counts budgeted retries only: a resend of an unwritten request does
        // not lengthen the next backoff, as the peer saw nothing.
        let mut backoffs = 0;
        loop {
            if attempt >= self.max_attempts {
                return self.inner.call(req).await.map_err(Into::into);
            }
            let result = self.inner.call(req.clone()).await.map_err(Into::into);
            if self.policy.retry(&req, &result) == Decision::Return {
                return result;
            }
            if !matches!(&result, Err(error) if error.is_not_written()) {
                if !self.budget.try_withdraw() {
                    return result;
                }
                sleep(self.backoff.delay(backoffs)).await;
                backoffs += 1;
            }
            attempt += 1;
        }
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, P> fmt::Debug for Retry<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("inner", &self.inner)
            .field("budget", &self.budget)
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

//! [`CircuitBreaker`]: stops calling a peer that keeps failing, and checks
//! now and then whether it has recovered.
//!
//! Calls to a dead or drowning peer cost the caller a timeout each and the
//! peer load it cannot take. After failures accrue (see [`Accrual`]) the
//! circuit *opens*: calls fail at once with
//! [`ErrorKind::CircuitOpen`] and
//! [`status`](Service::status) reports `Closed`, so a balancer skips it. After
//! a jittered backoff that grows with each consecutive opening, it goes
//! *half-open* and lets one probe through: success closes the circuit, failure
//! opens it again for longer. What counts as a failure is up to a
//! [`Classify`] hook; by default every `Err`.

mod layer;
mod policy;
mod state;

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::observe::{Classify, DefaultClassifier};
use crate::retry::{Backoff, Jitter};
use crate::service::{Service, Status};
use state::{Circuit, Ticket};

pub use layer::CircuitBreakerLayer;
pub use policy::{Accrual, MAX_FAILURE_WINDOW};
pub use state::CircuitState;

// The default opening lengths, documented (with why) on
// `CircuitBreaker::with_backoff`.
const DEFAULT_BASE_OPEN_TIME: Duration = Duration::from_secs(5);
const DEFAULT_MAX_OPEN_TIME: Duration = Duration::from_secs(300);

/// The default backoff of a breaker: equal jitter, so a later opening never
/// lasts less than the ceiling of the one before.
fn default_backoff() -> Backoff {
    Backoff::new(DEFAULT_BASE_OPEN_TIME, DEFAULT_MAX_OPEN_TIME).with_jitter(Jitter::Equal)
}

/// Fails calls to `S` fast while failures, as classified by `C`, say the
/// peer is down.
///
/// # Examples
/// ```
/// use ringo_service::breaker::{Accrual, CircuitBreaker};
/// use ringo_service::{service_fn, Error, ErrorKind, Service, Status};
///
/// let down = service_fn(|_: ()| async { Err::<(), _>(Error::new(ErrorKind::Unavailable)) });
/// let breaker = CircuitBreaker::new(down).with_accrual(Accrual::new().with_consecutive_failures(2));
/// ringo_reactor::run(async {
///     assert_eq!(breaker.call(()).await.unwrap_err().kind(), ErrorKind::Unavailable);
///     assert_eq!(breaker.call(()).await.unwrap_err().kind(), ErrorKind::Unavailable);
///     assert_eq!(breaker.call(()).await.unwrap_err().kind(), ErrorKind::CircuitOpen);
/// });
/// assert_eq!(breaker.status(), Status::Closed);
/// ```
pub struct CircuitBreaker<S, C = DefaultClassifier> {
    inner: S,
    classifier: C,
    /// Borrowed only within `call`'s synchronous steps, never across an
    /// `await`, so borrows cannot clash.
    circuit: RefCell<Circuit>,
}

impl<S> CircuitBreaker<S> {
    /// Wraps `inner` with the default [`Accrual`], a backoff from 5 s to
    /// 300 s with equal jitter (see [`with_backoff`](Self::with_backoff)), and
    /// every `Err` counted as a failure.
    pub fn new(inner: S) -> CircuitBreaker<S> {
        CircuitBreaker {
            inner,
            classifier: DefaultClassifier,
            circuit: RefCell::new(Circuit::new(Accrual::new(), default_backoff())),
        }
    }
}

impl<S, C> CircuitBreaker<S, C> {
    /// Opens as `accrual` says (resets the circuit to closed).
    pub fn with_accrual(self, accrual: Accrual) -> CircuitBreaker<S, C> {
        let backoff = self.circuit.borrow().backoff().clone();
        self.circuit.replace(Circuit::new(accrual, backoff));
        self
    }

    /// Stays open for `backoff.delay(n)` on the `n`th consecutive opening
    /// (from 0); use [`Jitter::Equal`] for openings that surely grow. Resets
    /// the circuit to closed.
    ///
    /// Default: `Backoff::new(5 s, 300 s)` with equal jitter. The first
    /// opening lasts between 2.5 s and 5 s, the ceiling doubles per
    /// consecutive opening up to 300 s (Finagle's failure accrual uses the
    /// same 5 s to 300 s range), and equal jitter means a later opening never
    /// lasts less than the ceiling of the one before.
    pub fn with_backoff(self, backoff: Backoff) -> CircuitBreaker<S, C> {
        let accrual = *self.circuit.borrow().accrual();
        self.circuit.replace(Circuit::new(accrual, backoff));
        self
    }

    /// Counts a call as failed unless `classifier` says
    /// [`Outcome::Success`](crate::observe::Outcome::Success).
    pub fn with_classifier<C2>(self, classifier: C2) -> CircuitBreaker<S, C2> {
        CircuitBreaker {
            inner: self.inner,
            classifier,
            circuit: self.circuit,
        }
    }

    /// Where the circuit is now.
    pub fn state(&self) -> CircuitState {
        self.circuit.borrow().state(Instant::now())
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

impl<S, C, Req> Service<Req> for CircuitBreaker<S, C>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Classify<S::Response>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        let admitted = self.circuit.borrow_mut().admit(Instant::now());
        let Some(ticket) = admitted else {
            return Err(Error::new(ErrorKind::CircuitOpen));
        };
        let pending = Pending {
            circuit: &self.circuit,
            ticket: Some(ticket),
        };
        let result = self.inner.call(req).await.map_err(Into::into);
        pending.finish(!self.classifier.classify(&result).is_success());
        result
    }

    /// `Closed` while calls are rejected (open, or half-open with the probe
    /// in flight); otherwise the inner service's status.
    fn status(&self) -> Status {
        if self.circuit.borrow().rejects(Instant::now()) {
            Status::Closed
        } else {
            self.inner.status()
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// An admitted call: records its result, or abandons it if the call is
/// dropped first (so a cancelled probe does not leave the circuit stuck).
struct Pending<'a> {
    circuit: &'a RefCell<Circuit>,
    /// Taken by `finish`.
    ticket: Option<Ticket>,
}

impl Pending<'_> {
    fn finish(mut self, failed: bool) {
        if let Some(ticket) = self.ticket.take() {
            self.circuit
                .borrow_mut()
                .record(ticket, failed, Instant::now());
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.circuit.borrow_mut().abandon(ticket);
        }
    }
}

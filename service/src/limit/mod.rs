//! [`ConcurrencyLimit`]: at most N calls inside the inner service at once.
//!
//! Backpressure without `poll_ready` (ARCHITECTURE.md, "Where protocols meet services"): a caller that
//! finds every permit taken waits inside `call`, in arrival order, until one is
//! released. A permit is released when the inner call completes, fails or is
//! cancelled (its future dropped), and a caller dropped while waiting gives up
//! its place without taking a permit with it.

mod layer;

use crate::error::Error;
use crate::service::{Service, Status};
use ringo_reactor::sync::Semaphore;

pub use layer::ConcurrencyLimitLayer;

/// Lets at most `max` calls into the inner service at once; the others wait,
/// first come first served.
///
/// [`status`](Service::status) is `Busy` while every permit is taken (a call
/// would wait), otherwise the inner service's status. Waiting callers are
/// bounded by whoever makes the calls, such as a dispatcher's in-flight bound;
/// put a [`LoadShed`](crate::shed::LoadShed) outside to reject instead of wait.
/// A `max` of 0 admits no call: every call waits until it is dropped.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service, Status};
/// use ringo_service::limit::ConcurrencyLimit;
///
/// let svc = ConcurrencyLimit::new(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n) }), 2);
/// assert_eq!(svc.status(), Status::Open);
/// assert_eq!(ringo_reactor::run(svc.call(7)).unwrap(), 7);
/// ```
#[derive(Debug)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    max: usize,
    permits: Semaphore,
}

impl<S> ConcurrencyLimit<S> {
    /// `inner`, with at most `max` calls in it at once.
    pub fn new(inner: S, max: usize) -> ConcurrencyLimit<S> {
        ConcurrencyLimit {
            inner,
            max,
            permits: Semaphore::new(max),
        }
    }

    /// The most calls let in at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for ConcurrencyLimit<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        // Held across the inner call and dropped with this future, however it ends.
        // Errors only when asked for more than exist: a `max` of 0, which
        // admits nobody, so wait until dropped as documented.
        let Ok(_permit) = self.permits.acquire().await else {
            return std::future::pending().await;
        };
        self.inner.call(req).await.map_err(Into::into)
    }

    fn status(&self) -> Status {
        match self.inner.status() {
            Status::Open if self.permits.available_permits() == 0 => Status::Busy,
            status => status,
        }
    }
}

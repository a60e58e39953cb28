//! [`Timeout`]: a time limit on each call.
//!
//! When the limit passes first, the inner call's future is dropped — which
//! cancels its I/O safely (ARCHITECTURE.md, principle 5) — and the caller
//! gets an [`ErrorKind::Timeout`] error whose cause is an [`Elapsed`].
//!
//! # Per attempt and total
//!
//! One type serves both; where it sits relative to a retry layer decides which:
//!
//! - **per attempt**: `Timeout` inside `Retry` — each attempt gets the limit,
//!   and a timed-out attempt may be retried;
//! - **total**: `Timeout` outside `Retry` — the whole call, attempts and
//!   back-offs included, gets the limit.
//!
//! ```text
//! ServiceBuilder::new()
//!     .timeout(total)      // outermost: caps everything below
//!     .layer(retry)
//!     .timeout(attempt)    // inside the retry: caps one attempt
//!     .service(client)
//! ```
//!
//! A `Timeout` also publishes its deadline to the layers it wraps
//! ([`current_deadline`]), so a retry layer can skip an attempt or a back-off
//! that would end after the total deadline and return its last error.

mod deadline;
mod error;
mod layer;

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use ringo_reactor::time::sleep_until;

use crate::error::{Error, ErrorKind};
use crate::service::{Service, Status};

pub use deadline::current_deadline;
pub use error::Elapsed;
pub use layer::TimeoutLayer;

/// Fails a call with [`ErrorKind::Timeout`] if the inner service has not
/// answered within the limit, dropping (cancelling) the inner call.
///
/// A limit too large to add to the current time (such as [`Duration::MAX`])
/// means no limit.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, ErrorKind, Service};
/// use ringo_service::timeout::Timeout;
///
/// let slow = service_fn(|()| async {
///     ringo_reactor::time::sleep(Duration::from_secs(60)).await;
///     Ok::<_, std::io::Error>(())
/// });
/// let svc = Timeout::new(slow, Duration::from_millis(5));
/// let err = ringo_reactor::run(svc.call(())).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Timeout);
/// assert_eq!(err.to_string(), "deadline elapsed: call not finished within limit 5ms");
/// ```
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Timeout<S> {
    /// `inner`, with each call limited to `limit`.
    pub fn new(inner: S, limit: Duration) -> Timeout<S> {
        Timeout { inner, limit }
    }

    /// The time limit of each call.
    pub fn limit(&self) -> Duration {
        self.limit
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

impl<S, Req> Service<Req> for Timeout<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        let Some(deadline) = Instant::now().checked_add(self.limit) else {
            return self.inner.call(req).await.map_err(Into::into);
        };
        let mut call = pin!(self.inner.call(req));
        let mut expiry = sleep_until(deadline);
        // Poll the call first: an answer that is ready when the deadline
        // passes is still delivered.
        poll_fn(|cx| {
            if let Poll::Ready(result) = deadline::poll_within(deadline, call.as_mut(), cx) {
                return Poll::Ready(result.map_err(Into::into));
            }
            match Pin::new(&mut expiry).poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(Error::with_source(
                    ErrorKind::Timeout,
                    Elapsed::new(self.limit),
                ))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

//! [`LoadShed`]: reject at once instead of queueing when the service is
//! saturated.
//!
//! Waiting is the right answer to a short burst and the wrong one to sustained
//! overload: queued callers time out anyway, after holding memory and
//! connections. A shedder fails them fast with [`ErrorKind::Overloaded`], so a
//! client can go elsewhere (a balancer, a retry on another endpoint) at once.
//! It trusts the inner service's non-reserving [`status`](Service::status), so
//! it composes with [`ConcurrencyLimit`](crate::limit::ConcurrencyLimit)
//! inside it: a full limit reports `Busy`, and the next call is shed instead of
//! queued.

mod error;
mod layer;

use std::cell::Cell;

use crate::error::{Error, ErrorKind};
use crate::service::{Service, Status};

pub use error::Overloaded;
pub use layer::LoadShedLayer;

/// Rejects a call at once with [`ErrorKind::Overloaded`] when the inner service
/// reports `Busy` or `Closed`, or, if configured, when `max_in_flight` calls are
/// already in it.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, ErrorKind, Service, ServiceBuilder};
///
/// let svc = ServiceBuilder::new()
///     .load_shed()
///     .concurrency_limit(1)
///     .service(service_fn(|()| async { Ok::<_, std::io::Error>("ok") }));
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap(), "ok");
/// ```
#[derive(Debug)]
pub struct LoadShed<S> {
    inner: S,
    /// The shedder's own bound, if any; `None` trusts the inner status alone.
    max_in_flight: Option<usize>,
    /// Calls admitted and not yet finished (completed, failed or dropped).
    in_flight: Cell<usize>,
}

impl<S> LoadShed<S> {
    /// `inner`, shed whenever its status is not `Open`.
    pub fn new(inner: S) -> LoadShed<S> {
        LoadShed {
            inner,
            max_in_flight: None,
            in_flight: Cell::new(0),
        }
    }

    /// Also sheds while `max` admitted calls are unfinished: call number
    /// `max + 1` is rejected. A `max` of 0 sheds every call.
    pub fn max_in_flight(mut self, max: usize) -> LoadShed<S> {
        self.max_in_flight = Some(max);
        self
    }

    /// Calls admitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
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

    fn is_full(&self) -> bool {
        self.max_in_flight
            .is_some_and(|max| self.in_flight.get() >= max)
    }
}

impl<S, Req> Service<Req> for LoadShed<S>
where
    S: Service<Req>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        if let Some(max) = self.max_in_flight {
            let in_flight = self.in_flight.get();
            if in_flight >= max {
                return Err(Error::with_source(
                    ErrorKind::Overloaded,
                    Overloaded::in_flight(in_flight, max),
                ));
            }
        }
        let status = self.inner.status();
        if status != Status::Open {
            return Err(Error::with_source(
                ErrorKind::Overloaded,
                Overloaded::inner(status),
            ));
        }
        let _admitted = InFlight::enter(&self.in_flight);
        self.inner.call(req).await.map_err(Into::into)
    }

    fn status(&self) -> Status {
        match self.inner.status() {
            Status::Open if self.is_full() => Status::Busy,
            status => status,
        }
    }
}

/// One admitted call in the count; leaves it however the call ends.
struct InFlight<'a>(&'a Cell<usize>);

impl<'a> InFlight<'a> {
    fn enter(count: &'a Cell<usize>) -> InFlight<'a> {
        count.set(count.get() + 1);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

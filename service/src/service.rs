//! [`Service`]: an async function from a request to a response.
//!
//! This is the whole idea of the service layer (Finagle's "your server as a
//! function"): an HTTP server, a Redis server and a client connection pool are
//! all services, so middleware — timeouts, retries, limits, balancing — is written
//! once, against this trait, and works for every protocol.
//!
//! Two choices differ from tower:
//!
//! - **No `poll_ready`.** Backpressure lives in the dispatcher's in-flight bound
//!   and in middleware that waits for a permit inside `call`. The non-reserving
//!   [`status`](Service::status) tells balancers which endpoints are usable.
//! - **No `Send` bound.** ringo is thread-per-core: a service lives on one
//!   runtime and may hold `Rc` and `RefCell`. A `Send + Sync` factory makes one
//!   per worker thread (see `server`).

use std::future::Future;
use std::rc::Rc;

/// Whether a service can take requests now. Reading it reserves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Ready for requests.
    #[default]
    Open,
    /// Usable, but saturated: a call will wait or be shed.
    Busy,
    /// Not usable: a call will fail (a dead endpoint, an open circuit breaker).
    Closed,
}

/// An async function from `Req` to `Result<Response, Error>`.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service};
///
/// let double = service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n * 2) });
/// let answer = ringo_reactor::run(double.call(21));
/// assert_eq!(answer.unwrap(), 42);
/// ```
// The futures are deliberately not `Send` (thread-per-core; see the module docs).
#[allow(async_fn_in_trait)]
pub trait Service<Req> {
    /// What a successful call returns.
    type Response;
    /// What a failed call returns.
    type Error;

    /// Handles one request.
    async fn call(&self, req: Req) -> Result<Self::Response, Self::Error>;

    /// Whether the service can take requests now; non-reserving, cheap.
    fn status(&self) -> Status {
        Status::Open
    }
}

// The forwarding impls (and `ServiceFn`) return the inner future itself: an
// `async fn` would wrap it in a future of its own, which moves the request into
// its state and then the inner future into its await: copies per call.
impl<S: Service<Req> + ?Sized, Req> Service<Req> for Rc<S> {
    type Response = S::Response;
    type Error = S::Error;

    fn call(&self, req: Req) -> impl Future<Output = Result<S::Response, S::Error>> {
        (**self).call(req)
    }

    fn status(&self) -> Status {
        (**self).status()
    }
}

impl<S: Service<Req> + ?Sized, Req> Service<Req> for &S {
    type Response = S::Response;
    type Error = S::Error;

    fn call(&self, req: Req) -> impl Future<Output = Result<S::Response, S::Error>> {
        (**self).call(req)
    }

    fn status(&self) -> Status {
        (**self).status()
    }
}

/// A service made from an async closure; see [`service_fn`].
#[derive(Clone, Copy)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F> std::fmt::Debug for ServiceFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceFn").finish_non_exhaustive()
    }
}

/// Makes a service from a function returning a future of a `Result`.
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

impl<F, Fut, Req, Resp, E> Service<Req> for ServiceFn<F>
where
    F: Fn(Req) -> Fut,
    Fut: Future<Output = Result<Resp, E>>,
{
    type Response = Resp;
    type Error = E;

    fn call(&self, req: Req) -> impl Future<Output = Result<Resp, E>> {
        (self.f)(req)
    }
}

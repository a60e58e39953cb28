//! [`HandleError`]: turns a service's error into a response of the user's
//! choosing, so a stack can answer failures itself instead of leaving the
//! server's defaults to pick (the HTTP server's 504 / 503 / 500).
//!
//! Unlike [`MapErr`](crate::ext::MapErr), which changes one error into
//! another, the result is a *response*, and the wrapped service no longer
//! fails at all (its error type is [`Infallible`]).

use std::convert::Infallible;
use std::fmt;

use crate::layer::Layer;
use crate::service::{Service, Status};

/// A service whose errors become responses through `f`; see
/// [`ServiceBuilder::handle_error`](crate::ServiceBuilder::handle_error).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::{service_fn, Error, ErrorKind, Service, ServiceBuilder};
///
/// let slow = service_fn(|()| async {
///     ringo_reactor::time::sleep(Duration::from_secs(5)).await;
///     Ok::<_, std::io::Error>("done")
/// });
/// let svc = ServiceBuilder::new()
///     .handle_error(|e: Error| match e.kind() {
///         ErrorKind::Timeout => "too slow, try later",
///         _ => "failed",
///     })
///     .timeout(Duration::from_millis(10))
///     .service(slow);
/// assert_eq!(ringo_reactor::run(svc.call(())), Ok("too slow, try later"));
/// ```
#[derive(Clone)]
pub struct HandleError<S, F> {
    inner: S,
    f: F,
}

impl<S, F> HandleError<S, F> {
    /// `inner`, with errors turned into responses by `f`.
    pub fn new(inner: S, f: F) -> HandleError<S, F> {
        HandleError { inner, f }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, F, Req> Service<Req> for HandleError<S, F>
where
    S: Service<Req>,
    F: Fn(S::Error) -> S::Response,
{
    type Response = S::Response;
    type Error = Infallible;

    async fn call(&self, req: Req) -> Result<S::Response, Infallible> {
        Ok(self.inner.call(req).await.unwrap_or_else(&self.f))
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for HandleError<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleError")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Wraps services in [`HandleError`] with a clone of `f`.
#[derive(Clone)]
pub struct HandleErrorLayer<F> {
    f: F,
}

impl<F> HandleErrorLayer<F> {
    /// A layer turning errors into responses with `f`.
    pub fn new(f: F) -> HandleErrorLayer<F> {
        HandleErrorLayer { f }
    }
}

impl<S, F: Clone> Layer<S> for HandleErrorLayer<F> {
    type Service = HandleError<S, F>;

    fn layer(&self, inner: S) -> HandleError<S, F> {
        HandleError::new(inner, self.f.clone())
    }
}

impl<F> fmt::Debug for HandleErrorLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleErrorLayer").finish_non_exhaustive()
    }
}

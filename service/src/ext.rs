//! [`ServiceExt`]: combinators that adapt a service's request, response or
//! error without writing a new service.
//!
//! Each combinator is a small struct that implements [`Service`], calls the
//! service it wraps and forwards its [`status`](Service::status), so wrapping
//! never hides saturation from a balancer or a load shedder. The `…Layer` twins
//! let [`ServiceBuilder`](crate::ServiceBuilder) stack the same adapters.

use std::fmt;
use std::future::Future;

use crate::boxed::BoxService;
use crate::handle_error::HandleError;
use crate::layer::Layer;
use crate::service::{Service, Status};

/// Combinators for every [`Service`].
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service, ServiceExt};
///
/// let len = service_fn(|s: String| async move { Ok::<_, std::io::Error>(s.len()) })
///     .map_request(|n: u32| n.to_string())
///     .map_response(|len| len * 10);
/// assert_eq!(ringo_reactor::run(len.call(1234)).unwrap(), 40);
/// ```
pub trait ServiceExt<Req>: Service<Req> {
    /// Converts each request with `f` before this service sees it.
    fn map_request<F, Outer>(self, f: F) -> MapRequest<Self, F>
    where
        Self: Sized,
        F: Fn(Outer) -> Req,
    {
        MapRequest::new(self, f)
    }

    /// Converts each successful response with `f`.
    fn map_response<F, Resp>(self, f: F) -> MapResponse<Self, F>
    where
        Self: Sized,
        F: Fn(Self::Response) -> Resp,
    {
        MapResponse::new(self, f)
    }

    /// Converts each error with `f`.
    fn map_err<F, E>(self, f: F) -> MapErr<Self, F>
    where
        Self: Sized,
        F: Fn(Self::Error) -> E,
    {
        MapErr::new(self, f)
    }

    /// Turns each error into a response with `f`; see [`HandleError`].
    fn handle_error<F>(self, f: F) -> HandleError<Self, F>
    where
        Self: Sized,
        F: Fn(Self::Error) -> Self::Response,
    {
        HandleError::new(self, f)
    }

    /// Runs the async function `f` on each successful response; its error type
    /// is the combined service's, and this service's errors convert into it.
    fn and_then<F, Fut, Resp, E>(self, f: F) -> AndThen<Self, F>
    where
        Self: Sized,
        F: Fn(Self::Response) -> Fut,
        Fut: Future<Output = Result<Resp, E>>,
        Self::Error: Into<E>,
    {
        AndThen::new(self, f)
    }

    /// Erases this service's type, for stacks chosen at run time.
    fn boxed(self) -> BoxService<Req, Self::Response, Self::Error>
    where
        Self: Sized + 'static,
    {
        BoxService::new(self)
    }
}

impl<S: Service<Req> + ?Sized, Req> ServiceExt<Req> for S {}

/// A service whose requests are converted first; see [`ServiceExt::map_request`].
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service};
/// use ringo_service::ext::MapRequest;
///
/// let echo = service_fn(|s: String| async move { Ok::<_, std::io::Error>(s) });
/// let svc = MapRequest::new(echo, |n: u8| format!("#{n}"));
/// assert_eq!(ringo_reactor::run(svc.call(7)).unwrap(), "#7");
/// ```
#[derive(Clone)]
pub struct MapRequest<S, F> {
    inner: S,
    f: F,
}

impl<S, F> MapRequest<S, F> {
    /// `inner`, with requests converted by `f`.
    pub fn new(inner: S, f: F) -> MapRequest<S, F> {
        MapRequest { inner, f }
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

impl<S, F, Outer, Req> Service<Outer> for MapRequest<S, F>
where
    S: Service<Req>,
    F: Fn(Outer) -> Req,
{
    type Response = S::Response;
    type Error = S::Error;

    async fn call(&self, req: Outer) -> Result<S::Response, S::Error> {
        self.inner.call((self.f)(req)).await
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for MapRequest<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRequest")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// A service whose responses are converted; see [`ServiceExt::map_response`].
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service};
/// use ringo_service::ext::MapResponse;
///
/// let two = service_fn(|()| async { Ok::<_, std::io::Error>(2) });
/// let svc = MapResponse::new(two, |n: i32| n + 1);
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap(), 3);
/// ```
#[derive(Clone)]
pub struct MapResponse<S, F> {
    inner: S,
    f: F,
}

impl<S, F> MapResponse<S, F> {
    /// `inner`, with responses converted by `f`.
    pub fn new(inner: S, f: F) -> MapResponse<S, F> {
        MapResponse { inner, f }
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

impl<S, F, Req, Resp> Service<Req> for MapResponse<S, F>
where
    S: Service<Req>,
    F: Fn(S::Response) -> Resp,
{
    type Response = Resp;
    type Error = S::Error;

    async fn call(&self, req: Req) -> Result<Resp, S::Error> {
        self.inner.call(req).await.map(&self.f)
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for MapResponse<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapResponse")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// A service whose errors are converted; see [`ServiceExt::map_err`].
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service};
/// use ringo_service::ext::MapErr;
///
/// let fail = service_fn(|()| async { Err::<(), _>(std::io::Error::other("boom")) });
/// let svc = MapErr::new(fail, |e: std::io::Error| format!("wrapped: {e}"));
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap_err(), "wrapped: boom");
/// ```
#[derive(Clone)]
pub struct MapErr<S, F> {
    inner: S,
    f: F,
}

impl<S, F> MapErr<S, F> {
    /// `inner`, with errors converted by `f`.
    pub fn new(inner: S, f: F) -> MapErr<S, F> {
        MapErr { inner, f }
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

impl<S, F, Req, E> Service<Req> for MapErr<S, F>
where
    S: Service<Req>,
    F: Fn(S::Error) -> E,
{
    type Response = S::Response;
    type Error = E;

    async fn call(&self, req: Req) -> Result<S::Response, E> {
        self.inner.call(req).await.map_err(&self.f)
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for MapErr<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErr")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// A service whose responses go through an async function; see
/// [`ServiceExt::and_then`].
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Service};
/// use ringo_service::ext::AndThen;
///
/// let fetch = service_fn(|id: u32| async move { Ok::<_, std::io::Error>(id) });
/// let svc = AndThen::new(fetch, |id: u32| async move {
///     if id == 0 { Err(std::io::Error::other("no such id")) } else { Ok(format!("user {id}")) }
/// });
/// assert_eq!(ringo_reactor::run(svc.call(5)).unwrap(), "user 5");
/// assert!(ringo_reactor::run(svc.call(0)).is_err());
/// ```
#[derive(Clone)]
pub struct AndThen<S, F> {
    inner: S,
    f: F,
}

impl<S, F> AndThen<S, F> {
    /// `inner`, with responses passed through the async function `f`.
    pub fn new(inner: S, f: F) -> AndThen<S, F> {
        AndThen { inner, f }
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

impl<S, F, Fut, Req, Resp, E> Service<Req> for AndThen<S, F>
where
    S: Service<Req>,
    S::Error: Into<E>,
    F: Fn(S::Response) -> Fut,
    Fut: Future<Output = Result<Resp, E>>,
{
    type Response = Resp;
    type Error = E;

    async fn call(&self, req: Req) -> Result<Resp, E> {
        let response = self.inner.call(req).await.map_err(Into::into)?;
        (self.f)(response).await
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for AndThen<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AndThen")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The layer of [`MapRequest`]: each service it wraps gets a clone of `f`.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::ext::MapRequestLayer;
///
/// let echo = service_fn(|n: u64| async move { Ok::<_, std::io::Error>(n) });
/// let svc = MapRequestLayer::new(|n: u8| u64::from(n)).layer(echo);
/// assert_eq!(ringo_reactor::run(svc.call(9)).unwrap(), 9);
/// ```
#[derive(Clone)]
pub struct MapRequestLayer<F> {
    f: F,
}

impl<F> MapRequestLayer<F> {
    /// A layer converting requests with `f`.
    pub fn new(f: F) -> MapRequestLayer<F> {
        MapRequestLayer { f }
    }
}

impl<S, F: Clone> Layer<S> for MapRequestLayer<F> {
    type Service = MapRequest<S, F>;

    fn layer(&self, inner: S) -> MapRequest<S, F> {
        MapRequest::new(inner, self.f.clone())
    }
}

impl<F> fmt::Debug for MapRequestLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRequestLayer").finish_non_exhaustive()
    }
}

/// The layer of [`MapResponse`]: each service it wraps gets a clone of `f`.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::ext::MapResponseLayer;
///
/// let one = service_fn(|()| async { Ok::<_, std::io::Error>(1) });
/// let svc = MapResponseLayer::new(|n: i32| -n).layer(one);
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap(), -1);
/// ```
#[derive(Clone)]
pub struct MapResponseLayer<F> {
    f: F,
}

impl<F> MapResponseLayer<F> {
    /// A layer converting responses with `f`.
    pub fn new(f: F) -> MapResponseLayer<F> {
        MapResponseLayer { f }
    }
}

impl<S, F: Clone> Layer<S> for MapResponseLayer<F> {
    type Service = MapResponse<S, F>;

    fn layer(&self, inner: S) -> MapResponse<S, F> {
        MapResponse::new(inner, self.f.clone())
    }
}

impl<F> fmt::Debug for MapResponseLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapResponseLayer").finish_non_exhaustive()
    }
}

/// The layer of [`MapErr`]: each service it wraps gets a clone of `f`.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::ext::MapErrLayer;
///
/// let fail = service_fn(|()| async { Err::<(), _>(std::io::Error::other("boom")) });
/// let svc = MapErrLayer::new(|e: std::io::Error| e.to_string().len()).layer(fail);
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap_err(), 4);
/// ```
#[derive(Clone)]
pub struct MapErrLayer<F> {
    f: F,
}

impl<F> MapErrLayer<F> {
    /// A layer converting errors with `f`.
    pub fn new(f: F) -> MapErrLayer<F> {
        MapErrLayer { f }
    }
}

impl<S, F: Clone> Layer<S> for MapErrLayer<F> {
    type Service = MapErr<S, F>;

    fn layer(&self, inner: S) -> MapErr<S, F> {
        MapErr::new(inner, self.f.clone())
    }
}

impl<F> fmt::Debug for MapErrLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErrLayer").finish_non_exhaustive()
    }
}

/// The layer of [`AndThen`]: each service it wraps gets a clone of `f`.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, Layer, Service};
/// use ringo_service::ext::AndThenLayer;
///
/// let one = service_fn(|()| async { Ok::<_, std::io::Error>(1) });
/// let svc = AndThenLayer::new(|n: i32| async move { Ok::<_, std::io::Error>(n * 3) }).layer(one);
/// assert_eq!(ringo_reactor::run(svc.call(())).unwrap(), 3);
/// ```
#[derive(Clone)]
pub struct AndThenLayer<F> {
    f: F,
}

impl<F> AndThenLayer<F> {
    /// A layer passing responses through the async function `f`.
    pub fn new(f: F) -> AndThenLayer<F> {
        AndThenLayer { f }
    }
}

impl<S, F: Clone> Layer<S> for AndThenLayer<F> {
    type Service = AndThen<S, F>;

    fn layer(&self, inner: S) -> AndThen<S, F> {
        AndThen::new(inner, self.f.clone())
    }
}

impl<F> fmt::Debug for AndThenLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AndThenLayer").finish_non_exhaustive()
    }
}

//! [`BoxService`] and [`RcService`]: services with their type erased.
//!
//! Every middleware is generic over what it wraps, so a stack's type spells out
//! every layer. That is free at run time but cannot be chosen at run time (a
//! config file enabling a layer) nor stored beside other stacks in one `Vec`.
//! Erasing the type costs one allocation per call (the boxed future) and one
//! virtual call; use it at the edges, not inside hot middleware.
//!
//! `async fn` in a trait is not object-safe, so [`DynService`] restates
//! `Service` with the future boxed, and every `Service` implements it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::service::{Service, Status};

/// The boxed future of a [`DynService`] call, borrowing the service for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// [`Service`] in object-safe form: the call's future is boxed.
///
/// Implemented for every sized `Service`; use it as `dyn DynService<..>` where
/// [`BoxService`] or [`RcService`] do not fit.
pub trait DynService<Req, Resp, E> {
    /// Handles one request; see [`Service::call`].
    fn call_boxed<'a>(&'a self, req: Req) -> BoxFuture<'a, Result<Resp, E>>
    where
        Req: 'a;

    /// Whether the service can take requests now; see [`Service::status`].
    fn status(&self) -> Status;
}

impl<S: Service<Req>, Req> DynService<Req, S::Response, S::Error> for S {
    fn call_boxed<'a>(&'a self, req: Req) -> BoxFuture<'a, Result<S::Response, S::Error>>
    where
        Req: 'a,
    {
        Box::pin(self.call(req))
    }

    fn status(&self) -> Status {
        Service::status(self)
    }
}

/// A service of any type with the given request, response and error types.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, BoxService, Service, ServiceExt};
///
/// type Handler = BoxService<u32, u32, std::io::Error>;
/// let handlers: Vec<Handler> = vec![
///     service_fn(|n: u32| async move { Ok(n + 1) }).boxed(),
///     service_fn(|n: u32| async move { Ok(n * 2) }).map_response(|n| n + 100).boxed(),
/// ];
/// let answers: Vec<u32> = ringo_reactor::run(async {
///     let mut out = Vec::new();
///     for h in &handlers {
///         out.push(h.call(10).await.unwrap());
///     }
///     out
/// });
/// assert_eq!(answers, [11, 120]);
/// ```
pub struct BoxService<Req, Resp, E> {
    inner: Box<dyn DynService<Req, Resp, E>>,
}

impl<Req, Resp, E> BoxService<Req, Resp, E> {
    /// Erases `service`'s type.
    pub fn new<S>(service: S) -> BoxService<Req, Resp, E>
    where
        S: Service<Req, Response = Resp, Error = E> + 'static,
    {
        BoxService {
            inner: Box::new(service),
        }
    }
}

impl<Req, Resp, E> Service<Req> for BoxService<Req, Resp, E> {
    type Response = Resp;
    type Error = E;

    async fn call(&self, req: Req) -> Result<Resp, E> {
        self.inner.call_boxed(req).await
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<Req, Resp, E> fmt::Debug for BoxService<Req, Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxService").finish_non_exhaustive()
    }
}

/// A type-erased service that clones cheaply: clones share one service.
///
/// # Examples
/// ```
/// use ringo_service::{service_fn, RcService, Service, ServiceExt};
///
/// let shared: RcService<u8, u8, std::io::Error> =
///     service_fn(|n: u8| async move { Ok(n) }).boxed().into();
/// let copy = shared.clone();
/// assert_eq!(ringo_reactor::run(copy.call(3)).unwrap(), 3);
/// ```
pub struct RcService<Req, Resp, E> {
    inner: Rc<dyn DynService<Req, Resp, E>>,
}

impl<Req, Resp, E> RcService<Req, Resp, E> {
    /// Erases `service`'s type.
    pub fn new<S>(service: S) -> RcService<Req, Resp, E>
    where
        S: Service<Req, Response = Resp, Error = E> + 'static,
    {
        RcService {
            inner: Rc::new(service),
        }
    }
}

impl<Req, Resp, E> From<BoxService<Req, Resp, E>> for RcService<Req, Resp, E> {
    /// Shares the boxed service without wrapping it a second time.
    fn from(boxed: BoxService<Req, Resp, E>) -> RcService<Req, Resp, E> {
        RcService {
            inner: Rc::from(boxed.inner),
        }
    }
}

impl<Req, Resp, E> Clone for RcService<Req, Resp, E> {
    fn clone(&self) -> Self {
        RcService {
            inner: self.inner.clone(),
        }
    }
}

impl<Req, Resp, E> Service<Req> for RcService<Req, Resp, E> {
    type Response = Resp;
    type Error = E;

    async fn call(&self, req: Req) -> Result<Resp, E> {
        self.inner.call_boxed(req).await
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<Req, Resp, E> fmt::Debug for RcService<Req, Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcService").finish_non_exhaustive()
    }
}

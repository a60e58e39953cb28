//! [`Observe`]: counts, times and optionally logs every call of a service.
//!
//! What users ask first of a running server is "how many requests, how many
//! failed, how slow": [`Metrics`] answers from code (and prints a summary), an
//! optional access log answers per request through the `log` facade, and a
//! [`Classify`] hook decides what counts as a failure — an HTTP 503 arrives as
//! `Ok` but should not count as a success.

mod classify;
mod histogram;
mod layer;
mod metrics;

use std::fmt;
use std::time::Instant;

use crate::error::Error;
use crate::service::{Service, Status};

pub use classify::{Classify, DefaultClassifier, Outcome};
pub use histogram::{Histogram, MAX_LATENCY};
pub use layer::ObserveLayer;
pub use metrics::Metrics;

/// Describes a request for the access log; `None` means do not log it.
///
/// Any `Fn(&Req) -> String` describes every request; [`NoAccessLog`] none.
///
/// # Examples
/// ```
/// use ringo_service::observe::{Describe, NoAccessLog};
///
/// let by_path = |path: &&str| format!("GET {path}");
/// assert_eq!(by_path.describe(&"/"), Some("GET /".to_string()));
/// assert_eq!(Describe::<&str>::describe(&NoAccessLog, &"/"), None);
/// ```
pub trait Describe<Req> {
    /// The request as the access log shows it (method and path, command
    /// name), or `None` to log nothing.
    fn describe(&self, req: &Req) -> Option<String>;
}

impl<Req, F> Describe<Req> for F
where
    F: Fn(&Req) -> String,
{
    fn describe(&self, req: &Req) -> Option<String> {
        Some(self(req))
    }
}

/// No access log: the default of [`Observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoAccessLog;

impl<Req> Describe<Req> for NoAccessLog {
    fn describe(&self, _req: &Req) -> Option<String> {
        None
    }
}

/// Records every call of `S` in [`Metrics`], classified by `C`, and — with a
/// describer `D` — logs it at info level:
/// `GET /users -> success in 1.2ms`, or `... -> error (timeout) in 2s: deadline elapsed`.
///
/// # Examples
/// ```
/// use ringo_service::observe::{Metrics, Observe};
/// use ringo_service::{service_fn, Service};
///
/// let metrics = Metrics::new();
/// let echo = service_fn(|s: String| async move { Ok::<_, std::io::Error>(s) });
/// let observed = Observe::new(echo, metrics.clone()).with_access_log(|req: &String| format!("echo {req}"));
/// ringo_reactor::run(observed.call("hi".to_string())).unwrap();
/// assert_eq!(metrics.successes(), 1);
/// assert_eq!(metrics.in_flight(), 0);
/// ```
pub struct Observe<S, C = DefaultClassifier, D = NoAccessLog> {
    inner: S,
    metrics: Metrics,
    classifier: C,
    describer: D,
}

impl<S> Observe<S> {
    /// Wraps `inner`, recording into `metrics` with the default classifier
    /// and no access log.
    pub fn new(inner: S, metrics: Metrics) -> Observe<S> {
        Observe {
            inner,
            metrics,
            classifier: DefaultClassifier,
            describer: NoAccessLog,
        }
    }
}

impl<S, C, D> Observe<S, C, D> {
    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> Observe<S, C2, D> {
        Observe {
            inner: self.inner,
            metrics: self.metrics,
            classifier,
            describer: self.describer,
        }
    }

    /// Logs each call, describing its request with `describer`.
    pub fn with_access_log<D2>(self, describer: D2) -> Observe<S, C, D2> {
        Observe {
            inner: self.inner,
            metrics: self.metrics,
            classifier: self.classifier,
            describer,
        }
    }

    /// The metrics calls are recorded in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
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

impl<S, C, D, Req> Service<Req> for Observe<S, C, D>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Classify<S::Response>,
    D: Describe<Req>,
{
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        // Describing allocates, so only when the line would be written.
        let description = if log::log_enabled!(log::Level::Info) {
            self.describer.describe(&req)
        } else {
            None
        };
        let start = Instant::now();
        let in_flight = self.metrics.start();
        let result = self.inner.call(req).await.map_err(Into::into);
        let latency = start.elapsed();
        let outcome = self.classifier.classify(&result);
        in_flight.finish(outcome, latency);
        if let Some(request) = description {
            match &result {
                Err(error) => log::info!("{request} -> {outcome} in {latency:?}: {error}"),
                Ok(_) => log::info!("{request} -> {outcome} in {latency:?}"),
            }
        }
        result
    }

    fn status(&self) -> Status {
        self.inner.status()
    }
}

impl<S: fmt::Debug, C, D> fmt::Debug for Observe<S, C, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observe")
            .field("inner", &self.inner)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

//! [`Error`]: the service layer's one error type.
//!
//! Middleware must tell failures apart — a retry policy retries a request that
//! was never written but not one that timed out mid-flight; a balancer counts
//! overload differently from a refused connection — so every middleware speaks
//! this type: a [`ErrorKind`] to match on, plus the typed cause, reachable with
//! [`downcast_ref`](Error::downcast_ref).
//!
//! `Error` is a `std::error::Error + Send + Sync + 'static` with its cause as
//! [`source`](StdError::source), so `?` turns it into
//! `Box<dyn Error + Send + Sync>` or `anyhow::Error` and error reporters print
//! the whole chain. The price: it cannot also convert *from* every error type
//! (that blanket impl would overlap `From<T> for T`), so `?` works from the
//! errors ringo's own layers produce (`io::Error`, a pipeline client's error,
//! a reactor time-out, a boxed error); wrap any other with [`Error::inner`] or
//! a `From` impl of your own (`map_err(Error::inner)?`).

use std::error::Error as StdError;
use std::fmt;

use ringo_proto::pipeline::{ClientError, ClientErrorKind};
#[cfg(any(feature = "http", feature = "redis"))]
use ringo_proto::tls::rustls;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The inner service failed; see the source.
    Inner,
    /// The request never reached the peer: retrying it cannot duplicate it.
    NotWritten,
    /// The connection broke after the request was written.
    ConnectionLost,
    /// A deadline passed.
    Timeout,
    /// Rejected at once because the service is saturated (load shedding).
    Overloaded,
    /// Rejected by a rate limit.
    RateLimited,
    /// Rejected because a circuit breaker is open.
    CircuitOpen,
    /// No endpoint or connection is available.
    Unavailable,
    /// TLS failed: the peer's certificate was refused, or the handshake or a
    /// record broke the protocol (the cause is a `rustls::Error`). Not worth
    /// retrying on the same endpoint.
    Tls,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Inner => "service failed",
            ErrorKind::NotWritten => "request not written",
            ErrorKind::ConnectionLost => "connection lost after the request was written",
            ErrorKind::Timeout => "deadline elapsed",
            ErrorKind::Overloaded => "service overloaded, request shed",
            ErrorKind::RateLimited => "rate limit exceeded",
            ErrorKind::CircuitOpen => "circuit breaker open",
            ErrorKind::Unavailable => "no endpoint available",
            ErrorKind::Tls => "tls failed: certificate refused or protocol broken",
        }
    }
}

/// A cause, as [`Error`] keeps it: any thread may receive it.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A service-layer failure: a kind and, usually, a typed cause.
///
/// `Send + Sync` (unlike most ringo types), so it can leave a worker thread
/// and be `?`-ed into `anyhow::Error` or `Box<dyn Error + Send + Sync>`.
///
/// # Examples
/// ```
/// use ringo_service::{Error, ErrorKind};
///
/// fn handler() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let failed: Result<(), Error> = Err(Error::new(ErrorKind::Timeout));
///     failed?;
///     Ok(())
/// }
/// let error = handler().unwrap_err();
/// assert_eq!(error.downcast_ref::<Error>().unwrap().kind(), ErrorKind::Timeout);
/// ```
pub struct Error {
    kind: ErrorKind,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with no further cause.
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind, source: None }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(kind: ErrorKind, source: impl Into<BoxError>) -> Error {
        Error {
            kind,
            source: Some(source.into()),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the request never reached the peer (safe to retry).
    pub fn is_not_written(&self) -> bool {
        self.kind == ErrorKind::NotWritten
    }

    /// Whether a deadline passed.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// The cause, if it is a `T`.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        self.source.as_deref()?.downcast_ref()
    }

    /// Wraps any error as an [`ErrorKind::Inner`] failure — or the kind a
    /// lower layer's error stands for: a pipeline client's not-written and
    /// connection-lost failures, and I/O time-outs, keep their kind.
    pub fn inner(cause: impl Into<BoxError>) -> Error {
        let boxed: BoxError = cause.into();
        let kind = if let Some(client) = boxed.downcast_ref::<ClientError>() {
            match client.kind() {
                ClientErrorKind::NotWritten => ErrorKind::NotWritten,
                ClientErrorKind::ConnectionLost | ClientErrorKind::Desynchronized => {
                    ErrorKind::ConnectionLost
                }
            }
        } else if is_timeout(&*boxed) {
            ErrorKind::Timeout
        } else if is_tls(&*boxed) {
            ErrorKind::Tls
        } else {
            ErrorKind::Inner
        };
        Error {
            kind,
            source: Some(boxed),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_deref()?)
    }
}

/// `?` from the errors ringo's layers produce (and from a boxed error); other
/// causes go through [`Error::inner`].
macro_rules! from_causes {
    ($($cause:ty),* $(,)?) => {$(
        impl From<$cause> for Error {
            fn from(cause: $cause) -> Error {
                Error::inner(cause)
            }
        }
    )*};
}

from_causes!(
    std::io::Error,
    ClientError,
    ringo_reactor::time::Elapsed,
    BoxError
);
#[cfg(feature = "http")]
from_causes!(
    ringo_proto::http::Error,
    ::http::Error,
    ::http::uri::InvalidUri,
    ::http::header::InvalidHeaderName,
    ::http::header::InvalidHeaderValue,
    ::http::method::InvalidMethod,
    ::http::status::InvalidStatusCode,
);
#[cfg(feature = "redis")]
from_causes!(ringo_proto::resp::Error, crate::redis::ReplyError);
#[cfg(any(feature = "http", feature = "redis"))]
from_causes!(rustls::Error);

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
}

/// An I/O time-out or a reactor `Elapsed`.
fn is_timeout(error: &(dyn StdError + 'static)) -> bool {
    let io_timeout = error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
    io_timeout
        || error
            .downcast_ref::<ringo_reactor::time::Elapsed>()
            .is_some()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) if self.kind == ErrorKind::Inner => write!(f, "{source}"),
            Some(source) => write!(f, "{}: {source}", self.kind.describe()),
            None => f.write_str(self.kind.describe()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

/// Whether `error` is a TLS failure: a `rustls::Error`, or an I/O error
/// carrying one (how `ringo_proto::tls` reports them).
#[cfg(any(feature = "http", feature = "redis"))]
fn is_tls(error: &(dyn StdError + 'static)) -> bool {
    error.is::<rustls::Error>()
        || error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// Without the HTTP and Redis stacks there is no TLS to fail.
#[cfg(not(any(feature = "http", feature = "redis")))]
fn is_tls(_: &(dyn StdError + 'static)) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_their_kind() {
        let lost: Error = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow").into();
        assert!(lost.is_timeout());
        let plain: Error = std::io::Error::other("boom").into();
        assert_eq!(plain.kind(), ErrorKind::Inner);
        assert_eq!(plain.to_string(), "boom");
        assert!(plain.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(
            Error::new(ErrorKind::Overloaded).to_string(),
            "service overloaded, request shed"
        );
        assert_eq!(StdError::source(&plain).unwrap().to_string(), "boom");
    }
}

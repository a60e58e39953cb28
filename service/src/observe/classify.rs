//! [`Outcome`] and [`Classify`]: what a call's result means for health.
//!
//! A transport-level success can still be a failure: an HTTP 503 arrives as
//! `Ok(response)`. Metrics and circuit breakers therefore ask a classifier,
//! not the `Result`, whether a call went well. The default counts every `Ok`
//! as a success and every `Err` as an error of its kind.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// How a call went.
///
/// # Examples
/// ```
/// use ringo_service::observe::Outcome;
/// use ringo_service::ErrorKind;
///
/// assert!(Outcome::Success.is_success());
/// assert_eq!(Outcome::Error(ErrorKind::Timeout).to_string(), "error (timeout)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It worked.
    Success,
    /// A response arrived but means failure (an HTTP 5xx, a RESP error).
    Failure,
    /// The call returned an error of this kind.
    Error(ErrorKind),
}

impl Outcome {
    /// Whether the call went well.
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => f.write_str("success"),
            Outcome::Failure => f.write_str("failure"),
            Outcome::Error(kind) => write!(f, "error ({})", kind_name(*kind)),
        }
    }
}

/// Sorts results into [`Outcome`]s.
///
/// Any `Fn(&Result<Resp, Error>) -> Outcome` is a classifier.
///
/// # Examples
/// ```
/// use ringo_service::observe::{Classify, DefaultClassifier, Outcome};
/// use ringo_service::Error;
///
/// // A status code of 500 or more is a failure even though it arrived.
/// let by_status = |result: &Result<u16, Error>| match result {
///     Ok(status) if *status >= 500 => Outcome::Failure,
///     other => DefaultClassifier.classify(other),
/// };
/// assert_eq!(by_status.classify(&Ok(503)), Outcome::Failure);
/// assert_eq!(by_status.classify(&Ok(200)), Outcome::Success);
/// ```
pub trait Classify<Resp> {
    /// How the call that produced `result` went.
    fn classify(&self, result: &Result<Resp, Error>) -> Outcome;
}

impl<Resp, F> Classify<Resp> for F
where
    F: Fn(&Result<Resp, Error>) -> Outcome,
{
    fn classify(&self, result: &Result<Resp, Error>) -> Outcome {
        self(result)
    }
}

/// Every `Ok` is a [`Success`](Outcome::Success), every `Err` an
/// [`Error`](Outcome::Error) of its kind.
///
/// # Examples
/// ```
/// use ringo_service::observe::{Classify, DefaultClassifier, Outcome};
/// use ringo_service::{Error, ErrorKind};
///
/// let timeout: Result<(), Error> = Err(Error::new(ErrorKind::Timeout));
/// assert_eq!(DefaultClassifier.classify(&timeout), Outcome::Error(ErrorKind::Timeout));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DefaultClassifier;

impl<Resp> Classify<Resp> for DefaultClassifier {
    fn classify(&self, result: &Result<Resp, Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(error) => Outcome::Error(error.kind()),
        }
    }
}

/// Every error kind, in the order metrics count and print them.
pub(crate) const ERROR_KINDS: [ErrorKind; 9] = [
    ErrorKind::Inner,
    ErrorKind::NotWritten,
    ErrorKind::ConnectionLost,
    ErrorKind::Timeout,
    ErrorKind::Overloaded,
    ErrorKind::RateLimited,
    ErrorKind::CircuitOpen,
    ErrorKind::Unavailable,
    ErrorKind::Tls,
];

/// Where `kind` sits in [`ERROR_KINDS`]. An exhaustive match, so a new kind
/// fails to compile here until it is given a slot.
pub(crate) fn kind_index(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::Inner => 0,
        ErrorKind::NotWritten => 1,
        ErrorKind::ConnectionLost => 2,
        ErrorKind::Timeout => 3,
        ErrorKind::Overloaded => 4,
        ErrorKind::RateLimited => 5,
        ErrorKind::CircuitOpen => 6,
        ErrorKind::Unavailable => 7,
        ErrorKind::Tls => 8,
    }
}

/// A short snake_case name for `kind`, for logs and summaries.
pub(crate) fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Inner => "inner",
        ErrorKind::NotWritten => "not_written",
        ErrorKind::ConnectionLost => "connection_lost",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Overloaded => "overloaded",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::CircuitOpen => "circuit_open",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Tls => "tls",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_sits_at_its_own_index() {
        for (index, kind) in ERROR_KINDS.into_iter().enumerate() {
            assert_eq!(kind_index(kind), index, "{kind:?}");
        }
    }
}

//! [`Policy`]: which results a [`Retry`](super::Retry) tries again.
//!
//! Whether a retry is safe depends on the request, not only on the error: a
//! request that never left ([`ErrorKind::NotWritten`]) can always be sent
//! again, but one whose connection broke mid-flight may already have taken
//! effect, so only an idempotent request (a GET, a Redis `GET`) may be repeated
//! then. [`DefaultPolicy`] encodes that rule; write a [`Policy`] (or pass a
//! closure) to decide per request or to retry some responses too.

use crate::error::{Error, ErrorKind};

/// What to do with the result of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Hand this result to the caller.
    Return,
    /// Try the request again, if attempts and budget remain.
    Retry,
}

/// Decides whether an attempt's result is worth another attempt.
///
/// Any `Fn(&Req, &Result<Resp, Error>) -> Decision` is a policy.
///
/// # Examples
/// ```
/// use ringo_service::retry::{Decision, Policy};
/// use ringo_service::Error;
///
/// // Retry responses that say "try later" (here: status 503), never errors.
/// let policy = |_: &&str, result: &Result<u16, Error>| match result {
///     Ok(503) => Decision::Retry,
///     _ => Decision::Return,
/// };
/// assert_eq!(policy.retry(&"GET /", &Ok(503)), Decision::Retry);
/// assert_eq!(policy.retry(&"GET /", &Ok(200)), Decision::Return);
/// ```
pub trait Policy<Req, Resp> {
    /// Whether to retry `req` after it produced `result`.
    fn retry(&self, req: &Req, result: &Result<Resp, Error>) -> Decision;
}

impl<Req, Resp, F> Policy<Req, Resp> for F
where
    F: Fn(&Req, &Result<Resp, Error>) -> Decision,
{
    fn retry(&self, req: &Req, result: &Result<Resp, Error>) -> Decision {
        self(req, result)
    }
}

/// Retries failures that cannot have reached the peer's application, and —
/// for idempotent requests only — failures that might have.
///
/// | kind | retried | why |
/// |---|---|---|
/// | [`NotWritten`](ErrorKind::NotWritten) | always | the request never left |
/// | [`Unavailable`](ErrorKind::Unavailable) | always | no endpoint took it |
/// | [`ConnectionLost`](ErrorKind::ConnectionLost) | if idempotent | it may have run |
/// | [`Timeout`](ErrorKind::Timeout) | if idempotent | it may have run |
/// | others, and every `Ok` | never | see below |
///
/// [`Overloaded`](ErrorKind::Overloaded), [`RateLimited`](ErrorKind::RateLimited)
/// and [`CircuitOpen`](ErrorKind::CircuitOpen) ask the caller to back off,
/// so retrying them would add the very load they shed; an
/// [`Inner`](ErrorKind::Inner) error is the application's answer, which a
/// retry would repeat.
///
/// # Examples
/// ```
/// use ringo_service::retry::{Decision, DefaultPolicy, Policy};
/// use ringo_service::{Error, ErrorKind};
///
/// let lost: Result<(), Error> = Err(Error::new(ErrorKind::ConnectionLost));
/// assert_eq!(DefaultPolicy::new().retry(&"POST /pay", &lost), Decision::Return);
/// assert_eq!(DefaultPolicy::idempotent().retry(&"GET /", &lost), Decision::Retry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DefaultPolicy {
    /// Whether requests may run twice, so failures after the write are
    /// retried as well.
    idempotent: bool,
}

impl DefaultPolicy {
    /// The policy for requests that must not run twice.
    pub fn new() -> DefaultPolicy {
        DefaultPolicy { idempotent: false }
    }

    /// The policy for idempotent requests: also retries lost connections and
    /// time-outs.
    pub fn idempotent() -> DefaultPolicy {
        DefaultPolicy { idempotent: true }
    }

    /// Whether this policy treats requests as idempotent.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

impl<Req, Resp> Policy<Req, Resp> for DefaultPolicy {
    fn retry(&self, _req: &Req, result: &Result<Resp, Error>) -> Decision {
        let Err(error) = result else {
            return Decision::Return;
        };
        let retry = match error.kind() {
            ErrorKind::NotWritten | ErrorKind::Unavailable => true,
            ErrorKind::ConnectionLost | ErrorKind::Timeout => self.idempotent,
            ErrorKind::Inner
            | ErrorKind::Overloaded
            | ErrorKind::RateLimited
            | ErrorKind::CircuitOpen
            | ErrorKind::Tls => false,
        };
        if retry {
            Decision::Retry
        } else {
            Decision::Return
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_retries_what_the_table_says() {
        let cases = [
            (
                "not written",
                ErrorKind::NotWritten,
                Decision::Retry,
                Decision::Retry,
            ),
            (
                "unavailable",
                ErrorKind::Unavailable,
                Decision::Retry,
                Decision::Retry,
            ),
            (
                "connection lost",
                ErrorKind::ConnectionLost,
                Decision::Return,
                Decision::Retry,
            ),
            (
                "timeout",
                ErrorKind::Timeout,
                Decision::Return,
                Decision::Retry,
            ),
            (
                "inner",
                ErrorKind::Inner,
                Decision::Return,
                Decision::Return,
            ),
            (
                "overloaded",
                ErrorKind::Overloaded,
                Decision::Return,
                Decision::Return,
            ),
            (
                "rate limited",
                ErrorKind::RateLimited,
                Decision::Return,
                Decision::Return,
            ),
            (
                "circuit open",
                ErrorKind::CircuitOpen,
                Decision::Return,
                Decision::Return,
            ),
        ];
        for (name, kind, plain, idempotent) in cases {
            let result: Result<(), Error> = Err(Error::new(kind));
            assert_eq!(DefaultPolicy::new().retry(&(), &result), plain, "{name}");
            assert_eq!(
                DefaultPolicy::idempotent().retry(&(), &result),
                idempotent,
                "{name} (idempotent)"
            );
        }
        assert_eq!(
            DefaultPolicy::idempotent().retry(&(), &Ok::<_, Error>(())),
            Decision::Return
        );
    }
}

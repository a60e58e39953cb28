//! [`RateLimited`]: the cause of a rejecting [`RateLimit`](super::RateLimit)'s
//! [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) error.

use std::fmt;
use std::time::Duration;

use super::Rate;

/// A call was rejected because the rate limit had no token for it.
///
/// [`retry_after`](RateLimited::retry_after) says when the next call would
/// pass — what an HTTP server puts in `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    rate: Rate,
    retry_after: Duration,
}

impl RateLimited {
    pub(crate) fn new(rate: Rate, retry_after: Duration) -> RateLimited {
        RateLimited { rate, retry_after }
    }

    /// The rate that was exceeded.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// How long until a call would pass, if nobody else takes the slot first.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calls over rate {}, next allowed in {:?}",
            self.rate, self.retry_after
        )
    }
}

impl std::error::Error for RateLimited {}

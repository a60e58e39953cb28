//! [`PoolError`]: the cause of a [`Pool`](super::Pool)'s
//! [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) errors.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// Why a pool had no connection for a call.
///
/// Reach it with [`Error::downcast_ref`](crate::Error::downcast_ref). None of
/// these calls reached the peer, so retrying one elsewhere cannot duplicate it.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// Opening a connection for this call failed with this error (its kind
    /// and cause say why: refused, timed out, name not found).
    Connect(Error),
    /// Earlier connects failed and the pool waits before trying again, with
    /// no live connection to offer meanwhile.
    BackingOff {
        /// Consecutive connect failures so far.
        failures: u32,
        /// Time until the next connect attempt is allowed.
        retry_in: Duration,
    },
    /// Every connection is busy and `max_waiters` callers already wait.
    TooManyWaiters {
        /// The limit on waiting callers.
        limit: usize,
    },
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Connect(_) => f.write_str("connect failed"),
            PoolError::BackingOff { failures, retry_in } => write!(
                f,
                "reconnecting after {failures} connect failures, next attempt in {retry_in:?}"
            ),
            PoolError::TooManyWaiters { limit } => {
                write!(f, "waiting callers {} over limit {limit}", limit + 1)
            }
        }
    }
}

impl StdError for PoolError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            PoolError::Connect(cause) => Some(cause),
            _ => None,
        }
    }
}

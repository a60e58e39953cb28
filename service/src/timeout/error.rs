//! [`Elapsed`]: the cause of a [`Timeout`](super::Timeout)'s
//! [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) error.

use std::fmt;
use std::time::Duration;

/// A call ran past its time limit and was cancelled.
///
/// Reach it with [`Error::downcast_ref`](crate::Error::downcast_ref) to learn
/// which limit fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elapsed {
    limit: Duration,
}

impl Elapsed {
    pub(crate) fn new(limit: Duration) -> Elapsed {
        Elapsed { limit }
    }

    /// The time limit that passed.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call not finished within limit {:?}", self.limit)
    }
}

impl std::error::Error for Elapsed {}

//! [`NoEndpoint`]: the cause of a [`Balance`](super::Balance)'s
//! [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) error.

use std::fmt;

/// A call found no endpoint to go to: the set was empty, or every endpoint
/// reported [`Status::Closed`](crate::Status::Closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoEndpoint {
    endpoints: usize,
}

impl NoEndpoint {
    pub(crate) fn new(endpoints: usize) -> NoEndpoint {
        NoEndpoint { endpoints }
    }

    /// How many endpoints the set held (all of them closed); 0 for an empty set.
    pub fn endpoints(&self) -> usize {
        self.endpoints
    }
}

impl fmt::Display for NoEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.endpoints {
            0 => f.write_str("endpoint set empty"),
            n => write!(f, "all {n} endpoints closed"),
        }
    }
}

impl std::error::Error for NoEndpoint {}

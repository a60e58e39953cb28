//! [`Overloaded`]: the cause of a [`LoadShed`](super::LoadShed)'s
//! [`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded) error.

use std::fmt;

use crate::service::Status;

/// A call was rejected at once because the service was saturated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overloaded {
    cause: Cause,
}

/// Why the call was shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The inner service reported this status (`Busy` or `Closed`).
    Inner(Status),
    /// The shedder's own in-flight bound was reached.
    InFlight { in_flight: usize, max: usize },
}

impl Overloaded {
    pub(crate) fn inner(status: Status) -> Overloaded {
        Overloaded {
            cause: Cause::Inner(status),
        }
    }

    pub(crate) fn in_flight(in_flight: usize, max: usize) -> Overloaded {
        Overloaded {
            cause: Cause::InFlight { in_flight, max },
        }
    }
}

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            Cause::Inner(Status::Closed) => f.write_str("inner service closed"),
            Cause::Inner(_) => f.write_str("inner service busy"),
            Cause::InFlight { in_flight, max } => {
                write!(f, "in-flight calls {in_flight} at limit {max}")
            }
        }
    }
}

impl std::error::Error for Overloaded {}

//! [`PoolConfig`]: the limits and timings of a [`Pool`](super::Pool), with
//! their defaults.
//!
//! Every bound has a finite default (ARCHITECTURE.md, principle 6: "every queue is bounded"): the
//! connections per endpoint, the callers waiting for one, and the time an
//! unused connection is kept.

use std::time::Duration;

use crate::retry::{Backoff, Jitter};

/// Default most connections open (or opening) to the endpoint at once; a
/// caller finding them all at their call limit waits. Browsers keep about 6
/// per host; servers talking to a backend want more, so 16.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// Default connections kept open even when unused: none, so an idle pool
/// holds no sockets.
pub const DEFAULT_MIN_CONNECTIONS: usize = 0;

/// Default time a connection may sit unused before the pool closes it (hyper's
/// client pool uses the same 90 s), so the pool closes it before a typical
/// server's keep-alive timeout would, rather than racing it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Default most callers waiting for a connection at once; the next one fails
/// at once with [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable).
pub const DEFAULT_MAX_WAITERS: usize = 1024;

/// Default calls sharing one connection at once: 1, an exclusive checkout as
/// HTTP/1.1 needs. Pipelined protocols (RESP) can set more.
pub const DEFAULT_MAX_CALLS_PER_CONNECTION: usize = 1;

/// Default delay ceiling after the first failed connect; it doubles after each
/// further failure.
pub const DEFAULT_RECONNECT_BASE: Duration = Duration::from_millis(50);

/// Default cap on the delay between connect attempts to a failing endpoint.
pub const DEFAULT_RECONNECT_MAX: Duration = Duration::from_secs(5);

/// How a [`Pool`](super::Pool) manages its connections.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::pool::PoolConfig;
///
/// let config = PoolConfig {
///     max_connections: 4,
///     idle_timeout: Some(Duration::from_secs(30)),
///     ..PoolConfig::default()
/// };
/// assert_eq!(config.max_calls_per_connection, 1);
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections kept open when unused, opened in the background from the
    /// first call on and reopened when they die (see
    /// [`DEFAULT_MIN_CONNECTIONS`]). Capped by `max_connections`.
    pub min_connections: usize,
    /// Most connections open or opening at once (see
    /// [`DEFAULT_MAX_CONNECTIONS`]). A `max_connections` of 0 makes every
    /// call wait (or fail, with no waiters allowed).
    pub max_connections: usize,
    /// Time an unused connection beyond `min_connections` is kept; `None`
    /// keeps it until it dies (see [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Option<Duration>,
    /// Most callers waiting for a connection; beyond it a call fails at once
    /// with [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) (see
    /// [`DEFAULT_MAX_WAITERS`]). 0 never waits.
    pub max_waiters: usize,
    /// Calls sharing one connection at once (see
    /// [`DEFAULT_MAX_CALLS_PER_CONNECTION`]); 0 counts as 1.
    pub max_calls_per_connection: usize,
    /// Delays between connect attempts after failures: the `n`th consecutive
    /// failure waits `reconnect.delay(n - 1)`. Each pool forks its own
    /// generator, so pools to one endpoint do not reconnect in lockstep.
    pub reconnect: Backoff,
}

impl Default for PoolConfig {
    /// The `DEFAULT_*` values, with equal-jitter reconnect delays from
    /// [`DEFAULT_RECONNECT_BASE`] up to [`DEFAULT_RECONNECT_MAX`].
    fn default() -> PoolConfig {
        PoolConfig {
            min_connections: DEFAULT_MIN_CONNECTIONS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_waiters: DEFAULT_MAX_WAITERS,
            max_calls_per_connection: DEFAULT_MAX_CALLS_PER_CONNECTION,
            // Equal jitter: each delay is at least half its ceiling, so the
            // delays grow with the failures, as a circuit breaker's do.
            reconnect: Backoff::new(DEFAULT_RECONNECT_BASE, DEFAULT_RECONNECT_MAX)
                .with_jitter(Jitter::Equal),
        }
    }
}

impl PoolConfig {
    /// The calls one connection takes at once, at least 1.
    pub(super) fn calls_per_connection(&self) -> usize {
        self.max_calls_per_connection.max(1)
    }

    /// The connections kept warm: `min_connections`, capped by the maximum.
    pub(super) fn warm_connections(&self) -> usize {
        self.min_connections.min(self.max_connections)
    }
}

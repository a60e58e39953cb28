//! [`PoolConfig`]: the limits and timings of a [`Pool`](super::Pool), with
//! their defaults.
//!
//! Every bound has a finite default (ARCHITECTURE.md, principle 6: "every queue is bounded"): the
//! connections per endpoint, the callers waiting for one, and the time an
//! unused connection is kept.

use std::time::Duration;

use crate::retry::{Backoff, Jitter};

// The defaults, documented (with why) on the `PoolConfig` fields they fill.
const DEFAULT_MAX_CONNECTIONS: usize = 16;
const DEFAULT_MIN_CONNECTIONS: usize = 0;
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const DEFAULT_MAX_WAITERS: usize = 1024;
const DEFAULT_MAX_CALLS_PER_CONNECTION: usize = 1;
const DEFAULT_RECONNECT_BASE: Duration = Duration::from_millis(50);
const DEFAULT_RECONNECT_MAX: Duration = Duration::from_secs(5);

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
    /// first call on and reopened when they die. Capped by `max_connections`.
    /// Default 0, so an idle pool holds no sockets.
    pub min_connections: usize,
    /// Most connections open or opening at once; a caller finding them all at
    /// their call limit waits. A `max_connections` of 0 makes every call wait
    /// (or fail, with no waiters allowed). Default 16: browsers keep about 6
    /// per host; servers talking to a backend want more.
    pub max_connections: usize,
    /// Time an unused connection beyond `min_connections` is kept; `None`
    /// keeps it until it dies. Default 90 s, as hyper's client pool, so the
    /// pool closes a connection before a typical server's keep-alive timeout
    /// would, rather than racing it.
    pub idle_timeout: Option<Duration>,
    /// Most callers waiting for a connection; beyond it a call fails at once
    /// with [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable). 0 never
    /// waits. Default 1024.
    pub max_waiters: usize,
    /// Calls sharing one connection at once; 0 counts as 1. Default 1, an
    /// exclusive checkout as HTTP/1.1 needs; pipelined protocols (RESP) can
    /// set more.
    pub max_calls_per_connection: usize,
    /// Delays between connect attempts after failures: the `n`th consecutive
    /// failure waits `reconnect.delay(n - 1)`. Each pool forks its own
    /// generator, so pools to one endpoint do not reconnect in lockstep.
    /// Default: a ceiling of 50 ms after the first failed connect, doubling
    /// after each further failure up to 5 s, with equal jitter (each delay at
    /// least half its ceiling, so the delays grow with the failures, as a
    /// circuit breaker's do).
    pub reconnect: Backoff,
}

impl Default for PoolConfig {
    /// The defaults each field's doc names: no warm connections, at most 16,
    /// closed after 90 s unused, 1024 waiters, one call per connection, and
    /// equal-jitter reconnect delays from 50 ms up to 5 s.
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

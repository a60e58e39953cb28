//! [`Metrics`]: counters, an in-flight gauge and a latency histogram that
//! [`Observe`](super::Observe) services fill and code reads.
//!
//! One `Metrics` is usually shared (it is an `Rc` handle) by every service of
//! one route or one peer, on one thread; a thread-per-core server keeps one per
//! worker and sums them when it reports.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::classify::{kind_index, kind_name, Outcome, ERROR_KINDS};
use super::histogram::Histogram;
use crate::error::ErrorKind;

/// Request counts by outcome, calls in flight, and latencies.
///
/// Clones are handles to the same metrics.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::observe::{Metrics, Outcome};
/// use ringo_service::ErrorKind;
///
/// let metrics = Metrics::new();
/// metrics.record(Outcome::Success, Duration::from_micros(120));
/// metrics.record(Outcome::Error(ErrorKind::Timeout), Duration::from_millis(5));
/// assert_eq!(metrics.requests(), 2);
/// assert_eq!(metrics.errors(ErrorKind::Timeout), 1);
/// assert_eq!(metrics.percentile(50.0), Some(Duration::from_micros(120)));
/// println!("{metrics}");
/// ```
#[derive(Clone, Default)]
pub struct Metrics {
    shared: Rc<Shared>,
}

/// The counters behind every handle. Single-threaded; the histogram's
/// `RefCell` is only borrowed inside one method call, never across an
/// `await`, so no borrow can ever clash.
#[derive(Default)]
struct Shared {
    successes: Cell<u64>,
    failures: Cell<u64>,
    /// Errors by kind, indexed by `kind_index`.
    errors: [Cell<u64>; ERROR_KINDS.len()],
    in_flight: Cell<u64>,
    cancelled: Cell<u64>,
    latency: RefCell<Histogram>,
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Counts one finished call and its latency.
    pub fn record(&self, outcome: Outcome, latency: Duration) {
        let counter = match outcome {
            Outcome::Success => &self.shared.successes,
            Outcome::Failure => &self.shared.failures,
            Outcome::Error(kind) => match self.shared.errors.get(kind_index(kind)) {
                Some(counter) => counter,
                None => return,
            },
        };
        bump(counter);
        self.shared.latency.borrow_mut().record(latency);
    }

    /// Calls that finished, whatever their outcome.
    pub fn requests(&self) -> u64 {
        self.successes()
            .saturating_add(self.failures())
            .saturating_add(self.total_errors())
    }

    /// Calls classified [`Outcome::Success`].
    pub fn successes(&self) -> u64 {
        self.shared.successes.get()
    }

    /// Calls that got a response classified [`Outcome::Failure`].
    pub fn failures(&self) -> u64 {
        self.shared.failures.get()
    }

    /// Calls that returned an error of `kind`.
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        self.shared
            .errors
            .get(kind_index(kind))
            .map_or(0, Cell::get)
    }

    /// Calls that returned an error of any kind.
    pub fn total_errors(&self) -> u64 {
        self.shared
            .errors
            .iter()
            .fold(0, |sum, counter| sum.saturating_add(counter.get()))
    }

    /// Calls started and not yet finished or dropped.
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.get()
    }

    /// Calls dropped before they finished (not counted in
    /// [`requests`](Metrics::requests), nor their latency recorded).
    pub fn cancelled(&self) -> u64 {
        self.shared.cancelled.get()
    }

    /// The latency `p` percent of finished calls took at most; see
    /// [`Histogram::percentile`].
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        self.shared.latency.borrow().percentile(p)
    }

    /// A copy of the latency histogram.
    pub fn latency(&self) -> Histogram {
        self.shared.latency.borrow().clone()
    }

    /// Marks a call as started; the guard counts it out when finished or
    /// dropped.
    pub(crate) fn start(&self) -> InFlight<'_> {
        bump(&self.shared.in_flight);
        InFlight {
            metrics: self,
            finished: false,
        }
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("requests", &self.requests())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Metrics {
    /// Two lines, for logs and debug endpoints:
    ///
    /// ```text
    /// requests 3: success 1, failure 0, error 2 (timeout 1, unavailable 1); in flight 0, cancelled 0
    /// latency p50 120µs p90 5ms p99 5ms p99.9 5ms max 5ms
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requests {}: success {}, failure {}, error {}",
            self.requests(),
            self.successes(),
            self.failures(),
            self.total_errors()
        )?;
        let mut kinds = ERROR_KINDS
            .iter()
            .map(|&kind| (kind, self.errors(kind)))
            .filter(|&(_, n)| n > 0)
            .peekable();
        if kinds.peek().is_some() {
            let listed: Vec<String> = kinds
                .map(|(kind, n)| format!("{} {n}", kind_name(kind)))
                .collect();
            write!(f, " ({})", listed.join(", "))?;
        }
        writeln!(
            f,
            "; in flight {}, cancelled {}",
            self.in_flight(),
            self.cancelled()
        )?;
        write!(f, "latency {}", self.shared.latency.borrow())
    }
}

/// A call in flight. [`finish`](InFlight::finish) records it; dropping it
/// unfinished counts it as cancelled.
pub(crate) struct InFlight<'a> {
    metrics: &'a Metrics,
    finished: bool,
}

impl InFlight<'_> {
    /// Records the finished call.
    pub(crate) fn finish(mut self, outcome: Outcome, latency: Duration) {
        self.finished = true;
        self.metrics.record(outcome, latency);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let shared = &self.metrics.shared;
        shared
            .in_flight
            .set(shared.in_flight.get().saturating_sub(1));
        if !self.finished {
            bump(&shared.cancelled);
        }
    }
}

fn bump(counter: &Cell<u64>) {
    counter.set(counter.get().saturating_add(1));
}

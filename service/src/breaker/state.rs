//! The circuit's state machine, apart from the service so it can be driven
//! with explicit times.
//!
//! ```text
//!            trips                  backoff over: admit one probe
//!  Closed ─────────────▶ Open ─────────────────────────▶ HalfOpen
//!    ▲                    ▲                                 │
//!    │                    └──── probe failed (longer backoff)┤
//!    └──────────────────────────── probe succeeded ─────────┘
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::policy::Accrual;
use crate::retry::Backoff;

/// Where a circuit is, as [`CircuitBreaker::state`](super::CircuitBreaker::state)
/// reports it.
///
/// # Examples
/// ```
/// use ringo_service::breaker::{CircuitBreaker, CircuitState};
/// use ringo_service::service_fn;
///
/// let breaker = CircuitBreaker::new(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n) }));
/// match breaker.state() {
///     CircuitState::Closed => println!("calls go through"),
///     CircuitState::Open { until, .. } => println!("rejecting until {until:?}"),
///     CircuitState::HalfOpen => println!("probing"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CircuitState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls fail at once with `CircuitOpen` until `until`.
    Open {
        /// When the next call may go through as a probe.
        until: Instant,
        /// How long this opening lasts (`until` minus when it opened).
        backoff: Duration,
    },
    /// The backoff is over: the next call is a probe (or one is in flight,
    /// and other calls are rejected until it finishes).
    HalfOpen,
}

/// What a call was admitted as; its result is recorded against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ticket {
    /// An ordinary call admitted while closed, in closed spell `epoch`.
    Closed { epoch: u64 },
    /// The one call let through while half-open.
    Probe,
}

/// A circuit and its failure accounting.
#[derive(Debug)]
pub(super) struct Circuit {
    accrual: Accrual,
    backoff: Backoff,
    phase: Phase,
    /// Failures in a row since the last success; only counted while closed.
    consecutive: u32,
    /// The last `accrual.window()` outcomes while closed, `true` = failure.
    window: VecDeque<bool>,
    /// How many of `window` are failures.
    window_failures: usize,
    /// Openings since the circuit last closed; the next opening lasts
    /// `backoff.delay(openings)`.
    openings: u32,
    /// Counts closed spells, so that a call admitted in an earlier spell and
    /// finishing in a later one is not counted.
    epoch: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        until: Instant,
        backoff: Duration,
    },
    /// `probing` is set while the probe is in flight; never set in the
    /// other phases.
    HalfOpen {
        probing: bool,
    },
}

/// Used when `now + backoff` does not fit an `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

impl Circuit {
    pub(super) fn new(accrual: Accrual, backoff: Backoff) -> Circuit {
        Circuit {
            accrual,
            backoff,
            phase: Phase::Closed,
            consecutive: 0,
            window: VecDeque::new(),
            window_failures: 0,
            openings: 0,
            epoch: 0,
        }
    }

    pub(super) fn accrual(&self) -> &Accrual {
        &self.accrual
    }

    pub(super) fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Lets a call through (and says as what), or `None` to reject it.
    pub(super) fn admit(&mut self, now: Instant) -> Option<Ticket> {
        match self.phase {
            Phase::Closed => Some(Ticket::Closed { epoch: self.epoch }),
            Phase::Open { until, .. } if now < until => None,
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                self.phase = Phase::HalfOpen { probing: true };
                Some(Ticket::Probe)
            }
            Phase::HalfOpen { probing: true } => None,
        }
    }

    /// Records how an admitted call went.
    pub(super) fn record(&mut self, ticket: Ticket, failed: bool, now: Instant) {
        match (ticket, self.phase) {
            (Ticket::Probe, Phase::HalfOpen { probing: true }) if failed => self.open(now),
            (Ticket::Probe, Phase::HalfOpen { probing: true }) => self.close(),
            (Ticket::Closed { epoch }, Phase::Closed) if epoch == self.epoch => {
                self.count(failed);
                if self
                    .accrual
                    .trips(self.consecutive, self.window_failures, self.window.len())
                {
                    self.open(now);
                }
            }
            // A result from an earlier spell, or a probe that no longer
            // matters: the circuit has moved on.
            _ => {}
        }
    }

    /// Forgets an admitted call that was dropped before it finished: a
    /// dropped probe lets the next call probe instead.
    pub(super) fn abandon(&mut self, ticket: Ticket) {
        if ticket == Ticket::Probe && self.phase == (Phase::HalfOpen { probing: true }) {
            self.phase = Phase::HalfOpen { probing: false };
        }
    }

    /// Whether a call now would be rejected.
    pub(super) fn rejects(&self, now: Instant) -> bool {
        match self.phase {
            Phase::Closed | Phase::HalfOpen { probing: false } => false,
            Phase::Open { until, .. } => now < until,
            Phase::HalfOpen { probing: true } => true,
        }
    }

    pub(super) fn state(&self, now: Instant) -> CircuitState {
        match self.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until, backoff } if now < until => CircuitState::Open { until, backoff },
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    fn count(&mut self, failed: bool) {
        self.consecutive = if failed {
            self.consecutive.saturating_add(1)
        } else {
            0
        };
        if self.accrual.window() == 0 {
            return;
        }
        self.window.push_back(failed);
        self.window_failures += usize::from(failed);
        while self.window.len() > self.accrual.window() {
            if self.window.pop_front() == Some(true) {
                self.window_failures -= 1;
            }
        }
    }

    fn open(&mut self, now: Instant) {
        let backoff = self.backoff.delay(self.openings);
        self.openings = self.openings.saturating_add(1);
        let until = now
            .checked_add(backoff)
            .or_else(|| now.checked_add(FAR_FUTURE))
            .unwrap_or(now);
        self.phase = Phase::Open { until, backoff };
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.consecutive = 0;
        self.window.clear();
        self.window_failures = 0;
        self.openings = 0;
        self.epoch = self.epoch.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Jitter;

    fn circuit(accrual: Accrual) -> Circuit {
        let backoff =
            Backoff::new(Duration::from_secs(1), Duration::from_secs(60)).with_jitter(Jitter::None);
        Circuit::new(accrual, backoff)
    }

    fn fail(circuit: &mut Circuit, now: Instant) {
        let ticket = circuit.admit(now).expect("closed circuit admits");
        circuit.record(ticket, true, now);
    }

    #[test]
    fn a_run_of_failures_opens_at_n_not_at_n_minus_one() {
        let now = Instant::now();
        let mut c = circuit(
            Accrual::new()
                .with_consecutive_failures(3)
                .with_failure_rate(0.5, 0),
        );
        fail(&mut c, now);
        fail(&mut c, now);
        assert_eq!(c.state(now), CircuitState::Closed, "2 of 3");
        fail(&mut c, now);
        assert!(matches!(c.state(now), CircuitState::Open { .. }), "3 of 3");
    }

    #[test]
    fn the_rate_rule_opens_only_above_the_threshold_in_a_full_window() {
        let now = Instant::now();
        let accrual = Accrual::new()
            .with_consecutive_failures(0)
            .with_failure_rate(0.5, 4);
        let mut c = circuit(accrual);
        for failed in [false, true, true] {
            let ticket = c.admit(now).expect("closed");
            c.record(ticket, failed, now);
        }
        assert_eq!(c.state(now), CircuitState::Closed, "window not full");
        let ticket = c.admit(now).expect("closed");
        c.record(ticket, false, now);
        assert_eq!(
            c.state(now),
            CircuitState::Closed,
            "2 of 4 is not above 50%"
        );
        fail(&mut c, now);
        assert!(
            matches!(c.state(now), CircuitState::Open { .. }),
            "3 of the last 4"
        );
    }

    #[test]
    fn a_result_from_an_earlier_closed_spell_is_not_counted() {
        let now = Instant::now();
        let mut c = circuit(Accrual::new().with_consecutive_failures(1));
        let stale = c.admit(now).expect("closed");
        fail(&mut c, now);
        let later = now + Duration::from_secs(2);
        let probe = c.admit(later).expect("probe");
        c.record(probe, false, later);
        assert_eq!(c.state(later), CircuitState::Closed);
        c.record(stale, true, later);
        assert_eq!(
            c.state(later),
            CircuitState::Closed,
            "stale failure ignored"
        );
    }

    #[test]
    fn a_dropped_probe_lets_the_next_call_probe() {
        let now = Instant::now();
        let mut c = circuit(Accrual::new().with_consecutive_failures(1));
        fail(&mut c, now);
        let later = now + Duration::from_secs(2);
        let probe = c.admit(later).expect("probe");
        assert_eq!(c.admit(later), None, "one probe at a time");
        assert!(c.rejects(later));
        c.abandon(probe);
        assert_eq!(c.admit(later), Some(Ticket::Probe));
    }

    #[test]
    fn each_failed_probe_doubles_the_backoff() {
        let now = Instant::now();
        let mut c = circuit(Accrual::new().with_consecutive_failures(1));
        fail(&mut c, now);
        let mut at = now;
        for expected in [1, 2, 4, 8] {
            let CircuitState::Open { backoff, until } = c.state(at) else {
                panic!("open")
            };
            assert_eq!(backoff, Duration::from_secs(expected));
            at = until;
            let probe = c.admit(at).expect("probe after the backoff");
            c.record(probe, true, at);
        }
    }
}

//! [`Accrual`]: when failures open a circuit breaker.
//!
//! Two rules, as in Finagle's failure accrual: a run of consecutive failures
//! catches a peer that died, and a failure rate over the last calls catches a
//! peer that fails often but not every time (a run of 5 is unlikely at 40%
//! failures, yet such a peer should still be avoided).

// The defaults, documented on the `Accrual::with_*` setters.
const DEFAULT_MAX_CONSECUTIVE_FAILURES: u32 = 5;
const DEFAULT_FAILURE_WINDOW: usize = 100;
const DEFAULT_MAX_FAILURE_RATE: f64 = 0.5;

/// Largest failure window, in calls; larger windows are lowered to it.
pub const MAX_FAILURE_WINDOW: usize = 10_000;

/// When a [`CircuitBreaker`](super::CircuitBreaker) opens: after a run of
/// consecutive failures, or when the failure rate over a window of recent
/// calls is above a threshold, whichever comes first.
///
/// # Examples
/// ```
/// use ringo_service::breaker::Accrual;
///
/// // Open after 3 failures in a row, or more than 20% failures in 50 calls.
/// let accrual = Accrual::new().with_consecutive_failures(3).with_failure_rate(0.2, 50);
/// assert_eq!(accrual.consecutive_failures(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accrual {
    /// 0 disables the rule.
    consecutive_failures: u32,
    /// Within 0..=1.
    max_failure_rate: f64,
    /// Within 0..=MAX_FAILURE_WINDOW; 0 disables the rule.
    window: usize,
}

impl Accrual {
    /// Opens after 5 consecutive failures, or when more than half of the last
    /// 100 calls failed (the defaults of the setters below).
    pub fn new() -> Accrual {
        Accrual {
            consecutive_failures: DEFAULT_MAX_CONSECUTIVE_FAILURES,
            max_failure_rate: DEFAULT_MAX_FAILURE_RATE,
            window: DEFAULT_FAILURE_WINDOW,
        }
    }

    /// Opens after `failures` consecutive failures: the call that completes
    /// the run opens it. 0 disables this rule. Default 5.
    pub fn with_consecutive_failures(mut self, failures: u32) -> Accrual {
        self.consecutive_failures = failures;
        self
    }

    /// Opens when more than `max_rate` (0..=1; NaN counts as 1, which never
    /// opens) of the last `window` calls failed; a rate equal to `max_rate`
    /// does not open it. A `window` of 0 disables this rule, one over
    /// [`MAX_FAILURE_WINDOW`] is lowered to it. The rule only applies once
    /// `window` calls have finished since the circuit last closed. Default:
    /// 0.5 over 100 calls.
    pub fn with_failure_rate(mut self, max_rate: f64, window: usize) -> Accrual {
        self.max_failure_rate = if max_rate.is_nan() {
            1.0
        } else {
            max_rate.clamp(0.0, 1.0)
        };
        self.window = window.min(MAX_FAILURE_WINDOW);
        self
    }

    /// The run of failures that opens the circuit (0: the rule is off).
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The failure rate that, exceeded, opens the circuit.
    pub fn max_failure_rate(&self) -> f64 {
        self.max_failure_rate
    }

    /// How many recent calls the rate is measured over (0: the rule is off).
    pub fn window(&self) -> usize {
        self.window
    }

    /// Whether `consecutive` failures in a row, or `failures` among the last
    /// `calls`, should open the circuit.
    pub(super) fn trips(&self, consecutive: u32, failures: usize, calls: usize) -> bool {
        let by_run = self.consecutive_failures > 0 && consecutive >= self.consecutive_failures;
        let by_rate = self.window > 0
            && calls >= self.window
            && failures as f64 > self.max_failure_rate * calls as f64;
        by_run || by_rate
    }
}

impl Default for Accrual {
    fn default() -> Accrual {
        Accrual::new()
    }
}

//! Time-decaying estimates behind the load metrics: the peak-EWMA latency
//! estimate ([`RttEstimate`]) and the fading failure count ([`Decaying`]).
//!
//! Both decay in *time*, not per sample, with a time constant `tau`: after
//! `tau` without news a value keeps `1/e` (37%) of its weight. Decaying per
//! sample would make a busy endpoint forget in milliseconds and an idle one
//! never; decaying in time treats them alike. Decay toward zero while no
//! sample arrives is what lets p2c try an endpoint again after a bad spell:
//! a penalised endpoint that gets no traffic slowly looks cheaper until it is
//! picked, and its next response says whether it has recovered.
//!
//! The values are computed from the last stored value and its time stamp on
//! every read, so nothing needs a timer.

use std::time::{Duration, Instant};

/// The share of its weight a value keeps after `elapsed`: `exp(-elapsed / tau)`.
/// A zero `tau` forgets at once.
fn retained(elapsed: Duration, tau: Duration) -> f64 {
    if tau.is_zero() {
        return 0.0;
    }
    (-elapsed.as_secs_f64() / tau.as_secs_f64()).exp()
}

/// A quantity that fades toward zero with time constant `tau`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decaying {
    /// The value at `stamp`.
    value: f64,
    stamp: Instant,
}

impl Decaying {
    /// Zero, as of `now`.
    pub(super) fn zero(now: Instant) -> Decaying {
        Decaying {
            value: 0.0,
            stamp: now,
        }
    }

    /// The value at `now`.
    pub(super) fn at(&self, now: Instant, tau: Duration) -> f64 {
        self.value * retained(now.saturating_duration_since(self.stamp), tau)
    }

    /// Adds `amount` at `now`.
    pub(super) fn add(&mut self, amount: f64, now: Instant, tau: Duration) {
        self.value = self.at(now, tau) + amount;
        self.stamp = now;
    }
}

/// A peak-EWMA latency estimate (Finagle's and linkerd's "peak EWMA").
///
/// - Until the first response it is the `default` it was made with.
/// - A response slower than the current estimate sets the estimate to its
///   latency at once: a degrading endpoint is avoided from its first slow
///   answer, not after an average catches up.
/// - A faster response pulls the estimate toward its latency with weight
///   `1 - exp(-elapsed / tau)`, `elapsed` being the time since the last
///   update: an exponentially weighted moving average in time.
/// - Between responses the estimate decays toward zero, as if zero-latency
///   samples arrived (tower's `PeakEwma` does the same), so an endpoint no
///   longer picked is eventually tried again.
#[derive(Debug, Clone, Copy)]
pub(super) struct RttEstimate {
    /// Nanoseconds, decaying from `nanos.stamp`.
    nanos: Decaying,
    /// Set by the first response; until then `nanos` holds the default.
    sampled: bool,
}

impl RttEstimate {
    /// An estimate of `default` until the first response.
    pub(super) fn new(default: Duration, now: Instant) -> RttEstimate {
        RttEstimate {
            nanos: Decaying {
                value: default.as_nanos() as f64,
                stamp: now,
            },
            sampled: false,
        }
    }

    /// The estimate at `now`, in nanoseconds.
    pub(super) fn nanos_at(&self, now: Instant, tau: Duration) -> f64 {
        self.nanos.at(now, tau)
    }

    /// Takes in a response that took `rtt`, arriving at `now`.
    pub(super) fn observe(&mut self, rtt: Duration, now: Instant, tau: Duration) {
        let rtt = rtt.as_nanos() as f64;
        let current = self.nanos.at(now, tau);
        let value = if !self.sampled || rtt > current {
            rtt
        } else {
            // `current` is the stored value after a zero sample's pull, so
            // adding this sample's share completes the moving average.
            let weight = 1.0 - retained(now.saturating_duration_since(self.nanos.stamp), tau);
            current + rtt * weight
        };
        self.nanos = Decaying { value, stamp: now };
        self.sampled = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAU: Duration = Duration::from_secs(10);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 1e-9 + 1e-6
    }

    #[test]
    fn the_default_stands_until_the_first_response_replaces_it() {
        let t0 = Instant::now();
        let mut rtt = RttEstimate::new(ms(30), t0);
        assert!(close(rtt.nanos_at(t0, TAU), 30e6));
        rtt.observe(ms(1), t0, TAU);
        assert!(
            close(rtt.nanos_at(t0, TAU), 1e6),
            "a faster first sample replaces the default"
        );
    }

    #[test]
    fn a_slow_response_raises_the_estimate_at_once() {
        let t0 = Instant::now();
        let mut rtt = RttEstimate::new(ms(30), t0);
        rtt.observe(ms(1), t0, TAU);
        rtt.observe(ms(500), t0 + ms(1), TAU);
        assert!(close(rtt.nanos_at(t0 + ms(1), TAU), 500e6));
    }

    #[test]
    fn a_fast_response_moves_the_estimate_by_the_time_since_the_last() {
        let t0 = Instant::now();
        let mut rtt = RttEstimate::new(ms(30), t0);
        rtt.observe(ms(100), t0, TAU);
        // After one time constant, the sample weighs 1 - 1/e.
        rtt.observe(ms(0), t0 + TAU, TAU);
        let expected = 100e6 * (-1.0f64).exp();
        assert!(close(rtt.nanos_at(t0 + TAU, TAU), expected));
        let mut quick = RttEstimate::new(ms(30), t0);
        quick.observe(ms(100), t0, TAU);
        quick.observe(ms(10), t0 + ms(1), TAU);
        let kept = quick.nanos_at(t0 + ms(1), TAU);
        assert!(
            kept > 99e6,
            "a sample 1 ms later barely moves a 10 s average: {kept}"
        );
    }

    #[test]
    fn an_idle_estimate_decays_toward_zero() {
        let t0 = Instant::now();
        let mut rtt = RttEstimate::new(ms(30), t0);
        rtt.observe(ms(1000), t0, TAU);
        let later = rtt.nanos_at(t0 + TAU * 3, TAU);
        assert!(close(later, 1e9 * (-3.0f64).exp()));
        assert!(
            close(rtt.nanos_at(t0, TAU), 1e9),
            "reading does not change it"
        );
    }

    #[test]
    fn a_zero_time_constant_forgets_at_once_without_dividing_by_zero() {
        let t0 = Instant::now();
        let mut failures = Decaying::zero(t0);
        failures.add(1.0, t0, Duration::ZERO);
        assert_eq!(failures.at(t0, Duration::ZERO), 0.0);
        let mut rtt = RttEstimate::new(ms(30), t0);
        rtt.observe(ms(5), t0, Duration::ZERO);
        assert_eq!(rtt.nanos_at(t0 + ms(1), Duration::ZERO), 0.0);
    }

    #[test]
    fn failures_add_up_and_fade() {
        let t0 = Instant::now();
        let tau = Duration::from_secs(1);
        let mut failures = Decaying::zero(t0);
        failures.add(1.0, t0, tau);
        failures.add(1.0, t0, tau);
        assert!(close(failures.at(t0, tau), 2.0));
        assert!(close(failures.at(t0 + tau, tau), 2.0 * (-1.0f64).exp()));
        assert!(
            close(failures.at(t0 - tau, tau), 2.0),
            "a clock read earlier does not grow it"
        );
    }
}

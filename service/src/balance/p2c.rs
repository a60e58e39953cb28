//! Power of two choices: draw two distinct candidates at random, take the
//! less loaded; and the [`Load`] metrics that say which one that is.
//!
//! Picking the least loaded of *all* endpoints sends every caller to the same
//! one at once (herding); picking one at random ignores load. Two random
//! choices get almost all of the benefit of the full scan at constant cost
//! and without herding (Mitzenmacher, "The Power of Two Choices in Randomized
//! Load Balancing", 2001) — the scheme of Finagle, linkerd and tower.
//!
//! The random numbers come from the crate's small `Rng` kept in the
//! balancer itself, so a fixed seed makes every pick reproducible in tests.

use std::time::Instant;

use super::set::{Endpoint, Settings};
use crate::rng::Rng;

/// What "less loaded" means when p2c compares two endpoints.
///
/// Both metrics count failures (as the [`Balance`](super::Balance) classifier
/// decides them), so an endpoint that fails fast — and so never has calls in
/// flight and answers in no time — does not look like the healthiest one.
///
/// # Examples
/// ```
/// use ringo_service::balance::{Balance, Load};
///
/// let balance: Balance<&str, ()> = Balance::new(Load::PendingRequests);
/// assert_eq!(balance.load(), Load::PendingRequests);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Load {
    /// Cost = calls in flight + recent failures, each failure weighing as one
    /// call in flight fading with the failure penalty as time constant. Cheap,
    /// and right when endpoints answer alike.
    PendingRequests,
    /// Cost = peak-EWMA latency x (calls in flight + 1), a failure counting as
    /// a response that took at least the failure penalty. Avoids slow
    /// endpoints from their first slow answer. The default.
    #[default]
    PeakEwma,
}

impl Load {
    /// The cost of sending one more call to `endpoint` at `now`; lower wins.
    pub(super) fn cost<S>(self, endpoint: &Endpoint<S>, settings: &Settings, now: Instant) -> f64 {
        let pending = endpoint.pending() as f64;
        match self {
            Load::PendingRequests => pending + endpoint.failures(now, settings.failure_penalty),
            Load::PeakEwma => endpoint.rtt_nanos(now, settings.decay) * (pending + 1.0),
        }
    }
}

/// Two distinct values uniform in `0..n` (for `n` ≥ 2).
fn two_below(rng: &Rng, n: usize) -> (usize, usize) {
    let first = rng.below(n);
    let second = rng.below(n - 1);
    (first, if second >= first { second + 1 } else { second })
}

/// Picks among `candidates` by two random choices, the lower of `cost` winning
/// (the first drawn on a tie); `None` when there are no candidates.
pub(super) fn choose(
    rng: &Rng,
    candidates: &[usize],
    cost: impl Fn(usize) -> f64,
) -> Option<usize> {
    match candidates {
        [] => None,
        [only] => Some(*only),
        _ => {
            let (a, b) = two_below(rng, candidates.len());
            let (a, b) = (*candidates.get(a)?, *candidates.get(b)?);
            Some(if cost(b) < cost(a) { b } else { a })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_choices_are_distinct_and_cover_every_pair() {
        let rng = Rng::seeded(7);
        let mut seen = [[0u32; 4]; 4];
        for _ in 0..10_000 {
            let (a, b) = two_below(&rng, 4);
            assert_ne!(a, b);
            seen[a][b] += 1;
        }
        for (a, row) in seen.iter().enumerate() {
            for (b, count) in row.iter().enumerate() {
                if a != b {
                    // 10 000 draws over 12 ordered pairs: about 833 each.
                    assert!(
                        (600..1100).contains(count),
                        "pair ({a}, {b}) drawn {count} times"
                    );
                }
            }
        }
    }

    #[test]
    fn choose_takes_the_cheaper_of_two_and_copes_with_tiny_sets() {
        let rng = Rng::seeded(3);
        assert_eq!(choose(&rng, &[], |_| 0.0), None);
        assert_eq!(choose(&rng, &[5], |_| 0.0), Some(5));
        // Of two candidates both are always drawn, so the cheaper always wins.
        for _ in 0..100 {
            assert_eq!(choose(&rng, &[4, 9], |i| i as f64), Some(4));
        }
        // Of three, the dearest can never win: it loses whichever it meets.
        let costs = [1.0, 2.0, 3.0];
        let picks: Vec<_> = (0..300)
            .filter_map(|_| choose(&rng, &[0, 1, 2], |i| costs[i]))
            .collect();
        assert!(!picks.contains(&2));
        assert!(picks.contains(&0) && picks.contains(&1));
    }
}

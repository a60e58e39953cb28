//! [`Backoff`]: exponential delays with jitter, from a tiny per-instance PRNG.
//!
//! Retries and circuit breakers wait longer after each failure so a struggling
//! peer gets room to recover, and they add jitter so that many clients failing
//! at the same moment do not come back at the same moment (the "thundering
//! herd"). The random numbers come from the crate's small `Rng` kept in the
//! `Backoff` itself, so a fixed seed makes every delay reproducible in tests.

use std::fmt;
use std::time::Duration;

use crate::rng::Rng;

/// Default delay ceiling of the first retry; documented on [`Backoff::default`].
const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(10);

/// Default cap on any one delay; documented on [`Backoff::default`].
const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(1);

/// How much of a delay is random.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::retry::{Backoff, Jitter};
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).with_jitter(Jitter::Equal);
/// let delay = backoff.delay(0);
/// assert!(delay >= Duration::from_millis(50) && delay <= Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// Uniform in `[0, ceiling]` ("full jitter"): spreads clients the most.
    /// The default, and what retries use.
    #[default]
    Full,
    /// Uniform in `[ceiling / 2, ceiling]` ("equal jitter"): each delay is at
    /// least half its ceiling, so successive delays are guaranteed to grow
    /// (until the cap). What circuit breakers use.
    Equal,
    /// Exactly the ceiling.
    None,
}

/// Exponential backoff: the `n`th delay (from 0) has the ceiling
/// `min(max, base * 2^n)` and is drawn below it as [`Jitter`] says.
///
/// Cloning copies the generator state, so a clone yields the same delays;
/// use [`fork`](Backoff::fork) for an independent one.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::retry::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1)).with_seed(7);
/// assert_eq!(backoff.ceiling(3), Duration::from_millis(80));
/// assert!(backoff.delay(3) <= Duration::from_millis(80));
/// assert_eq!(backoff.ceiling(20), Duration::from_secs(1));
/// ```
#[derive(Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: Jitter,
    rng: Rng,
}

impl Backoff {
    /// Delays starting below `base` and doubling up to `max`, with full jitter
    /// and a random seed.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            jitter: Jitter::Full,
            rng: Rng::random(),
        }
    }

    /// This backoff with a fixed seed: the same seed gives the same delays.
    pub fn with_seed(mut self, seed: u64) -> Backoff {
        self.rng = Rng::seeded(seed);
        self
    }

    /// This backoff with another kind of jitter.
    pub fn with_jitter(mut self, jitter: Jitter) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// The largest delay for the `n`th retry (from 0): `min(max, base * 2^n)`.
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A delay for the `n`th retry (from 0), advancing the generator.
    pub fn delay(&self, n: u32) -> Duration {
        let ceiling = self.ceiling(n);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let floor_nanos = match self.jitter {
            Jitter::Full => 0,
            Jitter::Equal => ceiling_nanos / 2,
            Jitter::None => return ceiling,
        };
        let span = ceiling_nanos - floor_nanos;
        let offset = match span.checked_add(1) {
            Some(range) => self.rng.next_u64() % range,
            None => self.rng.next_u64(),
        };
        Duration::from_nanos(floor_nanos + offset)
    }

    /// A backoff with the same settings and its own generator, seeded from
    /// this one's: layers fork one per service so instances do not retry in
    /// lockstep, while a seeded layer stays reproducible.
    pub fn fork(&self) -> Backoff {
        Backoff {
            rng: Rng::seeded(self.rng.next_u64()),
            ..self.clone()
        }
    }
}

impl Default for Backoff {
    /// 10 ms doubling up to 1 s, full jitter: the delay ceiling of the first
    /// retry is 10 ms, it doubles per retry, and stops doubling at 1 s, the
    /// cap on any one delay.
    fn default() -> Backoff {
        Backoff::new(DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY)
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("base", &self.base)
            .field("max", &self.max)
            .field("jitter", &self.jitter)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap_without_overflow() {
        let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        let ceilings: Vec<_> = (0..6).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [10, 20, 40, 80, 100, 100]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_millis(100));
        let huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert!(huge.delay(70) <= huge.ceiling(70));
    }

    #[test]
    fn each_jitter_stays_within_its_range() {
        for (name, jitter, low_half) in [
            ("full", Jitter::Full, false),
            ("equal", Jitter::Equal, true),
        ] {
            let backoff = Backoff::new(Duration::from_millis(8), Duration::from_secs(1))
                .with_seed(1)
                .with_jitter(jitter);
            for n in 0..8 {
                for _ in 0..100 {
                    let delay = backoff.delay(n);
                    let ceiling = backoff.ceiling(n);
                    assert!(delay <= ceiling, "{name}: {delay:?} over {ceiling:?}");
                    assert!(
                        !low_half || delay >= ceiling / 2,
                        "{name}: {delay:?} under half of {ceiling:?}"
                    );
                }
            }
        }
        let none = Backoff::new(Duration::from_millis(8), Duration::from_secs(1))
            .with_jitter(Jitter::None);
        assert_eq!(none.delay(2), Duration::from_millis(32));
    }

    #[test]
    fn forks_differ_from_each_other_but_repeat_from_the_same_seed() {
        let seeded = || Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).with_seed(9);
        let parent = seeded();
        let (a, b) = (parent.fork(), parent.fork());
        assert_ne!(a.rng.next_u64(), b.rng.next_u64());
        assert_eq!(
            seeded().fork().rng.next_u64(),
            seeded().fork().rng.next_u64()
        );
    }
}

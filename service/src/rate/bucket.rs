//! The token bucket behind [`RateLimit`](super::RateLimit), kept as a single
//! timestamp (GCRA, the "generic cell rate algorithm" of ATM traffic shaping,
//! ITU-T I.371): O(1) per call and no background task refilling tokens.
//!
//! Instead of a token count, the bucket stores `tat`, the theoretical arrival
//! time: when the next call would be due if calls came exactly at the rate.
//! A call at `now` is allowed from `max(tat, now) - tolerance` on, where
//! `tolerance = (burst - 1) * interval` lets a full bucket pass `burst` calls
//! at once; taking a slot moves `tat` on by one `interval`. An idle bucket
//! refills by `tat` falling behind `now`.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::Rate;

/// A token bucket for one runtime's tasks.
#[derive(Debug)]
pub(super) struct Bucket {
    /// Time between two slots at the steady rate: `per / num`.
    interval: Duration,
    /// How far ahead of the steady rate a call may run: `(burst - 1) * interval`.
    tolerance: Duration,
    /// The theoretical arrival time; `None` until the first call (a full bucket).
    tat: Cell<Option<Instant>>,
}

/// A slot taken by [`Bucket::reserve`], so a caller that gives up can return it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reservation {
    /// `tat` before the slot was taken.
    before: Option<Instant>,
    /// `tat` right after.
    after: Instant,
}

impl Bucket {
    pub(super) fn new(rate: Rate) -> Bucket {
        let interval = rate.per() / rate.num();
        let tolerance = interval.saturating_mul(rate.burst().saturating_sub(1));
        Bucket {
            interval,
            tolerance,
            tat: Cell::new(None),
        }
    }

    /// When a call arriving at `now` may start, and the `tat` that taking its
    /// slot would leave.
    fn next_slot(&self, now: Instant) -> (Instant, Instant) {
        let tat = self.tat.get().map_or(now, |tat| tat.max(now));
        // Before the platform's earliest instant only when the bucket is full.
        let allowed = tat
            .checked_sub(self.tolerance)
            .map_or(now, |at| at.max(now));
        // Past the platform's latest instant only after centuries of backlog;
        // staying put then merely lets one more call through.
        let after = tat.checked_add(self.interval).unwrap_or(tat);
        (allowed, after)
    }

    /// Takes the next slot, now or in the future, and says when it starts.
    pub(super) fn reserve(&self, now: Instant) -> (Instant, Reservation) {
        let (allowed, after) = self.next_slot(now);
        let reservation = Reservation {
            before: self.tat.replace(Some(after)),
            after,
        };
        (allowed, reservation)
    }

    /// Takes a slot if one is free at `now`; otherwise says how long until one is.
    pub(super) fn try_take(&self, now: Instant) -> Result<(), Duration> {
        let (allowed, after) = self.next_slot(now);
        if allowed > now {
            return Err(allowed - now);
        }
        self.tat.set(Some(after));
        Ok(())
    }

    /// Whether a call at `now` would have to wait.
    pub(super) fn is_empty(&self, now: Instant) -> bool {
        self.next_slot(now).0 > now
    }

    /// Gives back a slot whose caller gave up. Only the latest reservation can
    /// be undone exactly; an earlier one stays taken, costing one slot.
    pub(super) fn cancel(&self, reservation: Reservation) {
        if self.tat.get() == Some(reservation.after) {
            self.tat.set(reservation.before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_passes_the_burst_then_spaces_calls_by_the_interval() {
        let bucket = Bucket::new(Rate::new(10, ms(100)).with_burst(5));
        let t0 = Instant::now();
        let starts: Vec<Duration> = (0..8).map(|_| bucket.reserve(t0).0 - t0).collect();
        assert_eq!(
            starts,
            [ms(0), ms(0), ms(0), ms(0), ms(0), ms(10), ms(20), ms(30)]
        );
    }

    #[test]
    fn try_take_allows_burst_calls_and_rejects_call_burst_plus_one() {
        let bucket = Bucket::new(Rate::new(10, ms(100)).with_burst(3));
        let t0 = Instant::now();
        for n in 0..3 {
            assert_eq!(bucket.try_take(t0), Ok(()), "call {n} of the burst");
        }
        assert_eq!(
            bucket.try_take(t0),
            Err(ms(10)),
            "call 4 waits one interval"
        );
        assert!(bucket.is_empty(t0));
        assert_eq!(
            bucket.try_take(t0 + ms(10)),
            Ok(()),
            "a slot is due after one interval"
        );
    }

    #[test]
    fn an_idle_bucket_refills_up_to_the_burst_only() {
        let bucket = Bucket::new(Rate::new(10, ms(100)).with_burst(2));
        let t0 = Instant::now();
        for _ in 0..5 {
            bucket.reserve(t0);
        }
        let later = t0 + ms(1000);
        assert_eq!(bucket.try_take(later), Ok(()));
        assert_eq!(bucket.try_take(later), Ok(()));
        assert_eq!(
            bucket.try_take(later),
            Err(ms(10)),
            "idle time never banks more than the burst"
        );
    }

    #[test]
    fn cancelling_the_latest_reservation_returns_its_slot() {
        let bucket = Bucket::new(Rate::new(10, ms(100)).with_burst(1));
        let t0 = Instant::now();
        bucket.reserve(t0);
        let (start, second) = bucket.reserve(t0);
        assert_eq!(start - t0, ms(10));
        bucket.cancel(second);
        assert_eq!(
            bucket.reserve(t0).0 - t0,
            ms(10),
            "the next caller gets the returned slot"
        );
    }

    #[test]
    fn cancelling_an_earlier_reservation_leaves_later_ones_alone() {
        let bucket = Bucket::new(Rate::new(10, ms(100)).with_burst(1));
        let t0 = Instant::now();
        bucket.reserve(t0);
        let (_, second) = bucket.reserve(t0);
        let (third, _) = bucket.reserve(t0);
        bucket.cancel(second);
        assert_eq!(third - t0, ms(20));
        assert_eq!(
            bucket.reserve(t0).0 - t0,
            ms(30),
            "later slots keep their places"
        );
    }
}

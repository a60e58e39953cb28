//! [`Budget`]: caps retries at a share of recent requests, shared by many
//! [`Retry`](super::Retry) services.
//!
//! Retrying every failure turns an overloaded peer into a dead one: each
//! failed request comes back two or three times. A budget bounds the extra
//! load. It follows Finagle's `RetryBudget`: every original request deposits
//! `retry_ratio` of a token, every retry withdraws one whole token, and
//! deposits and withdrawals are forgotten after a `ttl` window; on top, a
//! reserve of `min_retries_per_sec * ttl` tokens lets a quiet client still
//! retry now and then. So over any `ttl`, retries ≤ `retry_ratio` × requests +
//! `min_retries_per_sec` × `ttl`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

// The defaults, documented on `Budget::default`.
const DEFAULT_BUDGET_TTL: Duration = Duration::from_secs(10);
const DEFAULT_MIN_RETRIES_PER_SEC: u32 = 10;
const DEFAULT_RETRY_RATIO: f64 = 0.2;

/// Shortest `ttl` a budget accepts; shorter ones are raised to it.
pub const MIN_BUDGET_TTL: Duration = Duration::from_secs(1);

/// Longest `ttl` a budget accepts; longer ones are lowered to it.
pub const MAX_BUDGET_TTL: Duration = Duration::from_secs(60);

/// Largest retry ratio a budget accepts (ten retries per request); larger
/// ratios are lowered to it, and negative or NaN ones count as 0.
pub const MAX_RETRY_RATIO: f64 = 10.0;

/// The window is kept as this many slices, each `ttl / SLICES` long; a slice
/// is forgotten as a whole, so the window is between `ttl - ttl / SLICES` and
/// `ttl` long (Finagle's `WindowedAdder` uses 10 as well).
const SLICES: usize = 10;

/// Tokens per retry: fixed point, so a ratio of 0.2 deposits 200.
const TOKENS_PER_RETRY: i64 = 1000;

/// A retry budget, shared by cloning (clones are handles to one budget).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::retry::Budget;
///
/// // 20% of requests may be retried, with no floor.
/// let budget = Budget::new(Duration::from_secs(10), 0, 0.2);
/// for _ in 0..10 {
///     budget.deposit();
/// }
/// assert!(budget.try_withdraw());
/// assert!(budget.try_withdraw());
/// assert!(!budget.try_withdraw(), "two retries per ten requests");
/// ```
#[derive(Clone)]
pub struct Budget {
    window: Rc<RefCell<Window>>,
}

impl Budget {
    /// A budget allowing `retry_ratio` retries per request plus
    /// `min_retries_per_sec` retries per second, over a sliding `ttl`.
    ///
    /// `ttl` is kept within [`MIN_BUDGET_TTL`]..=[`MAX_BUDGET_TTL`] and
    /// `retry_ratio` within 0..=[`MAX_RETRY_RATIO`].
    pub fn new(ttl: Duration, min_retries_per_sec: u32, retry_ratio: f64) -> Budget {
        let ttl = ttl.clamp(MIN_BUDGET_TTL, MAX_BUDGET_TTL);
        let ratio = if retry_ratio.is_nan() {
            0.0
        } else {
            retry_ratio.clamp(0.0, MAX_RETRY_RATIO)
        };
        let window = Window {
            start: Instant::now(),
            slice: ttl / SLICES as u32,
            slots: [Slot::default(); SLICES],
            // Both products are small (at most u32::MAX * 60 * 1000 and
            // 10 * 1000), so the float-to-int casts are exact enough and
            // saturate rather than wrap.
            reserve: (f64::from(min_retries_per_sec) * ttl.as_secs_f64() * TOKENS_PER_RETRY as f64)
                as i64,
            deposit: (ratio * TOKENS_PER_RETRY as f64).round() as i64,
        };
        Budget {
            window: Rc::new(RefCell::new(window)),
        }
    }

    /// Records an original request, earning `retry_ratio` of a retry.
    pub fn deposit(&self) {
        self.deposit_at(Instant::now());
    }

    /// Spends one retry if the budget has one; `false` means do not retry.
    pub fn try_withdraw(&self) -> bool {
        self.try_withdraw_at(Instant::now())
    }

    /// How many retries the budget would allow now.
    pub fn balance(&self) -> u64 {
        self.balance_at(Instant::now())
    }

    fn deposit_at(&self, now: Instant) {
        let mut window = self.window.borrow_mut();
        let amount = window.deposit;
        window.add(now, amount);
    }

    fn try_withdraw_at(&self, now: Instant) -> bool {
        let mut window = self.window.borrow_mut();
        if window.available(now) < TOKENS_PER_RETRY {
            return false;
        }
        window.add(now, -TOKENS_PER_RETRY);
        true
    }

    fn balance_at(&self, now: Instant) -> u64 {
        let available = self.window.borrow().available(now);
        u64::try_from(available / TOKENS_PER_RETRY).unwrap_or(0)
    }
}

impl Default for Budget {
    /// A budget allowing 0.2 retries per request (one retry per five
    /// requests) plus 10 retries per second whatever the request rate, over a
    /// 10 s window after which deposits and withdrawals are forgotten:
    /// `Budget::new(Duration::from_secs(10), 10, 0.2)`.
    fn default() -> Budget {
        Budget::new(
            DEFAULT_BUDGET_TTL,
            DEFAULT_MIN_RETRIES_PER_SEC,
            DEFAULT_RETRY_RATIO,
        )
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("balance", &self.balance())
            .finish_non_exhaustive()
    }
}

/// The sliding window of net deposits, in tokens.
#[derive(Debug)]
struct Window {
    /// Slice numbers count `slice`s from here.
    start: Instant,
    slice: Duration,
    /// Slice `n` lives in slot `n % SLICES` until slice `n + SLICES` reuses it.
    slots: [Slot; SLICES],
    /// Tokens always available on top of the window's sum (the floor).
    reserve: i64,
    /// Tokens one request deposits.
    deposit: i64,
}

/// One slice of the window.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Which slice the sum belongs to.
    slice: u64,
    /// Net tokens deposited during that slice (negative after withdrawals).
    sum: i64,
}

impl Window {
    fn slice_at(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        u64::try_from(elapsed / self.slice.as_nanos().max(1)).unwrap_or(u64::MAX)
    }

    /// Tokens available at `now`: the reserve plus the live slices' sums.
    fn available(&self, now: Instant) -> i64 {
        let current = self.slice_at(now);
        let live = self
            .slots
            .iter()
            .filter(|slot| current.saturating_sub(slot.slice) < SLICES as u64);
        self.reserve.saturating_add(live.map(|slot| slot.sum).sum())
    }

    fn add(&mut self, now: Instant, amount: i64) {
        let current = self.slice_at(now);
        if let Some(slot) = self.slots.get_mut((current % SLICES as u64) as usize) {
            if slot.slice != current {
                *slot = Slot {
                    slice: current,
                    sum: 0,
                };
            }
            slot.sum = slot.sum.saturating_add(amount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_capped_at_the_ratio_of_requests() {
        let budget = Budget::new(Duration::from_secs(10), 0, 0.2);
        let now = Instant::now();
        for _ in 0..100 {
            budget.deposit_at(now);
        }
        let retries = (0..100).take_while(|_| budget.try_withdraw_at(now)).count();
        assert_eq!(retries, 20);
        assert_eq!(budget.balance_at(now), 0);
    }

    #[test]
    fn the_floor_allows_retries_without_requests() {
        let budget = Budget::new(Duration::from_secs(2), 5, 0.0);
        let now = Instant::now();
        assert_eq!(budget.balance_at(now), 10, "5 per second over 2 s");
        let retries = (0..100).take_while(|_| budget.try_withdraw_at(now)).count();
        assert_eq!(retries, 10);
    }

    #[test]
    fn deposits_and_withdrawals_expire_after_the_ttl() {
        let budget = Budget::new(Duration::from_secs(1), 0, 1.0);
        let start = budget.window.borrow().start;
        budget.deposit_at(start);
        budget.deposit_at(start);
        assert!(budget.try_withdraw_at(start));
        assert_eq!(budget.balance_at(start + Duration::from_millis(500)), 1);
        assert_eq!(
            budget.balance_at(start + Duration::from_secs(1)),
            0,
            "the deposits expired"
        );
        // A withdrawal expires too: it no longer counts against new deposits.
        let later = start + Duration::from_secs(5);
        assert!(!budget.try_withdraw_at(later));
        budget.deposit_at(later);
        assert_eq!(budget.balance_at(later), 1);
    }

    #[test]
    fn settings_out_of_range_are_clamped() {
        let cases = [
            (
                "ttl below the minimum",
                Budget::new(Duration::ZERO, 1, 0.0),
                1,
            ),
            (
                "ttl above the maximum",
                Budget::new(Duration::from_secs(3600), 1, 0.0),
                60,
            ),
            (
                "negative ratio",
                Budget::new(Duration::from_secs(1), 0, -1.0),
                0,
            ),
            (
                "nan ratio",
                Budget::new(Duration::from_secs(1), 0, f64::NAN),
                0,
            ),
        ];
        for (name, budget, balance) in cases {
            budget.deposit();
            assert_eq!(budget.balance(), balance, "{name}");
        }
        let huge = Budget::new(Duration::from_secs(1), 0, 1e9);
        huge.deposit();
        assert_eq!(huge.balance(), 10, "ratio capped at MAX_RETRY_RATIO");
    }
}

//! [`Histogram`]: latencies in log-linear buckets, HdrHistogram-style.
//!
//! Percentiles need the distribution, not a mean, and a server records one
//! latency per request, so recording must be O(1) and memory fixed. Like
//! HdrHistogram (Gil Tene, <https://github.com/HdrHistogram/HdrHistogram>),
//! values are counted in buckets whose width doubles with each power of two
//! while each holds 128 linear sub-buckets: a recorded value is off by less
//! than 1/128 of itself, i.e. 2 significant decimal digits, from 1 µs up to
//! [`MAX_LATENCY`], in 2,560 counters (20 KiB).

use std::fmt;
use std::time::Duration;

/// Longest latency told apart; longer ones are recorded as this.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// Values below `2 * SUB_BUCKETS_HALF` are counted exactly; above, each
/// power-of-two range is split into `SUB_BUCKETS_HALF` sub-buckets. 128 is
/// the least power of two ≥ 100, giving 2 significant digits (HdrHistogram's
/// `sub_bucket_count = 2^ceil(log2(2 * 10^digits))`, halved).
const SUB_BUCKET_HALF_BITS: u32 = 7;
const SUB_BUCKETS_HALF: usize = 1 << SUB_BUCKET_HALF_BITS;
/// `(v | SUB_BUCKET_MASK)` has its top bit at or above bit 7, so bucket 0
/// covers 0..256 one by one.
const SUB_BUCKET_MASK: u64 = (2 << SUB_BUCKET_HALF_BITS) - 1;

/// [`MAX_LATENCY`] in microseconds, the unit values are counted in.
const MAX_MICROS: u64 = MAX_LATENCY.as_secs() * 1_000_000;

/// Buckets until `256 << (buckets - 1)` exceeds [`MAX_MICROS`]: 60 s is
/// under 2^26 µs, so 26 - 8 + 1.
const BUCKETS: usize = 19;

/// Counters: bucket 0 has 256, the others 128 each.
const COUNTERS: usize = (BUCKETS + 1) * SUB_BUCKETS_HALF;

/// Counts of latencies, with percentile queries.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ringo_service::observe::Histogram;
///
/// let mut histogram = Histogram::new();
/// for micros in 1..=100 {
///     histogram.record(Duration::from_micros(micros));
/// }
/// assert_eq!(histogram.percentile(50.0), Some(Duration::from_micros(50)));
/// assert_eq!(histogram.percentile(99.9), Some(Duration::from_micros(100)));
/// ```
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    /// Sum of recorded values in µs, for the mean.
    sum: u64,
    /// Smallest and largest value recorded, in µs; meaningless while empty.
    min: u64,
    max: u64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; COUNTERS].into_boxed_slice(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Counts one latency, in O(1). Sub-microsecond parts are dropped and
    /// values over [`MAX_LATENCY`] are recorded as it.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .min(MAX_MICROS);
        if let Some(counter) = self.counts.get_mut(index_of(micros)) {
            *counter = counter.saturating_add(1);
        }
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(micros);
        self.min = self.min.min(micros);
        self.max = self.max.max(micros);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The smallest latency recorded, exact to the microsecond.
    pub fn min(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_micros(self.min))
    }

    /// The largest latency recorded, exact to the microsecond.
    pub fn max(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_micros(self.max))
    }

    /// The mean latency.
    pub fn mean(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_micros(self.sum / self.count))
    }

    /// The latency `p` percent of calls took at most (`p` in 0..=100; 99.9
    /// for p99.9), by nearest rank. Exact below 256 µs; above, the top of
    /// the value's sub-bucket, at most 1/128 over, and never past the
    /// recorded maximum. `None` while empty.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.is_empty() {
            return None;
        }
        let p = if p.is_nan() {
            100.0
        } else {
            p.clamp(0.0, 100.0)
        };
        // The float product is at most `count`, so the cast cannot wrap.
        let rank = ((p / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (index, &counter) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(counter);
            if seen >= rank {
                let micros = highest_in(index).clamp(self.min, self.max);
                return Some(Duration::from_micros(micros));
            }
        }
        self.max()
    }
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("min", &self.min())
            .field("max", &self.max())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Histogram {
    /// `p50 50µs p90 90µs p99 99µs p99.9 100µs max 100µs`, or `no samples`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(max), Some(p50), Some(p90), Some(p99), Some(p999)) = (
            self.max(),
            self.percentile(50.0),
            self.percentile(90.0),
            self.percentile(99.0),
            self.percentile(99.9),
        ) else {
            return f.write_str("no samples");
        };
        write!(
            f,
            "p50 {p50:?} p90 {p90:?} p99 {p99:?} p99.9 {p999:?} max {max:?}"
        )
    }
}

/// The bucket of `micros` (at most [`MAX_MICROS`]): which power-of-two
/// range, counting 0..256 as bucket 0.
fn bucket_of(micros: u64) -> u32 {
    (u64::BITS - (micros | SUB_BUCKET_MASK).leading_zeros()) - (SUB_BUCKET_HALF_BITS + 1)
}

/// The counter of `micros`: bucket `b` holds values `sub << b` for `sub` in
/// 128..256 (0..256 in bucket 0), which lands at `b * 128 + sub`.
fn index_of(micros: u64) -> usize {
    let bucket = bucket_of(micros);
    let sub = micros >> bucket;
    ((bucket as usize) << SUB_BUCKET_HALF_BITS) + sub as usize
}

/// The largest value counted at `index`: the inverse of [`index_of`].
fn highest_in(index: usize) -> u64 {
    let bucket = (index >> SUB_BUCKET_HALF_BITS).saturating_sub(1) as u32;
    let sub = (index - ((bucket as usize) << SUB_BUCKET_HALF_BITS)) as u64;
    ((sub + 1) << bucket) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_map_to_counters_and_back_within_two_digits() {
        assert!(
            index_of(MAX_MICROS) < COUNTERS,
            "the largest value has a counter"
        );
        for micros in (0..MAX_MICROS)
            .step_by(997)
            .chain([255, 256, 257, 511, 512, MAX_MICROS])
        {
            let top = highest_in(index_of(micros));
            assert!(top >= micros, "{micros} above its counter's top {top}");
            assert!(
                (top - micros) * 128 <= micros,
                "{micros} more than 1/128 under {top}"
            );
            if micros < 256 {
                assert_eq!(top, micros, "exact below 256");
            }
        }
    }

    #[test]
    fn latencies_over_the_maximum_are_recorded_as_the_maximum() {
        let mut histogram = Histogram::new();
        histogram.record(Duration::from_secs(3600));
        histogram.record(Duration::MAX);
        assert_eq!(histogram.max(), Some(MAX_LATENCY));
        assert_eq!(histogram.percentile(50.0), Some(MAX_LATENCY));
        assert_eq!(histogram.count(), 2);
    }

    #[test]
    fn an_empty_histogram_has_no_percentiles() {
        let histogram = Histogram::new();
        assert_eq!(histogram.percentile(50.0), None);
        assert_eq!(histogram.mean(), None);
        assert_eq!(histogram.to_string(), "no samples");
    }
}

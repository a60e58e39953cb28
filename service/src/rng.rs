//! [`Rng`]: the tiny per-instance random number generator behind retry jitter
//! ([`Backoff`](crate::retry::Backoff)) and the balancer's two random choices.
//!
//! A xorshift64* generator kept in the value that uses it: no global state, no
//! `rand` dependency, and a fixed seed makes every draw reproducible in tests.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A xorshift64* generator (Vigna, "An experimental exploration of
/// Marsaglia's xorshift generators, scrambled", 2016). Cloning copies the
/// state, so a clone repeats the original's sequence.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    /// Never zero: zero is xorshift's fixed point.
    state: Cell<u64>,
}

impl Rng {
    /// A generator seeded from std's per-process random hasher keys, which
    /// also change with every `RandomState` made, so two generators differ.
    pub(crate) fn random() -> Rng {
        Rng::seeded(RandomState::new().hash_one(0u8))
    }

    /// A generator that repeats its sequence for the same `seed`. The seed is
    /// spread with one splitmix64 step, so nearby seeds give unrelated
    /// sequences, and the state is kept non-zero.
    pub(crate) fn seeded(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let state = if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z };
        Rng {
            state: Cell::new(state),
        }
    }

    /// The next output.
    pub(crate) fn next_u64(&self) -> u64 {
        let mut x = self.state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`; `n` must be non-zero. Lemire's multiply-shift, whose
    /// bias (at most n / 2^64) is far below anything a caller could notice.
    pub(crate) fn below(&self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_repeats_and_other_seeds_differ() {
        let draws = |seed| {
            let rng = Rng::seeded(seed);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
        let _ = Rng::random().next_u64();
    }

    #[test]
    fn a_zero_seed_still_yields_random_numbers() {
        let rng = Rng::seeded(0);
        assert_ne!(rng.next_u64(), 0, "seed 0 is not xorshift's fixed point");
        assert_ne!(rng.next_u64(), rng.next_u64());
    }

    #[test]
    fn a_clone_repeats_the_sequence() {
        let rng = Rng::seeded(5);
        let copy = rng.clone();
        assert_eq!(rng.next_u64(), copy.next_u64());
    }
}

//! The keyspace: one store shared by every worker thread.
//!
//! Redis has one keyspace, so every client must see the same data whichever
//! worker accepted its connection. A thread-per-core server could give each
//! worker its own map, but then a `SET` on one connection would be invisible to
//! a `GET` on another. So the store is shared (`Arc<Store>`) and split into
//! shards by key hash, each behind its own `Mutex`: a command locks one shard
//! for a few hash-map operations, so workers rarely wait on each other. Commands
//! on several keys (`MSET`) lock their shards in index order, so they are atomic
//! and cannot deadlock.
//!
//! The store keeps its own copy of every key and value it is given. The
//! arguments of a command are slices of the connection's read buffer, and
//! keeping one would keep that whole buffer (kilobytes) alive for a few bytes
//! of value, and make the connection allocate a new buffer for its next read.
//!
//! Expiry works as in Redis, lazily and actively: a key past its deadline is
//! removed when a command touches it, and [`spawn_sweeper`] removes the rest
//! periodically. Where Redis samples random volatile keys, each shard here keeps
//! an index of deadlines in order, so a sweep removes exactly the expired keys
//! (at most [`MAX_SWEEP_PER_SHARD`] per shard per pass, bounding lock time).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Most expired keys one sweep removes from one shard before moving on, so a
/// shard is never locked for long (the rest wait for the next pass).
pub const MAX_SWEEP_PER_SHARD: usize = 1000;

/// How a write treats the key's current time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key lives until deleted (plain `SET` clears any deadline).
    Forever,
    /// The key expires at this instant.
    At(Instant),
    /// The key keeps the deadline it had (`SET ... KEEPTTL`).
    Keep,
}

/// When a `SET` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Always.
    Always,
    /// Only when the key does not exist (`NX`).
    IfAbsent,
    /// Only when the key exists (`XX`).
    IfPresent,
}

/// What a key's remaining life is, as `TTL` and `PTTL` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remaining {
    /// No such key (Redis answers -2).
    Missing,
    /// The key has no deadline (Redis answers -1).
    Forever,
    /// The key expires after this long.
    For(Duration),
}

/// Why `INCR` and friends refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementError {
    /// The value is not a base-10 64-bit signed integer.
    NotInteger,
    /// The result would not fit in 64 bits.
    Overflow,
}

/// What a `SET` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when NX or XX refused).
    pub written: bool,
    /// The value before the command, for `SET ... GET`.
    pub previous: Option<Bytes>,
}

/// A value and its deadline.
#[derive(Debug)]
struct Entry {
    value: Bytes,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// One shard: its keys, plus the deadlines of those that have one.
///
/// Invariant: `deadlines` holds `(at, key)` exactly when `map[key].expires_at
/// == Some(at)`; only `insert`, `remove` and `set_deadline` change either.
#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Bytes, Entry>,
    deadlines: BTreeSet<(Instant, Bytes)>,
}

impl Shard {
    /// The entry for `key` unless missing or expired (an expired one is removed).
    fn live(&mut self, key: &[u8], now: Instant) -> Option<&mut Entry> {
        // With no deadlines in the shard nothing in it can have expired (the
        // invariant above), so the common case costs one lookup, not two.
        if !self.deadlines.is_empty() && self.map.get(key)?.is_expired(now) {
            self.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    /// Moves the deadline index entry of the stored `key` from `old` to `new`.
    fn move_deadline(&mut self, key: &[u8], old: Option<Instant>, new: Option<Instant>) {
        if old == new {
            return;
        }
        // Index under the map's own copy of the key, shared with it.
        let Some((key, _)) = self.map.get_key_value(key) else {
            return;
        };
        let key = key.clone();
        if let Some(old) = old {
            self.deadlines.remove(&(old, key.clone()));
        }
        if let Some(new) = new {
            self.deadlines.insert((new, key));
        }
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.map.remove_entry(key)?;
        if let Some(at) = entry.expires_at {
            self.deadlines.remove(&(at, key));
        }
        Some(entry)
    }

    /// Gives the live entry `key` the deadline `at`; false if there is no such key.
    fn set_deadline(&mut self, key: &[u8], at: Option<Instant>, now: Instant) -> bool {
        let Some(entry) = self.live(key, now) else {
            return false;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        self.move_deadline(key, old, at);
        true
    }

    /// Writes `value` (the store's own copy) under `key` when `when` allows.
    /// A new key is copied in; an existing one keeps the map's copy, so
    /// overwriting a key costs one lookup.
    fn set(
        &mut self,
        key: &[u8],
        value: Bytes,
        ttl: Ttl,
        when: Condition,
        now: Instant,
    ) -> SetOutcome {
        let current = self.live(key, now);
        let written = match when {
            Condition::Always => true,
            Condition::IfAbsent => current.is_none(),
            Condition::IfPresent => current.is_some(),
        };
        if !written {
            let previous = current.map(|e| e.value.clone());
            return SetOutcome { written, previous };
        }
        let deadline = |kept| match ttl {
            Ttl::Forever => None,
            Ttl::At(at) => Some(at),
            Ttl::Keep => kept,
        };
        let previous = match current {
            Some(entry) => {
                let old = entry.expires_at;
                let new = deadline(old);
                entry.expires_at = new;
                // Moved out rather than cloned: a clone of a value would
                // cost an allocation (its first clone makes it shared).
                let previous = std::mem::replace(&mut entry.value, value);
                self.move_deadline(key, old, new);
                Some(previous)
            }
            None => {
                let expires_at = deadline(None);
                self.map
                    .insert(Bytes::copy_from_slice(key), Entry { value, expires_at });
                self.move_deadline(key, None, expires_at);
                None
            }
        };
        SetOutcome { written, previous }
    }

    /// Removes up to `max` keys whose deadline is at or before `now`.
    fn sweep(&mut self, now: Instant, max: usize) -> usize {
        let mut removed = 0;
        while removed < max {
            let Some((at, key)) = self.deadlines.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            self.remove(&key);
            removed += 1;
        }
        removed
    }
}

/// The shared keyspace; see the module docs.
#[derive(Debug)]
pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    /// Random per store, so which keys share a shard cannot be known ahead.
    seed: u64,
}

impl Store {
    /// A store of `shards` shards (at least one).
    pub fn new(shards: usize) -> Store {
        Store {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            seed: RandomState::new().hash_one(0u8),
        }
    }

    /// The shard of `key`, from a multiplicative hash (FxHash's step, a word
    /// at a time) rather than a second SipHash: the maps inside the shards
    /// use the keyed SipHash, which is what stops hash flooding, so a client
    /// that crowds its keys into one shard only makes workers wait on that
    /// shard's lock more often. For a short key this costs about a dozen
    /// instructions where SipHash takes a couple of hundred, a good part of
    /// what a `GET` costs.
    fn shard_index(&self, key: &[u8]) -> usize {
        const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;
        let mut words = key.chunks_exact(8);
        let mut hash = self.seed ^ key.len() as u64;
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            hash = (hash ^ word).wrapping_mul(MULTIPLIER);
        }
        for &byte in words.remainder() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(MULTIPLIER);
        }
        // The high bits mix every input bit; `high * len >> 64` maps them
        // onto `0..len` (Lemire's reduction), so the index is below
        // `shards.len()`.
        ((u128::from(hash) * self.shards.len() as u128) >> 64) as usize
    }

    /// Locks shard `index`, which must come from `shard_index` or a range
    /// below `shards.len()` (an internal invariant, never input).
    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // No code panics while holding a shard, and a shard is consistent
        // between operations, so a poisoned lock still guards valid data.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.lock(self.shard_index(key))
    }

    /// The value of `key`, if it exists and has not expired.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        let now = Instant::now();
        self.shard(key).live(key, now).map(|e| e.value.clone())
    }

    /// Writes `value` under `key` when `when` allows, with the time to live `ttl`.
    pub fn set(&self, key: &[u8], value: &[u8], ttl: Ttl, when: Condition) -> SetOutcome {
        let now = Instant::now();
        let value = Bytes::copy_from_slice(value);
        self.shard(key).set(key, value, ttl, when, now)
    }

    /// Writes every pair at once: no reader sees some written and others not.
    /// A key given twice ends with its last value, as in Redis.
    pub fn set_many(&self, pairs: &[(&[u8], &[u8])]) {
        let now = Instant::now();
        let indexes: Vec<usize> = pairs.iter().map(|(k, _)| self.shard_index(k)).collect();
        let mut order = indexes.clone();
        order.sort_unstable();
        order.dedup();
        // Lock in index order, so two MSETs can never wait on each other.
        let mut guards: HashMap<usize, MutexGuard<'_, Shard>> =
            order.into_iter().map(|i| (i, self.lock(i))).collect();
        for (&(key, value), index) in pairs.iter().zip(indexes) {
            if let Some(shard) = guards.get_mut(&index) {
                let value = Bytes::copy_from_slice(value);
                shard.set(key, value, Ttl::Forever, Condition::Always, now);
            }
        }
    }

    /// Deletes `key`; whether it existed (and had not expired).
    pub fn remove(&self, key: &[u8]) -> bool {
        let now = Instant::now();
        self.shard(key)
            .remove(key)
            .is_some_and(|e| !e.is_expired(now))
    }

    /// Whether `key` exists and has not expired.
    pub fn contains(&self, key: &[u8]) -> bool {
        let now = Instant::now();
        self.shard(key).live(key, now).is_some()
    }

    /// Adds `delta` to the integer stored at `key` (0 if missing); the result.
    /// The key keeps its deadline, as in Redis.
    pub fn increment(&self, key: &[u8], delta: i64) -> Result<i64, IncrementError> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        let (current, ttl) = match shard.live(key, now) {
            Some(entry) => (
                parse_integer(&entry.value).ok_or(IncrementError::NotInteger)?,
                Ttl::Keep,
            ),
            None => (0, Ttl::Forever),
        };
        let next = current.checked_add(delta).ok_or(IncrementError::Overflow)?;
        let value = Bytes::from(next.to_string());
        shard.set(key, value, ttl, Condition::Always, now);
        Ok(next)
    }

    /// Makes `key` expire at `at` (at once, deleting it, if `at` has passed);
    /// false if there is no such key.
    pub fn expire_at(&self, key: &[u8], at: Instant) -> bool {
        let now = Instant::now();
        let mut shard = self.shard(key);
        if at <= now {
            return shard.remove(key).is_some_and(|e| !e.is_expired(now));
        }
        shard.set_deadline(key, Some(at), now)
    }

    /// How long `key` has left.
    pub fn remaining(&self, key: &[u8]) -> Remaining {
        let now = Instant::now();
        match self.shard(key).live(key, now) {
            None => Remaining::Missing,
            Some(Entry {
                expires_at: None, ..
            }) => Remaining::Forever,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => Remaining::For(at.saturating_duration_since(now)),
        }
    }

    /// Every live key `filter` accepts, in no particular order.
    pub fn keys(&self, mut filter: impl FnMut(&[u8]) -> bool) -> Vec<Bytes> {
        let now = Instant::now();
        let mut found = Vec::new();
        for index in 0..self.shards.len() {
            let shard = self.lock(index);
            found.extend(
                shard
                    .map
                    .iter()
                    .filter(|(key, entry)| !entry.is_expired(now) && filter(key))
                    .map(|(key, _)| key.clone()),
            );
        }
        found
    }

    /// The number of live keys and, of those, how many have a deadline.
    ///
    /// Counts only keys that have not expired, so it costs a pass over the keys
    /// with deadlines (Redis's `DBSIZE` is O(1) but may count expired keys not
    /// yet swept).
    pub fn len(&self) -> (usize, usize) {
        let now = Instant::now();
        let mut keys = 0;
        let mut expiring = 0;
        for index in 0..self.shards.len() {
            let shard = self.lock(index);
            let expired = shard
                .deadlines
                .iter()
                .take_while(|(at, _)| *at <= now)
                .count();
            keys += shard.map.len().saturating_sub(expired);
            expiring += shard.deadlines.len().saturating_sub(expired);
        }
        (keys, expiring)
    }

    /// Deletes every key.
    pub fn clear(&self) {
        for index in 0..self.shards.len() {
            *self.lock(index) = Shard::default();
        }
    }

    /// Removes expired keys (up to [`MAX_SWEEP_PER_SHARD`] per shard); how many.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        (0..self.shards.len())
            .map(|index| self.lock(index).sweep(now, MAX_SWEEP_PER_SHARD))
            .sum()
    }
}

/// Sweeps `store` every `period` on a thread of its own, until the store is dropped.
pub fn spawn_sweeper(store: &Arc<Store>, period: Duration) -> std::io::Result<()> {
    let store: Weak<Store> = Arc::downgrade(store);
    thread::Builder::new()
        .name("mini_redis-sweeper".into())
        .spawn(move || loop {
            thread::sleep(period);
            match store.upgrade() {
                Some(store) => store.sweep(),
                None => return,
            };
        })
        .map(drop)
}

/// Parses a value the way Redis's `string2ll` does: base 10, an optional `-`,
/// no `+`, no spaces, no leading zeros; `None` for anything else or overflow.
pub fn parse_integer(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_only_in_redis_form() {
        let cases: &[(&str, &[u8], Option<i64>)] = &[
            ("zero", b"0", Some(0)),
            ("positive", b"42", Some(42)),
            ("negative", b"-42", Some(-42)),
            ("maximum", b"9223372036854775807", Some(i64::MAX)),
            ("minimum", b"-9223372036854775808", Some(i64::MIN)),
            ("one past maximum", b"9223372036854775808", None),
            ("one past minimum", b"-9223372036854775809", None),
            ("empty", b"", None),
            ("lone minus", b"-", None),
            ("negative zero", b"-0", None),
            ("plus sign", b"+1", None),
            ("leading zero", b"01", None),
            ("space", b" 1", None),
            ("letters", b"1a", None),
            ("float", b"1.5", None),
        ];
        for (name, text, expected) in cases {
            assert_eq!(parse_integer(text), *expected, "{name}");
        }
    }

    #[test]
    fn expired_keys_vanish_on_access_and_on_sweep() {
        let store = Store::new(4);
        let past = Instant::now();
        store.set(b"a", b"1", Ttl::At(past), Condition::Always);
        store.set(b"b", b"2", Ttl::At(past), Condition::Always);
        store.set(b"c", b"3", Ttl::Forever, Condition::Always);
        assert_eq!(store.get(b"a"), None, "lazy expiry on access");
        assert_eq!(store.len(), (1, 0), "expired keys are not counted");
        assert_eq!(store.sweep(), 1, "the sweep removes the key nobody touched");
        assert_eq!(store.sweep(), 0, "nothing left to sweep");
        assert_eq!(store.get(b"c"), Some("3".into()));
    }

    #[test]
    fn the_store_keeps_its_own_copies() {
        let store = Store::new(2);
        let request = Bytes::copy_from_slice(b"keyvalue");
        store.set(
            &request[..3],
            &request[3..],
            Ttl::Forever,
            Condition::Always,
        );
        store.set(
            &request[..3],
            &request[3..],
            Ttl::Forever,
            Condition::Always,
        );
        assert!(
            request.is_unique(),
            "nothing stored points into the request"
        );
        assert_eq!(store.get(b"key"), Some(Bytes::from_static(b"value")));
    }

    #[test]
    fn keys_spread_over_every_shard_and_stay_in_range() {
        let store = Store::new(8);
        let mut counts = [0usize; 8];
        for i in 0..8000 {
            counts[store.shard_index(format!("key:{i:012}").as_bytes())] += 1;
        }
        counts[store.shard_index(b"")] += 1;
        for (shard, &count) in counts.iter().enumerate() {
            assert!(
                (700..1300).contains(&count),
                "shard {shard}: {count} of 8000 keys"
            );
        }
    }

    #[test]
    fn a_plain_set_clears_the_deadline_and_keepttl_keeps_it() {
        let store = Store::new(1);
        let later = Instant::now() + Duration::from_secs(100);
        store.set(b"k", b"v", Ttl::At(later), Condition::Always);
        store.set(b"k", b"w", Ttl::Keep, Condition::Always);
        assert!(matches!(store.remaining(b"k"), Remaining::For(_)));
        store.set(b"k", b"x", Ttl::Forever, Condition::Always);
        assert_eq!(store.remaining(b"k"), Remaining::Forever);
        assert_eq!(store.len(), (1, 0), "the old deadline left the index");
    }
}

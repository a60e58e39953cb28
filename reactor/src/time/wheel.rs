//! The hierarchical timing wheel that stores a runtime's timers.
//!
//! A runtime has thousands of timers (one per request timeout, idle connection, sleep) and
//! most are cancelled before they fire, so insert and cancel must be O(1), and the driver
//! must learn cheaply how long it may sleep. A binary heap makes cancel O(log n); a wheel
//! makes both O(1) and answers "when is the next work" from six bitmaps.
//!
//! # Ticks
//!
//! Time is counted in whole milliseconds ("ticks") since the wheel's origin. A deadline
//! rounds *up* to its tick and `advance(now)` rounds `now` *down*, so a timer fires only once
//! `now >= deadline`: never early, at most one millisecond late (plus the driver's latency).
//! The wheel never reads the clock; time comes in through [`Wheel::advance`] only, which
//! makes it deterministic under test.
//!
//! # Levels and slots
//!
//! There are `LEVELS` (6) levels of 64 slots. A slot of level `L` spans `64^L` ticks, so a
//! level spans `64^(L+1)`: level 0 has one tick per slot, level 5 a little over 12 days per
//! slot and about 2.2 years in all. Read a tick as six base-64 digits: digit `L` is bits
//! `6L..6L+6`. A pending timer placed at tick `p` lives at level `L` = the digit of the
//! highest bit where `p` and the wheel's current tick `now` differ (level 0 when they differ
//! only in digit 0, or not at all), in slot = digit `L` of `p`.
//!
//! Why that level: `p` and `now` agree on every digit above `L`, and `p > now`, so digit `L`
//! of `p` is past digit `L` of `now` (at level 0, at or past: a due timer waits at `now`) and the slot names one span of `64^L` ticks that lies
//! wholly in the future and within the current `64^(L+1)` block. Every timer at a lower level
//! is inside that same block at a finer position, hence earlier than every timer of level
//! `L`: the earliest work is always the first occupied slot, counted from `now`'s digit, of
//! the lowest level that holds anything. Each level keeps a `u64` bitmap of occupied slots,
//! so that slot is one `rotate_right` and one `trailing_zeros` away.
//!
//! # Cascading
//!
//! A slot of level `L > 0` is coarse: it knows its span, not the ticks inside. When time
//! reaches the start of that span, `advance` moves `now` there and re-places each of its
//! timers. Against the new `now` they differ only in digits below `L`, so each falls to a
//! lower level, in a slot fine enough to tell it apart; at level 0 a slot is a single tick
//! and its timers fire. A timer thus moves at most five times in its life (plus once per
//! horizon for a far one, see below), which keeps
//! insert, cancel and firing O(1) amortised. Because only the span of a coarse slot is
//! known, [`Wheel::next_deadline`] reports that span's start, a lower bound on the deadlines
//! inside: the driver may wake once per level on the way to a far deadline, nothing fires at
//! those wakes, and the last wake is exact.
//!
//! # The top level and far deadlines
//!
//! At level 5 the slot is digit 5 of `p` taken modulo 64, so the top level wraps: its slot
//! for "now's digit plus 64" is the slot `now` is in. Timers are therefore placed no further
//! than [`MAX_PLACEMENT_MS`] ahead, which keeps them out of `now`'s own top slot. A deadline
//! beyond that is parked at the horizon and re-placed when the horizon's slot is reached;
//! it keeps its true tick, so it still fires on time, not early.
//!
//! # Fired timers and keys
//!
//! A fired timer leaves its slot but stays in the slab until [`Wheel::remove`], so the future
//! that owns it can see that it fired. Keys carry a generation, so a key kept after its
//! timer was removed never touches the timer that reuses the slab entry.

use std::fmt;
use std::mem;
use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

/// Number of levels in the wheel.
const LEVELS: usize = 6;

/// Bits of a tick that one level resolves: its slot index is one base-64 digit.
const SLOT_BITS: u32 = 6;

/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;

/// Mask of one base-64 digit.
const DIGIT_MASK: u64 = SLOTS as u64 - 1;

/// How far ahead of the current tick a timer is placed, in milliseconds: `2^36 - 2^30`, about
/// 2.14 years. `2^36` ticks is the whole wheel; one top-level slot (`2^30` ticks) is kept
/// back so that a placed timer never shares the top slot `now` is in. A timer whose deadline
/// is further out is placed at this horizon and re-placed when time reaches that slot; it
/// fires at its own deadline, never early.
const MAX_PLACEMENT_MS: u64 =
    (1 << (SLOT_BITS * LEVELS as u32)) - (1 << (SLOT_BITS * (LEVELS as u32 - 1)));

/// Handle to a timer in a [`Wheel`].
///
/// The generation tells a live timer from one that was removed, even when the slab has
/// reused the entry for a new timer: a stale key is detected, never applied to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    /// Slab index of the timer's entry.
    index: usize,
    /// The generation the entry had when this key was made.
    generation: u64,
}

/// A hierarchical timing wheel with millisecond resolution.
///
/// See the module documentation for the level and slot arithmetic.
pub(crate) struct Wheel {
    /// The instant of tick 0.
    origin: Instant,
    /// The wheel's current tick: the tick of the last `advance` (0 before the first). Every
    /// pending timer with a tick at or before it sits in level 0's slot for `now` and fires
    /// at the next `advance`; every other pending timer has a later tick.
    now: u64,
    /// The levels, finest first.
    levels: [Level; LEVELS],
    /// Every timer, pending or fired, until it is removed.
    entries: Slab<Entry>,
    /// Generation for the next inserted timer. A `u64` counted up once per insert does not
    /// wrap in the life of a process.
    next_generation: u64,
}

/// One level of the wheel: 64 slots, each the head of an intrusive list of pending entries.
struct Level {
    /// Bit `s` is set exactly when `heads[s]` is `Some`.
    occupied: u64,
    /// Slab index of the first entry of each slot's list.
    heads: [Option<usize>; SLOTS],
}

/// A timer's slab entry.
struct Entry {
    /// Generation of the timer; the key must match it.
    generation: u64,
    /// Whether it still waits in a slot or has fired.
    state: State,
}

/// Where a timer is in its life.
enum State {
    /// Linked into the list of one slot; it has not fired.
    Pending(Pending),
    /// Fired: unlinked from every list and its waker handed out. Stays until `remove`.
    Fired,
}

/// A pending timer and its links in the list of its slot.
struct Pending {
    /// The deadline, rounded up to a tick. Not clamped to the horizon: that applies to the
    /// placement only.
    tick: u64,
    /// The level whose list holds this entry.
    level: usize,
    /// The slot whose list holds this entry.
    slot: usize,
    /// The previous entry of the list, `None` for the head.
    prev: Option<usize>,
    /// The next entry of the list, `None` for the tail.
    next: Option<usize>,
    /// What to wake when the timer fires.
    waker: Waker,
}

impl Wheel {
    /// Creates an empty wheel whose tick 0 is `origin`; ticks are whole milliseconds since
    /// `origin`.
    pub(crate) fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            now: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [None; SLOTS],
            }),
            entries: Slab::new(),
            next_generation: 0,
        }
    }

    /// Adds a timer that fires at `deadline`, rounded up to the next millisecond tick so it
    /// never fires early. A deadline at or before the current tick (including one before the
    /// origin) fires at the next [`advance`](Wheel::advance), whatever `now` that call gets.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let tick = ticks_ceil(deadline.saturating_duration_since(self.origin));
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let index = self.entries.insert(Entry {
            generation,
            state: State::Pending(Pending {
                tick,
                level: 0,
                slot: 0,
                prev: None,
                next: None,
                waker,
            }),
        });
        self.link(index, tick);
        TimerKey { index, generation }
    }

    /// Replaces the timer's waker with `waker` unless the current one would wake the same
    /// task. A stale key or a fired timer is left alone.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(Entry {
            state: State::Pending(pending),
            ..
        }) = self.entry_mut(key)
        {
            if !pending.waker.will_wake(waker) {
                pending.waker = waker.clone();
            }
        }
    }

    /// True once the timer has fired. A stale key reports true: its timer is gone, and a
    /// caller waiting on it must not hang.
    pub(crate) fn is_fired(&self, key: TimerKey) -> bool {
        !matches!(
            self.entry(key),
            Some(Entry {
                state: State::Pending(_),
                ..
            })
        )
    }

    /// Removes the timer, fired or not, in O(1). A stale key is a no-op.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        let pending = match self.entry(key) {
            None => return,
            Some(entry) => matches!(entry.state, State::Pending(_)),
        };
        if pending {
            self.unlink(key.index);
        }
        self.entries.try_remove(key.index);
    }

    /// The next instant at which [`advance`](Wheel::advance) has work, or `None` when no timer
    /// is pending.
    ///
    /// It is never later than the earliest pending deadline (rounded up to its tick), so a
    /// driver that sleeps until it never oversleeps. It equals that deadline when the
    /// deadline is in the same 64-tick-aligned block as the wheel's tick (level 0); a timer already due reports the tick
    /// of the last `advance`, which is not after the `now` given to it. A later deadline sits
    /// in a coarse slot, and this reports the slot's start, where `advance` cascades it to a
    /// finer level without firing anything; asking again after that `advance` gets closer, and
    /// at most five such steps reach the deadline itself (a few more for a deadline past
    /// [`MAX_PLACEMENT_MS`], once per horizon it is parked at). Cost: one bitmap scan per
    /// level, whatever the number of timers.
    ///
    /// `None` also when the instant is too far from the origin for `Instant` to represent
    /// (the platform's limit, hundreds of years on common ones).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let (_, _, start) = self.next_expiration()?;
        self.origin.checked_add(Duration::from_millis(start))
    }

    /// Fires every pending timer whose tick is at or before `now`'s tick (rounded down):
    /// marks it fired and pushes its waker onto `woken`, for the caller to wake once it no
    /// longer borrows the wheel. Cascades coarse slots whose span has begun down to finer
    /// levels. A `now` earlier than a previous one is taken as that previous one.
    pub(crate) fn advance(&mut self, now: Instant, woken: &mut Vec<Waker>) {
        let target = ticks_floor(now.saturating_duration_since(self.origin)).max(self.now);
        // Visit the occupied slots in time order. Each visit empties its slot and re-places
        // entries only at a lower level or, for a parked far timer, in a later top slot, so the
        // loop ends after at most one visit per occupied slot and re-placement.
        while let Some((level, slot, start)) = self.next_expiration() {
            if start > target {
                break;
            }
            debug_assert!(
                start >= self.now,
                "slot start {start} before the wheel's tick {}",
                self.now
            );
            // Nothing is pending before `start`, so moving `now` there keeps every other
            // entry at the level and slot it would be given afresh (see the module doc).
            self.now = start;
            let mut cursor = self.levels[level].heads[slot].take();
            self.levels[level].occupied &= !(1 << slot);
            while let Some(index) = cursor {
                let pending = self.pending_mut(index);
                cursor = pending.next;
                let tick = pending.tick;
                if level == 0 {
                    // A level-0 slot is one tick, and `start` is that tick: every entry in
                    // it is due.
                    self.fire(index, woken);
                } else {
                    let placed = self.link(index, tick);
                    debug_assert!(
                        placed != (level, slot),
                        "timer re-placed in the slot being emptied"
                    );
                }
            }
        }
        self.now = target;
    }

    /// Number of timers, pending or fired, still held (not yet removed).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The first occupied slot in time order, as (level, slot, tick at which its span starts).
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        // Lower levels hold earlier timers (module doc), so the first level with anything
        // in it holds the earliest slot.
        let (level, occupied) = self
            .levels
            .iter()
            .enumerate()
            .find(|(_, level)| level.occupied != 0)
            .map(|(index, level)| (index, level.occupied))?;
        let shift = SLOT_BITS * level as u32;
        let current = (self.now >> shift) & DIGIT_MASK;
        // Count slots from `now`'s own digit; at the top level this wraps past slot 63.
        let distance = u64::from(occupied.rotate_right(current as u32).trailing_zeros());
        let slot = ((current + distance) & DIGIT_MASK) as usize;
        let span = 1u64 << shift;
        let start = (self.now & !(span - 1)).saturating_add(distance * span);
        Some((level, slot, start))
    }

    /// Links the pending entry `index` into the slot for `tick`, as seen from `now`, and
    /// returns that (level, slot).
    fn link(&mut self, index: usize, tick: u64) -> (usize, usize) {
        // A due timer goes in the slot for `now`; a far one waits at the horizon.
        let placed = tick
            .max(self.now)
            .min(self.now.saturating_add(MAX_PLACEMENT_MS));
        // The highest differing bit picks the level; or-ing in digit 0 makes "no difference"
        // and "differs in digit 0 only" both level 0. Past bit 35 (the next turn of the top
        // level) the top level still serves, as its slots wrap.
        let highest = 63 - ((placed ^ self.now) | DIGIT_MASK).leading_zeros();
        let level = ((highest / SLOT_BITS) as usize).min(LEVELS - 1);
        let slot = ((placed >> (SLOT_BITS * level as u32)) & DIGIT_MASK) as usize;
        let head = self.levels[level].heads[slot];
        if let Some(head) = head {
            self.pending_mut(head).prev = Some(index);
        }
        let pending = self.pending_mut(index);
        pending.level = level;
        pending.slot = slot;
        pending.prev = None;
        pending.next = head;
        self.levels[level].heads[slot] = Some(index);
        self.levels[level].occupied |= 1 << slot;
        (level, slot)
    }

    /// Unlinks the pending entry `index` from its slot's list.
    fn unlink(&mut self, index: usize) {
        let pending = self.pending_mut(index);
        let (level, slot, prev, next) = (pending.level, pending.slot, pending.prev, pending.next);
        match prev {
            Some(prev) => self.pending_mut(prev).next = next,
            None => self.levels[level].heads[slot] = next,
        }
        if let Some(next) = next {
            self.pending_mut(next).prev = prev;
        }
        if self.levels[level].heads[slot].is_none() {
            self.levels[level].occupied &= !(1 << slot);
        }
    }

    /// Marks the entry at `index` fired and hands its waker to `woken`. The caller has
    /// already taken it out of its slot's list.
    fn fire(&mut self, index: usize, woken: &mut Vec<Waker>) {
        if let Some(entry) = self.entries.get_mut(index) {
            if let State::Pending(pending) = mem::replace(&mut entry.state, State::Fired) {
                woken.push(pending.waker);
            }
        }
    }

    /// The entry `key` names, unless the key is stale.
    fn entry(&self, key: TimerKey) -> Option<&Entry> {
        self.entries
            .get(key.index)
            .filter(|entry| entry.generation == key.generation)
    }

    /// The entry `key` names, unless the key is stale.
    fn entry_mut(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index)
            .filter(|entry| entry.generation == key.generation)
    }

    /// The pending entry at `index`, which a slot list links or which is being linked.
    fn pending_mut(&mut self, index: usize) -> &mut Pending {
        match self.entries.get_mut(index) {
            Some(Entry {
                state: State::Pending(pending),
                ..
            }) => pending,
            _ => unreachable!("slot lists link only pending slab entries"),
        }
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The entries are left out: a busy wheel holds thousands.
        f.debug_struct("Wheel")
            .field("origin", &self.origin)
            .field("now_tick", &self.now)
            .field("len", &self.entries.len())
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

/// Whole milliseconds in `duration`, rounded up; `u64::MAX` past that.
fn ticks_ceil(duration: Duration) -> u64 {
    const NANOS_PER_MILLI: u128 = 1_000_000;
    let millis = duration.as_nanos().div_ceil(NANOS_PER_MILLI);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

/// Whole milliseconds in `duration`, rounded down; `u64::MAX` past that.
fn ticks_floor(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Count {
        fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        (count, waker)
    }

    /// Tiny deterministic xorshift64, so failures reproduce without a `rand` dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    fn micros(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// Advances and wakes what fired, as the runtime does once it releases the wheel.
    fn advance_and_wake(wheel: &mut Wheel, now: Instant) -> usize {
        let mut woken = Vec::new();
        wheel.advance(now, &mut woken);
        let fired = woken.len();
        for waker in woken {
            waker.wake();
        }
        fired
    }

    /// The wheel's next instant as a tick; panics if it is not a whole tick after `origin`.
    fn next_tick(wheel: &Wheel, origin: Instant) -> Option<u64> {
        wheel.next_deadline().map(|at| {
            let since = at.duration_since(origin);
            assert_eq!(
                since.subsec_nanos() % 1_000_000,
                0,
                "next deadline on a tick"
            );
            ticks_floor(since)
        })
    }

    const HOUR_MS: u64 = 3_600_000;
    const DAY_MS: u64 = 24 * HOUR_MS;

    /// Loop counts are scaled down under Miri, which runs these tests some
    /// thousand times slower: `full` natively, `miri` there.
    const fn scaled(full: u64, miri: u64) -> u64 {
        if cfg!(miri) {
            miri
        } else {
            full
        }
    }

    #[test]
    fn timers_fire_in_the_first_advance_at_or_past_their_rounded_up_deadline() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // (deadline in µs since origin, expected tick, counter, key)
        let mut timers = Vec::new();
        let mut add = |wheel: &mut Wheel, at_us: u64| {
            let (count, waker) = counter();
            let key = wheel.insert(origin + micros(at_us), waker);
            timers.push((at_us, at_us.div_ceil(1000), count, key));
        };
        let near_ms = scaled(5000, 200);
        for ms in 0..near_ms {
            // Whole milliseconds, and odd sub-millisecond offsets that must round up.
            let offset = if ms % 3 == 0 { 0 } else { ms * 7 % 1000 };
            add(&mut wheel, ms * 1000 + offset);
        }
        for far_ms in [HOUR_MS, 3 * DAY_MS, 365 * DAY_MS] {
            add(&mut wheel, far_ms * 1000);
            add(&mut wheel, far_ms * 1000 + 1);
        }
        let mut steps = Vec::new();
        let mut now_us = 0;
        while now_us < (near_ms + 100) * 1000 {
            steps.push(now_us);
            now_us += 1 + rng.below(40_000);
        }
        for far_ms in [HOUR_MS, 3 * DAY_MS, 365 * DAY_MS] {
            // Cross coarse slots irregularly, then stop just before, at and just after.
            for part in [7, 3, 2] {
                steps.push(far_ms * 1000 / part + rng.below(1_000_000));
            }
            steps.extend([far_ms * 1000 - 1, far_ms * 1000, far_ms * 1000 + 999]);
            steps.push(far_ms * 1000 + 1000);
        }
        steps.sort_unstable();
        steps.dedup();
        let timers = timers;
        for now_us in steps {
            advance_and_wake(&mut wheel, origin + micros(now_us));
            let now_tick = now_us / 1000;
            for (at_us, tick, count, key) in &timers {
                let due = *tick <= now_tick;
                assert_eq!(
                    count.get(),
                    usize::from(due),
                    "timer at {at_us}µs (tick {tick}) after advance to {now_us}µs"
                );
                assert_eq!(wheel.is_fired(*key), due, "timer at {at_us}µs is_fired");
            }
            let earliest = timers
                .iter()
                .map(|t| t.1)
                .filter(|&tick| tick > now_tick)
                .min();
            match (next_tick(&wheel, origin), earliest) {
                (Some(next), Some(earliest)) => assert!(
                    now_tick < next && next <= earliest,
                    "next {next} not in ({now_tick}, {earliest}]"
                ),
                (next, earliest) => assert_eq!(next, earliest, "after {now_us}µs"),
            }
        }
        assert_eq!(wheel.len(), timers.len(), "fired timers stay until removed");
    }

    #[test]
    fn removed_timer_is_never_woken() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let (count, waker) = counter();
        let key = wheel.insert(origin + Duration::from_millis(10), waker);
        wheel.remove(key);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
        assert_eq!(
            advance_and_wake(&mut wheel, origin + Duration::from_secs(60)),
            0
        );
        assert_eq!(count.get(), 0);
    }

    #[test]
    fn removing_a_fired_timer_frees_it() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let (count, waker) = counter();
        let key = wheel.insert(origin + Duration::from_millis(10), waker);
        assert_eq!(
            advance_and_wake(&mut wheel, origin + Duration::from_millis(10)),
            1
        );
        assert!(wheel.is_fired(key));
        assert_eq!(wheel.len(), 1, "fired timer stays until removed");
        wheel.remove(key);
        assert_eq!(wheel.len(), 0);
        assert!(wheel.is_fired(key), "a stale key reports fired");
        wheel.remove(key);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn stale_key_does_not_touch_the_timer_that_reuses_its_entry() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let (old_count, old_waker) = counter();
        let old = wheel.insert(origin + Duration::from_millis(5), old_waker.clone());
        wheel.remove(old);
        let (new_count, new_waker) = counter();
        let new = wheel.insert(origin + Duration::from_millis(5), new_waker);
        assert_eq!(old.index, new.index, "the slab reuses the entry");
        assert_ne!(old, new);
        assert!(wheel.is_fired(old), "stale key reports fired");
        assert!(!wheel.is_fired(new));
        wheel.set_waker(old, &old_waker);
        wheel.remove(old);
        assert_eq!(wheel.len(), 1, "stale remove is a no-op");
        advance_and_wake(&mut wheel, origin + Duration::from_millis(5));
        assert!(wheel.is_fired(new));
        assert_eq!((old_count.get(), new_count.get()), (0, 1));
    }

    #[test]
    fn set_waker_replaces_the_waker_of_a_pending_timer() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let (first_count, first) = counter();
        let (second_count, second) = counter();
        let key = wheel.insert(origin + Duration::from_millis(100), first);
        wheel.set_waker(key, &second);
        wheel.set_waker(key, &second.clone());
        advance_and_wake(&mut wheel, origin + Duration::from_millis(100));
        assert_eq!((first_count.get(), second_count.get()), (0, 1));
        wheel.set_waker(key, &second);
        assert!(wheel.is_fired(key), "set_waker leaves a fired timer fired");
    }

    #[test]
    fn past_deadline_fires_at_the_next_advance_even_with_the_same_now() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let before_origin = origin.checked_sub(Duration::from_secs(1)).unwrap_or(origin);
        let (early_count, early) = counter();
        wheel.insert(before_origin, early);
        assert_eq!(wheel.next_deadline(), Some(origin));
        advance_and_wake(&mut wheel, origin);
        assert_eq!(early_count.get(), 1);

        let now = origin + Duration::from_millis(1234) + micros(500);
        advance_and_wake(&mut wheel, now);
        let (late_count, late) = counter();
        wheel.insert(origin + Duration::from_millis(1000), late);
        let next = wheel.next_deadline();
        assert!(
            next.is_some_and(|at| at <= now),
            "due timer reports {next:?}, not after {now:?}"
        );
        // Time going backwards is taken as no time passing.
        advance_and_wake(&mut wheel, origin);
        assert_eq!(late_count.get(), 1);
    }

    #[test]
    fn deadline_beyond_the_horizon_fires_on_time_not_early() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let far_ms = 10 * 365 * DAY_MS;
        assert!(far_ms > MAX_PLACEMENT_MS);
        let (first_count, first) = counter();
        wheel.insert(origin + Duration::from_millis(far_ms), first);
        // From a tick inside a top-level slot, the horizon falls in a slot of its own too.
        let from_ms = 1_234_567;
        advance_and_wake(&mut wheel, origin + Duration::from_millis(from_ms));
        let (second_count, second) = counter();
        wheel.insert(origin + Duration::from_millis(from_ms + far_ms), second);
        let timers = [(far_ms, first_count), (from_ms + far_ms, second_count)];
        let mut stops = 0;
        while let Some(next) = next_tick(&wheel, origin) {
            let just_before = origin + Duration::from_millis(next) - micros(1);
            advance_and_wake(&mut wheel, just_before);
            advance_and_wake(&mut wheel, origin + Duration::from_millis(next));
            for (tick, count) in &timers {
                assert_eq!(
                    count.get(),
                    usize::from(*tick <= next),
                    "timer at {tick} at {next}"
                );
            }
            stops += 1;
            assert!(stops < 64, "{stops} stops on the way to {far_ms}");
        }
    }

    #[test]
    fn sleeping_until_next_deadline_fires_each_timer_on_its_tick_within_six_stops() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut timers = Vec::new();
        for _ in 0..scaled(300, 40) {
            let scale = 1 << (6 * rng.below(6) + 6);
            let at_us = rng.below(scale * 1000);
            let (count, waker) = counter();
            wheel.insert(origin + micros(at_us), waker);
            timers.push((at_us.div_ceil(1000), count));
        }
        let mut stops_since_fire = 0;
        while let Some(next) = next_tick(&wheel, origin) {
            let fired = advance_and_wake(&mut wheel, origin + Duration::from_millis(next));
            for (tick, count) in &timers {
                assert_eq!(
                    count.get(),
                    usize::from(*tick <= next),
                    "timer at tick {tick}"
                );
            }
            if fired == 0 {
                stops_since_fire += 1;
                assert!(stops_since_fire < LEVELS, "{stops_since_fire} empty stops");
            } else {
                assert!(
                    timers.iter().any(|t| t.0 == next),
                    "a timer fired at {next}"
                );
                stops_since_fire = 0;
            }
        }
        assert!(timers.iter().all(|t| t.1.get() == 1));
    }

    #[test]
    fn next_deadline_bounds_the_earliest_pending_timer_of_a_brute_force_model() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        // The model: every timer still held, as (key, tick, wake counter), and the tick of
        // the last advance. A timer has fired exactly when its counter is 1.
        let mut model: Vec<(TimerKey, u64, Arc<Count>)> = Vec::new();
        let mut now_us: u64 = 0;
        let mut advanced_tick: u64 = 0;
        for round in 0..scaled(10_000, 300) {
            let mut advanced = false;
            match rng.below(10) {
                0..=3 => {
                    // Scales from within a slot to the whole wheel; some deadlines in the past.
                    let scale = 1u64 << (6 * rng.below(6) + 6);
                    let ahead = rng.below(scale * 1000);
                    let at_us = if rng.below(8) == 0 {
                        now_us.saturating_sub(ahead)
                    } else {
                        now_us + ahead
                    };
                    let (count, waker) = counter();
                    let key = wheel.insert(origin + micros(at_us), waker);
                    model.push((key, at_us.div_ceil(1000), count));
                }
                4..=6 if !model.is_empty() => {
                    let index = rng.below(model.len() as u64) as usize;
                    let (key, _, _) = model.swap_remove(index);
                    wheel.remove(key);
                }
                7..=8 => {
                    let scale = 1u64 << (6 * rng.below(5));
                    now_us += rng.below(scale * 1000);
                    advance_and_wake(&mut wheel, origin + micros(now_us));
                    advanced = true;
                }
                _ => {
                    // What the driver does: sleep until the next deadline, then advance.
                    if let Some(next) = next_tick(&wheel, origin) {
                        now_us = now_us.max(next * 1000);
                    }
                    advance_and_wake(&mut wheel, origin + micros(now_us));
                    advanced = true;
                }
            }
            if advanced {
                advanced_tick = now_us / 1000;
            }
            assert_eq!(wheel.len(), model.len(), "round {round}");
            let mut earliest: Option<u64> = None;
            for (key, tick, count) in &model {
                let fired = count.get() == 1;
                assert!(count.get() <= 1, "round {round}: tick {tick} woken twice");
                assert_eq!(wheel.is_fired(*key), fired, "round {round}: tick {tick}");
                if advanced {
                    let due = *tick <= advanced_tick;
                    assert_eq!(fired, due, "round {round}: tick {tick} at {advanced_tick}");
                }
                if !fired {
                    // A due timer waits at the wheel's tick, the tick of the last advance.
                    let at = (*tick).max(advanced_tick);
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
            }
            match (next_tick(&wheel, origin), earliest) {
                (None, None) => {}
                (Some(next), Some(earliest)) => {
                    assert!(
                        advanced_tick <= next && next <= earliest,
                        "round {round}: next {next} not in [{advanced_tick}, {earliest}]"
                    );
                    if earliest >> SLOT_BITS == advanced_tick >> SLOT_BITS {
                        assert_eq!(next, earliest, "round {round}: level 0 is exact");
                    }
                }
                (next, earliest) => panic!("round {round}: next {next:?}, model {earliest:?}"),
            }
        }
    }

    #[test]
    fn hundred_thousand_inserts_then_removes_leave_the_wheel_empty() {
        let origin = Instant::now();
        let mut wheel = Wheel::new(origin);
        let (count, waker) = counter();
        let timers = scaled(100_000, 2_000);
        let keys: Vec<TimerKey> = (0..timers)
            .map(|i| {
                wheel.insert(
                    origin + Duration::from_millis(i * 7919 % 10_000_000),
                    waker.clone(),
                )
            })
            .collect();
        assert_eq!(wheel.len(), timers as usize);
        advance_and_wake(&mut wheel, origin + Duration::from_millis(1000));
        // Remove in a scattered order so lists are cut in the middle, not only at the head.
        for i in 0..keys.len() {
            wheel.remove(keys[i * 31_337 % keys.len()]);
        }
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
        let fired_early = count.get();
        assert_eq!(
            advance_and_wake(&mut wheel, origin + Duration::from_secs(86_400)),
            0
        );
        assert_eq!(count.get(), fired_early);
        for i in 0..timers {
            let key = wheel.insert(origin + Duration::from_secs(86_400 + i), waker.clone());
            wheel.remove(key);
        }
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }
}

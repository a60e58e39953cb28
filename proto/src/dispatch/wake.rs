//! `WakeSet`: one waker per slot of a dispatcher's in-flight set.
//!
//! Both dispatchers (pipelined and multiplexed) hold a bounded set of request
//! futures. Polling all of them on every event is the quadratic collapse
//! tokio-proto suffered; instead each slot gets its own waker, made once per
//! connection, when the slot is first used (a connection that never has more
//! than one request in flight makes one). A wake queues only that slot's index (once, however often it is
//! woken) and wakes the connection's task, whose next turn polls just the
//! queued slots: O(woken) per turn, never O(in flight).
//!
//! Wakers are `Send` and may fire from any thread, so the queue sits behind a
//! mutex; nothing panics while holding it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};

/// Slot indices woken since the last turn, and the task to wake for them.
#[derive(Default)]
struct Woken {
    /// Not used by a set of one slot, where `any` says it all (and a wake
    /// costs one lock fewer: a dispatcher's read has such a set).
    indices: Mutex<Vec<usize>>,
    single: bool,
    /// Set after an index is queued, so a turn with none (the usual case when
    /// handlers finish at once) skips the lock.
    any: AtomicBool,
    parent: Mutex<Option<Waker>>,
}

/// The waker of one slot.
struct SlotWaker {
    index: usize,
    /// Set while the index is in `woken.indices`, so repeated wakes queue it
    /// once; cleared just before the slot is polled.
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            if !self.woken.single {
                lock(&self.woken.indices).push(self.index);
            }
            self.woken.any.store(true, Ordering::Release);
        }
        if let Some(parent) = lock(&self.woken.parent).as_ref() {
            parent.wake_by_ref();
        }
    }
}

/// Locks a mutex that no code path can poison (nothing panics while holding it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The per-slot wakers of a set of `capacity` slots, and the queue of woken slots.
pub(crate) struct WakeSet {
    /// The wakers of slots `0..wakers.len()`, the slots used so far.
    wakers: Vec<(Arc<SlotWaker>, Waker)>,
    woken: Arc<Woken>,
    /// A copy of the waker in `woken.parent`, so the lock is taken only when
    /// the task's waker changes, not every turn.
    registered: Option<Waker>,
}

impl WakeSet {
    /// Wakers for slots `0..capacity`, each made on first use.
    pub(crate) fn new(capacity: usize) -> WakeSet {
        let woken = Arc::new(Woken {
            single: capacity == 1,
            ..Woken::default()
        });
        WakeSet {
            wakers: Vec::new(),
            woken,
            registered: None,
        }
    }

    /// The waker to poll slot `index` with (made now if the slot is new).
    /// Clears the slot's queued flag first, so a wake during or after this
    /// poll queues the slot again.
    ///
    /// Slots come from the set's own bookkeeping, never from input, and each
    /// set uses the lowest free one, so `index` is at most one past the
    /// slots used so far.
    pub(crate) fn rearm(&mut self, index: usize) -> &Waker {
        while self.wakers.len() <= index {
            self.add_waker();
        }
        let (slot, waker) = &self.wakers[index];
        slot.queued.store(false, Ordering::Release);
        waker
    }

    /// Frees the slots' wakers (made again on first use) and the queue's
    /// memory. A waker still held elsewhere may yet queue its slot's index,
    /// which the caller must ignore if the slot is gone.
    pub(crate) fn release(&mut self) {
        self.wakers = Vec::new();
        *lock(&self.woken.indices) = Vec::new();
    }

    /// How many slots have a waker: those used so far.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.wakers.len()
    }

    /// Makes the waker of the next slot (out of line: once per slot).
    #[cold]
    #[inline(never)]
    fn add_waker(&mut self) {
        let slot = Arc::new(SlotWaker {
            index: self.wakers.len(),
            queued: AtomicBool::new(false),
            woken: self.woken.clone(),
        });
        self.wakers.push((slot.clone(), Waker::from(slot)));
    }

    /// Moves the slots woken since the last call into `into` (expected empty;
    /// its capacity is recycled), and registers `cx` as the task to wake for
    /// later wakes.
    pub(crate) fn take_woken(&mut self, cx: &Context<'_>, into: &mut Vec<usize>) {
        self.register(cx);
        // Cleared before the indices are taken: an index queued meanwhile sets
        // it again, at worst making the next call find an empty queue.
        if self.woken.any.swap(false, Ordering::AcqRel) {
            if self.woken.single {
                into.push(0);
            } else {
                std::mem::swap(into, &mut *lock(&self.woken.indices));
            }
        }
    }

    /// As [`take_woken`](Self::take_woken), for a caller that only needs to
    /// know whether any slot was woken.
    pub(crate) fn take_any(&mut self, cx: &Context<'_>) -> bool {
        self.register(cx);
        let any = self.woken.any.swap(false, Ordering::AcqRel);
        if any && !self.woken.single {
            lock(&self.woken.indices).clear();
        }
        any
    }

    /// Registers `cx` as the task to wake, unless it already is.
    fn register(&mut self, cx: &Context<'_>) {
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            *lock(&self.woken.parent) = Some(cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
    }
}

impl fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeSet")
            .field("used", &self.wakers.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_woken_twice_is_queued_once_until_rearmed() {
        let mut set = WakeSet::new(4);
        let cx = Context::from_waker(Waker::noop());
        let mut woken = Vec::new();
        let waker = set.rearm(2).clone();
        waker.wake_by_ref();
        waker.wake_by_ref();
        let by_value = set.rearm(1).clone();
        by_value.wake();
        set.take_woken(&cx, &mut woken);
        assert_eq!(woken, vec![2, 1]);
        woken.clear();
        waker.wake_by_ref();
        set.take_woken(&cx, &mut woken);
        assert!(woken.is_empty(), "slot 2 was not rearmed: {woken:?}");
        set.rearm(2);
        waker.wake_by_ref();
        set.take_woken(&cx, &mut woken);
        assert_eq!(woken, vec![2]);
    }

    #[test]
    fn take_any_tells_whether_a_slot_woke_and_wakes_the_task() {
        use std::sync::atomic::AtomicUsize;

        /// Counts the wakes of the task.
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let task_waker = Waker::from(task.clone());
        let cx = Context::from_waker(&task_waker);
        let mut set = WakeSet::new(1);
        assert!(!set.take_any(&cx), "nothing woke yet");
        let read = set.rearm(0).clone();
        read.wake_by_ref();
        assert_eq!(task.0.load(Ordering::Relaxed), 1, "the task was woken");
        assert!(set.take_any(&cx));
        assert!(!set.take_any(&cx), "taken once");
        read.wake_by_ref();
        assert!(!set.take_any(&cx), "not rearmed since: not queued again");
        set.rearm(0);
        read.wake_by_ref();
        assert!(set.take_any(&cx));
    }

    #[test]
    fn a_set_of_one_slot_reports_it_without_a_queue() {
        let mut set = WakeSet::new(1);
        let cx = Context::from_waker(Waker::noop());
        let mut woken = Vec::new();
        set.take_woken(&cx, &mut woken);
        assert!(woken.is_empty());
        set.rearm(0).wake_by_ref();
        set.rearm(0).wake_by_ref();
        set.take_woken(&cx, &mut woken);
        assert_eq!(woken, vec![0]);
    }
}

//! `Ordered`: the in-flight requests of one pipelined connection.
//!
//! A bounded ring of futures whose outputs are taken out in arrival order. Each
//! ring slot has its own waker (see `dispatch/wake.rs`), created once per
//! connection: when a future is woken, only its slot index is queued, and the
//! next poll of the set polls just the queued futures. A connection with N
//! requests in flight therefore costs O(woken) per turn, never O(N) — the
//! quadratic collapse tokio-proto suffered when it re-polled every in-flight
//! request on every event.
//!
//! A future must not move once polled, so it lives in a box; but a box per
//! request is an allocation and a free per request, a good share of what a
//! small request costs. So each slot keeps its box (of `Option<F>`) for the
//! next future it holds: a finished future is dropped in place, and the next
//! one written into the same allocation.
//!
//! Slots (and their wakers and boxes) are made on first use, and an emptied
//! ring starts again at slot 0, so a connection holds as many as it has had
//! requests in flight at once: one, for a client that waits for each
//! response, not the pipelining limit; and none once an idle connection
//! [`release`](Ordered::release)s them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::dispatch::wake::WakeSet;

/// One place in the ring: empty, running (a future in `home`) or done (an
/// output).
struct Slot<F: Future> {
    /// Where this slot's futures live: allocated on first use, then reused.
    home: Option<Pin<Box<Option<F>>>>,
    output: Option<F::Output>,
}

impl<F: Future> Slot<F> {
    fn empty() -> Self {
        Slot {
            home: None,
            output: None,
        }
    }

    /// Drops the future or output held here, keeping the box.
    fn clear(&mut self) {
        if let Some(home) = &mut self.home {
            home.set(None);
        }
        self.output = None;
    }
}

/// A bounded, ordered set of in-flight futures.
pub(crate) struct Ordered<F: Future> {
    /// Slots `0..slots.len()` of the ring's `capacity`, the ones used so far.
    slots: Vec<Slot<F>>,
    capacity: usize,
    wake: WakeSet,
    /// Slot of the oldest future.
    head: usize,
    len: usize,
    scratch: Vec<usize>,
}

impl<F: Future> Ordered<F> {
    /// A set holding at most `capacity` futures.
    pub(crate) fn new(capacity: usize) -> Ordered<F> {
        let capacity = capacity.max(1);
        Ordered {
            slots: Vec::new(),
            capacity,
            wake: WakeSet::new(capacity),
            head: 0,
            len: 0,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// Adds the future `make` builds behind the others and polls it once.
    ///
    /// Taking a constructor rather than the future lets the compiler build a
    /// large future (a whole request's handler) in place where it can.
    ///
    /// # Panics
    /// If the set is full: callers check [`is_full`](Self::is_full) first.
    #[inline]
    pub(crate) fn push_with(&mut self, make: impl FnOnce() -> F) {
        assert!(!self.is_full(), "Ordered::push on a full set");
        let index = (self.head + self.len) % self.capacity;
        self.len += 1;
        if index == self.slots.len() {
            self.add_slot();
        }
        let slot = &mut self.slots[index];
        match &mut slot.home {
            Some(home) => home.set(Some(make())),
            None => slot.home = Some(Box::pin(Some(make()))),
        }
        self.poll_slot(index);
    }

    /// Adds the next slot. The ring starts at 0 when empty, so a slot not
    /// made yet is always the next one. Out of line: inlined, it kept the
    /// compiler from building the pushed future in place (a 1 KiB copy per
    /// request of the HTTP server's).
    #[cold]
    #[inline(never)]
    fn add_slot(&mut self) {
        self.slots.push(Slot::empty());
    }

    fn poll_slot(&mut self, index: usize) {
        let waker = self.wake.rearm(index);
        let slot = &mut self.slots[index];
        let Some(home) = &mut slot.home else {
            return;
        };
        let Some(future) = home.as_mut().as_pin_mut() else {
            return;
        };
        if let Poll::Ready(output) = future.poll(&mut Context::from_waker(waker)) {
            // Dropped now, as it would be without the reuse.
            home.set(None);
            slot.output = Some(output);
        }
    }

    /// Polls the futures woken since the last call; registers `cx` for later wakes.
    pub(crate) fn poll_woken(&mut self, cx: &mut Context<'_>) {
        let mut indices = std::mem::take(&mut self.scratch);
        self.wake.take_woken(cx, &mut indices);
        for &index in &indices {
            // A waker kept past its future's end (by a timer, say) can name
            // a slot released since: there is nothing to poll there.
            if index < self.slots.len() {
                self.poll_slot(index);
            }
        }
        indices.clear();
        self.scratch = indices;
    }

    /// Takes the oldest output, if the oldest future has finished.
    pub(crate) fn pop_ready(&mut self) -> Option<F::Output> {
        if self.len == 0 {
            return None;
        }
        let output = self.slots[self.head].output.take()?;
        self.len -= 1;
        self.head = if self.len == 0 {
            0
        } else {
            (self.head + 1) % self.capacity
        };
        Some(output)
    }

    /// Frees the slots, their boxes and wakers, if none holds a future or an
    /// output: an idle connection's share. The next push makes them again.
    pub(crate) fn release(&mut self) {
        if self.len == 0 {
            self.slots = Vec::new();
            self.scratch = Vec::new();
            self.wake.release();
        }
    }

    /// Drops every future still in flight.
    pub(crate) fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.clear();
        }
        self.len = 0;
        self.head = 0;
    }
}

impl<F: Future> fmt::Debug for Ordered<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ordered")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::task::Waker;

    use super::*;

    /// A future that completes when its flag is set, counting its polls.
    struct Gate {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<usize>>,
        waker: Rc<RefCell<Option<Waker>>>,
        value: usize,
    }

    impl Future for Gate {
        type Output = usize;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls.set(self.polls.get() + 1);
            if self.open.get() {
                Poll::Ready(self.value)
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The test's view of a [`Gate`]: its open flag, poll count and last waker.
    type GateHandle = (Rc<Cell<bool>>, Rc<Cell<usize>>, Rc<RefCell<Option<Waker>>>);

    fn gate(value: usize) -> (Gate, GateHandle) {
        let open = Rc::new(Cell::new(false));
        let polls = Rc::new(Cell::new(0));
        let waker = Rc::new(RefCell::new(None));
        (
            Gate {
                open: open.clone(),
                polls: polls.clone(),
                waker: waker.clone(),
                value,
            },
            (open, polls, waker),
        )
    }

    #[test]
    fn outputs_come_out_in_push_order_even_when_finished_out_of_order() {
        let mut set = Ordered::new(4);
        let (a, (open_a, _, wake_a)) = gate(1);
        let (b, (open_b, _, wake_b)) = gate(2);
        set.push_with(|| a);
        set.push_with(|| b);
        open_b.set(true);
        wake_b.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        assert_eq!(set.pop_ready(), None, "b is done but a, before it, is not");
        open_a.set(true);
        wake_a.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        assert_eq!(set.pop_ready(), Some(1));
        assert_eq!(set.pop_ready(), Some(2));
        assert!(set.is_empty());
    }

    #[test]
    fn only_woken_futures_are_polled() {
        let mut set = Ordered::new(64);
        let mut handles = Vec::new();
        for i in 0..64 {
            let (g, (open, polls, waker)) = gate(i);
            set.push_with(|| g);
            handles.push((open, polls, waker));
        }
        for _ in 0..10 {
            set.poll_woken(&mut Context::from_waker(Waker::noop()));
        }
        handles[5].0.set(true);
        handles[5].2.borrow().as_ref().unwrap().wake_by_ref();
        handles[5].2.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        for (i, (_, polls, _)) in handles.iter().enumerate() {
            let expected = if i == 5 { 2 } else { 1 };
            assert_eq!(
                polls.get(),
                expected,
                "future {i} polled {} times",
                polls.get()
            );
        }
    }

    /// Sets its flag when dropped.
    struct DropFlag(Rc<Cell<bool>>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    /// `gate`'s value, holding `flag` until it finishes.
    async fn flagged(gate: Gate, flag: DropFlag) -> usize {
        let _flag = flag;
        gate.await
    }

    #[test]
    fn a_slot_reuses_its_box_and_drops_a_finished_future_at_once() {
        let mut set = Ordered::new(1);
        let home = |set: &Ordered<_>| set.slots[0].home.as_deref().map(std::ptr::from_ref);
        let (first, (open, _, _)) = gate(1);
        open.set(true);
        let dropped = Rc::new(Cell::new(false));
        set.push_with(|| flagged(first, DropFlag(dropped.clone())));
        assert!(
            dropped.get(),
            "the finished future was dropped before its output was taken"
        );
        let first_home = home(&set);
        assert!(first_home.is_some());
        assert_eq!(set.pop_ready(), Some(1));
        let (second, (open, _, waker)) = gate(2);
        set.push_with(|| flagged(second, DropFlag(Rc::new(Cell::new(false)))));
        assert_eq!(
            home(&set),
            first_home,
            "the second future went into the first one's box"
        );
        assert_eq!(set.pop_ready(), None);
        open.set(true);
        waker.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        assert_eq!(set.pop_ready(), Some(2));
    }

    #[test]
    fn slots_are_made_only_as_deep_as_requests_overlap() {
        let mut set = Ordered::new(16);
        for round in 0..100 {
            set.push_with(|| std::future::ready(round));
            assert_eq!(set.pop_ready(), Some(round));
        }
        assert_eq!(set.slots.len(), 1, "one request at a time needs one slot");
        for round in 0..100 {
            set.push_with(|| std::future::ready(round));
            set.push_with(|| std::future::ready(round + 1));
            set.push_with(|| std::future::ready(round + 2));
            assert_eq!(set.pop_ready(), Some(round));
            assert_eq!(set.pop_ready(), Some(round + 1));
            assert_eq!(set.pop_ready(), Some(round + 2));
        }
        assert_eq!(set.slots.len(), 3, "three at a time need three");
        assert_eq!(set.wake.used(), 3);
    }

    #[test]
    fn a_ring_kept_partly_full_grows_to_its_capacity_and_wraps() {
        let mut set = Ordered::new(4);
        let mut next_in = 0;
        let mut next_out = 0;
        for _ in 0..4 {
            set.push_with(|| std::future::ready(next_in));
            next_in += 1;
        }
        assert!(set.is_full());
        for _ in 0..50 {
            assert_eq!(set.pop_ready(), Some(next_out));
            next_out += 1;
            set.push_with(|| std::future::ready(next_in));
            next_in += 1;
        }
        assert_eq!(set.slots.len(), 4);
        while let Some(out) = set.pop_ready() {
            assert_eq!(out, next_out);
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
    }

    #[test]
    fn ring_wraps_around() {
        let mut set = Ordered::new(2);
        for round in 0..10 {
            set.push_with(|| std::future::ready(round));
            assert_eq!(set.pop_ready(), Some(round));
        }
        assert!(set.is_empty());
    }

    #[test]
    fn a_released_set_ignores_a_stale_waker_and_works_again() {
        let mut set = Ordered::new(4);
        let (a, (open_a, _, wake_a)) = gate(1);
        set.push_with(|| a);
        open_a.set(true);
        wake_a.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        assert_eq!(set.pop_ready(), Some(1));
        set.release();
        assert!(set.slots.is_empty(), "released: no slot kept");
        // The finished future's waker, kept elsewhere, names a slot that is
        // gone: polling must skip it, not index past the slots.
        wake_a.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        let (b, (open_b, _, wake_b)) = gate(2);
        set.push_with(|| b);
        assert_eq!(set.pop_ready(), None);
        open_b.set(true);
        wake_b.borrow().as_ref().unwrap().wake_by_ref();
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
        assert_eq!(set.pop_ready(), Some(2), "the set works after a release");
    }
}

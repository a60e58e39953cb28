//! `Unordered`: the in-flight requests of one multiplexed connection.
//!
//! A bounded set of keyed futures whose outputs are taken out as they finish,
//! in any order. Like the pipelined `Ordered` set, each slot has its own waker
//! (`dispatch/wake.rs`), so a turn polls only the futures woken since the last one.
//! A slot keeps its future's box after the future finishes and the next request
//! in that slot reuses it: once every slot has been used, dispatch allocates
//! nothing per request.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::dispatch::wake::WakeSet;

/// What a slot holds between its future's push and its output's pop.
enum State<K, O> {
    /// No request; the slot's index is in `free`.
    Free,
    /// The future is running; only slots in this state are polled.
    Running(K),
    /// The future finished; the slot's index is in `done`.
    Done(K, O),
}

struct Slot<F: Future, K> {
    /// The last future run in this slot, kept for its allocation once finished.
    future: Option<Pin<Box<F>>>,
    state: State<K, F::Output>,
}

/// A bounded set of in-flight futures, each under a key, finishing in any order.
pub(crate) struct Unordered<F: Future, K> {
    slots: Vec<Slot<F, K>>,
    wake: WakeSet,
    free: Vec<usize>,
    /// Slots whose futures finished, in the order they finished.
    done: VecDeque<usize>,
    scratch: Vec<usize>,
}

impl<F: Future, K> Unordered<F, K> {
    /// A set holding at most `capacity` futures (at least 1).
    pub(crate) fn new(capacity: usize) -> Unordered<F, K> {
        let capacity = capacity.max(1);
        Unordered {
            slots: (0..capacity)
                .map(|_| Slot {
                    future: None,
                    state: State::Free,
                })
                .collect(),
            wake: WakeSet::new(capacity),
            // Reversed so slot 0 is used first.
            free: (0..capacity).rev().collect(),
            done: VecDeque::with_capacity(capacity),
            scratch: Vec::new(),
        }
    }

    /// Whether no future is in the set, running or finished.
    pub(crate) fn is_empty(&self) -> bool {
        self.free.len() == self.slots.len()
    }

    /// Whether the set holds `capacity` futures.
    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Adds `future` under `key` and polls it once.
    ///
    /// # Panics
    /// If the set is full: callers check [`is_full`](Self::is_full) first.
    pub(crate) fn push(&mut self, key: K, future: F) {
        let index = self.free.pop().expect("Unordered::push on a full set");
        let slot = &mut self.slots[index];
        match &mut slot.future {
            Some(old) => old.set(future),
            None => slot.future = Some(Box::pin(future)),
        }
        slot.state = State::Running(key);
        self.poll_slot(index);
    }

    fn poll_slot(&mut self, index: usize) {
        let waker = self.wake.rearm(index);
        let slot = &mut self.slots[index];
        let (State::Running(_), Some(future)) = (&slot.state, &mut slot.future) else {
            return;
        };
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(waker)) {
            if let State::Running(key) = std::mem::replace(&mut slot.state, State::Free) {
                slot.state = State::Done(key, output);
                self.done.push_back(index);
            }
        }
    }

    /// Polls the futures woken since the last call; registers `cx` for later wakes.
    pub(crate) fn poll_woken(&mut self, cx: &mut Context<'_>) {
        let mut indices = std::mem::take(&mut self.scratch);
        self.wake.take_woken(cx, &mut indices);
        for &index in &indices {
            self.poll_slot(index);
        }
        indices.clear();
        self.scratch = indices;
    }

    /// Takes the key and output of the earliest finished future, if any.
    pub(crate) fn pop_ready(&mut self) -> Option<(K, F::Output)> {
        let index = self.done.pop_front()?;
        let state = std::mem::replace(&mut self.slots[index].state, State::Free);
        let State::Done(key, output) = state else {
            unreachable!("slots listed in `done` hold finished futures");
        };
        self.free.push(index);
        Some((key, output))
    }

    /// Drops every future, running or finished, and their outputs.
    pub(crate) fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.future = None;
            slot.state = State::Free;
        }
        self.free = (0..self.slots.len()).rev().collect();
        self.done.clear();
    }
}

impl<F: Future, K> fmt::Debug for Unordered<F, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unordered")
            .field("len", &(self.slots.len() - self.free.len()))
            .field("capacity", &self.slots.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::Waker;

    use super::*;

    /// A future that finishes once its flag is set, counting its polls.
    struct Gate {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<usize>>,
        value: u32,
    }

    impl Future for Gate {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            self.polls.set(self.polls.get() + 1);
            if self.open.get() {
                Poll::Ready(self.value)
            } else {
                Poll::Pending
            }
        }
    }

    /// The test's handles on one gate: its flag and its poll count.
    struct Handle {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<usize>>,
    }

    fn gate(value: u32) -> (Gate, Handle) {
        let open = Rc::new(Cell::new(false));
        let polls = Rc::new(Cell::new(0));
        let handle = Handle {
            open: open.clone(),
            polls: polls.clone(),
        };
        (Gate { open, polls, value }, handle)
    }

    fn turn<F: Future, K>(set: &mut Unordered<F, K>) {
        set.poll_woken(&mut Context::from_waker(Waker::noop()));
    }

    #[test]
    fn outputs_come_out_in_finishing_order_with_their_keys() {
        let mut set = Unordered::new(4);
        let (a, ha) = gate(1);
        let (b, hb) = gate(2);
        set.push("a", a);
        set.push("b", b);
        hb.open.set(true);
        set.wake.rearm(1).wake_by_ref();
        turn(&mut set);
        assert_eq!(set.pop_ready(), Some(("b", 2)));
        assert_eq!(set.pop_ready(), None, "a is still running");
        ha.open.set(true);
        set.wake.rearm(0).wake_by_ref();
        turn(&mut set);
        assert_eq!(set.pop_ready(), Some(("a", 1)));
        assert!(set.is_empty());
    }

    #[test]
    fn only_woken_futures_are_polled() {
        let mut set = Unordered::new(64);
        let handles: Vec<Handle> = (0..64)
            .map(|i| {
                let (g, h) = gate(i);
                set.push(i, g);
                h
            })
            .collect();
        assert!(set.is_full());
        for _ in 0..10 {
            turn(&mut set);
        }
        let waker = set.wake.rearm(5).clone();
        waker.wake_by_ref();
        waker.wake_by_ref();
        turn(&mut set);
        for (i, handle) in handles.iter().enumerate() {
            let expected = if i == 5 { 2 } else { 1 };
            assert_eq!(handle.polls.get(), expected, "future {i}");
        }
    }

    #[test]
    fn a_finished_slot_is_not_polled_again_and_is_reused() {
        let mut set = Unordered::new(1);
        for round in 0..10 {
            let (g, h) = gate(round);
            h.open.set(true);
            set.push(round, g);
            set.wake.rearm(0).wake_by_ref();
            turn(&mut set);
            assert_eq!(h.polls.get(), 1, "round {round}");
            assert_eq!(set.pop_ready(), Some((round, round)));
        }
    }

    #[test]
    fn clear_drops_running_and_finished_futures() {
        let mut set = Unordered::new(2);
        set.push(0, std::future::ready(0));
        set.push(1, std::future::ready(1));
        set.clear();
        assert!(set.is_empty());
        assert_eq!(set.pop_ready(), None);
        set.push(2, std::future::ready(2));
        assert_eq!(set.pop_ready(), Some((2, 2)));
    }
}

//! The op state machine: who owns an in-flight operation's memory, and when.
//!
//! An operation the kernel (or, on compat, a blocking-pool thread) works on
//! asynchronously gets a *slot* here. Its [`Key`] — slab index plus a generation —
//! travels as the io_uring `user_data`, so a completion always finds its slot, and
//! a stale key (a completion or cancel for a slot that has since been reused) is
//! recognised and ignored instead of hitting someone else's operation.
//!
//! # Who owns what, when
//!
//! | state        | the op's buffer / fd / addresses live in | the waker lives in |
//! |--------------|------------------------------------------|--------------------|
//! | `Waiting`    | the `Op` future                          | the slot           |
//! | `Completed`  | the `Op` future (the kernel is done)     | —                  |
//! | `Orphaned`   | **the slot** (the future was dropped)    | —                  |
//! | `Streaming`  | the stream that armed it                 | the slot, if any   |
//!
//! A *multishot* op (one submission, many completions: a receive that stays
//! armed) lives in `Streaming` from its insertion: its completions queue up in
//! the slot until the stream collects them, and the one without
//! [`CQE_F_MORE`] — the kernel's last for that submission — frees the slot when
//! collected. The queue is bounded by what the kernel can complete: for a
//! receive, one completion per provided buffer plus the final one. An op
//! armed with a *backlog* is cancelled once that many completions wait
//! uncollected ([`AfterComplete::Cancel`]): a pooled receive whose reader
//! has stopped reading (a slow handler, a peer that sends and never reads)
//! would otherwise take the whole shared pool, buffer by buffer, and stall
//! every other connection; cancelled, its bytes wait in the socket, as an
//! owned read's would, and its next receive arms it again. Orphaned, a
//! multishot slot stays `Orphaned` through completions that carry `F_MORE`
//! (each handed to the orphan, which returns its buffers) until the last one.
//!
//! The one rule that makes cancellation safe: the memory the kernel may write is
//! never freed while the slot is `Waiting` or `Orphaned`. When a
//! future is dropped in flight, its op data moves into the slot (`Orphaned`); the
//! slot is only removed, and the data dropped, once the completion arrives.
//!
//! Moving the op into the slot costs one allocation (`Box<dyn Orphan>`): the slab
//! cannot hold every op type inline, since ops are generic over user buffer types.
//! Dropping a future with I/O in flight is the rare path (a timeout, a closed
//! connection); the hot path — submit, complete, collect — allocates nothing.
//! A multishot slot's queue holds one completion inline; it allocates only
//! when several wait uncollected, and keeps that room for the arming.
//!
//! # Quiet completions
//!
//! A waiting future says which completions must wake it ([`WakeOn`]). Most
//! want every one. A server's write of a response does not: once it is
//! handed to the kernel the connection has nothing to do until the next
//! request arrives, so a send that went whole wakes nobody and waits in the
//! slot, `Completed`, for the poll that the next request brings. Only a short
//! or failed send wakes its task, which must resume or report it. On a
//! completion-based driver that saves the task a turn per response — the one
//! thing a readiness runtime, whose writes finish inside the call, never
//! pays.

use std::fmt;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::queue::InlineQueue;

/// Identifies a slot: slab index plus the generation the slot had when issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

/// `user_data` values with this index are the driver's own (wake-ups,
/// cancellations), never a slot: the slab is capped below it.
const RESERVED_INDEX: u32 = u32::MAX;

impl Key {
    /// The `user_data` carried by the operation's submission.
    pub(crate) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The key a completion's `user_data` names, or `None` for a reserved tag.
    pub(crate) fn from_user_data(user_data: u64) -> Option<Key> {
        let index = user_data as u32;
        let generation = (user_data >> 32) as u32;
        (index != RESERVED_INDEX).then_some(Key { index, generation })
    }

    /// A driver-internal tag, distinct from every slot key.
    pub(crate) const fn reserved(tag: u32) -> u64 {
        ((tag as u64) << 32) | RESERVED_INDEX as u64
    }
}

/// `IORING_CQE_F_BUFFER` (io_uring.h): the completion used a provided buffer,
/// whose id is in the upper 16 bits of the flags.
const CQE_F_BUFFER: u32 = 1;
/// `IORING_CQE_F_MORE` (io_uring.h): more completions of this submission follow.
const CQE_F_MORE: u32 = 1 << 1;
/// `IORING_CQE_F_NOTIF` (io_uring.h): a zero-copy send's notification, posted
/// once the kernel no longer reads the buffer.
const CQE_F_NOTIF: u32 = 1 << 3;
/// `IORING_CQE_BUFFER_SHIFT` (io_uring.h): where the buffer id sits in the flags.
const CQE_BUFFER_SHIFT: u32 = 16;

/// The outcome of an operation as the kernel (or the compat pool) reported it.
#[derive(Debug)]
pub(crate) struct Completion {
    /// The result: bytes transferred, a returned fd, or the OS error.
    pub(crate) result: io::Result<usize>,
    /// The CQE flags (`CQE_F_*`); always 0 on compat.
    pub(crate) flags: u32,
}

impl Completion {
    /// A completion without flags: every single-shot op on compat.
    pub(crate) fn plain(result: io::Result<usize>) -> Completion {
        Completion { result, flags: 0 }
    }

    /// Whether more completions of the same submission follow (multishot).
    pub(crate) fn more(&self) -> bool {
        self.flags & CQE_F_MORE != 0
    }

    /// Whether this is a zero-copy send's notification rather than its result.
    pub(crate) fn notification(&self) -> bool {
        self.flags & CQE_F_NOTIF != 0
    }

    /// The provided buffer the kernel filled, if it picked one.
    pub(crate) fn buffer_id(&self) -> Option<u16> {
        (self.flags & CQE_F_BUFFER != 0).then_some((self.flags >> CQE_BUFFER_SHIFT) as u16)
    }
}

/// Which completions wake the future waiting on a slot (see the
/// [module docs](self#quiet-completions)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WakeOn {
    /// Every completion.
    Every,
    /// Only a failure, or a result of fewer than this many bytes: a write
    /// that went whole stays in its slot until the future polls again.
    ShortOf(usize),
}

impl WakeOn {
    fn wakes(self, completion: &Completion) -> bool {
        match self {
            WakeOn::Every => true,
            WakeOn::ShortOf(len) => completion.result.as_ref().map_or(true, |&n| n < len),
        }
    }
}

/// The resources of an op whose future was dropped while the kernel had them.
pub(crate) trait Orphan {
    /// Called once, with the completion that finally arrived, before the orphan is
    /// dropped: releases what the kernel handed back (e.g. closes an accepted fd).
    fn complete(&mut self, completion: &Completion);
}

/// The state of one slot. See the [module docs](self) for who owns what.
enum Lifecycle {
    /// In flight, and the future is waiting with this waker. Set at
    /// submission, with the waker of the poll that submitted: a future that
    /// submits has nothing to do but wait, so it need not poll the slot again
    /// just to leave its waker (one slot lookup per op saved).
    Waiting(Waker, WakeOn),
    /// Done; the future has not collected the result yet.
    Completed(Completion),
    /// The future is gone; the slot keeps its op data until the completion (for a
    /// multishot op: until the completion without `F_MORE`).
    Orphaned(Box<dyn Orphan>),
    /// A multishot op, set at insertion: completions not yet collected, oldest
    /// first, and the waker of the stream waiting for them. Never `Completed`:
    /// collecting the completion without `F_MORE` removes the slot.
    Streaming {
        queue: InlineQueue<Completion>,
        waker: Option<Waker>,
        /// Uncollected completions that get the op cancelled; `None`: no cap.
        backlog: Option<usize>,
        /// The cancel has been asked for.
        cancelling: bool,
    },
}

impl Lifecycle {
    /// Whether the kernel may still complete this slot's op (and write its memory).
    fn in_flight(&self) -> bool {
        match self {
            Lifecycle::Completed(_) => false,
            Lifecycle::Streaming { queue, .. } => queue.back().is_none_or(Completion::more),
            Lifecycle::Waiting(..) | Lifecycle::Orphaned(_) => true,
        }
    }
}

struct Slot {
    generation: u32,
    state: Lifecycle,
}

/// What the caller must do after [`Slots::complete`], outside any borrow of the
/// slots (waking or dropping may run user code).
pub(crate) enum AfterComplete {
    /// Wake the waiting future.
    Wake(Waker),
    /// The orphan has been completed; drop it.
    Drop(Box<dyn Orphan>),
    /// Nothing to do: the future will find the result when it polls.
    Nothing,
    /// The multishot op's backlog is full: ask the kernel to cancel it (its
    /// last completion, without `F_MORE`, ends the stream), and wake its
    /// stream if it waits.
    Cancel(Option<Waker>),
}

impl AfterComplete {
    /// Does it, outside any borrow of the slots; `cancel` asks the back-end
    /// to cancel the op (only a multishot op with a backlog asks).
    pub(crate) fn run(self, cancel: impl FnOnce()) {
        match self {
            AfterComplete::Wake(waker) => waker.wake(),
            AfterComplete::Drop(orphan) => drop(orphan),
            AfterComplete::Nothing => {}
            AfterComplete::Cancel(waker) => {
                cancel();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }
}

/// What happened when a future gave up its slot.
pub(crate) enum AfterOrphan<T> {
    /// The op had already completed: the slot is gone; the data and its
    /// completion come back, for the caller to release outside the borrow.
    Completed(Completion, T),
    /// Still in flight: the slot now owns the data; ask the kernel to cancel.
    Cancel,
    /// A multishot op that had already ended: the slot is gone and every queued
    /// completion was handed to the data's [`Orphan::complete`]; drop the data.
    Ended(T),
}

/// All slots of one driver.
pub(crate) struct Slots {
    slab: Slab<Slot>,
    next_generation: u32,
}

impl Slots {
    pub(crate) fn new() -> Slots {
        Slots {
            slab: Slab::new(),
            next_generation: 0,
        }
    }

    /// Takes a slot for a single-shot operation about to be submitted by a
    /// future polled with `waker`, to be woken on the completions of `wake_on`.
    pub(crate) fn insert(&mut self, waker: &Waker, wake_on: WakeOn) -> io::Result<Key> {
        self.insert_with(Lifecycle::Waiting(waker.clone(), wake_on))
    }

    /// Takes a slot for a multishot operation about to be submitted, to be
    /// cancelled once `backlog` completions wait uncollected (`None`: never).
    pub(crate) fn insert_streaming(&mut self, backlog: Option<usize>) -> io::Result<Key> {
        self.insert_with(Lifecycle::Streaming {
            queue: InlineQueue::new(),
            waker: None,
            backlog,
            cancelling: false,
        })
    }

    fn insert_with(&mut self, state: Lifecycle) -> io::Result<Key> {
        let entry = self.slab.vacant_entry();
        let index = u32::try_from(entry.key())
            .ok()
            .filter(|&index| index != RESERVED_INDEX)
            .ok_or_else(|| io::Error::other("operations in flight over limit 4294967294"))?;
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        entry.insert(Slot { generation, state });
        Ok(Key { index, generation })
    }

    /// Frees a slot whose op never reached the kernel (its submission failed).
    pub(crate) fn remove_unsubmitted(&mut self, key: Key) {
        if self.slot_mut(key).is_some() {
            self.slab.remove(key.index as usize);
        }
    }

    fn slot_mut(&mut self, key: Key) -> Option<&mut Slot> {
        self.slab
            .get_mut(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
    }

    /// Polls the op in `key`'s slot: its completion (freeing the slot), or Pending
    /// with the waker stored, to be woken on the completions of `wake_on`.
    pub(crate) fn poll(
        &mut self,
        key: Key,
        cx: &mut Context<'_>,
        wake_on: WakeOn,
    ) -> Poll<Completion> {
        let slot = self
            .slot_mut(key)
            .expect("invariant: a live Op future's slot exists until it collects the result");
        match &mut slot.state {
            Lifecycle::Waiting(waker, waking) => {
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
                *waking = wake_on;
                Poll::Pending
            }
            Lifecycle::Completed(_) => match self.slab.remove(key.index as usize).state {
                Lifecycle::Completed(completion) => Poll::Ready(completion),
                _ => unreachable!("state was Completed a line above"),
            },
            Lifecycle::Orphaned(_) => unreachable!("an orphaned slot has no future to poll it"),
            Lifecycle::Streaming { .. } => unreachable!("a multishot slot is polled as a stream"),
        }
    }

    /// Polls the multishot op in `key`'s slot: its oldest uncollected completion,
    /// or Pending with the waker stored. Collecting the completion without
    /// `F_MORE` frees the slot: the key is then dead.
    pub(crate) fn poll_stream(&mut self, key: Key, cx: &mut Context<'_>) -> Poll<Completion> {
        let slot = self
            .slot_mut(key)
            .expect("invariant: a live stream's slot exists until it collects the last completion");
        match &mut slot.state {
            Lifecycle::Streaming { queue, waker, .. } => match queue.pop_front() {
                Some(completion) => {
                    if !completion.more() {
                        self.slab.remove(key.index as usize);
                    }
                    Poll::Ready(completion)
                }
                None => {
                    match waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => *waker = Some(cx.waker().clone()),
                    }
                    Poll::Pending
                }
            },
            Lifecycle::Waiting(..) | Lifecycle::Completed(_) | Lifecycle::Orphaned(_) => {
                unreachable!("a single-shot or orphaned slot is never polled as a stream")
            }
        }
    }

    /// Records a completion. A key whose slot is gone or reused is ignored (a late
    /// completion can never hit another operation).
    pub(crate) fn complete(&mut self, key: Key, completion: Completion) -> AfterComplete {
        let Some(slot) = self.slot_mut(key) else {
            return AfterComplete::Nothing;
        };
        match &mut slot.state {
            Lifecycle::Streaming {
                queue,
                waker,
                backlog,
                cancelling,
            } => {
                let more = completion.more();
                queue.push_back(completion);
                if more && !*cancelling && backlog.is_some_and(|cap| queue.len() >= cap) {
                    *cancelling = true;
                    return AfterComplete::Cancel(waker.take());
                }
                return waker
                    .take()
                    .map_or(AfterComplete::Nothing, AfterComplete::Wake);
            }
            Lifecycle::Orphaned(orphan) if completion.more() => {
                orphan.complete(&completion);
                return AfterComplete::Nothing;
            }
            _ => {}
        }
        let wakes = match &slot.state {
            Lifecycle::Waiting(_, wake_on) => wake_on.wakes(&completion),
            _ => true,
        };
        match std::mem::replace(&mut slot.state, Lifecycle::Completed(completion)) {
            Lifecycle::Waiting(waker, _) if wakes => AfterComplete::Wake(waker),
            // The waker goes; the future finds the result when it next polls.
            Lifecycle::Waiting(..) => AfterComplete::Nothing,
            Lifecycle::Orphaned(mut orphan) => {
                let Lifecycle::Completed(completion) = self.slab.remove(key.index as usize).state
                else {
                    unreachable!("state was set to Completed above");
                };
                orphan.complete(&completion);
                AfterComplete::Drop(orphan)
            }
            Lifecycle::Completed(_) => {
                debug_assert!(false, "two completions for one single-shot operation");
                AfterComplete::Nothing
            }
            Lifecycle::Streaming { .. } => unreachable!("handled before the replace"),
        }
    }

    /// The future of `key` is being dropped while it still holds `data`.
    /// A multishot op's queued completions are handed to `data` at once (so it
    /// returns their buffers); if the last of them ended the op, the slot goes too.
    pub(crate) fn orphan<T: Orphan + 'static>(&mut self, key: Key, mut data: T) -> AfterOrphan<T> {
        let slot = self
            .slot_mut(key)
            .expect("invariant: a live Op future's slot exists until it collects the result");
        match &mut slot.state {
            Lifecycle::Streaming { queue, .. } => {
                let mut ended = false;
                for completion in queue.drain() {
                    ended = !completion.more();
                    data.complete(&completion);
                }
                if ended {
                    self.slab.remove(key.index as usize);
                    AfterOrphan::Ended(data)
                } else {
                    slot.state = Lifecycle::Orphaned(Box::new(data));
                    AfterOrphan::Cancel
                }
            }
            Lifecycle::Completed(_) => match self.slab.remove(key.index as usize).state {
                Lifecycle::Completed(completion) => AfterOrphan::Completed(completion, data),
                _ => unreachable!("state was Completed a line above"),
            },
            Lifecycle::Waiting(..) => {
                slot.state = Lifecycle::Orphaned(Box::new(data));
                AfterOrphan::Cancel
            }
            Lifecycle::Orphaned(_) => unreachable!("a slot is orphaned once, by its only future"),
        }
    }

    /// Slots taken: in flight, or completed and not yet collected.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Slots whose operation the kernel still has.
    pub(crate) fn in_flight(&self) -> usize {
        self.slab
            .iter()
            .filter(|(_, slot)| slot.state.in_flight())
            .count()
    }

    /// Keys of every slot still in flight (to cancel them at shutdown).
    pub(crate) fn in_flight_keys(&self) -> Vec<Key> {
        self.slab
            .iter()
            .filter(|(_, slot)| slot.state.in_flight())
            .map(|(index, slot)| Key {
                index: index as u32,
                generation: slot.generation,
            })
            .collect()
    }

    /// Gives up on slots whose completion never came: their memory is leaked, never
    /// freed, because the kernel may still write it. Used only when a shutdown's
    /// wait for completions times out.
    pub(crate) fn leak_in_flight(&mut self) {
        // Forgetting the slab forgets every slot in it, orphans included.
        std::mem::forget(std::mem::take(&mut self.slab));
    }
}

/// A shutdown's wait for the ops still in flight: calls `turn` with the most
/// time to wait for completions (at most 50 ms, so `busy` is checked often)
/// while `busy` says some op is still in flight and `deadline` has not passed.
/// Returns `false` on the deadline: the caller must then leak, never free, the
/// memory those ops name ([`Slots::leak_in_flight`]).
pub(crate) fn wait_in_flight(
    deadline: Duration,
    mut busy: impl FnMut() -> bool,
    mut turn: impl FnMut(Duration),
) -> bool {
    let end = Instant::now() + deadline;
    while busy() {
        let now = Instant::now();
        if now >= end {
            return false;
        }
        turn((end - now).min(Duration::from_millis(50)));
    }
    true
}

impl fmt::Debug for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("len", &self.slab.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;

//! The pool's bookkeeping: which connections exist, how many calls each
//! carries, who waits, and whether the pool is backing off after connect
//! failures. Pure and synchronous: the async parts (`mod.rs` for callers,
//! `maintain.rs` for the background task) ask it what to do, do it, and report
//! back, so every rule lives here once.
//!
//! # Who touches what
//!
//! - A [`Slot`]'s `in_flight` counts the leases handed out on it: raised only
//!   by [`State::decide`] and [`State::connected`], lowered only by
//!   [`State::release`] when a lease drops. A slot leaves `slots` when its
//!   connection is seen closed (at any of those points or in
//!   [`State::maintain`]) or idles out; calls still holding it keep their `Rc`
//!   and finish on it, but it is never handed out again.
//! - `connecting` counts connects in flight, by a caller or the background
//!   task: raised by `decide`/`maintain` when they answer "connect", lowered by
//!   `connected`, `connect_failed` or `connect_abandoned`, exactly once each.
//! - A [`Waiter`] is in `waiters` until [`State::wake_one`] pops it and sets
//!   `notified`, or its caller gives up and removes it. A popped waiter decides
//!   again; if it must wait again it goes back to the front, keeping its turn.
//!
//! Nothing is `Send` (thread per core); no borrow of the state is held while a
//! waker runs: the methods return the wakers for the caller to wake.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::config::PoolConfig;
use super::error::PoolError;
use super::Connection;
use crate::retry::Backoff;

/// One open connection.
#[derive(Debug)]
struct Slot<C> {
    /// Names the slot to the leases on it, which outlive index changes.
    id: u64,
    conn: Rc<C>,
    /// Leases handed out and not yet dropped.
    in_flight: usize,
    /// When `in_flight` last dropped to 0 (or the slot opened).
    idle_since: Instant,
}

/// A caller waiting for a connection.
#[derive(Debug, Default)]
pub(super) struct Waiter {
    /// Set when popped from the queue and woken: the caller decides again.
    pub(super) notified: Cell<bool>,
    pub(super) waker: RefCell<Option<Waker>>,
}

/// What a caller should do next.
#[derive(Debug)]
pub(super) enum Decision<C> {
    /// Use this connection; the lease on slot `id` is already counted.
    Ready(u64, Rc<C>),
    /// Open a connection (already counted in `connecting`) and use it.
    Connect,
    /// Wait to be woken, queued as this waiter.
    Wait(Rc<Waiter>),
    /// Fail the call.
    Fail(PoolError),
}

/// Whether a change needs the background task to look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Poke {
    /// Nothing it has not scheduled for.
    No,
    /// A connection went idle: only a task sleeping without a deadline
    /// needs to learn of it (any deadline it has is earlier than this
    /// connection's expiry).
    IfUnscheduled,
    /// The pool fell below its warm count.
    Always,
}

/// What the background task should do next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Chore {
    /// Open a connection to keep the pool warm (already counted).
    Connect,
    /// Sleep until this time, or until poked; `None` means until poked.
    Sleep(Option<Instant>),
}

/// The pool's connections, connects in flight, waiters and backoff.
#[derive(Debug)]
pub(super) struct State<C> {
    slots: Vec<Slot<C>>,
    next_id: u64,
    connecting: usize,
    waiters: VecDeque<Rc<Waiter>>,
    /// Consecutive connect failures; 0 after any success.
    failures: u32,
    /// While in the future, no connect may start; set after each failure.
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// The background task was spawned (it starts with the first call).
    pub(super) maintaining: bool,
}

impl<C: Connection> State<C> {
    /// An empty pool using `backoff` between failed connects.
    pub(super) fn new(backoff: Backoff) -> State<C> {
        State {
            slots: Vec::new(),
            next_id: 0,
            connecting: 0,
            waiters: VecDeque::new(),
            failures: 0,
            retry_at: None,
            backoff,
            maintaining: false,
        }
    }

    /// Connections open and not seen closed.
    pub(super) fn live(&self) -> usize {
        self.slots.iter().filter(|s| !s.conn.is_closed()).count()
    }

    /// Callers waiting for a connection.
    pub(super) fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// Whether connects must wait (after a failure), and how long.
    fn backing_off(&self, now: Instant) -> Option<Duration> {
        self.retry_at
            .filter(|&at| at > now)
            .map(|at| at.duration_since(now))
    }

    /// Drops closed connections from the list (calls still running on one
    /// keep their `Rc` and finish there); returns how many went, each
    /// freeing room for a connect.
    fn evict_closed(&mut self) -> usize {
        let before = self.slots.len();
        self.slots.retain(|s| !s.conn.is_closed());
        before - self.slots.len()
    }

    /// Where a call goes: a connection with room (the least loaded, and of
    /// those the most recently used, so surplus connections go idle and
    /// expire), a new connection, a place in the queue, or a failure.
    /// `requeue` puts a waiter that was already woken back at the front.
    pub(super) fn decide(
        &mut self,
        config: &PoolConfig,
        now: Instant,
        requeue: bool,
    ) -> (Decision<C>, Vec<Waker>) {
        // Each evicted slot is room for a connect: offer it to waiters too,
        // less the one this caller takes if it connects.
        let freed = self.evict_closed();
        let decision = self.choose(config, now, requeue);
        let taken = usize::from(matches!(decision, Decision::Connect));
        let wake = self.wake_some(freed.saturating_sub(taken));
        (decision, wake)
    }

    fn choose(&mut self, config: &PoolConfig, now: Instant, requeue: bool) -> Decision<C> {
        let per_conn = config.calls_per_connection();
        let best = self
            .slots
            .iter_mut()
            .filter(|s| s.in_flight < per_conn)
            .min_by_key(|s| (s.in_flight, std::cmp::Reverse(s.idle_since)));
        if let Some(slot) = best {
            slot.in_flight += 1;
            return Decision::Ready(slot.id, slot.conn.clone());
        }
        // A connection being opened will have room for `per_conn - 1` calls
        // besides its opener's: with pipelining, wait for that room rather
        // than open a connection per concurrent caller.
        let promised = self.connecting * (per_conn - 1);
        let open_more = promised <= self.waiters.len();
        if open_more && self.slots.len() + self.connecting < config.max_connections {
            let nothing_to_wait_for = self.slots.is_empty() && self.connecting == 0;
            match self.backing_off(now) {
                Some(retry_in) if nothing_to_wait_for => {
                    let failures = self.failures;
                    return Decision::Fail(PoolError::BackingOff { failures, retry_in });
                }
                Some(_) => {}
                // After failures one connect probes the endpoint; the others
                // wait for its outcome rather than all hitting a dead peer.
                None if self.failures > 0 && self.connecting > 0 => {}
                None => {
                    self.connecting += 1;
                    return Decision::Connect;
                }
            }
        }
        if self.waiters.len() >= config.max_waiters {
            let limit = config.max_waiters;
            return Decision::Fail(PoolError::TooManyWaiters { limit });
        }
        let waiter = Rc::new(Waiter::default());
        if requeue {
            self.waiters.push_front(waiter.clone());
        } else {
            self.waiters.push_back(waiter.clone());
        }
        Decision::Wait(waiter)
    }

    /// A connect succeeded: adds the connection, leased once if `leased` (a
    /// caller's connect). Returns the slot id and the wakers of waiters that
    /// can use its remaining room.
    pub(super) fn connected(
        &mut self,
        conn: C,
        leased: bool,
        config: &PoolConfig,
        now: Instant,
    ) -> (u64, Rc<C>, Vec<Waker>) {
        self.connecting -= 1;
        self.failures = 0;
        self.retry_at = None;
        let id = self.next_id;
        self.next_id += 1;
        let conn = Rc::new(conn);
        let in_flight = usize::from(leased);
        self.slots.push(Slot {
            id,
            conn: conn.clone(),
            in_flight,
            idle_since: now,
        });
        let room = config.calls_per_connection() - in_flight;
        (id, conn, self.wake_some(room))
    }

    /// A connect failed: counts the failure, starts the backoff and wakes every
    /// waiter (they may have waited for this connect, and now fail or wait on).
    /// The background task must reschedule its warm-up if the pool is below
    /// its warm count.
    pub(super) fn connect_failed(
        &mut self,
        config: &PoolConfig,
        now: Instant,
    ) -> (Vec<Waker>, Poke) {
        self.connecting -= 1;
        let delay = self.backoff.delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = now.checked_add(delay);
        let poke = if self.slots.len() + self.connecting < config.warm_connections() {
            Poke::Always
        } else {
            Poke::No
        };
        (self.wake_some(self.waiters.len()), poke)
    }

    /// A connect was abandoned (its caller gave up): frees its room.
    pub(super) fn connect_abandoned(&mut self) -> Vec<Waker> {
        self.connecting -= 1;
        self.wake_some(1)
    }

    /// A lease on slot `id` ended. Returns the wakers to wake and what the
    /// background task must be told.
    pub(super) fn release(
        &mut self,
        id: u64,
        config: &PoolConfig,
        now: Instant,
    ) -> (Vec<Waker>, Poke) {
        let Some(index) = self.slots.iter().position(|s| s.id == id) else {
            // Evicted while the call ran: its room was offered then.
            return (Vec::new(), Poke::No);
        };
        let slot = &mut self.slots[index];
        slot.in_flight -= 1;
        let mut poke = Poke::No;
        if slot.in_flight == 0 {
            slot.idle_since = now;
            poke = Poke::IfUnscheduled;
        }
        if slot.conn.is_closed() {
            self.slots.swap_remove(index);
            poke = if self.slots.len() + self.connecting < config.warm_connections() {
                Poke::Always
            } else {
                Poke::No
            };
        }
        (self.wake_some(1), poke)
    }

    /// The background task's turn: drops dead connections and those idle past
    /// the idle timeout (beyond the warm count), then asks for a connect if the
    /// pool is below its warm count, else says until when to sleep.
    pub(super) fn maintain(&mut self, config: &PoolConfig, now: Instant) -> (Chore, Vec<Waker>) {
        let mut freed = self.evict_closed();
        let warm = config.warm_connections();
        let mut next_expiry: Option<Instant> = None;
        if let Some(idle_timeout) = config.idle_timeout {
            let mut index = 0;
            while index < self.slots.len() {
                let slot = &self.slots[index];
                let expiry = slot.idle_since.checked_add(idle_timeout);
                let unused = slot.in_flight == 0;
                if unused && self.slots.len() > warm && expiry.is_some_and(|at| at <= now) {
                    self.slots.swap_remove(index);
                    freed += 1;
                    continue;
                }
                if unused {
                    next_expiry = match (next_expiry, expiry) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                index += 1;
            }
        }
        let wake = self.wake_some(freed);
        if self.slots.len() <= warm {
            // Nothing can idle out while the pool is at or below warm.
            next_expiry = None;
        }
        if self.slots.len() + self.connecting < warm {
            match self.retry_at.filter(|&at| at > now) {
                Some(at) => {
                    return (
                        Chore::Sleep(Some(next_expiry.map_or(at, |e| e.min(at)))),
                        wake,
                    )
                }
                None if self.failures > 0 && self.connecting > 0 => {}
                None => {
                    self.connecting += 1;
                    return (Chore::Connect, wake);
                }
            }
        }
        (Chore::Sleep(next_expiry), wake)
    }

    /// Pops up to `n` waiters, marks them notified and returns their wakers.
    pub(super) fn wake_some(&mut self, n: usize) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for _ in 0..n {
            let Some(waiter) = self.waiters.pop_front() else {
                break;
            };
            waiter.notified.set(true);
            let waker = waiter.waker.borrow_mut().take();
            wakers.extend(waker);
        }
        wakers
    }

    /// Removes a waiter whose caller gave up before being woken.
    pub(super) fn remove_waiter(&mut self, waiter: &Rc<Waiter>) {
        self.waiters.retain(|w| !Rc::ptr_eq(w, waiter));
    }

    /// Busy when no connection has room and none may open; Closed when,
    /// besides, no connection is live or opening because connects are
    /// backing off.
    pub(super) fn status(&self, config: &PoolConfig, now: Instant) -> crate::Status {
        let per_conn = config.calls_per_connection();
        let live: Vec<_> = self.slots.iter().filter(|s| !s.conn.is_closed()).collect();
        if live.iter().any(|s| s.in_flight < per_conn) {
            return crate::Status::Open;
        }
        let backing_off = self.backing_off(now).is_some();
        if live.len() + self.connecting < config.max_connections && !backing_off {
            return crate::Status::Open;
        }
        if backing_off && live.is_empty() && self.connecting == 0 {
            crate::Status::Closed
        } else {
            crate::Status::Busy
        }
    }
}

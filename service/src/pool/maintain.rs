//! The pool's background task: keeps `min_connections` open and closes
//! connections idle past `idle_timeout`.
//!
//! It holds only a weak reference to the pool, so it never keeps a dropped
//! pool alive: the pool's drop pokes it, it finds the pool gone and ends. It
//! sleeps on the reactor's timers until the next idle expiry or the end of a
//! reconnect backoff, and otherwise until a caller pokes it (see
//! [`Poke`](super::state::Poke)), so an idle pool costs no wake-ups.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use ringo_reactor::time::sleep_until;

use super::state::Chore;
use super::{MakeConnection, Shared};

/// How often the task looks for warm connections that died while unused
/// (the peer closed them), to replace them, when nothing else wakes it.
/// Connections report death only when asked, so this is a poll: twice a
/// second costs nothing measurable and keeps a pool warm within half a second.
pub const WARM_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Runs until the pool is dropped.
pub(super) async fn run<M: MakeConnection>(pool: Weak<Shared<M>>) {
    loop {
        let Some(shared) = pool.upgrade() else {
            return;
        };
        shared.chores.poked.set(false);
        let (chore, wakers) = shared
            .state
            .borrow_mut()
            .maintain(&shared.config, Instant::now());
        wakers.into_iter().for_each(Waker::wake);
        match chore {
            Chore::Connect => {
                let result = shared.make.connect().await;
                let now = Instant::now();
                let wakers = match result {
                    Ok(conn) => {
                        let mut state = shared.state.borrow_mut();
                        state.connected(conn, false, &shared.config, now).2
                    }
                    Err(e) => {
                        log::debug!("pool: warm-up connect failed: {e}");
                        // The next turn schedules the retry: no poke needed.
                        let mut state = shared.state.borrow_mut();
                        state.connect_failed(&shared.config, now).0
                    }
                };
                wakers.into_iter().for_each(Waker::wake);
            }
            Chore::Sleep(mut deadline) => {
                if shared.config.warm_connections() > 0 {
                    let check = Instant::now() + WARM_CHECK_INTERVAL;
                    deadline = Some(deadline.map_or(check, |d| d.min(check)));
                }
                shared.chores.unscheduled.set(deadline.is_none());
                drop(shared);
                let mut timer = deadline.map(sleep_until);
                poll_fn(|cx| {
                    let Some(shared) = pool.upgrade() else {
                        return Poll::Ready(());
                    };
                    if shared.chores.poked.get() {
                        return Poll::Ready(());
                    }
                    *shared.chores.waker.borrow_mut() = Some(cx.waker().clone());
                    match &mut timer {
                        Some(timer) => Pin::new(timer).poll(cx),
                        None => Poll::Pending,
                    }
                })
                .await;
            }
        }
    }
}

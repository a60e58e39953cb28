//! [`Pool`]: a per-endpoint pool of client connections, as a service.
//!
//! A client to one endpoint wants a few long-lived connections, reused across
//! calls, opened on demand up to a limit, closed when unused, and never a dead
//! one handed out twice. The pool does that for any protocol: a
//! [`MakeConnection`] opens connections, each a [`Service`] that reports
//! [`is_closed`](Connection::is_closed), and the pool lends them to calls.
//!
//! - **Reuse.** A call takes a connection with room — fewer than
//!   `max_calls_per_connection` calls on it (1: an exclusive checkout, as
//!   HTTP/1.1 needs; more for pipelined protocols such as RESP) — and gives it
//!   back when it ends, is dropped or fails.
//! - **Bounds.** At most `max_connections` connections are open or opening; a
//!   caller finding none with room waits, first come first served, and at most
//!   `max_waiters` wait: the next fails at once with
//!   [`ErrorKind::Unavailable`].
//! - **Eviction.** A connection seen closed is dropped from the pool and never
//!   lent again; calls still running on it finish there.
//! - **Reconnect backoff.** After a failed connect the pool waits an
//!   exponential, jittered delay before the next attempt; meanwhile callers
//!   with no live connection to wait for fail at once with `Unavailable` (and
//!   [`status`](Service::status) is `Closed`), so a dead endpoint costs one
//!   connect attempt per delay, not one per call. After a failure, one connect
//!   at a time probes the endpoint.
//! - **Warm and idle.** From the first call on, a background task (on the
//!   reactor's timers) keeps `min_connections` open (replacing dead ones
//!   within [`WARM_CHECK_INTERVAL`]) and closes connections unused for
//!   `idle_timeout`.
//!
//! A call that fails is not retried here: the request is consumed. Put a
//! [`Retry`](crate::retry::Retry) outside; failures the pool causes and
//! `NotWritten` ones never reached the peer.

mod config;
mod error;
mod layer;
mod maintain;
mod state;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::service::{Service, Status};
use state::{Decision, Poke, State, Waiter};

pub use config::PoolConfig;
pub use error::PoolError;
pub use layer::PoolLayer;
pub use maintain::WARM_CHECK_INTERVAL;

/// A pooled connection: a service (for the pool's request type) that can tell
/// when it is dead.
pub trait Connection {
    /// Whether the connection can take no more calls (the peer closed it, it
    /// failed, or the protocol said it ends). Once true it must stay true: the
    /// pool evicts the connection and never lends it again.
    fn is_closed(&self) -> bool;
}

/// Opens connections to one endpoint.
///
/// # Examples
/// ```
/// use ringo_service::pool::{Connection, MakeConnection};
/// use ringo_service::{Error, Service};
///
/// struct Echo;
/// impl Service<u32> for Echo {
///     type Response = u32;
///     type Error = Error;
///     async fn call(&self, n: u32) -> Result<u32, Error> { Ok(n) }
/// }
/// impl Connection for Echo {
///     fn is_closed(&self) -> bool { false }
/// }
///
/// struct MakeEcho;
/// impl MakeConnection for MakeEcho {
///     type Conn = Echo;
///     async fn connect(&self) -> Result<Echo, Error> { Ok(Echo) }
/// }
/// ```
// The futures are deliberately not `Send` (thread-per-core; see `service`).
#[allow(async_fn_in_trait)]
pub trait MakeConnection {
    /// The connection it opens.
    type Conn: Connection;

    /// Opens one connection. A failure starts (or extends) the pool's
    /// reconnect backoff.
    async fn connect(&self) -> Result<Self::Conn, Error>;
}

/// Lends the connections `M` opens to calls; see the [module docs](self).
///
/// Clones share the connections. Built anywhere (no runtime needed); the
/// background task for warm and idle connections starts with the first call,
/// so a pool never called opens nothing.
///
/// # Examples
/// ```
/// use std::cell::Cell;
/// use ringo_service::pool::{Connection, MakeConnection, Pool, PoolConfig};
/// use ringo_service::{Error, Service};
///
/// struct Conn;
/// impl Service<&'static str> for Conn {
///     type Response = usize;
///     type Error = Error;
///     async fn call(&self, s: &'static str) -> Result<usize, Error> { Ok(s.len()) }
/// }
/// impl Connection for Conn {
///     fn is_closed(&self) -> bool { false }
/// }
/// #[derive(Default)]
/// struct Connector { opened: Cell<u32> }
/// impl MakeConnection for Connector {
///     type Conn = Conn;
///     async fn connect(&self) -> Result<Conn, Error> {
///         self.opened.set(self.opened.get() + 1);
///         Ok(Conn)
///     }
/// }
///
/// let pool = Pool::new(Connector::default(), PoolConfig::default());
/// ringo_reactor::run(async {
///     assert_eq!(pool.call("one").await.unwrap(), 3);
///     assert_eq!(pool.call("three").await.unwrap(), 5);
/// });
/// assert_eq!(pool.make_connection().opened.get(), 1, "the second call reused the connection");
/// ```
pub struct Pool<M: MakeConnection> {
    shared: Rc<Shared<M>>,
}

/// What every clone of a pool, its leases and its background task share.
struct Shared<M: MakeConnection> {
    make: M,
    config: PoolConfig,
    state: RefCell<State<M::Conn>>,
    /// How callers reach the background task.
    chores: Chores,
}

/// The background task's doorbell.
#[derive(Debug, Default)]
struct Chores {
    /// Set by a poke, cleared when the task looks.
    poked: Cell<bool>,
    /// Whether the task sleeps with no deadline (so an idle connection must
    /// poke it to have its expiry scheduled).
    unscheduled: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Chores {
    fn poke(&self) {
        self.poked.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn poke_if(&self, poke: Poke) {
        match poke {
            Poke::Always => self.poke(),
            Poke::IfUnscheduled if self.unscheduled.get() => self.poke(),
            Poke::IfUnscheduled | Poke::No => {}
        }
    }
}

impl<M: MakeConnection> Drop for Shared<M> {
    fn drop(&mut self) {
        // The task holds only a weak reference: wake it to see the pool gone.
        self.chores.poke();
    }
}

impl<M: MakeConnection> Clone for Pool<M> {
    fn clone(&self) -> Pool<M> {
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<M: MakeConnection> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.borrow();
        f.debug_struct("Pool")
            .field("config", &self.shared.config)
            .field("live", &state.live())
            .field("waiting", &state.waiting())
            .finish_non_exhaustive()
    }
}

impl<M: MakeConnection> Pool<M> {
    /// A pool of the connections `make` opens, managed as `config` says.
    pub fn new(make: M, config: PoolConfig) -> Pool<M> {
        let state = State::new(config.reconnect.fork());
        Pool {
            shared: Rc::new(Shared {
                make,
                config,
                state: RefCell::new(state),
                chores: Chores::default(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// The connection maker.
    pub fn make_connection(&self) -> &M {
        &self.shared.make
    }

    /// Connections open and not seen closed, in use or not.
    pub fn connections(&self) -> usize {
        self.shared.state.borrow().live()
    }

    /// Callers waiting for a connection.
    pub fn waiting(&self) -> usize {
        self.shared.state.borrow().waiting()
    }

    /// `Busy` when every live connection is at its call limit and no more may
    /// open; `Closed` when, besides, the pool is backing off after connect
    /// failures with no connection live or opening; otherwise `Open`.
    pub fn status(&self) -> Status {
        self.shared
            .state
            .borrow()
            .status(&self.shared.config, Instant::now())
    }
}

impl<M: MakeConnection + 'static> Pool<M> {
    /// A connection for one call: one with room, a new one, or one freed
    /// while this caller waited.
    async fn checkout(&self) -> Result<Lease<M>, Error> {
        self.start_maintenance();
        let mut requeue = false;
        loop {
            let (decision, wakers) =
                self.shared
                    .state
                    .borrow_mut()
                    .decide(&self.shared.config, Instant::now(), requeue);
            wakers.into_iter().for_each(Waker::wake);
            match decision {
                Decision::Ready(id, conn) => return Ok(self.lease(id, conn)),
                Decision::Connect => return self.connect().await,
                Decision::Fail(cause) => {
                    return Err(Error::with_source(ErrorKind::Unavailable, cause))
                }
                Decision::Wait(waiter) => {
                    let queued = Queued {
                        shared: &self.shared,
                        waiter,
                        woken: false,
                    };
                    queued.wait().await;
                    requeue = true;
                }
            }
        }
    }

    /// Opens a connection for this caller (its room is already counted).
    async fn connect(&self) -> Result<Lease<M>, Error> {
        let mut pending = Connecting {
            shared: &self.shared,
            done: false,
        };
        let result = self.shared.make.connect().await;
        pending.done = true;
        let now = Instant::now();
        let config = &self.shared.config;
        match result {
            Ok(conn) => {
                let (id, conn, wakers) = self
                    .shared
                    .state
                    .borrow_mut()
                    .connected(conn, true, config, now);
                wakers.into_iter().for_each(Waker::wake);
                Ok(self.lease(id, conn))
            }
            Err(e) => {
                let (wakers, poke) = self.shared.state.borrow_mut().connect_failed(config, now);
                wakers.into_iter().for_each(Waker::wake);
                self.shared.chores.poke_if(poke);
                // A refused certificate says more than "unavailable".
                let kind = match e.kind() {
                    ErrorKind::Tls => ErrorKind::Tls,
                    _ => ErrorKind::Unavailable,
                };
                Err(Error::with_source(kind, PoolError::Connect(e)))
            }
        }
    }

    /// A connection for a caller that makes its own calls on it, outside the
    /// pool's count (a pipelined connection's client is shared anyway).
    pub(crate) async fn checkout_shared(&self) -> Result<Rc<M::Conn>, Error> {
        Ok(self.checkout().await?.conn.clone())
    }

    fn lease(&self, id: u64, conn: Rc<M::Conn>) -> Lease<M> {
        Lease {
            shared: self.shared.clone(),
            id,
            conn,
        }
    }

    /// Spawns the background task on the first call, if there is work for it.
    fn start_maintenance(&self) {
        let config = &self.shared.config;
        if config.warm_connections() == 0 && config.idle_timeout.is_none() {
            return;
        }
        {
            let mut state = self.shared.state.borrow_mut();
            if state.maintaining {
                return;
            }
            state.maintaining = true;
        }
        ringo_reactor::spawn(maintain::run(Rc::downgrade(&self.shared)));
    }
}

impl<M, Req> Service<Req> for Pool<M>
where
    M: MakeConnection + 'static,
    M::Conn: Service<Req> + 'static,
    <M::Conn as Service<Req>>::Error: Into<Error>,
{
    type Response = <M::Conn as Service<Req>>::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<Self::Response, Error> {
        let lease = self.checkout().await?;
        lease.conn.call(req).await.map_err(Into::into)
    }

    fn status(&self) -> Status {
        Pool::status(self)
    }
}

/// One call's use of a connection; dropping it gives the room back.
struct Lease<M: MakeConnection> {
    shared: Rc<Shared<M>>,
    id: u64,
    conn: Rc<M::Conn>,
}

impl<M: MakeConnection> Drop for Lease<M> {
    fn drop(&mut self) {
        let (wakers, poke) =
            self.shared
                .state
                .borrow_mut()
                .release(self.id, &self.shared.config, Instant::now());
        wakers.into_iter().for_each(Waker::wake);
        self.shared.chores.poke_if(poke);
    }
}

/// A connect in flight; if its caller gives up first, its room is freed.
struct Connecting<'a, M: MakeConnection> {
    shared: &'a Shared<M>,
    done: bool,
}

impl<M: MakeConnection> Drop for Connecting<'_, M> {
    fn drop(&mut self) {
        if !self.done {
            let wakers = self.shared.state.borrow_mut().connect_abandoned();
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// A caller's place in the queue while it waits.
struct Queued<'a, M: MakeConnection> {
    shared: &'a Shared<M>,
    waiter: Rc<Waiter>,
    /// Set once `wait` saw the wake: the caller decides again, so there is
    /// nothing to hand on.
    woken: bool,
}

impl<M: MakeConnection> Queued<'_, M> {
    /// Waits until woken; the place is then used up.
    async fn wait(mut self) {
        poll_fn(|cx| {
            if self.waiter.notified.get() {
                return Poll::Ready(());
            }
            *self.waiter.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        self.woken = true;
    }
}

impl<M: MakeConnection> Drop for Queued<'_, M> {
    fn drop(&mut self) {
        if self.woken {
            return;
        }
        let mut state = self.shared.state.borrow_mut();
        let wakers = if self.waiter.notified.get() {
            // Woken for room this caller will not use: pass it on.
            state.wake_some(1)
        } else {
            state.remove_waiter(&self.waiter);
            Vec::new()
        };
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

//! [`Pool`]: a fixed number of pipelined Redis connections to one server,
//! reconnected when they die.
//!
//! How calls pick, wait and reconnect is documented on [`Pool`].

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};

use ringo_proto::resp::Frame;

use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_reactor::net::{Target, ToSocketAddrs};

use super::{Client, Url};
use crate::{Error, ErrorKind, Service, Status};

/// Default connections per pool.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Default bound on callers waiting for a connection while every slot is
/// connecting; a caller beyond it fails at once with
/// [`ErrorKind::Overloaded`].
pub const DEFAULT_MAX_WAITERS: usize = 1024;

/// How a [`Pool`] picks the connection for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pick {
    /// Each call takes the next connection in turn.
    RoundRobin,
    /// Each call takes the connection with the fewest calls outstanding (an
    /// unconnected slot counts as none, so it is connected first).
    #[default]
    LeastOutstanding,
}

/// Settings for a [`Pool`]; see [`Pool::builder`].
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    addr: Target,
    /// The database selected on each new connection (0: none).
    db: u32,
    size: usize,
    pick: Pick,
    max_waiters: usize,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl PoolBuilder {
    /// Connects with TLS, checking the server's certificate against `name`
    /// (see [`Client::connect_tls`]).
    pub fn tls(mut self, connector: TlsConnector, name: ServerName<'static>) -> PoolBuilder {
        self.tls = Some((connector, name));
        self
    }

    /// How many connections (at least one); default [`DEFAULT_POOL_SIZE`].
    pub fn size(mut self, size: usize) -> PoolBuilder {
        self.size = size.max(1);
        self
    }

    /// How each call picks its connection; default [`Pick::LeastOutstanding`].
    pub fn pick(mut self, pick: Pick) -> PoolBuilder {
        self.pick = pick;
        self
    }

    /// Bound on waiting callers; default [`DEFAULT_MAX_WAITERS`].
    pub fn max_waiters(mut self, n: usize) -> PoolBuilder {
        self.max_waiters = n;
        self
    }

    /// The pool. It connects lazily, on the calls that need a connection.
    pub fn build(self) -> Pool {
        Pool {
            shared: Rc::new(Shared {
                addr: self.addr,
                tls: self.tls,
                db: self.db,
                slots: RefCell::new((0..self.size).map(|_| Slot::Empty).collect()),
                pick: self.pick,
                next: Cell::new(0),
                max_waiters: self.max_waiters,
                waiting: Cell::new(0),
                waiters: RefCell::new(Vec::new()),
            }),
        }
    }
}

/// Pipelined connections to one Redis server; cheap to clone (clones share
/// the connections). Lives on the runtime that made it.
///
/// `!Send`: it lives on one runtime (thread) with its connections, and its
/// clones share state through `Rc`. A compiler error naming an `Rc` inside
/// ringo means it was moved to another thread: make one per worker, inside
/// the server's factory or the worker's runtime (see the `ringo_service`
/// crate docs, "Thread per core").
///
/// Each call picks a connection ([`Pick`]), connecting a free slot when needed.
/// A connection that has closed is evicted when the next call looks at it, and
/// its slot is connected again, so a server restart or a dropped connection
/// costs the calls that were on it, not the pool. A call whose request never
/// left (`NotWritten`, the connection died first) is sent once more on another
/// connection; a call that may have reached the server is never repeated.
///
/// While every slot is connecting, callers wait, at most
/// [`DEFAULT_MAX_WAITERS`] of them (see [`PoolBuilder::max_waiters`]).
///
/// ```no_run
/// use ringo_service::redis::{command, Pool};
///
/// ringo_reactor::run(async {
///     let pool = Pool::builder("127.0.0.1:6379").size(2).build();
///     let pong = pool.call(command(["PING"])).await?;
///     println!("{pong:?}");
///     Ok::<(), ringo_service::Error>(())
/// })
/// # .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Pool {
    shared: Rc<Shared>,
}

/// One connection slot.
///
/// `Connecting` is set by the call that connects, for exactly as long as its
/// connect runs (a [`ConnectGuard`] resets the slot if that call is dropped).
#[derive(Debug)]
enum Slot {
    Empty,
    Connecting,
    Ready(Client),
}

#[derive(Debug)]
struct Shared {
    addr: Target,
    db: u32,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    slots: RefCell<Vec<Slot>>,
    pick: Pick,
    /// The next slot round-robin starts from.
    next: Cell<usize>,
    max_waiters: usize,
    /// Callers waiting for a connect to finish.
    waiting: Cell<usize>,
    /// Their wakers, all woken whenever a connect finishes.
    waiters: RefCell<Vec<Waker>>,
}

/// What a call does next.
enum Choice {
    Use(Client),
    /// Connect this slot (already marked `Connecting`).
    Connect(usize),
    /// Every slot is connecting: wait for one to finish.
    Wait,
}

impl Pool {
    /// Settings for a pool of connections to `addr`: a `SocketAddr`,
    /// `"127.0.0.1:6379"`, `"localhost:6379"`, `("localhost", 6379)` or any
    /// [`ToSocketAddrs`] (a name is resolved off the loop thread, at each
    /// connect). An address that does not parse fails each call with
    /// `Unavailable` (its `InvalidInput` I/O error as the source).
    pub fn builder(addr: impl ToSocketAddrs) -> PoolBuilder {
        PoolBuilder {
            addr: addr.to_target(),
            db: 0,
            size: DEFAULT_POOL_SIZE,
            pick: Pick::default(),
            max_waiters: DEFAULT_MAX_WAITERS,
            tls: None,
        }
    }

    /// Settings for a pool of connections to the server a
    /// `redis://host:port/db` URL names ([`Url`]); each connection selects
    /// the URL's database.
    ///
    /// # Errors
    /// `InvalidInput` for an invalid or unsupported URL.
    pub fn builder_url(url: &str) -> io::Result<PoolBuilder> {
        let url: Url = url.parse()?;
        let mut builder = Pool::builder(url.addr());
        builder.db = url.db();
        Ok(builder)
    }

    /// A connection for one or more calls, connecting one if needed.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if connecting failed (the I/O error is the
    /// source); [`ErrorKind::Overloaded`] if too many callers already wait.
    pub async fn client(&self) -> Result<Client, Error> {
        loop {
            match self.shared.choose() {
                Choice::Use(client) => return Ok(client),
                Choice::Connect(index) => {
                    let guard = ConnectGuard {
                        shared: &self.shared,
                        index,
                    };
                    let shared = &self.shared;
                    let connected =
                        Client::connect_db(&shared.addr, shared.db, shared.tls.as_ref()).await;
                    return guard.finish(connected);
                }
                Choice::Wait => self.shared.connect_finished().await?,
            }
        }
    }

    /// Sends `request` on a pooled connection and waits for the reply; see
    /// [`Client::call`]. A request that never left is sent once more.
    ///
    /// # Errors
    /// As [`client`](Self::client) and [`Client::call`].
    pub async fn call(&self, request: Frame) -> Result<Frame, Error> {
        let client = self.client().await?;
        match client.call(request.clone()).await {
            Err(e) if e.is_not_written() => self.client().await?.call(request).await,
            result => result,
        }
    }

    /// Connections now open.
    pub fn connections(&self) -> usize {
        let slots = self.shared.slots.borrow();
        slots
            .iter()
            .filter(|slot| matches!(slot, Slot::Ready(c) if !c.is_closed()))
            .count()
    }
}

impl Shared {
    /// Picks a connection or a slot to connect; evicts closed connections first.
    fn choose(&self) -> Choice {
        let mut slots = self.slots.borrow_mut();
        for slot in slots.iter_mut() {
            if matches!(slot, Slot::Ready(client) if client.is_closed()) {
                *slot = Slot::Empty;
            }
        }
        let index = match self.pick {
            Pick::RoundRobin => {
                let start = self.next.get();
                self.next.set(start.wrapping_add(1));
                let count = slots.len();
                (0..count)
                    .map(|offset| start.wrapping_add(offset) % count)
                    .find(|&i| !matches!(slots.get(i), Some(Slot::Connecting)))
            }
            Pick::LeastOutstanding => {
                // Ranked by (outstanding, whether unconnected): an idle live
                // connection beats an empty slot, an empty slot beats a busy one.
                let rank = |slot: &Slot| match slot {
                    Slot::Empty => Some((0, 1)),
                    Slot::Connecting => None,
                    Slot::Ready(client) => Some((client.outstanding(), 0)),
                };
                slots
                    .iter()
                    .enumerate()
                    .filter_map(|(i, slot)| rank(slot).map(|r| (r, i)))
                    .min()
                    .map(|(_, i)| i)
            }
        };
        let Some((index, slot)) = index.and_then(|i| Some((i, slots.get_mut(i)?))) else {
            return Choice::Wait;
        };
        match slot {
            Slot::Ready(client) => Choice::Use(client.clone()),
            Slot::Empty => {
                *slot = Slot::Connecting;
                Choice::Connect(index)
            }
            Slot::Connecting => Choice::Wait,
        }
    }

    /// Waits until some connect finishes.
    ///
    /// # Errors
    /// [`ErrorKind::Overloaded`] at once if `max_waiters` callers already wait.
    async fn connect_finished(&self) -> Result<(), Error> {
        if self.waiting.get() >= self.max_waiters {
            return Err(Error::new(ErrorKind::Overloaded));
        }
        let _counted = WaitCount::new(&self.waiting);
        let mut registered = false;
        poll_fn(|cx| {
            if registered {
                return Poll::Ready(());
            }
            registered = true;
            self.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await;
        Ok(())
    }

    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// Owns a slot marked `Connecting`: [`finish`](Self::finish) fills it, and
/// dropping it unfinished (the connecting call was dropped) empties it. Either
/// way the waiters are woken.
struct ConnectGuard<'a> {
    shared: &'a Shared,
    index: usize,
}

impl ConnectGuard<'_> {
    fn finish(self, connected: std::io::Result<Client>) -> Result<Client, Error> {
        let (slot, result) = match connected {
            Ok(client) => (Slot::Ready(client.clone()), Ok(client)),
            Err(e) => (
                Slot::Empty,
                Err(Error::with_source(ErrorKind::Unavailable, e)),
            ),
        };
        self.fill(slot);
        // Filled: the drop, which would empty the slot again, must not run.
        std::mem::forget(self);
        result
    }

    fn fill(&self, state: Slot) {
        if let Some(slot) = self.shared.slots.borrow_mut().get_mut(self.index) {
            *slot = state;
        }
        self.shared.wake_waiters();
    }
}

impl Drop for ConnectGuard<'_> {
    fn drop(&mut self) {
        self.fill(Slot::Empty);
    }
}

/// Counts one waiting caller for as long as it lives.
struct WaitCount<'a>(&'a Cell<usize>);

impl<'a> WaitCount<'a> {
    fn new(count: &'a Cell<usize>) -> WaitCount<'a> {
        count.set(count.get() + 1);
        WaitCount(count)
    }
}

impl Drop for WaitCount<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

impl Service<Frame> for Pool {
    type Response = Frame;
    type Error = Error;

    async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Pool::call(self, request).await
    }

    /// `Open`: a closed connection is replaced on the next call.
    fn status(&self) -> Status {
        Status::Open
    }
}

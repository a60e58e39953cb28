//! One worker: a thread with its own runtime, accepting connections and running
//! one task per connection, then draining them at shutdown.
//!
//! Connections are tracked per worker (a slab of task handles that each task
//! leaves when it ends), so graceful shutdown can wait for the last one and,
//! at the deadline, abort the rest — dropping a task mid-I/O is safe by the
//! reactor's design.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::time::{sleep, sleep_until};
use ringo_reactor::{DriverKind, JoinHandle, Runtime};
use slab::Slab;

use super::drain::{Shutdown, ShutdownWait};
use super::listener::{into_std, AcceptBackoff, AcceptFailure, Inbox, Source};

/// Everything a worker thread needs, moved onto it.
pub(crate) struct Worker<F> {
    /// Index, for thread names and logs.
    pub(crate) index: usize,
    pub(crate) factory: Arc<F>,
    pub(crate) source: Source,
    pub(crate) shutdown: Shutdown,
    pub(crate) limit: ConnectionLimit,
    pub(crate) shutdown_timeout: Duration,
    /// `None`: the runtime's default (`RINGO_DRIVER`, else auto).
    pub(crate) driver: Option<DriverKind>,
    /// Receives the driver picked, or why the runtime could not start.
    pub(crate) ready: mpsc::Sender<io::Result<DriverKind>>,
}

impl<F> Worker<F> {
    /// Runs the worker to the end of its drain, on the current thread.
    pub(crate) fn run<C, Fut>(self)
    where
        F: Fn() -> C,
        C: Fn(TcpStream, Shutdown) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let mut builder = Runtime::builder();
        if let Some(kind) = self.driver {
            builder = builder.driver(kind);
        }
        let runtime = match builder.build() {
            Ok(runtime) => runtime,
            Err(e) => {
                // The server is told and shuts down; nobody else to report to.
                let _ = self.ready.send(Err(e));
                return;
            }
        };
        let kind = runtime.driver_kind();
        runtime.block_on(self.serve(kind));
    }

    async fn serve<C, Fut>(self, kind: DriverKind)
    where
        F: Fn() -> C,
        C: Fn(TcpStream, Shutdown) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let handler = (self.factory)();
        let source = match Incoming::adopt(self.source) {
            Ok(source) => source,
            Err(e) => {
                let _ = self.ready.send(Err(e));
                return;
            }
        };
        // The server may have given up already (another worker failed); then
        // the shutdown signal is raised and the loop below ends at once.
        let _ = self.ready.send(Ok(kind));
        let connections = Connections::default();
        let admit = |stream: TcpStream| match self.limit.try_acquire() {
            Some(permit) => connections.spawn(handler(stream, self.shutdown.clone()), permit),
            None => log::debug!(
                "worker {}: connection limit {} reached, closing a new connection",
                self.index,
                self.limit.max
            ),
        };
        let mut stop = self.shutdown.wait();
        source.run(&mut stop, admit).await;
        let deadline = Instant::now() + self.shutdown_timeout;
        let aborted = connections.drain(deadline).await;
        if aborted > 0 {
            log::warn!(
                "worker {}: {aborted} connection(s) still open after the shutdown timeout {:?}, closed",
                self.index,
                self.shutdown_timeout
            );
        }
    }
}

/// A worker's connection source, adopted on the worker's runtime.
enum Incoming {
    Listener(TcpListener),
    Acceptor {
        listener: TcpListener,
        peers: Vec<Inbox>,
    },
    Handoff(Inbox),
}

impl Incoming {
    fn adopt(source: Source) -> io::Result<Incoming> {
        Ok(match source {
            Source::Listener(listener) => Incoming::Listener(TcpListener::from_std(listener)?),
            Source::Acceptor { listener, peers } => Incoming::Acceptor {
                listener: TcpListener::from_std(listener)?,
                peers,
            },
            Source::Handoff(inbox) => Incoming::Handoff(inbox),
        })
    }

    /// Feeds connections to `admit` until shutdown begins (or, for a handoff,
    /// the acceptor stops); the listener closes when this returns.
    async fn run(self, stop: &mut ShutdownWait, mut admit: impl FnMut(TcpStream)) {
        let mut backoff = AcceptBackoff::default();
        match self {
            Incoming::Listener(listener) => {
                while let Some(stream) = accept(&listener, stop, &mut backoff).await {
                    admit(stream);
                }
            }
            Incoming::Acceptor { listener, peers } => {
                let mut turn = 0usize;
                while let Some(stream) = accept(&listener, stop, &mut backoff).await {
                    // Turn 0 is ours; turn `i` belongs to `peers[i - 1]`.
                    match turn.checked_sub(1).and_then(|i| peers.get(i)) {
                        Some(peer) => peer.push(into_std(stream)),
                        None => admit(stream),
                    }
                    turn = (turn + 1) % (peers.len() + 1);
                }
                for peer in &peers {
                    peer.close();
                }
            }
            Incoming::Handoff(inbox) => {
                while let Some(Some(stream)) = or_shutdown(stop, inbox.recv()).await {
                    match TcpStream::from_std(stream) {
                        Ok(stream) => admit(stream),
                        Err(e) => log::warn!("cannot adopt a handed-over connection: {e}"),
                    }
                }
            }
        }
    }
}

/// The next connection, or `None` once shutdown begins. Errors are logged and
/// retried; shortages of fds or memory are retried after a growing pause.
async fn accept(
    listener: &TcpListener,
    stop: &mut ShutdownWait,
    backoff: &mut AcceptBackoff,
) -> Option<TcpStream> {
    loop {
        let e = match or_shutdown(stop, listener.accept()).await? {
            Ok((stream, _)) => {
                backoff.reset();
                return Some(stream);
            }
            Err(e) => e,
        };
        match AcceptFailure::of(&e) {
            AcceptFailure::Connection => {
                log::debug!("accept: a connection failed before it was taken: {e}");
                continue;
            }
            AcceptFailure::Resources => {
                let pause = backoff.next_pause();
                log::warn!("accept failed: {e}; retrying in {pause:?}");
                or_shutdown(stop, sleep(pause)).await?;
            }
            AcceptFailure::Unexpected => {
                let pause = backoff.next_pause();
                log::error!("accept failed: {e}; retrying in {pause:?}");
                or_shutdown(stop, sleep(pause)).await?;
            }
        }
    }
}

/// Runs `future` until it completes (`Some`) or shutdown begins (`None`,
/// dropping it, which cancels its I/O).
async fn or_shutdown<T>(stop: &mut ShutdownWait, future: impl Future<Output = T>) -> Option<T> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if Pin::new(&mut *stop).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// The server-wide cap on open connections, shared by all workers.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionLimit {
    open: Arc<AtomicUsize>,
    max: usize,
}

impl ConnectionLimit {
    pub(crate) fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A permit for one more connection, or `None` at the limit.
    fn try_acquire(&self) -> Option<Permit> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max {
                return None;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Permit(self.open.clone())),
                Err(now) => open = now,
            }
        }
    }
}

/// One open connection's share of the [`ConnectionLimit`]; released on drop.
struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection tasks of one worker.
#[derive(Default)]
struct Connections {
    inner: Rc<RefCell<Tracked>>,
}

#[derive(Default)]
struct Tracked {
    /// One handle per live connection task; a task removes its own on exit.
    tasks: Slab<JoinHandle<()>>,
    /// The drain waiting for `tasks` to empty.
    idle: Option<Waker>,
}

impl Connections {
    fn spawn(&self, connection: impl Future<Output = ()> + 'static, permit: Permit) {
        let mut tracked = self.inner.borrow_mut();
        let leave = Leave {
            inner: self.inner.clone(),
            key: tracked.tasks.vacant_key(),
            _permit: permit,
        };
        // The task starts on a later turn of the loop, so its handle is in the
        // slab under `key` before it can end and remove it.
        let handle = ringo_reactor::spawn(Guarded {
            connection,
            _leave: leave,
        });
        tracked.tasks.insert(handle);
    }

    /// Waits until every connection ended or `deadline` passed, then aborts
    /// those left and waits for them to be dropped. Returns how many it aborted.
    async fn drain(&self, deadline: Instant) -> usize {
        let idle = poll_fn(|cx| {
            let mut tracked = self.inner.borrow_mut();
            if tracked.tasks.is_empty() {
                return Poll::Ready(());
            }
            tracked.idle = Some(cx.waker().clone());
            Poll::Pending
        });
        let mut deadline = pin!(sleep_until(deadline));
        let mut idle = pin!(idle);
        poll_fn(|cx| {
            if idle.as_mut().poll(cx).is_ready() || deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
        let left: Vec<JoinHandle<()>> = self.inner.borrow_mut().tasks.drain().collect();
        for task in &left {
            task.abort();
        }
        let aborted = left.len();
        for task in left {
            // Resolves (cancelled) once the task's future has been dropped.
            let _ = task.await;
        }
        aborted
    }
}

/// A connection's future and its [`Leave`], dropped together when the task
/// ends. A struct, not an async block: a block that awaits a future it
/// captured stores it twice, once captured and once awaited
/// (rust-lang/rust#62958), and every idle connection would carry the copy.
struct Guarded<F> {
    connection: F,
    _leave: Leave,
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        // SAFETY: `connection` is structurally pinned: `Guarded` never moves
        // it out, has no `Drop` of its own and is not `Unpin` unless `F` is;
        // `_leave` is never pinned.
        unsafe { self.map_unchecked_mut(|guarded| &mut guarded.connection) }.poll(cx)
    }
}

/// Held by a connection task: removes the task's handle when it ends, releases
/// its permit, and wakes a waiting drain when it was the last.
struct Leave {
    inner: Rc<RefCell<Tracked>>,
    key: usize,
    _permit: Permit,
}

impl Drop for Leave {
    fn drop(&mut self) {
        // Borrowed only if the runtime drops this task while a `Connections`
        // method runs, which none does across an await; skip it then.
        let Ok(mut tracked) = self.inner.try_borrow_mut() else {
            return;
        };
        tracked.tasks.try_remove(self.key);
        if tracked.tasks.is_empty() {
            if let Some(waker) = tracked.idle.take() {
                waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_admits_n_and_refuses_n_plus_one_until_one_leaves() {
        let limit = ConnectionLimit::new(3);
        let held: Vec<Permit> = (0..3).filter_map(|_| limit.try_acquire()).collect();
        assert_eq!(held.len(), 3);
        assert!(limit.try_acquire().is_none(), "the fourth is refused");
        drop(held);
        assert_eq!(limit.open.load(Ordering::SeqCst), 0);
        assert!(limit.try_acquire().is_some());
    }
}

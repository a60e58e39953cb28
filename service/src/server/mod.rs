//! Multi-core TCP servers: one worker thread per core, each with its own
//! runtime and its own `SO_REUSEPORT` listener on the same port (on Windows,
//! which has no `SO_REUSEPORT`, the workers share one listener; see
//! [`Server::reuse_port`]).
//!
//! The protocol is yours: [`Server::serve`] takes a `Send + Sync` factory,
//! called once on each worker thread, that makes the per-connection handler —
//! which need not be `Send`, so it may hold `Rc`s and services built for that
//! worker. Each accepted connection runs as its own task on the worker that
//! accepted it.
//!
//! ```no_run
//! use ringo_reactor::buf::IoBuf;
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::{ListenOptions, TcpStream};
//! use ringo_service::server::{Server, Shutdown};
//!
//! let running = Server::bind("127.0.0.1:7000")
//!     .workers(2)
//!     .serve(|| |stream: TcpStream, _shutdown: Shutdown| async move {
//!         // An echo server: reply with what was read until the peer closes.
//!         let mut buf = vec![0u8; 4096];
//!         loop {
//!             let (n, b) = stream.read(buf).await;
//!             let n = match n { Ok(0) | Err(_) => return, Ok(n) => n };
//!             let (written, b) = stream.write_all(b.slice(..n)).await;
//!             if written.is_err() { return; }
//!             buf = b.into_inner();
//!         }
//!     })?;
//! println!("listening on {}", running.local_addr());
//! ringo_service::server::shutdown_on_ctrl_c(running.handle());
//! running.wait()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Shutdown
//!
//! [`ShutdownHandle::shutdown`] (or, after [`shutdown_on_ctrl_c`], SIGINT or
//! SIGTERM on Unix, Ctrl-C or a closing console on Windows) starts a graceful shutdown: every worker stops
//! accepting and closes its listener (new connects are refused), every
//! connection's [`Shutdown`] fires so protocol loops finish the requests they
//! already read and close, and each worker waits for its connections up to
//! [`Server::shutdown_timeout`]; the connections still open then are closed.

#[cfg(any(feature = "http", feature = "redis"))]
mod connection;
mod drain;
mod listener;
#[cfg(any(feature = "http", feature = "redis"))]
mod protocol;
mod worker;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use ringo_reactor::net::{ListenOptions, Target, TcpStream, ToSocketAddrs};
use ringo_reactor::DriverKind;

#[cfg(any(feature = "http", feature = "redis"))]
#[cfg(any(feature = "http", feature = "redis"))]
pub(crate) use connection::Served;
pub use drain::{shutdown_on_ctrl_c, Shutdown, ShutdownHandle, ShutdownWait};
pub use protocol::ProtocolServer;

use worker::{ConnectionLimit, Worker};

/// Default cap on open connections; documented on [`Server::max_connections`].
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Default graceful shutdown wait; documented on [`Server::shutdown_timeout`].
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures and starts a multi-core server; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Server {
    addr: Target,
    workers: Option<usize>,
    max_connections: usize,
    shutdown_timeout: Duration,
    driver: Option<DriverKind>,
    reuse_port: bool,
    backlog: u32,
}

impl Server {
    /// A server for `addr` (port 0: a free port, see [`Running::local_addr`])
    /// with the defaults, each given on its setter: a worker per core, 10,000
    /// connections, a 30 s shutdown wait, the driver from `RINGO_DRIVER` (else
    /// auto), `SO_REUSEPORT` listeners.
    ///
    /// `addr` is a `SocketAddr`, `"0.0.0.0:8080"`, `("localhost", 8080)` or
    /// any [`ToSocketAddrs`]; a host name is resolved when the server starts
    /// (by [`serve`](Self::serve), on the calling thread, which must run no
    /// runtime), and its addresses are tried in turn.
    pub fn bind(addr: impl ToSocketAddrs) -> Server {
        Server {
            addr: addr.to_target(),
            workers: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            driver: None,
            reuse_port: true,
            backlog: ListenOptions::default().backlog,
        }
    }

    /// Runs `n` workers (at least one). Default:
    /// [`std::thread::available_parallelism`], one per core.
    pub fn workers(mut self, n: usize) -> Server {
        self.workers = Some(n.max(1));
        self
    }

    /// Caps open connections across all workers; default 10,000. Zero is
    /// read as one. At the cap, a newly accepted connection is closed at once
    /// (the client sees its connection accepted, then closed); open
    /// connections are unaffected.
    pub fn max_connections(mut self, n: usize) -> Server {
        self.max_connections = n.max(1);
        self
    }

    /// How long graceful shutdown waits for open connections to finish before
    /// closing those still open; default 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Server {
        self.shutdown_timeout = timeout;
        self
    }

    /// The driver every worker's runtime uses, overriding `RINGO_DRIVER`.
    pub fn driver(mut self, kind: DriverKind) -> Server {
        self.driver = Some(kind);
        self
    }

    /// Whether each worker gets its own `SO_REUSEPORT` listener (the default).
    ///
    /// On Windows the workers share one listener: Windows has no
    /// `SO_REUSEPORT`, so with `true` one listener is bound and each worker
    /// accepts from it through its own duplicate handle (the system picks
    /// which waiting worker gets a connection).
    ///
    /// With `false`, or where the system refuses `SO_REUSEPORT`, there is one
    /// listener: worker 0 accepts every connection and hands them out to the
    /// workers in turn. That path costs a cross-thread hand-off per connection
    /// but spreads connections evenly even when few clients connect.
    pub fn reuse_port(mut self, on: bool) -> Server {
        self.reuse_port = on;
        self
    }

    /// The `listen(2)` backlog of each listener; default: the reactor's
    /// [`ListenOptions`] default.
    pub fn backlog(mut self, backlog: u32) -> Server {
        self.backlog = backlog;
        self
    }

    /// Binds the listeners and starts the workers; returns once every worker
    /// runs (each has built its runtime and called `factory`).
    ///
    /// One listener per worker on the first of the server's addresses that
    /// binds; the last error if none does.
    fn bind_listeners(&self, workers: usize) -> io::Result<(SocketAddr, Vec<listener::Source>)> {
        let mut last = None;
        for addr in self.addr.resolve_outside_runtime()? {
            match listener::bind(addr, workers, self.reuse_port, self.backlog) {
                Ok(bound) => return Ok(bound),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    }

    /// `factory` is called once per worker thread to make the per-connection
    /// handler, which is then called with each connection that worker accepts
    /// and the server's [`Shutdown`] signal, and spawned as a task.
    ///
    /// # Errors
    /// Binding failed (address in use, no permission), a worker thread could
    /// not be spawned, or a worker's runtime could not start (for example
    /// [`DriverKind::Uring`] where io_uring is unavailable). Workers already
    /// started are stopped first.
    pub fn serve<F, C, Fut>(self, factory: F) -> io::Result<Running>
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: Fn(TcpStream, Shutdown) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let (local_addr, sources) = self.bind_listeners(workers)?;
        let (shutdown, handle) = Shutdown::new();
        let limit = ConnectionLimit::new(self.max_connections);
        let factory = Arc::new(factory);
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut running = Running {
            local_addr,
            driver: DriverKind::Auto,
            workers,
            handle,
            threads: Vec::with_capacity(workers),
        };
        for (index, source) in sources.into_iter().enumerate() {
            let worker = Worker {
                index,
                factory: factory.clone(),
                source,
                shutdown: shutdown.clone(),
                limit: limit.clone(),
                shutdown_timeout: self.shutdown_timeout,
                driver: self.driver,
                ready: ready_tx.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("ringo-worker-{index}"))
                .spawn(move || worker.run());
            match thread {
                Ok(thread) => running.threads.push(thread),
                Err(e) => return Err(running.abort(e)),
            }
        }
        drop(ready_tx);
        for _ in 0..running.threads.len() {
            match ready_rx.recv() {
                Ok(Ok(kind)) => running.driver = kind,
                Ok(Err(e)) => return Err(running.abort(e)),
                Err(mpsc::RecvError) => {
                    let e = io::Error::other("a server worker ended while starting");
                    return Err(running.abort(e));
                }
            }
        }
        Ok(running)
    }
}

/// A started server: its address, driver, and the way to stop it.
///
/// Dropping it without [`wait`](Running::wait) or
/// [`shutdown`](Running::shutdown) shuts the server down gracefully and waits
/// for the workers, so a server never outlives its owner by accident.
#[derive(Debug)]
pub struct Running {
    local_addr: SocketAddr,
    driver: DriverKind,
    workers: usize,
    handle: ShutdownHandle,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    /// The address the workers listen on (port 0 resolved; all share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The driver the workers run on: `Uring` or `Compat`, never `Auto`.
    pub fn driver(&self) -> DriverKind {
        self.driver
    }

    /// How many workers run.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// A handle that starts graceful shutdown from any thread.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Blocks until every worker has exited, which happens after graceful
    /// shutdown was started through a [`handle`](Running::handle).
    ///
    /// # Errors
    /// A worker thread panicked.
    pub fn wait(mut self) -> io::Result<()> {
        self.join()
    }

    /// Shuts down gracefully: stops accepting, signals [`Shutdown`] to the
    /// connections, waits for them up to the shutdown timeout, closes the rest
    /// and joins the workers.
    ///
    /// # Errors
    /// A worker thread panicked.
    pub fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown();
        self.wait()
    }

    fn join(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        for (index, thread) in self.threads.drain(..).enumerate() {
            if thread.join().is_err() {
                result = Err(io::Error::other(format!("server worker {index} panicked")));
            }
        }
        result
    }

    /// Stops the workers started so far and returns `e`, for a failed start.
    fn abort(mut self, e: io::Error) -> io::Error {
        self.handle.shutdown();
        // A worker's panic matters less than the error that stopped the start.
        let _ = self.join();
        e
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.handle.shutdown();
        if let Err(e) = self.join() {
            log::error!("{e}");
        }
    }
}

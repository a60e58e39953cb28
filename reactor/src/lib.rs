//! ringo's event loop: a completion-based runtime on io_uring, with a portable
//! readiness driver (`compat`) running the same API everywhere else.
//!
//! # The model in one page
//!
//! - **A runtime per thread.** [`Runtime`] runs tasks, timers and I/O on the
//!   thread that made it. Tasks need not be `Send`; [`spawn`] them from inside.
//!   Servers run one runtime per core.
//! - **Owned buffers.** I/O takes buffers by value and gives them back with the
//!   result ([`BufResult`](buf::BufResult)), because io_uring writes into them
//!   after the call starts. Dropping an I/O future never frees memory the kernel
//!   may still write: the runtime keeps the buffer until the kernel is done.
//! - **Two drivers, one API.** io_uring where the kernel allows it; otherwise the
//!   `compat` driver (epoll/kqueue through mio) emulates completion semantics.
//!   Choose with [`Builder::driver`] or `RINGO_DRIVER=auto|uring|compat`.
//!
//! # Thread per core: what is `!Send`, and how state is shared
//!
//! A runtime never moves a task to another thread, so tasks need not be
//! `Send` and ringo's I/O types are not: [`TcpStream`](net::TcpStream),
//! [`TcpListener`](net::TcpListener), the other sockets and
//! [`File`](fs::File) hold their fd through an `Rc` into *their* runtime's
//! driver, and the [`sync`] primitives use `Cell`/`RefCell` with no atomics.
//! (A compiler error naming `Rc<ringo_reactor::fd::Inner>` is this.) To use
//! every core, run one runtime per thread, each with its own sockets
//! (`SO_REUSEPORT` listeners, [`ListenOptions`](net::ListenOptions)):
//!
//! - state for one thread's tasks: `Rc<RefCell<..>>` or `Rc<sync::Mutex<..>>`;
//! - state for all threads: `Arc<..>` (with `std::sync::Mutex` or atomics),
//!   cloned into each thread before its runtime starts;
//! - messages between threads: `futures::channel` or `async-channel` (a ringo
//!   `Waker` may be woken from any thread; see [`sync`]).
//!
//! ```
//! use std::rc::Rc;
//! use std::cell::Cell;
//! use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
//!
//! let total = Arc::new(AtomicUsize::new(0)); // shared by every worker: Arc
//! let workers: Vec<_> = (0..2).map(|_| {
//!     let total = total.clone();
//!     std::thread::spawn(move || ringo_reactor::run(async move {
//!         let local = Rc::new(Cell::new(0)); // this worker's tasks only: Rc
//!         let tasks: Vec<_> = (0..10).map(|_| {
//!             let local = local.clone();
//!             ringo_reactor::spawn(async move { local.set(local.get() + 1) })
//!         }).collect();
//!         for task in tasks { task.await.unwrap(); }
//!         total.fetch_add(local.get(), Ordering::Relaxed);
//!     }))
//! }).collect();
//! for worker in workers { worker.join().unwrap(); }
//! assert_eq!(total.load(Ordering::Relaxed), 20);
//! ```
//!
//! `ringo_service::server` does this for you: a `Send + Sync` factory is
//! called once per worker thread and makes that worker's `!Send` service.
//!
//! For `select!`/`join!` use the `futures` crate's macros; they work with
//! every ringo future.
//!
//! # Example: an echo server
//!
//! ```no_run
//! use ringo_reactor::buf::IoBuf;
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::TcpListener;
//!
//! async fn serve() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:7000")?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         ringo_reactor::spawn(async move {
//!             let mut buf = vec![0u8; 4096];
//!             loop {
//!                 let (n, b) = stream.read(buf).await;
//!                 let n = match n { Ok(0) | Err(_) => return, Ok(n) => n };
//!                 let (written, b) = stream.write_all(b.slice(..n)).await;
//!                 if written.is_err() { return; }
//!                 buf = b.into_inner();
//!             }
//!         });
//!     }
//! }
//!
//! ringo_reactor::run(serve())?;
//! # Ok::<(), std::io::Error>(())
//! ```

// Off Linux the io_uring driver is an uninhabited type (driver/uring_unsupported.rs),
// so the op-slot, fixed-fd and multishot machinery only it reaches has no caller
// there. It stays compiled so no function needs a `cfg`; Linux builds, where
// every piece is reachable, keep the dead-code lint.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

pub mod buf;
pub(crate) mod driver;
pub(crate) mod fd;
pub mod fs;
pub mod io;
pub mod net;
pub(crate) mod op;
pub(crate) mod queue;
pub mod runtime;
pub mod sync;
pub(crate) mod sys;
pub mod task;
pub mod time;

/// The `bytes` crate, whose `Bytes`/`BytesMut` ringo's buffers accept: use
/// this one so the versions match.
pub use bytes;
pub use runtime::{run, Builder, DriverKind, Handle, Runtime, UringFeatures};
pub use task::{spawn, JoinError, JoinHandle};

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
//! # Example: an echo server
//!
//! ```no_run
//! use ringo_reactor::buf::IoBuf;
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::TcpListener;
//!
//! async fn serve() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:7000".parse().unwrap())?;
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

#![warn(missing_docs, missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod buf;
pub(crate) mod driver;
pub(crate) mod fd;
pub mod fs;
pub mod io;
pub mod net;
pub(crate) mod op;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;

pub use runtime::{run, Builder, DriverKind, Handle, Runtime, UringFeatures};
pub use task::{spawn, JoinError, JoinHandle};

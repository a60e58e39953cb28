//! ringo's portable readiness driver: runs operations with completion semantics on
//! top of mio (epoll on Linux, kqueue on the BSDs and macOS).
//!
//! io_uring hands an operation to the kernel and reports when it is *done*. Where
//! io_uring is missing or refused, this crate offers the same shape on top of
//! readiness: the [`Proactor`] tries an [`Operation`] without blocking and, when the
//! kernel answers `WouldBlock`, waits for the fd to become ready and tries again.
//! The caller only ever sees the final result, exactly as with a completion.
//!
//! The crate knows nothing of io_uring or of an executor; it speaks only
//! [`std::task`]: [`Proactor::poll_op`] stores a [`Waker`](std::task::Waker) and
//! [`Proactor::park`] wakes it when the fd may be ready again. Regular files do not
//! have useful readiness, so file I/O goes to a bounded thread pool through
//! [`Proactor::spawn_blocking`] and never runs on the loop thread.
//!
//! # Platforms
//!
//! Unix (epoll on Linux, kqueue on macOS and the BSDs) describes an operation's
//! target by its fd, Windows (mio's AFD poll under IOCP) by its socket handle:
//! [`RawSource`] is whichever the platform has. On Windows only sockets have
//! readiness; anything else goes to the blocking pool.
//!
//! # Example
//!
//! A read on a socket with nothing to read yet is `Pending`; once the peer writes,
//! `park` wakes the waiter and the retried read completes.
//!
//! ```
//! use std::io::{self, Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//! use std::time::Duration;
//!
//! use ringo_compat::{Interest, Operation, Proactor, RawSource};
//!
//! /// The handle an operation names: an fd on Unix, a socket on Windows.
//! fn raw(stream: &TcpStream) -> RawSource {
//!     #[cfg(unix)]
//!     return std::os::fd::AsRawFd::as_raw_fd(stream);
//!     #[cfg(windows)]
//!     return std::os::windows::io::AsRawSocket::as_raw_socket(stream);
//! }
//!
//! /// Reads into an owned buffer, as a completion-model read would.
//! struct ReadOp<'a> {
//!     stream: &'a TcpStream,
//!     buf: Vec<u8>,
//! }
//!
//! impl Operation for ReadOp<'_> {
//!     fn readiness(&self) -> (RawSource, Interest) {
//!         (raw(self.stream), Interest::READABLE)
//!     }
//!     fn attempt(&mut self) -> io::Result<usize> {
//!         (&*self.stream).read(&mut self.buf)
//!     }
//! }
//!
//! /// A waker that does nothing: this example polls again after every park.
//! struct Noop;
//! impl Wake for Noop {
//!     fn wake(self: Arc<Self>) {}
//! }
//!
//! fn main() -> io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let mut theirs = TcpStream::connect(listener.local_addr()?)?;
//!     let (ours, _) = listener.accept()?;
//!     ours.set_nonblocking(true)?;
//!     let mut proactor = Proactor::new()?;
//!     let waker = Waker::from(Arc::new(Noop));
//!     let mut cx = Context::from_waker(&waker);
//!     let mut op = ReadOp { stream: &ours, buf: vec![0; 16] };
//!
//!     assert!(proactor.poll_op(&mut op, &mut cx).is_pending());
//!     theirs.write_all(b"hello")?;
//!     let n = loop {
//!         proactor.park(Some(Duration::from_millis(100)))?;
//!         if let Poll::Ready(result) = proactor.poll_op(&mut op, &mut cx) {
//!             break result?;
//!         }
//!     };
//!     assert_eq!(&op.buf[..n], b"hello");
//!
//!     // Forget the socket before it is closed.
//!     proactor.deregister(raw(&ours));
//!     Ok(())
//! }
//! ```

mod blocking;
mod proactor;
mod registration;
mod sys;

use std::io;

pub use blocking::DEFAULT_MAX_BLOCKING_THREADS;
pub use mio::Interest;
pub use proactor::{Proactor, Unparker};
pub use sys::RawSource;

/// An operation the [`Proactor`] can run: one non-blocking syscall on one fd, retried
/// until it stops answering `WouldBlock`.
///
/// The operation owns whatever the syscall needs (fd, buffer, address) for as long
/// as it is pending, so retrying later is always sound.
pub trait Operation {
    /// The fd this operation is about and the readiness it needs to make progress.
    ///
    /// Only [`Interest::READABLE`] and [`Interest::WRITABLE`] are looked at; an
    /// interest with neither (e.g. only `PRIORITY`) waits as if it were readable.
    /// Both together means "either direction may let it progress".
    fn readiness(&self) -> (RawSource, Interest);

    /// Try once, without blocking.
    ///
    /// `Ok(n)` and any error other than `WouldBlock` (and `Interrupted`, which is
    /// retried at once) complete the operation. `Err(WouldBlock)` makes the proactor
    /// wait for readiness and call `attempt` again later.
    fn attempt(&mut self) -> io::Result<usize>;

    /// Whether an attempt that completed with `Ok(n)` showed the fd drained in
    /// the direction it asks for: a stream read that filled less than its
    /// buffer, a write that took less than it was given. The proactor then waits
    /// for the next edge instead of spending the next attempt on a syscall that
    /// answers `WouldBlock` (in a ping-pong, one `recv` per request).
    ///
    /// Only say yes where it is certain: a datagram shorter than the buffer says
    /// nothing about the datagrams queued behind it. Defaults to `false`.
    fn drained(&self, n: usize) -> bool {
        let _ = n;
        false
    }
}

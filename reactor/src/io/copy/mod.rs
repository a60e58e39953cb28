//! [`copy_bidirectional`]: copy bytes both ways between two TCP streams until
//! both directions have ended — the whole of a TCP proxy's data path.
//!
//! Each direction copies until its source reads end of stream, then shuts
//! down the write half of its destination, so a half-close travels through:
//! a client may send a request, shut down its write half and still read the
//! whole reply. The two directions run concurrently inside one future (a
//! small join, no spawned task), so the streams are only borrowed and nothing
//! needs to be `Send` or `'static`.
//!
//! How a direction moves bytes:
//! - **uring**: socket → pipe → socket with `splice`, so the bytes never
//!   enter user space (see `splice.rs`). If the kernel refuses splice through
//!   io_uring (`EINVAL`, `ENOSYS`, `EOPNOTSUPP` on the first splice, before any
//!   byte has moved), that direction goes on buffered, and the runtime's
//!   thread remembers it: every later copy there is buffered from the start; so is a direction that cannot get a big enough pipe (out of
//!   fds, or of the user's pipe quota).
//! - **compat**, and the cases above: a buffered copy through one owned
//!   buffer of [`BUFFER_SIZE`] bytes per direction, reused for every read and
//!   write.

#[cfg(target_os = "linux")]
pub(crate) mod splice;

use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;

use super::{AsyncRead, AsyncWrite};
use crate::buf::IoBuf;
use crate::net::TcpStream;

/// Bytes of one direction's buffer in a buffered copy: the most one read
/// moves. A connection holds two for its whole life, so they stay at 64 KiB
/// (a 1 MiB buffer copied about as fast as a 1 MiB pipe splices, in the A/B
/// of `tests/copy.rs`, at 32 times the memory of an idle connection).
const BUFFER_SIZE: usize = 64 * 1024;

/// Copies bytes from `a` to `b` and from `b` to `a` at the same time until
/// both directions have reached end of stream; returns the bytes copied
/// `(a to b, b to a)`.
///
/// When one side stops sending, the other side's write half is shut down
/// (it reads end of stream) and the other direction goes on until it ends
/// too. On io_uring the bytes move with `splice` through a pipe per
/// direction and never enter user space; on compat they go through one
/// 64 KiB buffer per direction.
///
/// Dropping the future stops both directions at once; in-flight operations
/// are cancelled safely. The streams are left open for the caller, but bytes
/// the copy had read and not yet written (up to a buffer or a pipe's worth
/// per direction) are lost.
///
/// # Errors
/// The first read or write error of either direction (a peer reset, for
/// example). Both streams are then shut down in both directions, so their
/// peers read end of stream (or get a reset), and the other direction stops.
///
/// # Examples
/// A TCP proxy:
/// ```no_run
/// use std::net::SocketAddr;
///
/// use ringo_reactor::io::copy_bidirectional;
/// use ringo_reactor::net::{TcpListener, TcpStream};
///
/// async fn serve(listener: TcpListener, upstream: SocketAddr) -> std::io::Result<()> {
///     loop {
///         let (client, _) = listener.accept().await?;
///         drop(ringo_reactor::spawn(async move {
///             let upstream = TcpStream::connect(upstream).await?;
///             let (up, down) = copy_bidirectional(&client, &upstream).await?;
///             println!("{up} bytes up, {down} bytes down");
///             Ok::<(), std::io::Error>(())
///         }));
///     }
/// }
///
/// let listener = TcpListener::bind("127.0.0.1:8081")?;
/// ringo_reactor::run(serve(listener, "127.0.0.1:8080".parse().unwrap()))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn copy_bidirectional(a: &TcpStream, b: &TcpStream) -> io::Result<(u64, u64)> {
    let result = try_join(one_way(a, b), one_way(b, a)).await;
    if result.is_err() {
        // Failing here means the socket is already gone, which is the goal.
        let _ = a.shutdown_std(Shutdown::Both);
        let _ = b.shutdown_std(Shutdown::Both);
    }
    result
}

/// Copies `from` to `to` until `from` ends, then shuts down `to`'s write half.
async fn one_way(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
    let copied = copy_until_end(from, to).await?;
    to.shutdown_std(Shutdown::Write)?;
    Ok(copied)
}

async fn copy_until_end(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    if splice::usable() {
        if let Some(copied) = splice::copy(from, to).await? {
            return Ok(copied);
        }
    }
    buffered(from, to).await
}

/// The copy through user space: one buffer, read into, written out, reused.
async fn buffered(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; BUFFER_SIZE];
    let mut copied = 0u64;
    loop {
        let (read, filled) = from.read(buf).await;
        let n = match read {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                buf = filled;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (written, slice) = to.write_all(filled.slice(..n)).await;
        written?;
        buf = slice.into_inner();
        copied += n as u64;
    }
}

/// Runs both futures concurrently until both succeed, or until the first
/// error, which is returned at once (the other future is dropped).
async fn try_join<A, B>(a: A, b: B) -> io::Result<(u64, u64)>
where
    A: Future<Output = io::Result<u64>>,
    B: Future<Output = io::Result<u64>>,
{
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut a_done, mut b_done) = (None, None);
    poll_fn(|cx| {
        if a_done.is_none() {
            if let Poll::Ready(result) = a.as_mut().poll(cx) {
                a_done = Some(result?);
            }
        }
        if b_done.is_none() {
            if let Poll::Ready(result) = b.as_mut().poll(cx) {
                b_done = Some(result?);
            }
        }
        match (a_done, b_done) {
            (Some(a), Some(b)) => Poll::Ready(Ok((a, b))),
            _ => Poll::Pending,
        }
    })
    .await
}

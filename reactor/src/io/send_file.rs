//! [`SendFile`]: file → socket without the bytes passing through user space,
//! behind [`AsyncWrite::send_file`] for TCP and Unix streams.
//!
//! How the bytes move:
//! - **uring, the range in the page cache**: `sendfile(2)` on the loop
//!   thread, as on compat (below). `cachestat(2)` (Linux 6.5) says whether
//!   the range's ends are cached (`sendfile::cached` says why the ends), so
//!   the loop does not wait for the disk; two syscalls per file, and the
//!   splices they save are each a trip to an io-wq worker.
//! - **uring, otherwise**: file → pipe → socket with `IORING_OP_SPLICE`, the
//!   same pipe round as [`copy_bidirectional`](super::copy_bidirectional)
//!   (the pipe never holds more than one round, the socket end polls on
//!   `EAGAIN`), the disk reads on io-wq. Pipes are reused: one that came back
//!   empty goes to a small per-thread cache, so a keep-alive server does not
//!   make two fds per response. Sends of at most `SMALL_SEND` bytes skip the
//!   pipe: one read into a buffer and one send cost fewer trips than two
//!   splices.
//! - **compat** (Linux): `sendfile(2)`, non-blocking on the socket, waiting for
//!   writability on `EAGAIN`. It runs on the loop thread, so a file not in the
//!   page cache blocks the loop while the kernel reads it — as in nginx without
//!   `aio threads`; the loop yields every 4 MiB.
//! - **buffered**, when neither applies (the kernel refuses splice, `sendfile`
//!   refuses the file, other systems): `read_at` into one buffer of at most
//!   `BUFFER_SIZE` bytes and `write_all`, reused for the whole send.
//!
//! Bytes put before the file ([`SendFile::prepend`]: an HTTP server's
//! response head) go with `MSG_MORE` just before a `sendfile(2)`, so head and
//! body leave in one segment rather than the head alone: nginx's
//! `tcp_nopush`, without the two `TCP_CORK` calls. On the other paths they
//! are written first.
//!
//! A file that ends early (truncated while being sent) ends the send early:
//! the caller gets the short count and decides (an HTTP server closes the
//! connection, having promised more). A peer reset is the socket's error.
//! Backpressure is the socket's: a reader that stops leaves the send waiting
//! for writability, holding at most one pipe's (or buffer's) worth of bytes.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(doc)]
use super::AsyncWrite;
use crate::buf::IoBuf;
use crate::fd::SharedFd;
use crate::op::fs::ReadAt;
use crate::op::send_zc::{SendFuture, ZeroCopy};
use crate::op::Op;

/// The future of [`AsyncWrite::send_file`]: the bytes sent, `len` or fewer if
/// the file ended first.
///
/// It owns handles to both fds and borrows nothing, so it can be stored and
/// polled across calls (as a framed transport does); dropping it mid-send is
/// safe, and how many bytes went is then unknown.
pub struct SendFile {
    /// The send's arguments, until its first poll starts it.
    start: Option<Start>,
    /// Boxed: the send is one per file body, and its state differs by driver.
    running: Option<Pin<Box<dyn Future<Output = io::Result<u64>>>>>,
}

/// What a [`SendFile`] sends, once polled.
struct Start {
    to: SharedFd,
    from: SharedFd,
    offset: u64,
    len: u64,
    /// Bytes that go before the file's ([`SendFile::prepend`]).
    head: Vec<u8>,
}

impl SendFile {
    /// Sends `len` bytes of the file `from` from `offset` to the socket `to`.
    pub(crate) fn new(to: SharedFd, from: SharedFd, offset: u64, len: u64) -> SendFile {
        SendFile {
            start: Some(Start {
                to,
                from,
                offset,
                len,
                head: Vec::new(),
            }),
            running: None,
        }
    }

    /// Puts `bytes` before the file's, as the send's first bytes: a
    /// response head, say. Where the file goes with `sendfile(2)` they are
    /// sent with `MSG_MORE` just before it, so head and body leave in one
    /// segment (what nginx's `tcp_nopush` does with `TCP_CORK`), where a
    /// send of their own would have gone out alone; elsewhere they are
    /// written first. The count the send returns stays the file's bytes.
    ///
    /// `false`, taking nothing, once the send has been polled.
    pub fn prepend(&mut self, bytes: &[u8]) -> bool {
        match &mut self.start {
            Some(start) => {
                start.head.extend_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}

impl Future for SendFile {
    type Output = io::Result<u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = &mut *self;
        if let Some(start) = this.start.take() {
            this.running = Some(Box::pin(send_file(start)));
        }
        this.running
            .as_mut()
            .expect("invariant: the send starts on its first poll")
            .as_mut()
            .poll(cx)
    }
}

impl fmt::Debug for SendFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendFile")
    }
}

/// Sends of at most this many bytes go buffered on io_uring: a pipe round
/// costs two splices (each a trip to an io-wq worker) where a small file needs
/// one read and one send.
pub(crate) const SMALL_SEND: u64 = 64 * 1024;

/// The buffered path's buffer, at most: one read's worth.
const BUFFER_SIZE: usize = 64 * 1024;

/// Sends the head, then `len` bytes of the file from `offset`; see the
/// module doc. Returns the file's bytes sent: `len`, or fewer if the file
/// ended first.
async fn send_file(start: Start) -> io::Result<u64> {
    let Start {
        to,
        from: file,
        offset,
        len,
        head,
    } = start;
    #[cfg(target_os = "linux")]
    {
        use crate::runtime::{context, DriverKind};
        let kind = context::with(|rt| rt.driver.kind());
        let sent = match kind {
            DriverKind::Uring if len > SMALL_SEND && sendfile::cached(&file, offset, len) => {
                sendfile::send_head(&to, &head, true).await?;
                sendfile::send(&to, &file, offset, len).await?
            }
            DriverKind::Compat => {
                // Held back only when file bytes follow to push it out.
                sendfile::send_head(&to, &head, len > 0).await?;
                sendfile::send(&to, &file, offset, len).await?
            }
            DriverKind::Uring if len > SMALL_SEND && super::copy::splice::usable() => {
                write_all(&to, head).await?;
                uring::send(&to, &file, offset, len).await?
            }
            _ => {
                write_all(&to, head).await?;
                None
            }
        };
        match sent {
            Some(sent) => Ok(sent),
            None => buffered(&to, &file, offset, len).await,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        write_all(&to, head).await?;
        buffered(&to, &file, offset, len).await
    }
}

/// Writes `buf`'s bytes to `to` with ordinary sends; gives the buffer back.
async fn write_all(to: &SharedFd, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let (mut written, end) = (0, buf.len());
    while written < end {
        let send = SendFuture::new(to.clone(), buf.slice(written..end), ZeroCopy::Never);
        let (result, back) = send.await;
        buf = back.into_inner();
        match result {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(m) => written += m,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// The buffered path: read a buffer's worth, write it, until `len` or the end.
async fn buffered(to: &SharedFd, file: &SharedFd, offset: u64, len: u64) -> io::Result<u64> {
    let size = usize::try_from(len).unwrap_or(usize::MAX).min(BUFFER_SIZE);
    let mut buf = Vec::with_capacity(size);
    let mut sent = 0u64;
    while sent < len {
        buf.clear();
        let want = usize::try_from(len - sent).unwrap_or(usize::MAX).min(size);
        let read_at = ReadAt::new(file.clone(), buf.slice(..want), offset + sent);
        let (read, back) = Op::new(read_at).await;
        buf = back.into_inner();
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.truncate(n);
        buf = write_all(to, buf).await?;
        sent += n as u64;
    }
    Ok(sent)
}

#[cfg(target_os = "linux")]
mod uring {
    use std::cell::RefCell;
    use std::io;

    use crate::fd::SharedFd;
    use crate::io::copy::splice::{
        drain, is_refusal, refusal_injected, remember_refusal, PIPE_SIZE,
    };
    use crate::op::splice::{pipe, Pipe, Splice};
    use crate::op::Op;

    /// Empty pipes kept per thread for the next send. Each holds no memory
    /// while empty, but two fds and a share of the user's pipe quota, so few.
    const CACHED_PIPES: usize = 8;

    thread_local! {
        static PIPES: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
    }

    fn take_pipe() -> io::Result<Pipe> {
        match PIPES.with(|p| p.borrow_mut().pop()) {
            Some(pipe) => Ok(pipe),
            None => pipe(PIPE_SIZE),
        }
    }

    /// Keeps an emptied pipe for the next send (or closes it if enough are kept).
    fn give_back(pipe: Pipe) {
        PIPES.with(|p| {
            let mut pipes = p.borrow_mut();
            if pipes.len() < CACHED_PIPES {
                pipes.push(pipe);
            }
        });
    }

    /// Splices `len` bytes from `offset` through a pipe; `None` (before any
    /// byte moved) when the kernel refuses splice through io_uring.
    pub(super) async fn send(
        to: &SharedFd,
        from: &SharedFd,
        offset: u64,
        len: u64,
    ) -> io::Result<Option<u64>> {
        let pipe = take_pipe()?;
        let round = pipe.capacity as u64;
        let mut sent = 0u64;
        while sent < len {
            let ask = u32::try_from((len - sent).min(round)).unwrap_or(u32::MAX);
            let spliced = if sent == 0 && refusal_injected() {
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            } else {
                let splice =
                    Splice::file_into_pipe(from.clone(), offset + sent, pipe.write.clone(), ask);
                Op::new(splice).await
            };
            let n = match spliced {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if sent == 0 && is_refusal(&e) => {
                    remember_refusal();
                    give_back(pipe);
                    return Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The pipe may hold bytes of an unfinished round: it is dropped.
                Err(e) => return Err(e),
            };
            drain(&pipe.read, to, n).await?;
            sent += n as u64;
        }
        give_back(pipe);
        Ok(Some(sent))
    }
}

/// `sendfile(2)` on the loop thread: compat's file sends, and io_uring's of
/// a range the page cache holds whole.
#[cfg(target_os = "linux")]
mod sendfile {
    use std::io;

    use crate::fd::SharedFd;
    use crate::op::poll::PollOnce;
    use crate::op::{cvt, Op};
    use crate::runtime::context;

    /// `cachestat(2)`'s number: the same on every architecture (a call added
    /// after the tables were unified), and not in the `libc` crate yet.
    const SYS_CACHESTAT: libc::c_long = 451;

    /// `struct cachestat_range` of `<linux/mman.h>`.
    #[repr(C)]
    struct CachestatRange {
        off: u64,
        len: u64,
    }

    /// `struct cachestat` of `<linux/mman.h>`: page counts over the range.
    #[repr(C)]
    #[derive(Default)]
    struct Cachestat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }

    /// Bytes at each end of a range whose caching is checked: asking about a
    /// whole 1 MiB range cost 6% of a static server's CPU (the kernel walks
    /// every page), asking about its ends a sixteenth of that.
    const CHECKED_END: u64 = 64 * 1024;

    /// Whether `len` bytes from `offset` are in the page cache, so `sendfile`
    /// will not wait for the disk: the whole range if it is short, else its
    /// first and last [`CHECKED_END`] bytes. The page cache evicts a file's
    /// least recently read pages first, which for a file read front to back
    /// are its first, so a file losing its pages loses them there; one
    /// evicted only in its middle (read out of order, or pages reclaimed
    /// unevenly) can still make a send wait. `false` where `cachestat(2)` is
    /// missing (remembered for the runtime) or fails.
    pub(super) fn cached(file: &SharedFd, offset: u64, len: u64) -> bool {
        if context::with(|rt| rt.splice.no_cachestat.get()) {
            return false;
        }
        if len <= 2 * CHECKED_END {
            return range_cached(file, offset, len);
        }
        range_cached(file, offset, CHECKED_END)
            && range_cached(file, offset + len - CHECKED_END, CHECKED_END)
    }

    /// Whether every page of `len` bytes from `offset` is cached.
    fn range_cached(file: &SharedFd, offset: u64, len: u64) -> bool {
        // SAFETY: sysconf has no preconditions.
        let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let range = CachestatRange { off: offset, len };
        let mut stat = Cachestat::default();
        // SAFETY: the fd is held open by `file`; `range` and `stat` are live
        // locals of the layouts the kernel reads and writes; flags must be 0.
        let result = unsafe {
            libc::syscall(
                SYS_CACHESTAT,
                file.raw(),
                &range as *const CachestatRange,
                &mut stat as *mut Cachestat,
                0,
            )
        };
        if result != 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
                context::with(|rt| rt.splice.no_cachestat.set(true));
            }
            return false;
        }
        let first = offset / page;
        let end = offset.saturating_add(len).div_ceil(page);
        stat.nr_cache >= end - first
    }

    /// Bytes sent between yields to the other tasks: `sendfile` on a fast
    /// reader may never answer `EAGAIN`, and must not starve the loop.
    pub(super) const YIELD_EVERY: u64 = 4 * 1024 * 1024;

    /// Most bytes asked of one `sendfile` call.
    const MAX_CALL: u64 = 1 << 30;

    /// Sends `head` with `MSG_MORE` on the loop thread, so that it waits in
    /// the socket for the `sendfile` that follows and leaves in its first
    /// segment (what nginx's `tcp_nopush` does with `TCP_CORK`).
    pub(super) async fn send_head(socket: &SharedFd, head: &[u8], more: bool) -> io::Result<()> {
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
        let mut written = 0;
        while written < head.len() {
            let rest = &head[written..];
            // SAFETY: the fd is held open by `socket`; `rest` is a live slice.
            let result =
                cvt(unsafe { libc::send(socket.raw(), rest.as_ptr().cast(), rest.len(), flags) });
            match result {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Op::new(PollOnce::writable(socket.clone())).await?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends with `sendfile(2)`; `None` (before any byte moved) when it
    /// refuses this file (`EINVAL`/`ENOSYS`: not a page-cache file).
    pub(super) async fn send(
        socket: &SharedFd,
        source: &SharedFd,
        offset: u64,
        len: u64,
    ) -> io::Result<Option<u64>> {
        let mut sent = 0u64;
        let mut since_yield = 0u64;
        while sent < len {
            let Ok(mut at) = libc::off_t::try_from(offset + sent) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "file offset too large",
                ));
            };
            let count = (len - sent).min(MAX_CALL) as usize;
            // SAFETY: both fds are held open by the SharedFds above; `at` is a
            // live local the kernel updates.
            let result = cvt(unsafe { libc::sendfile(socket.raw(), source.raw(), &mut at, count) });
            match result {
                Ok(0) => break,
                Ok(n) => {
                    sent += n as u64;
                    since_yield += n as u64;
                    context::with(|rt| rt.splice.sendfile.set(rt.splice.sendfile.get() + n as u64));
                    if since_yield >= YIELD_EVERY {
                        since_yield = 0;
                        crate::task::yield_now().await;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Op::new(PollOnce::writable(socket.clone())).await?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if sent == 0
                        && matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Some(sent))
    }
}

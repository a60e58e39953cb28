//! Where a worker's connections come from, and what to do when accepting fails.
//!
//! The normal path gives every worker its own `SO_REUSEPORT` listener on the
//! same port, so the kernel spreads connections across cores and no two
//! workers ever touch the same socket. Where `SO_REUSEPORT` is refused (or
//! switched off with [`Server::reuse_port`](super::Server::reuse_port)), one
//! listener serves all: worker 0 accepts and hands the streams out round-robin
//! through each worker's [`Inbox`].
//!
//! Listeners are bound on the caller's thread before any worker starts, so a
//! bad address or a port in use is an error from `serve`, not a log line.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use ringo_reactor::net::{ListenOptions, TcpListener, TcpStream};

/// The first pause after accept fails for lack of resources (fds, memory).
pub(crate) const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(10);

/// The longest pause between accept attempts while resources stay short; the
/// pause doubles from [`ACCEPT_BACKOFF_START`] up to this.
pub(crate) const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How one worker receives connections.
#[derive(Debug)]
pub(crate) enum Source {
    /// Its own listener (`SO_REUSEPORT`), or the single shared listener when
    /// there is one worker.
    Listener(OwnedFd),
    /// The single listener of a server without `SO_REUSEPORT`: this worker
    /// accepts for everyone, keeping turn 0 for itself and handing turn `i`
    /// (1-based) to `peers[i - 1]`.
    Acceptor {
        listener: OwnedFd,
        peers: Vec<Inbox>,
    },
    /// Streams handed over by the acceptor.
    Handoff(Inbox),
}

/// Binds the listeners for `workers` workers on `addr`; returns the bound
/// address (port 0 resolved) and one source per worker.
///
/// # Errors
/// Binding failed (address in use, no permission, bad address).
pub(crate) fn bind(
    addr: SocketAddr,
    workers: usize,
    reuse_port: bool,
    backlog: u32,
) -> io::Result<(SocketAddr, Vec<Source>)> {
    let workers = workers.max(1);
    let options = ListenOptions {
        reuse_port: reuse_port && workers > 1,
        backlog,
    };
    let first = match TcpListener::bind_with(addr, &options) {
        Err(e) if options.reuse_port && reuse_port_refused(&e) => {
            log::warn!("SO_REUSEPORT unavailable ({e}); worker 0 accepts for all workers");
            return bind_shared(addr, workers, backlog);
        }
        other => other?,
    };
    let local = first.local_addr()?;
    if !options.reuse_port {
        return shared(first, local, workers);
    }
    let mut sources = vec![Source::Listener(owned(first))];
    for _ in 1..workers {
        sources.push(Source::Listener(owned(TcpListener::bind_with(
            local, &options,
        )?)));
    }
    Ok((local, sources))
}

fn bind_shared(
    addr: SocketAddr,
    workers: usize,
    backlog: u32,
) -> io::Result<(SocketAddr, Vec<Source>)> {
    let options = ListenOptions {
        reuse_port: false,
        backlog,
    };
    let listener = TcpListener::bind_with(addr, &options)?;
    let local = listener.local_addr()?;
    shared(listener, local, workers)
}

/// One listener for all: worker 0 accepts, the others get inboxes.
fn shared(
    listener: TcpListener,
    local: SocketAddr,
    workers: usize,
) -> io::Result<(SocketAddr, Vec<Source>)> {
    if workers == 1 {
        return Ok((local, vec![Source::Listener(owned(listener))]));
    }
    let inboxes: Vec<Inbox> = (1..workers).map(|_| Inbox::default()).collect();
    let mut sources = vec![Source::Acceptor {
        listener: owned(listener),
        peers: inboxes.clone(),
    }];
    sources.extend(inboxes.into_iter().map(Source::Handoff));
    Ok((local, sources))
}

/// Whether a failed `SO_REUSEPORT` bind means the option itself is unsupported.
fn reuse_port_refused(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOPROTOOPT | libc::EINVAL))
}

/// Takes the fd out of a listener bound on this thread, to send it to a worker
/// (the reactor's listener is tied to the thread that uses it).
fn owned(listener: TcpListener) -> OwnedFd {
    let fd = listener.into_raw_fd();
    // SAFETY: `into_raw_fd` gave up the listener's only owner and no operation
    // ran on it, so `fd` is open and owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Takes the fd out of a stream accepted on this thread, to hand it to another
/// worker.
pub(crate) fn into_std(stream: TcpStream) -> std::net::TcpStream {
    let fd = stream.into_raw_fd();
    // SAFETY: `into_raw_fd` gave up the stream's only owner; no operation is in
    // flight on a stream that was just accepted, so `fd` is open and unowned.
    unsafe { std::net::TcpStream::from_raw_fd(fd) }
}

/// A bounded-by-use queue of streams handed from the acceptor to one worker.
///
/// The acceptor pushes from its thread; the worker's [`recv`](Inbox::recv)
/// waits on its own. Closing it (when the acceptor stops) makes `recv` return
/// `None` once the queue is empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inbox {
    state: Arc<Mutex<InboxState>>,
}

#[derive(Debug, Default)]
struct InboxState {
    streams: VecDeque<std::net::TcpStream>,
    waker: Option<Waker>,
    /// Set by [`Inbox::close`]; no stream is pushed after it.
    closed: bool,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, InboxState> {
        // Every critical section is a single queue or field update.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `stream` to the worker and wakes it.
    pub(crate) fn push(&self, stream: std::net::TcpStream) {
        let waker = {
            let mut state = self.lock();
            state.streams.push_back(stream);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Tells the worker no more streams will come.
    pub(crate) fn close(&self) {
        let waker = {
            let mut state = self.lock();
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next handed-over stream, or `None` once closed and empty.
    pub(crate) async fn recv(&self) -> Option<std::net::TcpStream> {
        poll_fn(|cx| {
            let mut state = self.lock();
            if let Some(stream) = state.streams.pop_front() {
                return Poll::Ready(Some(stream));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// What an accept error means for the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptFailure {
    /// Only that one connection failed (it was reset before we took it, or a
    /// network error belonging to it): accept the next one at once.
    Connection,
    /// The process or system ran out of fds or memory: retrying at once would
    /// spin, since the pending connection stays queued. Back off.
    Resources,
    /// Anything else: log it and back off, so an unexpected error cannot spin.
    Unexpected,
}

impl AcceptFailure {
    /// Classifies an accept error (see accept(2), "Error handling": Linux
    /// passes pending network errors of the new socket to accept).
    pub(crate) fn of(e: &io::Error) -> AcceptFailure {
        match e.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                AcceptFailure::Resources
            }
            Some(
                libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EINTR
                | libc::EAGAIN
                | libc::EPROTO
                | libc::EPERM
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENOPROTOOPT
                | libc::ETIMEDOUT,
            ) => AcceptFailure::Connection,
            _ if e.kind() == io::ErrorKind::Interrupted => AcceptFailure::Connection,
            _ => AcceptFailure::Unexpected,
        }
    }
}

/// The pause between accept attempts while they keep failing: starts at
/// [`ACCEPT_BACKOFF_START`], doubles up to [`ACCEPT_BACKOFF_MAX`], and starts
/// over after a success.
#[derive(Debug, Clone)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff {
            next: ACCEPT_BACKOFF_START,
        }
    }
}

impl AcceptBackoff {
    /// The pause to take now; the next call returns twice as much (capped).
    pub(crate) fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF_MAX);
        pause
    }

    /// Accept succeeded: the next failure pauses briefly again.
    pub(crate) fn reset(&mut self) {
        self.next = ACCEPT_BACKOFF_START;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_classified_by_what_retrying_would_do() {
        let cases = [
            ("emfile", libc::EMFILE, AcceptFailure::Resources),
            ("enfile", libc::ENFILE, AcceptFailure::Resources),
            ("enobufs", libc::ENOBUFS, AcceptFailure::Resources),
            ("enomem", libc::ENOMEM, AcceptFailure::Resources),
            (
                "econnaborted",
                libc::ECONNABORTED,
                AcceptFailure::Connection,
            ),
            ("eintr", libc::EINTR, AcceptFailure::Connection),
            ("eproto", libc::EPROTO, AcceptFailure::Connection),
            ("ebadf", libc::EBADF, AcceptFailure::Unexpected),
            ("einval", libc::EINVAL, AcceptFailure::Unexpected),
        ];
        for (name, errno, expected) in cases {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(AcceptFailure::of(&e), expected, "case {name}");
        }
        let ours = io::Error::other("no errno");
        assert_eq!(AcceptFailure::of(&ours), AcceptFailure::Unexpected);
    }

    #[test]
    fn backoff_doubles_from_ten_milliseconds_to_one_second_and_resets() {
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<u64> = (0..9)
            .map(|_| backoff.next_pause().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), ACCEPT_BACKOFF_START);
    }

    #[test]
    fn reuse_port_gives_each_worker_a_listener_on_one_port() {
        let addr = "127.0.0.1:0".parse().expect("literal address");
        let (local, sources) = bind(addr, 3, true, 16).expect("bind");
        assert_ne!(local.port(), 0, "port 0 is resolved");
        assert_eq!(sources.len(), 3);
        assert!(sources.iter().all(|s| matches!(s, Source::Listener(_))));
    }

    #[test]
    fn without_reuse_port_worker_zero_accepts_for_the_others() {
        let addr = "127.0.0.1:0".parse().expect("literal address");
        let (_, sources) = bind(addr, 3, false, 16).expect("bind");
        assert!(matches!(&sources[0], Source::Acceptor { peers, .. } if peers.len() == 2));
        assert!(sources[1..].iter().all(|s| matches!(s, Source::Handoff(_))));
    }
}

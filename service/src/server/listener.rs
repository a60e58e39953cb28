//! Where a worker's connections come from, and what to do when accepting fails.
//!
//! The normal path gives every worker its own `SO_REUSEPORT` listener on the
//! same port, so the kernel spreads connections across cores and no two
//! workers ever touch the same socket. Where `SO_REUSEPORT` is refused (or
//! switched off with [`Server::reuse_port`](super::Server::reuse_port)), one
//! listener serves all: worker 0 accepts and hands the streams out round-robin
//! through each worker's [`Inbox`].
//!
//! Windows has no `SO_REUSEPORT` at all (the reactor says `Unsupported`):
//! there one listener is bound and each worker gets its own duplicate handle
//! of it, so every worker still accepts for itself, from one shared queue.
//!
//! Accept errors are classified by [`io::ErrorKind`] where std names the error
//! on every platform, and by the raw codes in `os` for the rest.
//!
//! Listeners are bound on the caller's thread before any worker starts, so a
//! bad address or a port in use is an error from `serve`, not a log line.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
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
    /// Its own listener (`SO_REUSEPORT`; on Windows a duplicate handle of the
    /// one listener), or the single shared listener when there is one worker.
    Listener(std::net::TcpListener),
    /// The single listener of a server without `SO_REUSEPORT`: this worker
    /// accepts for everyone, keeping turn 0 for itself and handing turn `i`
    /// (1-based) to `peers[i - 1]`.
    Acceptor {
        listener: std::net::TcpListener,
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
        Err(e) if options.reuse_port && e.kind() == io::ErrorKind::Unsupported => {
            log::debug!("no SO_REUSEPORT here ({e}); the workers share one listener");
            return bind_duplicated(addr, workers, backlog);
        }
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
    let mut sources = vec![Source::Listener(into_std_listener(first))];
    for _ in 1..workers {
        sources.push(Source::Listener(into_std_listener(TcpListener::bind_with(
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
    let listener = bind_one(addr, backlog)?;
    let local = listener.local_addr()?;
    shared(listener, local, workers)
}

/// One listener, and a duplicate handle of it for each further worker
/// (`try_clone`): every worker accepts from the same queue on its own runtime.
/// For platforms without `SO_REUSEPORT` (Windows). The system hands each
/// connection to one of the waiting accepts; which one is not specified, so
/// the spread may be less even than `SO_REUSEPORT`'s.
fn bind_duplicated(
    addr: SocketAddr,
    workers: usize,
    backlog: u32,
) -> io::Result<(SocketAddr, Vec<Source>)> {
    let listener = into_std_listener(bind_one(addr, backlog)?);
    let local = listener.local_addr()?;
    let mut sources = Vec::with_capacity(workers);
    for _ in 1..workers {
        sources.push(Source::Listener(listener.try_clone()?));
    }
    sources.push(Source::Listener(listener));
    Ok((local, sources))
}

fn bind_one(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let options = ListenOptions {
        reuse_port: false,
        backlog,
    };
    TcpListener::bind_with(addr, &options)
}

/// One listener for all: worker 0 accepts, the others get inboxes.
fn shared(
    listener: TcpListener,
    local: SocketAddr,
    workers: usize,
) -> io::Result<(SocketAddr, Vec<Source>)> {
    if workers == 1 {
        return Ok((local, vec![Source::Listener(into_std_listener(listener))]));
    }
    let inboxes: Vec<Inbox> = (1..workers).map(|_| Inbox::default()).collect();
    let mut sources = vec![Source::Acceptor {
        listener: into_std_listener(listener),
        peers: inboxes.clone(),
    }];
    sources.extend(inboxes.into_iter().map(Source::Handoff));
    Ok((local, sources))
}

/// Whether a failed `SO_REUSEPORT` bind means the option itself is refused.
fn reuse_port_refused(e: &io::Error) -> bool {
    e.raw_os_error()
        .is_some_and(|code| os::REUSE_PORT_REFUSED.contains(&code))
}

/// Takes the socket out of a listener bound on this thread, to send it to a
/// worker (the reactor's listener is tied to the thread that uses it).
fn into_std_listener(listener: TcpListener) -> std::net::TcpListener {
    // SAFETY: the listener was just bound and no operation ran on it.
    unsafe { os::into_std(listener) }
}

/// Takes the socket out of a stream accepted on this thread, to hand it to
/// another worker.
pub(crate) fn into_std(stream: TcpStream) -> std::net::TcpStream {
    // SAFETY: no operation is in flight on a stream that was just accepted.
    unsafe { os::into_std(stream) }
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
    ///
    /// A kind is used only where every raw code std maps to it belongs in
    /// the same class; `PermissionDenied`, for one, is not, since it stands
    /// for `EACCES` too, which a security module can return on every accept
    /// (retrying at once would spin), while `EPERM` is one connection a
    /// firewall refused. Such codes are in `os`'s tables.
    pub(crate) fn of(e: &io::Error) -> AcceptFailure {
        use io::ErrorKind as Kind;
        let raw = |table: &[i32]| e.raw_os_error().is_some_and(|code| table.contains(&code));
        match e.kind() {
            Kind::OutOfMemory => AcceptFailure::Resources,
            _ if raw(os::ACCEPT_RESOURCES) => AcceptFailure::Resources,
            Kind::ConnectionAborted
            | Kind::ConnectionReset
            | Kind::Interrupted
            | Kind::WouldBlock
            | Kind::TimedOut
            | Kind::NetworkDown
            | Kind::NetworkUnreachable
            | Kind::HostUnreachable => AcceptFailure::Connection,
            _ if raw(os::ACCEPT_CONNECTION) => AcceptFailure::Connection,
            _ => AcceptFailure::Unexpected,
        }
    }
}

/// What differs by platform here: the raw error codes std names no portable
/// [`io::ErrorKind`] for, and how a socket changes owner (an fd on Unix, a
/// `SOCKET` handle on Windows).
#[cfg(unix)]
mod os {
    use std::os::fd::{FromRawFd, IntoRawFd};

    /// Accept ran out of fds (per process, system-wide) or socket buffers;
    /// `ENOMEM` is the kind `OutOfMemory`.
    pub(super) const ACCEPT_RESOURCES: &[i32] = &[libc::EMFILE, libc::ENFILE, libc::ENOBUFS];

    /// One connection's own failures that std has no kind for (`EPROTO`,
    /// `EHOSTDOWN`, ...), or shares a kind with codes that are not (`EPERM`,
    /// see [`AcceptFailure::of`](super::AcceptFailure::of)).
    pub(super) const ACCEPT_CONNECTION: &[i32] = &[
        libc::EPROTO,
        libc::EPERM,
        libc::EHOSTDOWN,
        libc::EOPNOTSUPP,
        libc::ENOPROTOOPT,
    ];

    /// What setting `SO_REUSEPORT` fails with where the system refuses it.
    pub(super) const REUSE_PORT_REFUSED: &[i32] = &[libc::ENOPROTOOPT, libc::EINVAL];

    /// Moves the fd `owner` holds into a `U`.
    ///
    /// # Safety
    /// No operation may be in flight on `owner`'s fd.
    pub(super) unsafe fn into_std<T: IntoRawFd, U: FromRawFd>(owner: T) -> U {
        // SAFETY: `into_raw_fd` gave up the only owner, so the fd is open and
        // owned by nobody else; the caller's contract covers the rest.
        unsafe { U::from_raw_fd(owner.into_raw_fd()) }
    }
}

/// What differs by platform here: see the Unix twin above.
#[cfg(windows)]
mod os {
    use std::os::windows::io::{FromRawSocket, IntoRawSocket};

    use windows_sys::Win32::Networking::WinSock;

    /// Accept ran out of socket handles or buffers; `ERROR_NOT_ENOUGH_MEMORY`
    /// is the kind `OutOfMemory`.
    pub(super) const ACCEPT_RESOURCES: &[i32] = &[WinSock::WSAEMFILE, WinSock::WSAENOBUFS];

    /// One connection's own failures that std has no kind for.
    pub(super) const ACCEPT_CONNECTION: &[i32] = &[
        WinSock::WSAEINTR,
        WinSock::WSAENETRESET,
        WinSock::WSAEHOSTDOWN,
    ];

    /// None: Windows has no `SO_REUSEPORT`, and the reactor says so with the
    /// kind `Unsupported` rather than a Winsock code.
    pub(super) const REUSE_PORT_REFUSED: &[i32] = &[];

    /// Moves the socket `owner` holds into a `U`.
    ///
    /// # Safety
    /// No operation may be in flight on `owner`'s socket.
    pub(super) unsafe fn into_std<T: IntoRawSocket, U: FromRawSocket>(owner: T) -> U {
        // SAFETY: `into_raw_socket` gave up the only owner, so the socket is
        // open and owned by nobody else; the caller's contract covers the rest.
        unsafe { U::from_raw_socket(owner.into_raw_socket()) }
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
        use io::ErrorKind as Kind;
        let kinds = [
            (Kind::OutOfMemory, AcceptFailure::Resources),
            (Kind::ConnectionAborted, AcceptFailure::Connection),
            (Kind::ConnectionReset, AcceptFailure::Connection),
            (Kind::Interrupted, AcceptFailure::Connection),
            (Kind::TimedOut, AcceptFailure::Connection),
            (Kind::NetworkDown, AcceptFailure::Connection),
            (Kind::PermissionDenied, AcceptFailure::Unexpected),
            (Kind::InvalidInput, AcceptFailure::Unexpected),
        ];
        for (kind, expected) in kinds {
            let e = io::Error::from(kind);
            assert_eq!(AcceptFailure::of(&e), expected, "kind {kind:?}");
        }
        for (name, code, expected) in OS_CASES {
            let e = io::Error::from_raw_os_error(code);
            assert_eq!(AcceptFailure::of(&e), expected, "case {name}");
        }
        let ours = io::Error::other("no errno");
        assert_eq!(AcceptFailure::of(&ours), AcceptFailure::Unexpected);
    }

    #[cfg(unix)]
    const OS_CASES: [(&str, i32, AcceptFailure); 11] = [
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
        ("eperm", libc::EPERM, AcceptFailure::Connection),
        ("eacces", libc::EACCES, AcceptFailure::Unexpected),
        ("ebadf", libc::EBADF, AcceptFailure::Unexpected),
        ("einval", libc::EINVAL, AcceptFailure::Unexpected),
    ];

    #[cfg(windows)]
    const OS_CASES: [(&str, i32, AcceptFailure); 8] = {
        use windows_sys::Win32::Networking::WinSock;
        [
            ("wsaemfile", WinSock::WSAEMFILE, AcceptFailure::Resources),
            ("wsaenobufs", WinSock::WSAENOBUFS, AcceptFailure::Resources),
            (
                "wsaeconnreset",
                WinSock::WSAECONNRESET,
                AcceptFailure::Connection,
            ),
            ("wsaeintr", WinSock::WSAEINTR, AcceptFailure::Connection),
            (
                "wsaenetreset",
                WinSock::WSAENETRESET,
                AcceptFailure::Connection,
            ),
            ("wsaeacces", WinSock::WSAEACCES, AcceptFailure::Unexpected),
            (
                "wsaenotsock",
                WinSock::WSAENOTSOCK,
                AcceptFailure::Unexpected,
            ),
            ("wsaeinval", WinSock::WSAEINVAL, AcceptFailure::Unexpected),
        ]
    };

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
    fn without_so_reuseport_each_worker_gets_a_duplicate_of_one_listener() {
        let addr = "127.0.0.1:0".parse().expect("literal address");
        let (local, sources) = bind_duplicated(addr, 3, 16).expect("bind");
        assert_eq!(sources.len(), 3);
        for source in &sources {
            let Source::Listener(listener) = source else {
                panic!("every worker accepts for itself: {source:?}");
            };
            assert_eq!(listener.local_addr().expect("bound"), local);
        }
    }

    #[test]
    fn without_reuse_port_worker_zero_accepts_for_the_others() {
        let addr = "127.0.0.1:0".parse().expect("literal address");
        let (_, sources) = bind(addr, 3, false, 16).expect("bind");
        assert!(matches!(&sources[0], Source::Acceptor { peers, .. } if peers.len() == 2));
        assert!(sources[1..].iter().all(|s| matches!(s, Source::Handoff(_))));
    }
}

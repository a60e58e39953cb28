//! Graceful shutdown: the [`Shutdown`] signal connections wait on, the
//! [`ShutdownHandle`] that raises it, and [`shutdown_on_ctrl_c`].
//!
//! One signal is shared by every worker of a server. Raising it is a one-way
//! latch: workers stop accepting, and every connection's [`Shutdown::wait`]
//! completes so protocol loops (such as `ringo_proto::http::serve_connection`)
//! stop reading, answer what they already read, and end.

use std::future::Future;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// The shared latch behind [`Shutdown`] and [`ShutdownHandle`].
#[derive(Debug, Default)]
struct Signal {
    /// Set once, by [`Signal::raise`]; never cleared.
    raised: AtomicBool,
    /// Wakers of pending [`ShutdownWait`]s, keyed by the slot each one holds.
    /// Emptied by `raise`; after that nothing registers again.
    waiters: Mutex<Slab<Waker>>,
}

impl Signal {
    fn waiters(&self) -> MutexGuard<'_, Slab<Waker>> {
        // A panic while holding the lock cannot leave the slab inconsistent
        // (every operation on it is a single call), so a poisoned lock is usable.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn raise(&self) {
        if self.raised.swap(true, Ordering::AcqRel) {
            return;
        }
        // Take the wakers under the lock, wake them outside it: a woken task on
        // this thread could otherwise try to take the lock again.
        let wakers = std::mem::take(&mut *self.waiters());
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }
}

/// A cloneable view of a server's shutdown signal, handed to each connection.
///
/// Pass [`wait`](Shutdown::wait) to a protocol's connection loop so it stops
/// taking new requests when graceful shutdown begins. `Shutdown` is `Send` and
/// `Sync`; clones observe the same signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    signal: Arc<Signal>,
}

impl Shutdown {
    /// A signal nobody has raised yet, with its handle.
    pub fn new() -> (Shutdown, ShutdownHandle) {
        let shutdown = Shutdown::default();
        let handle = ShutdownHandle {
            signal: shutdown.signal.clone(),
        };
        (shutdown, handle)
    }

    /// A future that completes once graceful shutdown has begun (at once if it
    /// already has). It owns a reference to the signal, so it may outlive `self`.
    pub fn wait(&self) -> ShutdownWait {
        ShutdownWait {
            signal: self.signal.clone(),
            slot: None,
            registered: None,
        }
    }

    /// Whether graceful shutdown has begun.
    pub fn is_started(&self) -> bool {
        self.signal.is_raised()
    }
}

/// The future returned by [`Shutdown::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct ShutdownWait {
    signal: Arc<Signal>,
    /// This future's key in the signal's waiter slab, once registered.
    slot: Option<usize>,
    /// A copy of the waker stored under `slot`, so a re-poll from the same task
    /// (a connection loop polls this once per turn) skips the shared lock.
    registered: Option<Waker>,
}

impl Future for ShutdownWait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.is_raised() {
            return Poll::Ready(());
        }
        // Our waker is in the slab until `raise` takes it and wakes it.
        if let Some(registered) = &self.registered {
            if registered.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        let signal = self.signal.clone();
        let mut waiters = signal.waiters();
        // Checked again under the lock: `raise` sets the flag before it takes
        // the lock, so either we see the flag here or it sees our waker.
        if signal.is_raised() {
            return Poll::Ready(());
        }
        match self.slot.and_then(|slot| waiters.get_mut(slot)) {
            Some(waker) => waker.clone_from(cx.waker()),
            None => self.slot = Some(waiters.insert(cx.waker().clone())),
        }
        drop(waiters);
        self.registered = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ShutdownWait {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.signal.waiters().try_remove(slot);
        }
    }
}

/// Starts graceful shutdown of a running server from any thread.
///
/// Obtained from [`Running::handle`](super::Running::handle); `Send + Sync +
/// Clone`. Calling [`shutdown`](ShutdownHandle::shutdown) more than once does
/// nothing more.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    signal: Arc<Signal>,
}

impl ShutdownHandle {
    /// Begins graceful shutdown: the workers stop accepting and close their
    /// listeners, and every connection's [`Shutdown::wait`] completes. Returns
    /// at once; [`Running::wait`](super::Running::wait) waits for the end.
    pub fn shutdown(&self) {
        self.signal.raise();
    }

    /// Whether graceful shutdown has begun.
    pub fn is_shutdown(&self) -> bool {
        self.signal.is_raised()
    }
}

/// Handles whose servers shut down on the next SIGINT or SIGTERM.
static CTRL_C_HANDLES: Mutex<Vec<ShutdownHandle>> = Mutex::new(Vec::new());

/// The write end of the self-pipe the signal handler writes to; -1 before
/// [`ctrl_c_pipe`] made it. The fd is never closed once published.
static CTRL_C_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// Starts graceful shutdown of `handle`'s server on the first SIGINT (Ctrl-C)
/// or SIGTERM.
///
/// The signal handler only writes a byte to a self-pipe; a thread named
/// `ringo-signal` reads it and calls [`ShutdownHandle::shutdown`] on every
/// handle registered so far. It then restores the default actions, so a second
/// Ctrl-C ends the process at once, as users expect when a drain takes too
/// long. Several servers may register; each call re-installs the handlers. If
/// the handlers cannot be installed the failure is logged and the process keeps
/// the default actions.
pub fn shutdown_on_ctrl_c(handle: ShutdownHandle) {
    lock_handles().push(handle);
    if let Err(e) = install_ctrl_c() {
        log::error!("cannot install the SIGINT/SIGTERM handler: {e}");
    }
}

fn lock_handles() -> MutexGuard<'static, Vec<ShutdownHandle>> {
    // Pushing and draining a Vec cannot be interrupted half-way by a panic.
    CTRL_C_HANDLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn install_ctrl_c() -> io::Result<()> {
    static PIPE: OnceLock<Result<(), io::ErrorKind>> = OnceLock::new();
    PIPE.get_or_init(|| ctrl_c_pipe().map_err(|e| e.kind()))
        .map_err(|kind| io::Error::new(kind, "cannot start the signal thread"))?;
    set_signal_actions(on_signal as *const () as libc::sighandler_t)
}

/// Makes the self-pipe and the thread that reads it; runs once per process.
fn ctrl_c_pipe() -> io::Result<()> {
    let (mut read, write) = UnixStream::pair()?;
    // The handler must never block: with the buffer full, signals are already
    // pending and another byte adds nothing.
    write.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("ringo-signal".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while let Ok(1) = read.read(&mut byte) {
                if let Err(e) = set_signal_actions(libc::SIG_DFL) {
                    log::warn!("cannot restore the default SIGINT/SIGTERM actions: {e}");
                }
                log::info!("signal received, shutting down gracefully");
                for handle in lock_handles().drain(..) {
                    handle.shutdown();
                }
            }
        })?;
    // Published only now, and the stream is leaked on purpose: the handler may
    // run at any moment for the rest of the process, so the fd must stay open.
    CTRL_C_WRITE_FD.store(write.as_raw_fd(), Ordering::Release);
    std::mem::forget(write);
    Ok(())
}

/// Sets the action of SIGINT and SIGTERM to `action` (a handler's address or
/// `SIG_DFL`).
fn set_signal_actions(action: libc::sighandler_t) -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `sigaction` is a plain C struct for which all-zeroes is a
        // valid value (empty mask, no flags); the fields we need are set below.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = action;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act` is a live, initialised sigaction; `sigaction` only reads
        // it, and a null old-action pointer is allowed. `action` is SIG_DFL or
        // `on_signal`, which only does async-signal-safe work.
        let ret = unsafe { libc::sigaction(signal, &act, std::ptr::null_mut()) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The SIGINT/SIGTERM handler: one `write(2)` to the self-pipe, which is
/// async-signal-safe. `write` leaves `errno` alone when it succeeds; it fails
/// only with the pipe full, and then the interrupted code sees `EAGAIN`, which
/// any code that retries on `EINTR` handles too.
extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = CTRL_C_WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: `fd` is the write end of the self-pipe, published only after
        // it was made and never closed; `byte` is a live local of length 1.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_raised_signal_wakes_every_waiter_once_and_stays_raised() {
        let (shutdown, handle) = Shutdown::new();
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut waits: Vec<_> = (0..3).map(|_| Box::pin(shutdown.wait())).collect();
        for wait in &mut waits {
            assert!(wait.as_mut().poll(&mut cx).is_pending());
            assert!(
                wait.as_mut().poll(&mut cx).is_pending(),
                "a re-poll reuses its slot"
            );
        }
        assert_eq!(shutdown.signal.waiters().len(), 3);
        drop(waits.pop());
        assert_eq!(
            shutdown.signal.waiters().len(),
            2,
            "a dropped waiter leaves"
        );
        handle.shutdown();
        handle.shutdown();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        for wait in &mut waits {
            assert!(wait.as_mut().poll(&mut cx).is_ready());
        }
        assert!(shutdown.clone().is_started() && handle.is_shutdown());
        assert!(Box::pin(shutdown.wait()).as_mut().poll(&mut cx).is_ready());
    }
}

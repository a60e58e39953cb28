//! Graceful shutdown: the [`Shutdown`] signal connections wait on, the
//! [`ShutdownHandle`] that raises it, and [`shutdown_on_ctrl_c`].
//!
//! One signal is shared by every worker of a server. Raising it is a one-way
//! latch: workers stop accepting, and every connection's [`Shutdown::wait`]
//! completes so protocol loops (such as `ringo_proto::http::serve_connection`)
//! stop reading, answer what they already read, and end.
//!
//! [`shutdown_on_ctrl_c`] raises it from outside the process. How Ctrl-C
//! arrives is the one part that differs by platform: a signal on Unix
//! (`ctrl_c_unix.rs`), a console control event on Windows
//! (`ctrl_c_windows.rs`). Each supplies the same few names, so the code here
//! never asks which platform it is on:
//!
//! - `EVENTS`: the events it handles, for log lines.
//! - `receiver()`: the wake-up path from the handler to an ordinary thread,
//!   made once per process; `Receiver::wait` blocks that thread until an
//!   event. A signal handler may do almost nothing (no locks, no allocation),
//!   so the latch is raised on that thread, never in the handler.
//! - `arm()`: installs the handler, so the next event wakes the receiver
//!   instead of ending the process.
//! - `disarm()`: puts the default action back, so the event after that ends
//!   the process at once.

#[cfg(unix)]
#[path = "ctrl_c_unix.rs"]
mod ctrl_c;
#[cfg(windows)]
#[path = "ctrl_c_windows.rs"]
mod ctrl_c;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Handles whose servers shut down on the next Ctrl-C (see [`ctrl_c::EVENTS`]).
static CTRL_C_HANDLES: Mutex<Vec<ShutdownHandle>> = Mutex::new(Vec::new());

/// Starts graceful shutdown of `handle`'s server on the first Ctrl-C or its
/// platform's equivalent: SIGINT or SIGTERM on Unix; Ctrl-C, Ctrl-Break, the
/// console window closing or the system shutting down on Windows.
///
/// The handler only wakes a thread named `ringo-signal` (on Unix by writing a
/// byte to a self-pipe, all a signal handler may safely do), which calls
/// [`ShutdownHandle::shutdown`] on every handle registered so far. It then
/// restores the default actions, so a second Ctrl-C ends the process at once,
/// as users expect when a drain takes too long. Several servers may register;
/// each call re-installs the handler. If it cannot be installed the failure is
/// logged and the process keeps the default actions.
///
/// On Windows a closing console or a system shutdown ends the process a few
/// seconds after the event whatever the handler does (5 s for a console
/// window, at the time of writing); the drain gets that long. Ctrl-C and
/// Ctrl-Break reach only a process attached to a console.
pub fn shutdown_on_ctrl_c(handle: ShutdownHandle) {
    lock_handles().push(handle);
    if let Err(e) = install_ctrl_c() {
        log::error!("cannot install the {} handler: {e}", ctrl_c::EVENTS);
    }
}

fn lock_handles() -> MutexGuard<'static, Vec<ShutdownHandle>> {
    // Pushing and draining a Vec cannot be interrupted half-way by a panic.
    CTRL_C_HANDLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn install_ctrl_c() -> io::Result<()> {
    static RECEIVER: OnceLock<Result<(), io::ErrorKind>> = OnceLock::new();
    RECEIVER
        .get_or_init(|| start_receiver().map_err(|e| e.kind()))
        .map_err(|kind| io::Error::new(kind, "cannot start the signal thread"))?;
    ctrl_c::arm()
}

/// Makes the handler's wake-up path and the thread it wakes; runs once per
/// process, before the handler is first armed.
fn start_receiver() -> io::Result<()> {
    let mut receiver = ctrl_c::receiver()?;
    std::thread::Builder::new()
        .name("ringo-signal".into())
        .spawn(move || {
            while receiver.wait() {
                if let Err(e) = ctrl_c::disarm() {
                    log::warn!("cannot restore the default {} actions: {e}", ctrl_c::EVENTS);
                }
                log::info!("signal received, shutting down gracefully");
                for handle in lock_handles().drain(..) {
                    handle.shutdown();
                }
            }
        })?;
    Ok(())
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

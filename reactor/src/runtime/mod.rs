//! The runtime: one thread, one driver, one run queue, one timer wheel.
//!
//! ringo is thread-per-core: a [`Runtime`] runs on the thread that created it,
//! with its own io_uring (or compat poller). Tasks stay on that thread, so they
//! need not be `Send`. A multi-core server runs one runtime per core, each with
//! its own `SO_REUSEPORT` listener.
//!
//! # The loop
//!
//! Each turn of [`Runtime::block_on`]:
//! 1. polls the main future if it was woken;
//! 2. runs up to [`Builder::event_interval`] ready tasks (remote wakes first
//!    moved to the local queue, so they cannot be starved by local ones);
//! 3. fires due timers;
//! 4. parks the driver: submits all queued I/O and waits for completions — not at
//!    all when tasks are still ready, otherwise until the next timer is due or
//!    another thread wakes it. On io_uring this is one `io_uring_enter`.
//!
//! # Choosing the driver
//!
//! [`DriverKind::Auto`] (the default) builds the real io_uring and falls back to
//! compat if that fails for any reason: `kernel.io_uring_disabled`, a seccomp
//! filter (EPERM / ENOSYS), the memlock limit (ENOMEM), or a kernel too old for
//! the features ringo requires. The environment variable `RINGO_DRIVER`
//! (`auto`, `uring`, `compat`) overrides the builder's default; an explicit
//! [`Builder::driver`] call wins over the environment.

pub(crate) mod budget;
mod builder;
pub(crate) mod context;
mod handle;
pub(crate) mod scheduler;
mod test_hooks;

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_task::Runnable;
use slab::Slab;

pub(crate) use builder::Config;
pub use builder::{Builder, DriverKind, UringFeatures};
pub use handle::Handle;
pub use test_hooks::{Simulate, Stats, WakeStats, ZeroCopyStats};

use crate::buf::pool::PoolInner;
use crate::driver::Driver;
use crate::op::send_zc::ZeroCopy;
use crate::time::wheel::Wheel;
use scheduler::Shared;

/// How long dropping a runtime waits for in-flight I/O to complete after
/// cancelling it; what is still in flight then is leaked, never freed.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// A single-threaded runtime. See the [module docs](self).
///
/// # Examples
/// ```
/// use ringo_reactor::{DriverKind, Runtime};
///
/// let rt = Runtime::builder().driver(DriverKind::Compat).build()?;
/// assert_eq!(rt.driver_kind(), DriverKind::Compat);
/// let answer = rt.block_on(async { 42 });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    inner: Rc<Inner>,
}

/// The runtime's state, reachable from its thread through the context.
pub(crate) struct Inner {
    pub(crate) driver: Driver,
    pub(crate) timers: RefCell<Wheel>,
    pub(crate) run_queue: RefCell<VecDeque<Runnable>>,
    pub(crate) shared: Arc<Shared>,
    /// Wakers of every live task, so teardown can reach idle ones.
    tasks: RefCell<Slab<Waker>>,
    event_interval: u32,
    in_block_on: Cell<bool>,
    /// The receive buffer pool, made on first use. Declared after `driver`, so
    /// the ring that may name its memory is closed before the pool is dropped.
    pool: OnceCell<Rc<PoolInner>>,
    /// `(count, size)` of the pool to make.
    pool_size: (usize, usize),
    /// Writes of at least this many bytes send zero-copy where they can.
    zero_copy_send_threshold: Option<usize>,
    /// What [`Runtime::stats`] reports as `zero_copy`.
    zero_copy_stats: Cell<ZeroCopyStats>,
    /// What this runtime learned and counted of splice.
    pub(crate) splice: SpliceState,
}

/// What a runtime learns and counts of the kernel's zero-copy paths — splice
/// through io_uring, `sendfile(2)`, `cachestat(2)` — which `io::copy::splice`
/// and `io::send_file` read and write (on Linux only).
#[derive(Debug, Default)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct SpliceState {
    /// The kernel refused a splice: later copies are buffered from the start
    /// (the kernel will not change its mind).
    pub(crate) refused: Cell<bool>,
    /// `Simulate::no_splice`: a copy's first splice fails as if refused.
    pub(crate) inject_refusal: bool,
    /// Bytes spliced out to sockets, for [`Stats::spliced_bytes`].
    pub(crate) spliced: Cell<u64>,
    /// `cachestat(2)` is missing (before Linux 6.5), or `Simulate::no_cachestat`:
    /// file sends on io_uring splice without asking whether the file is cached.
    pub(crate) no_cachestat: Cell<bool>,
    /// Bytes sent with `sendfile(2)`, for [`Stats::sendfile_bytes`].
    pub(crate) sendfile: Cell<u64>,
}

impl Inner {
    pub(crate) fn register_task(&self, waker: &Waker) -> usize {
        self.tasks.borrow_mut().insert(waker.clone())
    }

    pub(crate) fn unregister_task(&self, index: usize) {
        self.tasks.borrow_mut().try_remove(index);
    }

    /// The runtime's receive buffer pool, made (and on io_uring registered) on
    /// the first call.
    pub(crate) fn buffer_pool(&self) -> io::Result<Rc<PoolInner>> {
        if let Some(pool) = self.pool.get() {
            return Ok(pool.clone());
        }
        let register = |addr: u64, entries: u16, group: u16| {
            // SAFETY: the pool maps the ring page-aligned and keeps it for its
            // own lifetime, which (see `pool`) outlasts the driver's ring.
            unsafe { self.driver.provide_buffers(addr, entries, group) }
        };
        let (count, size) = self.pool_size;
        let pool = Rc::new(PoolInner::new(count, size, Some(&register))?);
        Ok(self.pool.get_or_init(|| pool).clone())
    }

    /// Whether a send of `len` bytes under `policy` goes zero-copy: the driver
    /// can (io_uring with `IORING_OP_SEND_ZC`) and the policy asks for it.
    pub(crate) fn send_zero_copy(&self, len: usize, policy: ZeroCopy) -> bool {
        let wanted = match policy {
            ZeroCopy::Never => false,
            ZeroCopy::Always => true,
            ZeroCopy::Threshold => self
                .zero_copy_send_threshold
                .is_some_and(|threshold| len >= threshold),
        };
        // An empty send has no pages to pin: nothing to gain.
        wanted && len > 0 && self.driver.send_zc()
    }

    /// Updates the zero-copy counters with `f`.
    pub(crate) fn count_zero_copy(&self, f: impl FnOnce(&mut ZeroCopyStats)) {
        let mut stats = self.zero_copy_stats.get();
        f(&mut stats);
        self.zero_copy_stats.set(stats);
    }

    fn next_task(&self) -> Option<Runnable> {
        self.run_queue.borrow_mut().pop_front()
    }

    fn has_ready_tasks(&self) -> bool {
        !self.run_queue.borrow().is_empty() || self.shared.has_remote()
    }

    /// Moves remotely woken tasks to the local queue, behind the local ones.
    ///
    /// Asks whether the queue is empty first: nearly always it is, and the
    /// check is two loads where a pop on an empty queue costs a fence.
    fn take_remote(&self) {
        if !self.shared.has_remote() {
            return;
        }
        while let Some(r) = self.shared.pop_remote() {
            self.run_queue.borrow_mut().push_back(r);
        }
    }

    /// Fires the timers due by now; returns how long until the next one
    /// (`None`: no timer pending). A runtime without timers (a plain echo
    /// server) skips the clock read and the wheel scans every turn.
    fn fire_timers(&self) -> Option<Duration> {
        if self.timers.borrow().len() == 0 {
            return None;
        }
        let now = Instant::now();
        // Most turns of a busy server come before its next timer (an idle
        // timeout seconds away): one scan of the wheel answers them.
        let next = self.timers.borrow().next_deadline();
        if next.is_none_or(|deadline| deadline > now) {
            return next.map(|deadline| deadline - now);
        }
        let mut woken = Vec::new();
        self.timers.borrow_mut().advance(now, &mut woken);
        for waker in woken {
            waker.wake();
        }
        self.timers
            .borrow()
            .next_deadline()
            .map(|d| d.saturating_duration_since(now))
    }

    fn park(&self, timeout: Option<Duration>) {
        if let Err(e) = self.driver.park(timeout) {
            panic!("ringo {} driver failed: {e}", self.driver.kind());
        }
    }
}

impl Runtime {
    /// Builds a runtime on the current thread from `config`.
    fn from_config(config: &Config) -> io::Result<Runtime> {
        let (driver, unparker) = Driver::new(config).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start the {} driver: {e}", config.driver),
            )
        })?;
        let inner = Rc::new(Inner {
            driver,
            timers: RefCell::new(Wheel::new(Instant::now())),
            run_queue: RefCell::new(VecDeque::new()),
            shared: Arc::new(Shared::new(unparker)),
            tasks: RefCell::new(Slab::new()),
            event_interval: config.event_interval,
            in_block_on: Cell::new(false),
            pool: OnceCell::new(),
            pool_size: (config.recv_buffers, config.recv_buffer_size),
            zero_copy_send_threshold: config.zero_copy_send_threshold,
            zero_copy_stats: Cell::new(ZeroCopyStats::default()),
            splice: SpliceState {
                inject_refusal: config.simulate.no_splice,
                no_cachestat: Cell::new(config.simulate.no_cachestat),
                ..SpliceState::default()
            },
        });
        Ok(Runtime { inner })
    }

    /// A builder for a configured runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime with the default settings (driver from `RINGO_DRIVER`, else `Auto`).
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// The driver this runtime runs on: `Uring` or `Compat`, never `Auto`.
    pub fn driver_kind(&self) -> DriverKind {
        self.inner.driver.kind()
    }

    /// The io_uring set-up flags in use, or `None` on compat.
    pub fn uring_features(&self) -> Option<UringFeatures> {
        self.inner.driver.uring_features()
    }

    /// What this runtime counts, for tests and diagnostics; not part of the
    /// stable API.
    #[doc(hidden)]
    pub fn stats(&self) -> Stats {
        Stats {
            op_slots: self.inner.driver.op_slots(),
            live_tasks: self.inner.tasks.borrow().len(),
            zero_copy: self.inner.zero_copy_stats.get(),
            wakes: self.inner.shared.wake_stats(),
            registered_fds_in_use: self.inner.driver.registered_fds_in_use(),
            spliced_bytes: self.inner.splice.spliced.get(),
            sendfile_bytes: self.inner.splice.sendfile.get(),
        }
    }

    /// A `Send + Sync` handle for spawning onto this runtime from other threads.
    pub fn handle(&self) -> Handle {
        Handle::new(self.inner.shared.clone())
    }

    /// Runs `future` to completion on this thread, running spawned tasks, I/O and
    /// timers meanwhile.
    ///
    /// # Panics
    /// If called while this runtime is already running (from inside one of its
    /// tasks), or if the driver fails irrecoverably.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !self.inner.in_block_on.replace(true),
            "Runtime::block_on called from inside the same runtime"
        );
        let _enter = context::enter(self.inner.clone());
        let _running = ResetOnDrop(&self.inner.in_block_on);
        let inner = &*self.inner;
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared: inner.shared.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            // A load before the swap: the swap is a locked instruction, and
            // most turns find the main future not woken.
            if main.woken.load(Ordering::Acquire) && main.woken.swap(false, Ordering::AcqRel) {
                budget::reset();
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    // Wakes queued this turn for other runtimes' rings ride on
                    // the next park, which may never come: hand them over now.
                    inner.driver.flush();
                    return output;
                }
            }
            inner.take_remote();
            for _ in 0..inner.event_interval {
                let Some(runnable) = inner.next_task() else {
                    break;
                };
                budget::reset();
                runnable.run();
            }
            let timeout = inner.fire_timers();
            let busy = inner.has_ready_tasks() || main.woken.load(Ordering::Acquire);
            if busy {
                inner.park(Some(Duration::ZERO));
                continue;
            }
            inner.shared.set_sleeping(true);
            let woken_meanwhile = inner.shared.has_remote() || main.woken.load(Ordering::SeqCst);
            inner.park(if woken_meanwhile {
                Some(Duration::ZERO)
            } else {
                timeout
            });
            inner.shared.set_sleeping(false);
        }
    }
}

impl Drop for Runtime {
    /// Drops every task (cancelling their I/O), then waits for the kernel to give
    /// back all memory it may still write.
    fn drop(&mut self) {
        let _enter = context::enter(self.inner.clone());
        let inner = &*self.inner;
        inner.shared.close();
        loop {
            let wakers: Vec<Waker> = inner.tasks.borrow_mut().drain().collect();
            for waker in wakers {
                waker.wake();
            }
            inner.take_remote();
            while let Some(runnable) = inner.next_task() {
                drop(runnable);
            }
            if inner.tasks.borrow().is_empty() && !inner.has_ready_tasks() {
                break;
            }
        }
        inner.driver.shutdown(SHUTDOWN_DEADLINE);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("driver", &self.inner.driver)
            .field("timers", &self.inner.timers.borrow().len())
            .finish()
    }
}

struct ResetOnDrop<'a>(&'a Cell<bool>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The waker of `block_on`'s own future.
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.shared.notify();
    }
}

/// Runs `future` on a new runtime with the default settings: the common case.
///
/// # Panics
/// If the runtime cannot be built (for example `RINGO_DRIVER=uring` where
/// io_uring is unavailable); use [`Runtime::builder`] to handle that error.
///
/// # Examples
/// ```
/// let n = ringo_reactor::run(async { 1 + 1 });
/// assert_eq!(n, 2);
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    let runtime = Runtime::new().unwrap_or_else(|e| panic!("ringo runtime: {e}"));
    runtime.block_on(future)
}

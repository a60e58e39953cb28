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
pub(crate) mod context;
mod handle;
pub(crate) mod scheduler;

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

pub use handle::Handle;

use crate::buf::pool::PoolInner;
use crate::buf::{DEFAULT_RECV_BUFFERS, DEFAULT_RECV_BUFFER_SIZE};
use crate::driver::Driver;
use crate::time::wheel::Wheel;
use scheduler::Shared;

/// Which I/O driver a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverKind {
    /// io_uring where the kernel allows it, else compat. Only a request: a
    /// running runtime reports the driver it picked.
    Auto,
    /// io_uring; building the runtime fails where it is unavailable.
    Uring,
    /// The mio readiness driver (epoll, kqueue), available everywhere.
    Compat,
}

impl DriverKind {
    /// The name used by `RINGO_DRIVER` and in logs: `auto`, `uring` or `compat`.
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Auto => "auto",
            DriverKind::Uring => "uring",
            DriverKind::Compat => "compat",
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DriverKind {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<DriverKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(DriverKind::Auto),
            "uring" | "io_uring" => Ok(DriverKind::Uring),
            "compat" => Ok(DriverKind::Compat),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown driver {other:?}: expected auto, uring or compat"),
            )),
        }
    }
}

/// io_uring set-up flags the running ring was built with (each probed; the ring
/// falls back to fewer when the kernel refuses one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UringFeatures {
    /// `IORING_SETUP_SINGLE_ISSUER` (Linux 6.0).
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN` (Linux 6.1).
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN` (Linux 5.19).
    pub coop_taskrun: bool,
    /// `IORING_SETUP_SQPOLL`: a kernel thread polls the submission queue (see
    /// [`Builder::sqpoll`]). Set only when requested and granted; the kernel
    /// refuses it together with `DEFER_TASKRUN` and `COOP_TASKRUN`, so an
    /// SQPOLL ring runs without those.
    pub sqpoll: bool,
    /// `IORING_OP_MSG_RING` (Linux 5.18): other io_uring runtimes wake this one
    /// by posting a completion into its ring, and this one wakes them the same
    /// way, instead of writing an eventfd. Probed once when the ring is built.
    pub msg_ring: bool,
}

/// How often other threads woke a sleeping runtime, by path. For tests and
/// diagnostics; not part of the stable API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WakeStats {
    /// Wakes posted into this runtime's ring by another io_uring runtime's
    /// `IORING_OP_MSG_RING`.
    pub msg_ring: u64,
    /// Wakes through the driver's own wake handle: the eventfd on io_uring,
    /// mio's waker on compat.
    pub eventfd: u64,
}

/// Default io_uring submission queue size, in entries (the completion queue is
/// four times larger). A full SQ is submitted and refilled, never an error.
pub const DEFAULT_RING_ENTRIES: u32 = 1024;

/// Default number of tasks run per loop turn before the driver is polled again.
pub const DEFAULT_EVENT_INTERVAL: u32 = 128;

/// How long dropping a runtime waits for in-flight I/O to complete after
/// cancelling it; what is still in flight then is leaked, never freed.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Settings a runtime is built from.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) driver: DriverKind,
    pub(crate) ring_entries: u32,
    pub(crate) blocking_threads: usize,
    pub(crate) event_interval: u32,
    /// Test hook: make io_uring set-up fail with this errno.
    pub(crate) simulate_uring_error: Option<i32>,
    /// `Some(idle)`: ask for an SQPOLL ring whose kernel thread sleeps after
    /// `idle` milliseconds without submissions.
    pub(crate) sqpoll_idle_ms: Option<u32>,
    /// Test hook: treat `IORING_OP_MSG_RING` as unsupported.
    pub(crate) simulate_no_msg_ring: bool,
    /// Buffers in the receive buffer pool.
    pub(crate) recv_buffers: usize,
    /// Bytes per receive buffer.
    pub(crate) recv_buffer_size: usize,
    /// Test hook: io_uring refuses provided buffer rings.
    pub(crate) simulate_no_provided_buffers: bool,
    /// Test hook: io_uring listeners accept with single-shot accepts.
    pub(crate) simulate_no_multishot_accept: bool,
}

/// Configures and builds a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    config: Config,
    driver_set: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: `Auto` driver, [`DEFAULT_RING_ENTRIES`].
    pub fn new() -> Builder {
        Builder {
            config: Config {
                driver: DriverKind::Auto,
                ring_entries: DEFAULT_RING_ENTRIES,
                blocking_threads: ringo_compat::DEFAULT_MAX_BLOCKING_THREADS,
                event_interval: DEFAULT_EVENT_INTERVAL,
                simulate_uring_error: None,
                sqpoll_idle_ms: None,
                simulate_no_msg_ring: false,
                recv_buffers: DEFAULT_RECV_BUFFERS,
                recv_buffer_size: DEFAULT_RECV_BUFFER_SIZE,
                simulate_no_provided_buffers: false,
                simulate_no_multishot_accept: false,
            },
            driver_set: false,
        }
    }

    /// Chooses the driver, overriding `RINGO_DRIVER`.
    pub fn driver(mut self, kind: DriverKind) -> Builder {
        self.config.driver = kind;
        self.driver_set = true;
        self
    }

    /// io_uring submission queue entries (rounded up to a power of two by the
    /// kernel). More entries let more I/O go out per `io_uring_enter`.
    pub fn ring_entries(mut self, entries: u32) -> Builder {
        self.config.ring_entries = entries.max(1);
        self
    }

    /// Maximum threads of the compat driver's blocking pool (file I/O).
    pub fn blocking_threads(mut self, threads: usize) -> Builder {
        self.config.blocking_threads = threads.max(1);
        self
    }

    /// Tasks run per loop turn before I/O and timers are polled again: lower
    /// favours I/O latency, higher favours throughput of ready tasks.
    pub fn event_interval(mut self, tasks: u32) -> Builder {
        self.config.event_interval = tasks.max(1);
        self
    }

    /// Asks for an io_uring with a kernel submission-polling thread
    /// (`IORING_SETUP_SQPOLL`) that sleeps after `idle` without new submissions
    /// (rounded down to whole milliseconds, at least one). Off by default.
    ///
    /// # When it helps
    /// A busy server whose profile is dominated by `io_uring_enter` calls, on a
    /// machine with a core to spare: the kernel thread picks submissions up from
    /// shared memory, so a loop turn that has I/O to submit but nothing to wait
    /// for makes no syscall at all.
    ///
    /// # What it costs
    /// The kernel thread spins a whole core for `idle` after every burst of
    /// submissions, whether or not more come; after that it sleeps and the next
    /// submission pays a syscall to wake it. On a machine with few cores (say
    /// two) it competes with the application threads for CPU and usually makes
    /// things slower. The kernel also refuses SQPOLL together with
    /// `DEFER_TASKRUN` and `COOP_TASKRUN`, so an SQPOLL ring runs without them.
    ///
    /// # Where the kernel refuses it
    /// Old kernels allow SQPOLL only to privileged users (EPERM), and a kernel
    /// may refuse it for other reasons. The runtime is then built on a normal
    /// ring — with [`DriverKind::Auto`] and with [`DriverKind::Uring`] alike;
    /// SQPOLL never decides between io_uring and compat — and
    /// [`UringFeatures::sqpoll`] reports `false`. The compat driver has no
    /// such thread: there the option is accepted and ignored.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = ringo_reactor::Runtime::builder()
    ///     .sqpoll(Duration::from_millis(10))
    ///     .build()?;
    /// if let Some(features) = rt.uring_features() {
    ///     println!("sqpoll granted: {}", features.sqpoll);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sqpoll(mut self, idle: Duration) -> Builder {
        let ms = u32::try_from(idle.as_millis()).unwrap_or(u32::MAX);
        self.config.sqpoll_idle_ms = Some(ms.max(1));
        self
    }

    /// Sizes the runtime's receive [`BufferPool`](crate::buf::BufferPool):
    /// `count` buffers of `size` bytes, clamped to
    /// [`MAX_RECV_BUFFERS`](crate::buf::MAX_RECV_BUFFERS) and
    /// [`MAX_RECV_BUFFER_SIZE`](crate::buf::MAX_RECV_BUFFER_SIZE) (and to at
    /// least 1). Defaults: [`DEFAULT_RECV_BUFFERS`] of
    /// [`DEFAULT_RECV_BUFFER_SIZE`]. The pool is mapped on the first pooled
    /// receive, and its pages are backed as buffers are used.
    pub fn recv_buffers(mut self, count: usize, size: usize) -> Builder {
        self.config.recv_buffers = count;
        self.config.recv_buffer_size = size;
        self
    }

    /// Makes the io_uring driver behave as if the kernel lacked provided buffer
    /// rings, so pooled receives use the free-list path compat uses. For testing
    /// the fallback; not part of the stable API.
    #[doc(hidden)]
    pub fn simulate_provided_buffers_unsupported(mut self) -> Builder {
        self.config.simulate_no_provided_buffers = true;
        self
    }

    /// Makes the io_uring driver behave as if the kernel lacked multishot
    /// accept, so listeners submit one single-shot accept per connection, as on
    /// kernels before 5.19. For testing the fallback; not part of the stable API.
    #[doc(hidden)]
    pub fn simulate_multishot_accept_unsupported(mut self) -> Builder {
        self.config.simulate_no_multishot_accept = true;
        self
    }

    /// Makes the io_uring driver behave as if the kernel lacked
    /// `IORING_OP_MSG_RING`, so cross-runtime wakes go through the eventfd. For
    /// testing the fallback; not part of the stable API.
    #[doc(hidden)]
    pub fn simulate_msg_ring_unsupported(mut self) -> Builder {
        self.config.simulate_no_msg_ring = true;
        self
    }

    /// Makes io_uring set-up fail with `errno`, as a seccomp filter, the
    /// `io_uring_disabled` sysctl or the memlock limit would. For testing the
    /// fallback; not part of the stable API.
    #[doc(hidden)]
    pub fn simulate_uring_setup_error(mut self, errno: i32) -> Builder {
        self.config.simulate_uring_error = Some(errno);
        self
    }

    /// Builds the runtime on the current thread.
    ///
    /// # Errors
    /// `RINGO_DRIVER` names no driver; io_uring was required and could not be set
    /// up (the error says why); or the compat poller could not be created.
    pub fn build(self) -> io::Result<Runtime> {
        let mut config = self.config;
        if !self.driver_set {
            if let Ok(value) = std::env::var("RINGO_DRIVER") {
                config.driver = value.parse()?;
            }
        }
        let (driver, unparker) = Driver::new(&config).map_err(|e| {
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
        });
        Ok(Runtime { inner })
    }
}

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

    fn next_task(&self) -> Option<Runnable> {
        self.run_queue.borrow_mut().pop_front()
    }

    fn has_ready_tasks(&self) -> bool {
        !self.run_queue.borrow().is_empty() || self.shared.has_remote()
    }

    /// Moves remotely woken tasks to the local queue, behind the local ones.
    fn take_remote(&self) {
        while let Some(r) = self.shared.pop_remote() {
            self.run_queue.borrow_mut().push_back(r);
        }
    }

    fn fire_timers(&self, now: Instant) {
        let mut woken = Vec::new();
        self.timers.borrow_mut().advance(now, &mut woken);
        for waker in woken {
            waker.wake();
        }
    }

    fn park(&self, timeout: Option<Duration>) {
        if let Err(e) = self.driver.park(timeout) {
            panic!("ringo {} driver failed: {e}", self.driver.kind());
        }
    }
}

impl Runtime {
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

    /// How often other threads woke this runtime from sleep, by path. For tests
    /// and diagnostics; not part of the stable API.
    #[doc(hidden)]
    pub fn wake_stats(&self) -> WakeStats {
        self.inner.shared.wake_stats()
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
            if main.woken.swap(false, Ordering::AcqRel) {
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
            let now = Instant::now();
            inner.fire_timers(now);
            let busy = inner.has_ready_tasks() || main.woken.load(Ordering::Acquire);
            if busy {
                inner.park(Some(Duration::ZERO));
                continue;
            }
            let timeout = inner
                .timers
                .borrow()
                .next_deadline()
                .map(|d| d.saturating_duration_since(now));
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

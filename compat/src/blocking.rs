//! The bounded blocking thread pool: where file I/O runs, never on the loop thread.
//!
//! Regular files are always "ready" to epoll and kqueue, yet a read may still sleep
//! on the disk, so the compat driver hands such work to plain std threads. Threads
//! start on demand up to a maximum and exit after [`IDLE_TIMEOUT`] without work;
//! jobs beyond the maximum wait in a FIFO queue.
//!
//! # Who touches what, when
//!
//! [`State`] sits behind one mutex. The proactor's thread pushes jobs and, on drop,
//! sets `shutdown`; workers pop jobs, run them *without* the lock, and keep the
//! `threads` and `idle` counts. The condvar announces a new job or the shutdown.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// Default maximum number of blocking pool threads, for [`Proactor::new`]: the
/// most file operations one compat runtime has in flight at once.
///
/// At the limit no further thread starts: new jobs wait in the FIFO queue until a
/// running job finishes. It was 16, which capped a server's file reads at 16 in
/// flight whatever its load; 256 lets a deep queue (a disk wants 32–256 reads
/// outstanding) reach the device, while idle threads still exit after
/// 10 s without work, so a quiet runtime keeps none. Each thread costs a stack
/// (reserved, mostly untouched) only while it lives. `Builder::blocking_threads`
/// sets another limit.
///
/// [`Proactor::new`]: crate::Proactor::new
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 256;

/// How long a pool thread waits for a job before it exits. Long enough that a
/// steady trickle of file I/O reuses threads, short enough that an idle server
/// does not keep them around.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A unit of blocking work.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool's shared state; see the module doc for who touches what.
struct State {
    /// Jobs not yet started, oldest first.
    queue: VecDeque<Job>,
    /// Worker threads alive (running a job, idle, or just spawned). Never above
    /// `Shared::max`.
    threads: usize,
    /// Workers waiting on the condvar. A job pushed while `queue.len() <= idle` will
    /// be picked up by one of them, so no thread needs to start.
    idle: usize,
    /// Set once, when the pool is dropped: workers exit instead of taking a job.
    shutdown: bool,
}

/// What the pool handle and its workers share.
struct Shared {
    state: Mutex<State>,
    /// Signalled on a new job (one worker) and on shutdown (all workers).
    available: Condvar,
    max: usize,
    idle_timeout: Duration,
}

impl Shared {
    /// Locks the state. Jobs run outside the lock and no code panics while holding
    /// it, so a poisoned lock still holds consistent state and is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bounded pool of std threads running blocking jobs in FIFO order.
///
/// Dropping it lets each worker finish its current job and exit; jobs that have
/// not started are dropped. Workers are detached, never joined, so a job blocked
/// forever cannot hang the drop.
pub(crate) struct BlockingPool {
    shared: Arc<Shared>,
}

impl BlockingPool {
    /// A pool of at most `max` threads (at least 1, which the caller checks), each
    /// exiting after `idle_timeout` without work.
    pub(crate) fn new(max: usize, idle_timeout: Duration) -> BlockingPool {
        BlockingPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                available: Condvar::new(),
                max,
                idle_timeout,
            }),
        }
    }

    /// Queues `job`, starting a thread for it if no idle one will take it and the
    /// pool is below its maximum.
    ///
    /// If the OS refuses a new thread while the pool has none, `job` runs on the
    /// calling thread: blocking the caller is better than a job that never runs.
    pub(crate) fn spawn(&self, job: Job) {
        let mut state = self.shared.lock();
        state.queue.push_back(job);
        if state.queue.len() <= state.idle {
            drop(state);
            self.shared.available.notify_one();
            return;
        }
        if state.threads >= self.shared.max {
            // Every worker is busy; the first to finish takes the oldest job.
            return;
        }
        state.threads += 1;
        drop(state);
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("ringo-blocking".to_owned())
            .spawn(move || work(&shared));
        if spawned.is_err() {
            let mut state = self.shared.lock();
            state.threads -= 1;
            let orphan = if state.threads == 0 {
                state.queue.pop_front()
            } else {
                None
            };
            drop(state);
            if let Some(job) = orphan {
                run(job);
            }
        }
    }

    /// Number of worker threads alive.
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.shared.lock().threads
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        let unstarted = std::mem::take(&mut state.queue);
        drop(state);
        self.shared.available.notify_all();
        // Outside the lock: dropping a job runs its captures' destructors.
        drop(unstarted);
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("BlockingPool")
            .field("max", &self.shared.max)
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("queued", &state.queue.len())
            .finish()
    }
}

/// Runs one job. A panicking job must not take its worker down (nor leave the
/// `threads` count wrong); the panic hook has already reported it.
fn run(job: Job) {
    let _ = panic::catch_unwind(AssertUnwindSafe(job));
}

/// A worker's life: take jobs until shutdown or `idle_timeout` without work.
fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.shutdown {
            break;
        }
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            run(job);
            state = shared.lock();
            continue;
        }
        state.idle += 1;
        let (guard, wait) = shared
            .available
            .wait_timeout(state, shared.idle_timeout)
            .unwrap_or_else(PoisonError::into_inner);
        state = guard;
        state.idle -= 1;
        if wait.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    #[test]
    fn idle_threads_exit_after_the_idle_timeout() {
        let pool = BlockingPool::new(4, Duration::from_millis(20));
        let (done, finished) = mpsc::channel();
        for _ in 0..4 {
            let done = done.clone();
            pool.spawn(Box::new(move || {
                thread::sleep(Duration::from_millis(10));
                let _ = done.send(());
            }));
        }
        for _ in 0..4 {
            assert!(finished.recv_timeout(Duration::from_secs(5)).is_ok());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while pool.threads() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.threads(), 0, "idle threads still alive");
    }

    #[test]
    fn a_job_after_all_threads_exited_starts_a_new_one() {
        let pool = BlockingPool::new(1, Duration::from_millis(1));
        let (done, finished) = mpsc::channel();
        for round in 0..3 {
            let done = done.clone();
            pool.spawn(Box::new(move || {
                let _ = done.send(round);
            }));
            assert_eq!(finished.recv_timeout(Duration::from_secs(5)), Ok(round));
            let deadline = Instant::now() + Duration::from_secs(5);
            while pool.threads() > 0 && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

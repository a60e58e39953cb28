//! Tasks: `spawn`, `JoinHandle`, `yield_now`.
//!
//! A task is a future the runtime polls on its own thread. It need not be
//! `Send`: thread-per-core means a task never moves. Its `Waker` *is* `Send`,
//! though, and waking it from another thread works (see the scheduler).
//!
//! The task allocation, its reference counting and its waker are `async-task`'s,
//! the same well-tested core smol uses. What ringo adds on top:
//!
//! - a panicking task ends with [`JoinError`] on its handle; the runtime and the
//!   other tasks go on;
//! - [`JoinHandle::abort`] works from `&self`, even from another thread;
//! - every live task is registered with its runtime, so dropping the runtime
//!   drops every task (and with it, every op in flight) on the runtime's thread.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::runtime::context;

/// Spawns a task on the current thread's runtime.
///
/// The future need not be `Send`. The task starts running on the runtime's next
/// turn, whether or not the handle is awaited; dropping the handle detaches it.
///
/// # Panics
/// When called outside a ringo runtime.
///
/// # Examples
/// ```
/// ringo_reactor::run(async {
///     let handle = ringo_reactor::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with(|rt| {
        let shared = rt.shared.clone();
        let abort = Arc::new(AtomicBool::new(false));
        let future = TaskFuture::new(future, abort.clone());
        let (runnable, task) = async_task::spawn_local(future, move |r| shared.schedule(r));
        JoinHandle::start(runnable, task, abort, rt.shared.is_closed())
    })
}

/// Spawns a `Send` future from any thread; see [`Handle::spawn`](crate::Handle::spawn).
pub(crate) fn spawn_remote<F>(
    shared: &Arc<crate::runtime::scheduler::Shared>,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let abort = Arc::new(AtomicBool::new(false));
    let future = TaskFuture::new(future, abort.clone());
    let schedule_to = shared.clone();
    let (runnable, task) = async_task::spawn(future, move |r| schedule_to.schedule(r));
    JoinHandle::start(runnable, task, abort, shared.is_closed())
}

/// Waits for a task's output. Dropping it detaches the task, which keeps running.
pub struct JoinHandle<T> {
    task: Option<async_task::FallibleTask<Result<T, JoinError>>>,
    abort: Arc<AtomicBool>,
    waker: Waker,
}

impl<T> JoinHandle<T> {
    fn start(
        runnable: async_task::Runnable,
        task: async_task::Task<Result<T, JoinError>>,
        abort: Arc<AtomicBool>,
        closed: bool,
    ) -> JoinHandle<T> {
        let waker = runnable.waker();
        if closed {
            // The runtime is shutting down: the task is cancelled before it starts.
            drop(runnable);
        } else {
            runnable.schedule();
        }
        JoinHandle {
            task: Some(task.fallible()),
            abort,
            waker,
        }
    }

    /// Stops the task at its next poll: its future is dropped (with any I/O in
    /// flight safely cancelled) and the handle resolves to a cancelled
    /// [`JoinError`]. Aborting a finished task does nothing.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Release);
        self.waker.wake_by_ref();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self
            .task
            .as_mut()
            .expect("JoinHandle polled after it returned");
        let output = std::task::ready!(Pin::new(task).poll(cx));
        self.task = None;
        Poll::Ready(output.unwrap_or(Err(JoinError::cancelled())))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task produced no output.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panicked(Box<dyn Any + Send>),
}

impl JoinError {
    fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// The task was aborted, or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panicked(_))
    }

    /// The panic payload, to resume it with `std::panic::resume_unwind`.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.repr {
            Repr::Panicked(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        let Repr::Panicked(payload) = &self.repr else {
            return None;
        };
        payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panicked(_), Some(message)) => write!(f, "task panicked: {message}"),
            (Repr::Panicked(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinError({self})")
    }
}

impl std::error::Error for JoinError {}

/// What the runtime actually polls: the user's future plus abort, panic
/// capture, and registration with the runtime (for teardown).
struct TaskFuture<F> {
    future: F,
    abort: Arc<AtomicBool>,
    /// This task's entry in the runtime's task registry, from its first poll.
    registered: Option<usize>,
}

impl<F: Future> TaskFuture<F> {
    fn new(future: F, abort: Arc<AtomicBool>) -> TaskFuture<F> {
        TaskFuture {
            future,
            abort,
            registered: None,
        }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of the
        // pinned TaskFuture, and the other fields are never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if this.registered.is_none() {
            this.registered = Some(context::with(|rt| rt.register_task(cx.waker())));
        }
        if this.abort.load(Ordering::Acquire) {
            return Poll::Ready(Err(JoinError::cancelled()));
        }
        // SAFETY: see above; the pin projection of `future`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(JoinError {
                repr: Repr::Panicked(payload),
            })),
        }
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        if let Some(index) = self.registered {
            context::try_with(|rt| rt.unregister_task(index));
        }
    }
}

/// Yields to the other tasks: the current task goes to the back of the run queue.
///
/// # Examples
/// ```
/// ringo_reactor::run(async {
///     ringo_reactor::task::yield_now().await;
/// });
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

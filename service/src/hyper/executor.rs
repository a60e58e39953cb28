//! [`RingoExecutor`]: hyper's `Executor` on the ringo runtime, so the tasks
//! hyper spawns (an HTTP/2 connection's streams, a client connection's
//! background work) run on the thread that serves the connection.

use std::future::Future;

/// Spawns hyper's futures as ringo tasks on the current thread's runtime. The
/// futures need not be `Send` (hyper allows that with any executor that
/// accepts them). Use it from inside a ringo runtime: spawning outside one
/// panics, as [`ringo_reactor::spawn`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct RingoExecutor;

impl<F> ::hyper::rt::Executor<F> for RingoExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper keeps no handle, and the task ends on its own when
        // its stream or connection does (or with the runtime).
        drop(ringo_reactor::spawn(future));
    }
}

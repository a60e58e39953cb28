//! [`Handle`]: spawning onto a runtime from other threads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::scheduler::Shared;
use crate::task::{spawn_remote, JoinHandle};

/// A `Send + Sync` handle to a runtime, for spawning `Send` futures onto it from
/// any thread. The future then runs on the runtime's thread.
///
/// # Examples
/// ```
/// let rt = ringo_reactor::Runtime::new()?;
/// let handle = rt.handle();
/// let join = std::thread::spawn(move || handle.spawn(async { 7 })).join().unwrap();
/// assert_eq!(rt.block_on(join).unwrap(), 7);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// Spawns `future` onto the runtime. If the runtime has shut down, the task
    /// never runs and its handle resolves to a cancelled `JoinError`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_remote(&self.shared, future)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

//! `SharedFd`: an fd that stays open while any operation still uses it.
//!
//! Ops are `'static` futures that do not borrow their socket or file, so a
//! framed transport can keep a read in flight across calls and a dropped op can
//! live on in its slot until the kernel completes it. Each op therefore holds a
//! clone of the `SharedFd`: the fd is closed — and forgotten by the compat
//! driver — only when the owning socket *and* every op using it are gone. This
//! also means an op can never run against a different file that reused a closed
//! fd's number.

use std::cell::Cell;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use crate::runtime::context;

/// A reference-counted fd; the last clone closes it.
#[derive(Debug, Clone)]
pub(crate) struct SharedFd {
    inner: Rc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fd: Option<OwnedFd>,
    /// The last receive on this fd emptied the socket (got less than it asked
    /// for): the next one will most likely find nothing and must wait.
    drained: Cell<bool>,
}

impl SharedFd {
    pub(crate) fn new(fd: OwnedFd) -> SharedFd {
        SharedFd {
            inner: Rc::new(Inner {
                fd: Some(fd),
                drained: Cell::new(false),
            }),
        }
    }

    /// See [`Inner::drained`]; a hint only, never needed for correctness.
    pub(crate) fn drained(&self) -> bool {
        self.inner.drained.get()
    }

    pub(crate) fn set_drained(&self, drained: bool) {
        self.inner.drained.set(drained);
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.inner.fd.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Takes the fd out without closing it, if no op holds a clone; otherwise
    /// gives `self` back.
    fn try_into_owned(self) -> Result<OwnedFd, SharedFd> {
        match Rc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                let fd = inner
                    .fd
                    .take()
                    .expect("invariant: the fd is taken only here or in drop");
                context::try_with(|rt| rt.driver.deregister(fd.as_raw_fd()));
                Ok(fd)
            }
            Err(inner) => Err(SharedFd { inner }),
        }
    }

    /// Gives up the fd without closing it. If an abandoned op still holds it
    /// (its cancellation not yet complete), the caller gets a `dup` of it instead,
    /// and the original closes when that op completes.
    ///
    /// # Panics
    /// If that `dup` fails (the process is out of fds).
    pub(crate) fn into_raw_fd(self) -> RawFd {
        match self.try_into_owned() {
            Ok(fd) => fd.into_raw_fd(),
            Err(shared) => {
                // SAFETY: F_DUPFD_CLOEXEC on an fd we hold open; no pointers involved.
                let dup = unsafe { libc::fcntl(shared.raw(), libc::F_DUPFD_CLOEXEC, 0) };
                if dup < 0 {
                    panic!(
                        "into_raw_fd: cannot dup an fd still used by a cancelled op: {}",
                        std::io::Error::last_os_error()
                    );
                }
                dup
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            // Forget compat readiness state before the number can be reused.
            context::try_with(|rt| rt.driver.deregister(fd.as_raw_fd()));
            drop(fd);
        }
    }
}

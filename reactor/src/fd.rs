//! `SharedFd`: an fd that stays open while any operation still uses it.
//!
//! Ops are `'static` futures that do not borrow their socket or file, so a
//! framed transport can keep a read in flight across calls and a dropped op can
//! live on in its slot until the kernel completes it. Each op therefore holds a
//! clone of the `SharedFd`: the fd is closed — and forgotten by the compat
//! driver — only when the owning socket *and* every op using it are gone. This
//! also means an op can never run against a different file that reused a closed
//! fd's number.
//!
//! A socket's `SharedFd` may also hold a slot in the io_uring driver's
//! registered file table ([`FixedSlot`]); [`SharedFd::sqe`] is the one place
//! that decides whether an SQE names the slot or the plain fd. The same
//! ownership rule makes emptying the slot safe: when the last clone goes, no op
//! that could name it is left (see [`crate::driver::fixed`]).

use std::cell::Cell;
use std::rc::Rc;

#[cfg(target_os = "linux")]
use crate::driver::fixed::{FixedFiles, FixedSlot};
use crate::runtime::context;
use crate::sys::{self, Owned, RawSource};

/// A reference-counted fd; the last clone closes it.
#[derive(Debug, Clone)]
pub(crate) struct SharedFd {
    inner: Rc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fd: Option<Owned>,
    /// The last receive on this fd emptied the socket (got less than it asked
    /// for): the next one will most likely find nothing and must wait.
    drained: Cell<bool>,
    /// The fd's slot in a ring's registered file table, if it takes one.
    #[cfg(target_os = "linux")]
    fixed: FixedSlot,
}

impl SharedFd {
    /// An fd that ops always name by number (files, pipes).
    pub(crate) fn new(fd: impl Into<Owned>) -> SharedFd {
        SharedFd::with(fd.into(), false)
    }

    /// A socket's fd, which may also take a slot in the io_uring driver's
    /// registered file table (when the runtime has one).
    pub(crate) fn socket(fd: impl Into<Owned>) -> SharedFd {
        SharedFd::with(fd.into(), true)
    }

    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
    fn with(fd: Owned, registrable: bool) -> SharedFd {
        SharedFd {
            inner: Rc::new(Inner {
                fd: Some(fd),
                drained: Cell::new(false),
                #[cfg(target_os = "linux")]
                fixed: FixedSlot::new(registrable),
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

    pub(crate) fn raw(&self) -> RawSource {
        self.inner.fd.as_ref().map_or(sys::INVALID, sys::raw)
    }

    /// The SQE `build` makes when given the fd to name: this fd's slot in
    /// `files` (the submitting ring's table) where it holds or can take one,
    /// else its plain number. `build` gets the slot as a plain fd; the
    /// `FIXED_FILE` flag added here makes the kernel read it as a slot, exactly
    /// as building with `types::Fixed` would. For ops whose fd is the SQE's
    /// `fd` field only (not splice's input).
    #[cfg(target_os = "linux")]
    pub(crate) fn sqe(
        &self,
        files: &FixedFiles,
        build: impl FnOnce(io_uring::types::Fd) -> io_uring::squeue::Entry,
    ) -> io_uring::squeue::Entry {
        let fd = self.raw();
        match self.inner.fixed.index(files, fd) {
            // Slots are below the kernel's table limit (2^20): they fit.
            Some(index) => build(io_uring::types::Fd(index as RawSource))
                .flags(io_uring::squeue::Flags::FIXED_FILE),
            None => build(io_uring::types::Fd(fd)),
        }
    }

    /// Takes the fd out without closing it, if no op holds a clone; otherwise
    /// gives `self` back.
    fn try_into_owned(self) -> Result<Owned, SharedFd> {
        match Rc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                #[cfg(target_os = "linux")]
                inner.fixed.release();
                let fd = inner
                    .fd
                    .take()
                    .expect("invariant: the fd is taken only here or in drop");
                context::try_with(|rt| rt.driver.deregister(sys::raw(&fd)));
                Ok(fd)
            }
            Err(inner) => Err(SharedFd { inner }),
        }
    }

    /// Gives up the fd without closing it. If an abandoned op still holds it
    /// (its cancellation not yet complete), the caller gets a duplicate of it
    /// instead (close-on-exec, or not inheritable), and the original closes
    /// when that op completes.
    ///
    /// # Panics
    /// If that duplicate cannot be made (the process is out of fds).
    pub(crate) fn into_owned(self) -> Owned {
        match self.try_into_owned() {
            Ok(fd) => fd,
            Err(shared) => {
                let fd = shared.inner.fd.as_ref();
                let fd = fd.expect("invariant: the fd is present until the last clone goes");
                fd.try_clone().unwrap_or_else(|e| {
                    panic!("into_owned: cannot duplicate an fd still used by a cancelled op: {e}")
                })
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        self.fixed.release();
        if let Some(fd) = self.fd.take() {
            // Forget compat readiness state before the number can be reused.
            context::try_with(|rt| rt.driver.deregister(sys::raw(&fd)));
            drop(fd);
        }
    }
}

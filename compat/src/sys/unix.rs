//! Unix: operations name a raw fd, registered with epoll or kqueue as is.

use std::io;
use std::os::fd::RawFd;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// How an operation names what it works on: an fd.
pub type RawSource = RawFd;

/// epoll and kqueue report each new edge on their own.
pub(crate) const REARM_AFTER_WOULD_BLOCK: bool = false;

/// A registered fd; the fd stays owned by its caller.
#[derive(Debug)]
pub(crate) struct Source(RawFd);

impl Source {
    /// Registers `fd` with `registry` for both directions, whichever
    /// `waiting` asks for first: each edge is then reported once, and a
    /// direction nobody waits for costs nothing.
    pub(crate) fn register(
        fd: RawFd,
        registry: &Registry,
        token: Token,
        waiting: Interest,
    ) -> io::Result<Source> {
        let _ = waiting;
        registry.register(
            &mut SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(Source(fd))
    }

    /// Nothing to do: epoll and kqueue keep reporting edges.
    pub(crate) fn rearm(&mut self, _: &Registry, _: Token, _: Interest) -> io::Result<()> {
        Ok(())
    }

    /// Unregisters the fd, leaving it open.
    pub(crate) fn deregister(self, registry: &Registry) {
        // Best effort: if the caller already closed the fd, the kernel dropped
        // the registration with it and this fails with EBADF, which changes
        // nothing.
        let _ = registry.deregister(&mut SourceFd(&self.0));
    }
}

/// Slab keys by fd number: a `Vec` that grows to the highest fd registered,
/// which the process's fd limit bounds.
#[derive(Debug, Default)]
pub(crate) struct SourceIndex(Vec<Option<usize>>);

impl SourceIndex {
    pub(crate) fn get(&self, fd: RawFd) -> Option<usize> {
        let index = usize::try_from(fd).ok()?;
        self.0.get(index).copied().flatten()
    }

    /// Records `key` for `fd`; fails for a negative fd.
    pub(crate) fn insert(&mut self, fd: RawFd, key: usize) -> io::Result<()> {
        let index = usize::try_from(fd).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is negative and cannot be registered"),
            )
        })?;
        if self.0.len() <= index {
            self.0.resize(index + 1, None);
        }
        self.0[index] = Some(key);
        Ok(())
    }

    pub(crate) fn remove(&mut self, fd: RawFd) -> Option<usize> {
        let index = usize::try_from(fd).ok()?;
        self.0.get_mut(index)?.take()
    }
}

//! `Accept`: take a connection from a listening socket.
//!
//! The new fd is created non-blocking and close-on-exec. If the accepting future
//! was dropped before the completion arrived, the connection the kernel accepted
//! is closed here instead of leaking.

use std::io;

use ringo_compat::{Interest, Operation};

use super::OpCode;
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;
use crate::net::addr::RawAddr;
use crate::sys::{self, OwnedSocket, RawSource};

/// Accepts one connection; yields the new fd and the peer's raw address.
pub(crate) struct Accept {
    fd: SharedFd,
    /// Filled by the kernel; boxed so it stays put while the op moves.
    peer: Box<RawAddr>,
}

impl Accept {
    pub(crate) fn new(fd: SharedFd) -> Accept {
        Accept {
            fd,
            peer: Box::new(RawAddr::empty()),
        }
    }
}

impl Operation for Accept {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let (addr, len) = self.peer.as_mut_ptrs();
        // SAFETY: `addr`/`len` point into the boxed RawAddr owned by this op.
        let fd = unsafe { crate::sys::accept(self.fd.raw(), addr, len) }?;
        Ok(sys::into_raw(fd) as usize)
    }
}

impl OpCode for Accept {
    type Output = io::Result<(OwnedSocket, RawAddr)>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let (addr, len) = self.peer.as_mut_ptrs();
        self.fd.sqe(files, |fd| {
            io_uring::opcode::Accept::new(fd, addr, len)
                .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                .build()
        })
    }

    fn complete(self, completion: Completion) -> Self::Output {
        let fd = completion.result? as RawSource;
        // SAFETY: the kernel just created `fd` for us; nothing else owns it.
        let fd = unsafe { sys::from_raw(fd) };
        Ok((fd, *self.peer))
    }

    fn complete_orphan(&mut self, completion: &Completion) {
        if let Ok(fd) = completion.result {
            // SAFETY: the accepted fd was never handed to anyone; we own and close it.
            drop(unsafe { sys::from_raw(fd as RawSource) });
        }
    }
}

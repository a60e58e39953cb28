//! `PollOnce`: wait until an fd is readable or writable, without moving bytes.
//!
//! For syscalls io_uring runs on an io-wq worker without arming a poll of its
//! own ([`Splice`](super::splice::Splice)): they answer `EAGAIN` on a
//! non-blocking socket, so the caller waits for readiness with this op and
//! tries again.

use std::io;
use std::os::fd::RawFd;

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// One-shot poll of `fd` for `interest`; yields the `poll(2)` revents mask
/// (it may hold `POLLERR` or `POLLHUP`: the next I/O call reports those).
pub(crate) struct PollOnce {
    fd: SharedFd,
    interest: Interest,
}

impl PollOnce {
    /// Waits until `fd` is readable.
    pub(crate) fn readable(fd: SharedFd) -> PollOnce {
        PollOnce {
            fd,
            interest: Interest::READABLE,
        }
    }

    /// Waits until `fd` is writable.
    pub(crate) fn writable(fd: SharedFd) -> PollOnce {
        PollOnce {
            fd,
            interest: Interest::WRITABLE,
        }
    }

    fn events(&self) -> libc::c_short {
        if self.interest == Interest::READABLE {
            libc::POLLIN
        } else {
            libc::POLLOUT
        }
    }
}

impl Operation for PollOnce {
    fn readiness(&self) -> (RawFd, Interest) {
        (self.fd.raw(), self.interest)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let mut pollfd = libc::pollfd {
            fd: self.fd.raw(),
            events: self.events(),
            revents: 0,
        };
        // SAFETY: `pollfd` is one live, initialised entry; timeout 0 never waits.
        let ready = cvt(unsafe { libc::poll(&mut pollfd, 1, 0) } as isize)?;
        if ready == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(usize::from(pollfd.revents as u16))
    }
}

impl OpCode for PollOnce {
    type Output = io::Result<usize>;

    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let events = u32::from(self.events() as u16);
        self.fd.sqe(files, |fd| {
            io_uring::opcode::PollAdd::new(fd, events).build()
        })
    }

    fn complete(self, completion: Completion) -> io::Result<usize> {
        completion.result
    }
}

//! `Splice`: move bytes between a socket and a pipe inside the kernel, and
//! [`pipe`] to make the pipe.
//!
//! `splice(2)` needs a pipe at one end, so a socket-to-socket copy goes socket
//! → pipe → socket and its bytes never enter user space
//! ([`copy_bidirectional`](crate::io::copy_bidirectional) does that).
//!
//! On io_uring (`IORING_OP_SPLICE`, Linux 5.7) the kernel always runs a splice
//! on an io-wq worker, and does not arm a poll for it: on a non-blocking socket
//! with nothing to read (or no room to write) the completion is `EAGAIN`. The
//! caller then waits with [`PollOnce`](super::poll::PollOnce) on the socket end
//! and splices again. Our sockets stay non-blocking on purpose: a blocking
//! splice would park one io-wq thread per idle connection.
//!
//! On compat the same op is a non-blocking `splice` retried on the socket
//! end's readiness; the pipe end never blocks in the way the copy uses it
//! (into an empty pipe, out of a pipe holding the bytes to move).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use ringo_compat::{Interest, Operation};

use super::{cvt, OpCode};
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// Moves up to `len` bytes from `from` to `to`, one of them a pipe. Yields
/// the bytes moved; 0 means `from` reached end of stream.
pub(crate) struct Splice {
    /// Read end: a socket, or a pipe's read end.
    from: SharedFd,
    /// Write end: a pipe's write end, or a socket.
    to: SharedFd,
    len: u32,
    /// Where to read `from`, when it is a file; -1 for a stream (socket, pipe).
    from_offset: i64,
    /// Which end is the socket, whose readiness compat waits for:
    /// `READABLE` for `from`, `WRITABLE` for `to`.
    socket_end: Interest,
}

impl Splice {
    /// Socket → pipe: waits (on compat) for the socket to be readable.
    pub(crate) fn into_pipe(socket: SharedFd, pipe_write: SharedFd, len: u32) -> Splice {
        Splice {
            from: socket,
            to: pipe_write,
            len,
            from_offset: -1,
            socket_end: Interest::READABLE,
        }
    }

    /// Pipe → socket: waits (on compat) for the socket to be writable.
    pub(crate) fn out_of_pipe(pipe_read: SharedFd, socket: SharedFd, len: u32) -> Splice {
        Splice {
            from: pipe_read,
            to: socket,
            len,
            from_offset: -1,
            socket_end: Interest::WRITABLE,
        }
    }

    /// File at `offset` → pipe, for sending a file
    /// ([`AsyncWrite::send_file`](crate::io::AsyncWrite::send_file)). io_uring
    /// only: compat sends files with `sendfile(2)` instead.
    pub(crate) fn file_into_pipe(
        file: SharedFd,
        offset: u64,
        pipe_write: SharedFd,
        len: u32,
    ) -> Splice {
        Splice {
            from: file,
            to: pipe_write,
            len,
            from_offset: i64::try_from(offset).unwrap_or(i64::MAX),
            // Only for compat's readiness, which never runs this op: the pipe
            // is the end that may not accept.
            socket_end: Interest::WRITABLE,
        }
    }
}

impl Operation for Splice {
    fn readiness(&self) -> (RawFd, Interest) {
        if self.socket_end == Interest::READABLE {
            (self.from.raw(), Interest::READABLE)
        } else {
            (self.to.raw(), Interest::WRITABLE)
        }
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
        let mut offset = self.from_offset;
        let from_offset: *mut libc::loff_t = if offset < 0 {
            std::ptr::null_mut()
        } else {
            &mut offset
        };
        // SAFETY: both fds are held open by this op's `SharedFd`s; a null offset
        // means "the stream", and `from_offset` otherwise points at a live local.
        let moved = unsafe {
            libc::splice(
                self.from.raw(),
                from_offset,
                self.to.raw(),
                std::ptr::null_mut(),
                self.len as usize,
                flags,
            )
        };
        cvt(moved)
    }
}

impl OpCode for Splice {
    type Output = io::Result<usize>;

    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        // No SPLICE_F_NONBLOCK: the pipe is O_NONBLOCK already and the socket
        // is non-blocking, so the io-wq worker never sleeps in the splice.
        // Offset -1: a stream without a position (the pipe end always is).
        io_uring::opcode::Splice::new(
            io_uring::types::Fd(self.from.raw()),
            self.from_offset,
            io_uring::types::Fd(self.to.raw()),
            -1,
            self.len,
        )
        .flags(libc::SPLICE_F_MOVE)
        .build()
    }

    fn complete(self, completion: Completion) -> io::Result<usize> {
        completion.result
    }
}

/// A pipe for splicing: non-blocking, close-on-exec.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) read: SharedFd,
    pub(crate) write: SharedFd,
    /// Bytes the pipe holds at most (`F_GETPIPE_SZ`).
    pub(crate) capacity: usize,
}

/// A new pipe, grown to `size` bytes if the kernel allows it.
///
/// Growing is best effort: past `/proc/sys/fs/pipe-max-size` or the user's
/// pipe quota (`pipe-user-pages-soft`) the kernel refuses, and the pipe keeps
/// the capacity it was made with — see [`Pipe::capacity`].
pub(crate) fn pipe(size: usize) -> io::Result<Pipe> {
    let mut fds: [libc::c_int; 2] = [-1, -1];
    // SAFETY: `fds` is a live array of the two ints `pipe2` writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } as isize)?;
    let [read, write] = fds;
    // SAFETY: `pipe2` succeeded, so both fds are new and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(read), OwnedFd::from_raw_fd(write)) };
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: fcntl on an fd owned here; the int argument is passed by value.
    // A refusal leaves the pipe as it was, which the capacity query reports.
    unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
    // SAFETY: as above; F_GETPIPE_SZ takes no argument.
    let capacity = cvt(unsafe { libc::fcntl(read.as_raw_fd(), libc::F_GETPIPE_SZ) } as isize)?;
    Ok(Pipe {
        read: SharedFd::new(read),
        write: SharedFd::new(write),
        capacity,
    })
}

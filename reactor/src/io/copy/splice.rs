//! One direction of [`copy_bidirectional`](super::copy_bidirectional) on
//! io_uring: socket → pipe → socket with `splice`, no byte through user space.
//!
//! Each round splices what the source socket has (up to the pipe's capacity)
//! into an empty pipe, then splices the pipe out to the destination until it is
//! empty again, so the pipe never holds more than one round and neither
//! splice can block on it. A splice on a non-blocking socket answers `EAGAIN`
//! instead of waiting (io_uring runs it on a worker without a poll), so the
//! loop then waits with a poll op and splices again. After a splice that
//! emptied the socket (or filled it, on the way out), the next round polls
//! first: an `EAGAIN` costs a trip to an io-wq worker, a poll does not.
//!
//! Also here: the runtime's memory that the kernel refused splice (one
//! runtime learns it once), the refusal `Simulate::no_splice` injects, and
//! the count of spliced bytes that `Runtime::stats` reports.

use std::io;

use crate::fd::SharedFd;
use crate::net::TcpStream;
use crate::op::poll::PollOnce;
use crate::op::splice::{pipe, Splice};
use crate::op::Op;
use crate::runtime::{context, DriverKind};

/// Bytes each direction's pipe is grown to: 1 MiB, the default
/// `/proc/sys/fs/pipe-max-size`. A round moves at most a pipe's capacity, and
/// each splice is a trip to an io-wq worker, so the pipe size sets the cost
/// per byte: on loopback a 64 KiB pipe (the default) made splice slower than
/// the buffered copy, 1 MiB made it faster (`tests/copy.rs`, the ignored A/B).
/// A pipe holds memory only for the bytes in it, but its capacity counts
/// against the user's pipe quota (`pipe-user-pages-soft`, 64 MiB by default):
/// past it the pipe stays smaller (see [`MIN_PIPE_SIZE`]).
pub(crate) const PIPE_SIZE: usize = 1024 * 1024;

/// Pipes smaller than this make splice cost more than it saves, so the
/// direction uses the buffered copy instead. In the A/B a 256 KiB pipe was
/// on par with the buffered copy and a 64 KiB one (the default size) well
/// behind. An unprivileged process gets small pipes once its user's pipe
/// quota is spent: growing fails past the soft limit, about 32 connections
/// at two 1 MiB pipes each by default.
const MIN_PIPE_SIZE: usize = 256 * 1024;

/// Whether a splice should fail now as on a kernel that refuses it
/// (`Simulate::no_splice`).
pub(crate) fn refusal_injected() -> bool {
    context::with(|rt| rt.splice.inject_refusal)
}

/// Remembers that the kernel refused splice through io_uring on this runtime.
pub(crate) fn remember_refusal() {
    context::with(|rt| rt.splice.refused.set(true));
}

/// Whether a copy starting now should splice: on io_uring, unless the kernel
/// refused it before.
pub(crate) fn usable() -> bool {
    context::with(|rt| !rt.splice.refused.get() && rt.driver.kind() == DriverKind::Uring)
}

/// Whether `e`, on the first splice, means the kernel cannot splice through
/// io_uring at all: an unknown opcode is `EINVAL` (kernels before 5.7).
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// Copies `from` to `to` until `from` ends; returns the bytes copied, or
/// `None`, before any byte has moved, when splice is not possible here (the
/// kernel refused it, or no pipe of [`MIN_PIPE_SIZE`] could be made): the
/// caller copies buffered.
pub(super) async fn copy(from: &TcpStream, to: &TcpStream) -> io::Result<Option<u64>> {
    let pipe = match pipe(PIPE_SIZE) {
        Ok(pipe) if pipe.capacity >= MIN_PIPE_SIZE => pipe,
        _ => return Ok(None),
    };
    let round = u32::try_from(pipe.capacity).unwrap_or(u32::MAX);
    let (from, to) = (from.shared_fd(), to.shared_fd());
    let mut copied = 0u64;
    // Nothing has come back from a splice yet: a refusal is still possible.
    let mut proven = false;
    let mut poll_first = false;
    loop {
        if poll_first {
            Op::new(PollOnce::readable(from.clone())).await?;
        }
        let splice = Splice::into_pipe(from.clone(), pipe.write.clone(), round);
        let spliced = if !proven && refusal_injected() {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        } else {
            Op::new(splice).await
        };
        let n = match spliced {
            Ok(0) => return Ok(Some(copied)),
            Ok(n) => n,
            Err(e) if !proven && is_refusal(&e) => {
                remember_refusal();
                return Ok(None);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                proven = true;
                poll_first = true;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        proven = true;
        poll_first = n < pipe.capacity;
        drain(&pipe.read, &to, n).await?;
        copied += n as u64;
    }
}

/// Splices the `len` bytes in the pipe out to `to`.
pub(crate) async fn drain(pipe_read: &SharedFd, to: &SharedFd, len: usize) -> io::Result<()> {
    let mut left = len;
    let mut poll_first = false;
    while left > 0 {
        if poll_first {
            Op::new(PollOnce::writable(to.clone())).await?;
        }
        let ask = u32::try_from(left).unwrap_or(u32::MAX);
        match Op::new(Splice::out_of_pipe(pipe_read.clone(), to.clone(), ask)).await {
            Ok(0) => {
                let message = format!(
                    "spliced {} of {len} bytes, then the socket accepted no more",
                    len - left
                );
                return Err(io::Error::new(io::ErrorKind::WriteZero, message));
            }
            Ok(m) => {
                left = left.saturating_sub(m);
                context::with(|rt| rt.splice.spliced.set(rt.splice.spliced.get() + m as u64));
                // A short write means the socket's send buffer is full.
                poll_first = left > 0;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => poll_first = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

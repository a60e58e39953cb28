//! File ops: positional read and write, open; and the pieces the other file
//! ops share ([`PoolPtr`], [`no_readiness`], and the platform's calls).
//!
//! A read or write into a registered [`FixedBuf`] is the same op with the
//! buffer's table index: `READ_FIXED` / `WRITE_FIXED` on io_uring, and
//! exactly the plain op wherever the buffer is not registered (compat, a
//! refused registration), so the two cannot drift apart.
//!
//! Readiness means nothing for regular files (they are always "ready", and a
//! read may still block on the disk), so on compat these run as blocking calls
//! on the proactor's thread pool — never on the loop thread. The call captures
//! raw pointers into the op's buffer; the op's slot keeps that buffer alive until
//! the pool thread has finished, exactly as for an io_uring completion.
//!
//! # Platforms
//! What a blocking call does differs by system, so each system supplies the
//! same names in one file (mio's `sys` layout), and the ops never write a
//! `cfg` of their own: `unix.rs` makes the `libc` calls the io_uring ops
//! mirror, `windows.rs` std's calls on a borrowed handle. Each supplies
//!
//! - `OwnedFile`: what owns an open file (`OwnedFd`, `OwnedHandle`), with
//!   `duplicate`, `into_std`, and `opened` for the number an open returns;
//! - `OsPath`, `os_path`: a path as an op holds it (a C string, a `PathBuf`),
//!   and `PathArg`, `path_arg`: as its blocking call takes it;
//! - `IoVec`, `io_vec`: one buffer of a vectored call;
//! - `OpenHow`: how to open (flags and mode, std's options);
//! - the blocking calls: `open`, `read_at`, `write_at`, `read_vectored_at`,
//!   `write_vectored_at`, `ctl`, `remove`, `rename`, `make_dir`. Each is an
//!   `unsafe fn` whose contract is that the handle, buffers and paths it is
//!   given stay alive for the call: the op's slot sees to it.

use std::io;

use ringo_compat::Operation;

#[cfg(unix)]
#[path = "fs/unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "fs/windows.rs"]
mod imp;

#[cfg(target_os = "linux")]
pub(crate) use imp::DIR_MODE;
pub(crate) use imp::{
    ctl, duplicate, into_std, io_vec, make_dir, os_path, path_arg, read_vectored_at, remove,
    rename, write_vectored_at, IoVec, OpenHow, OsPath, OwnedFile, PathArg,
};

use super::{BlockingCall, CompatMode, OpCode};
use crate::buf::{BufResult, FixedBuf, IoBuf, IoBufMut};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// A raw pointer that may cross to a blocking-pool thread.
#[derive(Clone, Copy)]
pub(crate) struct PoolPtr<T>(pub(crate) *mut T);

// SAFETY: the pointee is owned by an op whose slot stays alive (Waiting or
// Orphaned) until the pool thread's result is delivered, and nothing
// touches it meanwhile: the thread has exclusive use of it for the call.
unsafe impl<T> Send for PoolPtr<T> {}

impl<T> PoolPtr<T> {
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// File ops never use readiness: their compat work is a [`BlockingCall`].
macro_rules! no_readiness {
    () => {
        fn readiness(&self) -> (crate::sys::RawSource, ringo_compat::Interest) {
            unreachable!("file ops run on the blocking pool, never by readiness")
        }
        fn attempt(&mut self) -> io::Result<usize> {
            unreachable!("file ops run on the blocking pool, never by readiness")
        }
    };
}
pub(crate) use no_readiness;

/// Reads into the start of `buf` from `offset`.
pub(crate) struct ReadAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    /// `buf`'s slot in this runtime's registered buffer table: the read goes
    /// out as `READ_FIXED`. Set only by [`ReadAt::fixed`], from the buffer's
    /// own pool; a wrong index could only fail (`EFAULT`: the kernel checks
    /// the address against the slot), never write elsewhere.
    buf_index: Option<u16>,
}

impl<B: IoBufMut> ReadAt<B> {
    pub(crate) fn new(fd: SharedFd, buf: B, offset: u64) -> ReadAt<B> {
        ReadAt {
            fd,
            buf,
            offset,
            buf_index: None,
        }
    }
}

impl ReadAt<FixedBuf> {
    /// A read into a pool buffer, by table slot where the pool is registered
    /// with this runtime's ring.
    pub(crate) fn fixed(fd: SharedFd, buf: FixedBuf, offset: u64) -> ReadAt<FixedBuf> {
        let buf_index = buf.registered_index();
        ReadAt {
            fd,
            buf,
            offset,
            buf_index,
        }
    }
}

impl<B: IoBufMut> Operation for ReadAt<B> {
    no_readiness!();
}

impl<B: IoBufMut> OpCode for ReadAt<B> {
    type Output = BufResult<usize, B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        let len = u32::try_from(self.buf.bytes_total()).unwrap_or(u32::MAX);
        let (fd, ptr) = (
            io_uring::types::Fd(self.fd.raw()),
            self.buf.stable_mut_ptr(),
        );
        match self.buf_index {
            Some(index) => io_uring::opcode::ReadFixed::new(fd, ptr, len, index)
                .offset(self.offset)
                .build(),
            None => io_uring::opcode::Read::new(fd, ptr, len)
                .offset(self.offset)
                .build(),
        }
    }

    fn compat_mode(&mut self) -> CompatMode {
        let (fd, offset, len) = (self.fd.raw(), self.offset, self.buf.bytes_total());
        let ptr = PoolPtr(self.buf.stable_mut_ptr());
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `ptr` is valid for `len` bytes of writes (IoBufMut contract);
            // it and the fd are kept alive by the op's slot until this call's
            // result is delivered.
            unsafe { imp::read_at(fd, ptr.get(), len, offset) }
        })))
    }

    fn complete(mut self, completion: Completion) -> Self::Output {
        if let Ok(n) = completion.result {
            // SAFETY: the kernel reported writing `n` bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
        }
        (completion.result, self.buf)
    }
}

/// Writes `buf`'s initialised bytes at `offset`.
pub(crate) struct WriteAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    /// As for [`ReadAt`]: the write goes out as `WRITE_FIXED`.
    buf_index: Option<u16>,
}

impl<B: IoBuf> WriteAt<B> {
    pub(crate) fn new(fd: SharedFd, buf: B, offset: u64) -> WriteAt<B> {
        WriteAt {
            fd,
            buf,
            offset,
            buf_index: None,
        }
    }
}

impl WriteAt<FixedBuf> {
    /// A write from a pool buffer, by table slot where the pool is registered
    /// with this runtime's ring.
    pub(crate) fn fixed(fd: SharedFd, buf: FixedBuf, offset: u64) -> WriteAt<FixedBuf> {
        let buf_index = buf.registered_index();
        WriteAt {
            fd,
            buf,
            offset,
            buf_index,
        }
    }
}

impl<B: IoBuf> Operation for WriteAt<B> {
    no_readiness!();
}

impl<B: IoBuf> OpCode for WriteAt<B> {
    type Output = BufResult<usize, B>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        let len = u32::try_from(self.buf.bytes_init()).unwrap_or(u32::MAX);
        let (fd, ptr) = (io_uring::types::Fd(self.fd.raw()), self.buf.stable_ptr());
        match self.buf_index {
            Some(index) => io_uring::opcode::WriteFixed::new(fd, ptr, len, index)
                .offset(self.offset)
                .build(),
            None => io_uring::opcode::Write::new(fd, ptr, len)
                .offset(self.offset)
                .build(),
        }
    }

    fn compat_mode(&mut self) -> CompatMode {
        let (fd, offset, len) = (self.fd.raw(), self.offset, self.buf.bytes_init());
        let ptr = PoolPtr(self.buf.stable_ptr().cast_mut());
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `ptr` is valid for reads of `len` bytes (IoBuf contract); it
            // and the fd are kept alive by the op's slot until this call's result
            // is delivered.
            unsafe { imp::write_at(fd, ptr.get().cast_const(), len, offset) }
        })))
    }

    fn complete(self, completion: Completion) -> Self::Output {
        (completion.result, self.buf)
    }
}

/// Opens `path` (relative to the working directory) as `how` says.
pub(crate) struct Open {
    path: OsPath,
    how: OpenHow,
}

impl Open {
    /// `how` must ask for a file child processes do not inherit (on Unix,
    /// flags with `O_CLOEXEC`).
    pub(crate) fn new(path: OsPath, how: OpenHow) -> Open {
        Open { path, how }
    }
}

impl Operation for Open {
    no_readiness!();
}

impl OpCode for Open {
    type Output = io::Result<OwnedFile>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        io_uring::opcode::OpenAt::new(io_uring::types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.how.flags)
            .mode(self.how.mode)
            .build()
    }

    fn compat_mode(&mut self) -> CompatMode {
        let (path, how) = (path_arg(&self.path), self.how.clone());
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `path` is the op's own path (or a copy of it), kept alive
            // by the op's slot until this call's result is delivered.
            unsafe { imp::open(path, how) }
        })))
    }

    fn complete(self, completion: Completion) -> io::Result<OwnedFile> {
        opened_fd(completion)
    }

    fn complete_orphan(&mut self, completion: &Completion) {
        close_orphaned_fd(completion);
    }
}

/// The file an open op's completion carries, now owned by the caller.
pub(crate) fn opened_fd(completion: Completion) -> io::Result<OwnedFile> {
    let raw = completion.result?;
    // SAFETY: the kernel (or std) just opened `raw` for us; nothing else owns it.
    Ok(unsafe { imp::opened(raw) })
}

/// Closes the file an open op's completion carries when its future was
/// dropped: nobody is left to take it, and it must not leak.
pub(crate) fn close_orphaned_fd(completion: &Completion) {
    if let Ok(raw) = completion.result {
        // SAFETY: the opened file was never handed to anyone; we own and close it.
        drop(unsafe { imp::opened(raw) });
    }
}

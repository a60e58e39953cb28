//! `FileCtl`: the file ops that pass the kernel an fd and a few integers and no
//! memory — fsync, fallocate, fadvise, ftruncate.
//!
//! They share one op because they share everything but the syscall: no buffer
//! to keep alive, a plain `()` result, and on compat a blocking call on the pool
//! (a sync or an allocation may wait on the disk). `fallocate` and `fadvise` are
//! Linux calls; elsewhere compat answers `Unsupported`, which callers treat as
//! "hint not taken" (fadvise) or report (fallocate).

use std::io;
use std::os::fd::RawFd;

use ringo_compat::Operation;

use super::fs::no_readiness;
use super::{cvt, BlockingCall, CompatMode, OpCode};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// Which control call to make.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ctl {
    /// `fsync`, or `fdatasync` when `data_only`.
    Sync { data_only: bool },
    /// `fallocate(fd, mode, offset, len)`.
    Allocate { mode: i32, offset: u64, len: u64 },
    /// `posix_fadvise(fd, offset, len, advice)`.
    Advise { offset: u64, len: u32, advice: i32 },
    /// `ftruncate(fd, len)`.
    SetLen { len: u64 },
}

/// One [`Ctl`] call on a file.
pub(crate) struct FileCtl {
    fd: SharedFd,
    ctl: Ctl,
}

impl FileCtl {
    pub(crate) fn new(fd: SharedFd, ctl: Ctl) -> FileCtl {
        FileCtl { fd, ctl }
    }
}

impl Operation for FileCtl {
    no_readiness!();
}

/// `off_t` from a `u64` offset or length, or `InvalidInput` past `i64::MAX`.
fn off_t(value: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(value).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file offset or length {value} is too large"),
        )
    })
}

/// Runs `ctl` as a blocking syscall.
pub(crate) fn run_blocking(fd: RawFd, ctl: Ctl) -> io::Result<usize> {
    let ret = match ctl {
        Ctl::Sync { data_only } => {
            #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
            if data_only {
                // SAFETY: fdatasync has no memory-safety preconditions.
                return cvt(unsafe { libc::fdatasync(fd) } as isize);
            }
            let _ = data_only;
            // SAFETY: fsync has no memory-safety preconditions.
            unsafe { libc::fsync(fd) }
        }
        #[cfg(target_os = "linux")]
        Ctl::Allocate { mode, offset, len } => {
            // SAFETY: fallocate passes only integers.
            unsafe { libc::fallocate(fd, mode, off_t(offset)?, off_t(len)?) }
        }
        #[cfg(target_os = "linux")]
        Ctl::Advise {
            offset,
            len,
            advice,
        } => {
            // SAFETY: posix_fadvise passes only integers.
            let err = unsafe { libc::posix_fadvise(fd, off_t(offset)?, len.into(), advice) };
            // posix_fadvise returns the error number instead of setting errno.
            return if err == 0 {
                Ok(0)
            } else {
                Err(io::Error::from_raw_os_error(err))
            };
        }
        #[cfg(not(target_os = "linux"))]
        Ctl::Allocate { .. } | Ctl::Advise { .. } => {
            return Err(io::ErrorKind::Unsupported.into());
        }
        Ctl::SetLen { len } => {
            // SAFETY: ftruncate passes only integers.
            unsafe { libc::ftruncate(fd, off_t(len)?) }
        }
    };
    cvt(ret as isize)
}

impl OpCode for FileCtl {
    type Output = io::Result<()>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        use io_uring::{opcode, types};
        let fd = types::Fd(self.fd.raw());
        match self.ctl {
            Ctl::Sync { data_only } => {
                let flags = if data_only {
                    types::FsyncFlags::DATASYNC
                } else {
                    types::FsyncFlags::empty()
                };
                opcode::Fsync::new(fd).flags(flags).build()
            }
            Ctl::Allocate { mode, offset, len } => opcode::Fallocate::new(fd, len)
                .offset(offset)
                .mode(mode)
                .build(),
            Ctl::Advise {
                offset,
                len,
                advice,
            } => opcode::Fadvise::new(fd, len as libc::off_t, advice)
                .offset(offset)
                .build(),
            Ctl::SetLen { len } => opcode::Ftruncate::new(fd, len).build(),
        }
    }

    fn compat_mode(&mut self) -> CompatMode {
        let (fd, ctl) = (self.fd.raw(), self.ctl);
        CompatMode::Blocking(BlockingCall(Box::new(move || run_blocking(fd, ctl))))
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

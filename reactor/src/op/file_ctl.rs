//! `FileCtl`: the file ops that pass the kernel an fd and a few integers and no
//! memory — fsync, fallocate, fadvise, ftruncate.
//!
//! They share one op because they share everything but the syscall: no buffer
//! to keep alive, a plain `()` result, and on compat a blocking call on the pool
//! (a sync or an allocation may wait on the disk; the call itself is the
//! platform's `ctl`, see `op/fs.rs`). `fallocate` and `fadvise` are Linux
//! calls; elsewhere (Windows included) compat answers `Unsupported`, which
//! callers treat as "hint not taken" (fadvise) or report (fallocate).

use std::io;

use ringo_compat::Operation;

use super::fs::{self, no_readiness};
use super::{BlockingCall, CompatMode, OpCode};
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
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: the op's fd is kept open by its slot until this call's
            // result is delivered.
            unsafe { fs::ctl(fd, ctl) }
        })))
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

//! `OpenBeneath`: open a path for reading that must resolve inside a directory
//! (`openat2` with `RESOLVE_BENEATH`), Linux only.
//!
//! The kernel does the check while it walks the path, so there is no window
//! between checking and opening: `..` past the directory, an absolute path, or
//! a symlink (at any step) pointing outside fail with `EXDEV`, and magic links
//! (`/proc/self/fd/...`) are refused. `IORING_OP_OPENAT2` (Linux 5.6) on
//! io_uring; the `openat2` syscall on the compat blocking pool.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use ringo_compat::Operation;

use super::fs::{close_orphaned_fd, no_readiness, opened_fd, PoolPtr};
use super::{BlockingCall, CompatMode, OpCode};
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;

/// Opens `path` beneath `dir`, read-only.
pub(crate) struct OpenBeneath {
    /// Shared with the [`RootDir`](crate::fs::RootDir): the op keeps the
    /// directory open until the kernel is done with it, even if the caller's
    /// future was dropped and the root closed meanwhile.
    dir: Arc<OwnedFd>,
    path: CString,
    /// Boxed: the kernel reads it through a pointer until the op completes.
    how: Box<libc::open_how>,
}

impl OpenBeneath {
    pub(crate) fn new(dir: Arc<OwnedFd>, path: CString, flags: libc::c_int) -> OpenBeneath {
        // SAFETY: `open_how` is a plain C struct for which all-zero is valid.
        let mut how: Box<libc::open_how> = Box::new(unsafe { std::mem::zeroed() });
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        OpenBeneath { dir, path, how }
    }
}

impl Operation for OpenBeneath {
    no_readiness!();
}

impl OpCode for OpenBeneath {
    type Output = io::Result<OwnedFd>;

    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        let how: *const libc::open_how = &*self.how;
        io_uring::opcode::OpenAt2::new(
            io_uring::types::Fd(self.dir.as_raw_fd()),
            self.path.as_ptr(),
            // `OpenHow` is a transparent wrapper of the kernel's `open_how`.
            how.cast::<io_uring::types::OpenHow>(),
        )
        .build()
    }

    fn compat_mode(&mut self) -> CompatMode {
        let dir = self.dir.as_raw_fd();
        let path = PoolPtr(self.path.as_ptr().cast_mut());
        let how = PoolPtr(&mut *self.how as *mut libc::open_how);
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `path` (NUL-terminated) and `how` are owned by the op,
            // whose slot keeps them — and `dir` — alive until this call's result
            // is delivered; the size passed is `how`'s own.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dir,
                    path.get(),
                    how.get(),
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(fd as usize)
            }
        })))
    }

    fn complete(self, completion: Completion) -> io::Result<OwnedFd> {
        opened_fd(completion)
    }

    fn complete_orphan(&mut self, completion: &Completion) {
        close_orphaned_fd(completion);
    }
}

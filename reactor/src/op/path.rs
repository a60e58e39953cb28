//! `PathOp`: the directory-entry ops — unlink, rmdir, rename, mkdir — by path.
//!
//! One op for all of them because they share everything but the syscall: one or
//! two NUL-terminated paths the kernel reads, no fd, a plain `()` result. The
//! paths are `CString`s, whose bytes live on the heap and so stay put when the
//! op moves into its slot. On io_uring these are `IORING_OP_UNLINKAT`,
//! `RENAMEAT` and `MKDIRAT` (Linux 5.11/5.11/5.15); on compat the same `*at`
//! calls run on the blocking pool.

use std::ffi::CString;
use std::io;

use ringo_compat::Operation;

use super::fs::{no_readiness, PoolPtr};
use super::{cvt, BlockingCall, CompatMode, OpCode};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;

/// Which entry operation to run.
#[derive(Debug)]
pub(crate) enum PathOp {
    /// Remove a file (`unlink`), or an empty directory when `dir` (`rmdir`).
    Remove { path: CString, dir: bool },
    /// Move `from` to `to`, replacing `to` if it exists.
    Rename { from: CString, to: CString },
    /// Make a directory with `mode` (before the umask).
    MakeDir { path: CString, mode: libc::mode_t },
}

impl Operation for PathOp {
    no_readiness!();
}

/// The pointers a blocking call needs, copied out of the op.
#[derive(Clone, Copy)]
enum Call {
    Remove(PoolPtr<libc::c_char>, bool),
    Rename(PoolPtr<libc::c_char>, PoolPtr<libc::c_char>),
    MakeDir(PoolPtr<libc::c_char>, libc::mode_t),
}

fn ptr(path: &CString) -> PoolPtr<libc::c_char> {
    PoolPtr(path.as_ptr().cast_mut())
}

impl OpCode for PathOp {
    type Output = io::Result<()>;

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        use io_uring::{opcode, types::Fd};
        let cwd = Fd(libc::AT_FDCWD);
        match self {
            PathOp::Remove { path, dir } => opcode::UnlinkAt::new(cwd, path.as_ptr())
                .flags(if *dir { libc::AT_REMOVEDIR } else { 0 })
                .build(),
            PathOp::Rename { from, to } => {
                opcode::RenameAt::new(cwd, from.as_ptr(), cwd, to.as_ptr()).build()
            }
            PathOp::MakeDir { path, mode } => {
                opcode::MkDirAt::new(cwd, path.as_ptr()).mode(*mode).build()
            }
        }
    }

    fn compat_mode(&mut self) -> CompatMode {
        let call = match self {
            PathOp::Remove { path, dir } => Call::Remove(ptr(path), *dir),
            PathOp::Rename { from, to } => Call::Rename(ptr(from), ptr(to)),
            PathOp::MakeDir { path, mode } => Call::MakeDir(ptr(path), *mode),
        };
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            let cwd = libc::AT_FDCWD;
            // SAFETY (all three): each pointer is a NUL-terminated CString owned
            // by the op, whose slot keeps it alive until this call's result is
            // delivered.
            let ret = match call {
                Call::Remove(path, dir) => {
                    let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
                    // SAFETY: see above.
                    unsafe { libc::unlinkat(cwd, path.get(), flags) }
                }
                // SAFETY: see above.
                Call::Rename(from, to) => unsafe { libc::renameat(cwd, from.get(), cwd, to.get()) },
                // SAFETY: see above.
                Call::MakeDir(path, mode) => unsafe { libc::mkdirat(cwd, path.get(), mode) },
            };
            cvt(ret as isize)
        })))
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

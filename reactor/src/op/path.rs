//! `PathOp`: the directory-entry ops — unlink, rmdir, rename, mkdir — by path.
//!
//! One op for all of them because they share everything but the syscall: one or
//! two paths the kernel reads, no fd, a plain `()` result. On Unix the paths
//! are `CString`s, whose bytes live on the heap and so stay put when the op
//! moves into its slot. On io_uring these are `IORING_OP_UNLINKAT`,
//! `RENAMEAT` and `MKDIRAT` (Linux 5.11/5.11/5.15); on compat the same `*at`
//! calls (on Windows, std's) run on the blocking pool.

use std::io;

use ringo_compat::Operation;

use super::fs::{self, no_readiness, path_arg, OsPath, PathArg};
use super::{BlockingCall, CompatMode, OpCode};
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;

/// Which entry operation to run.
#[derive(Debug)]
pub(crate) enum PathOp {
    /// Remove a file (`unlink`), or an empty directory when `dir` (`rmdir`).
    Remove { path: OsPath, dir: bool },
    /// Move `from` to `to`, replacing `to` if it exists.
    Rename { from: OsPath, to: OsPath },
    /// Make a directory (on Unix with mode `0o777` before the umask, as std).
    MakeDir { path: OsPath },
}

impl Operation for PathOp {
    no_readiness!();
}

/// The paths a blocking call needs, as it takes them (see [`PathArg`]).
enum Call {
    Remove(PathArg, bool),
    Rename(PathArg, PathArg),
    MakeDir(PathArg),
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
            PathOp::MakeDir { path } => opcode::MkDirAt::new(cwd, path.as_ptr())
                .mode(fs::DIR_MODE)
                .build(),
        }
    }

    fn compat_mode(&mut self) -> CompatMode {
        let call = match self {
            PathOp::Remove { path, dir } => Call::Remove(path_arg(path), *dir),
            PathOp::Rename { from, to } => Call::Rename(path_arg(from), path_arg(to)),
            PathOp::MakeDir { path } => Call::MakeDir(path_arg(path)),
        };
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: each path is the op's own (or a copy of it), and the op's
            // slot keeps it alive until this call's result is delivered.
            unsafe {
                match call {
                    Call::Remove(path, dir) => fs::remove(path, dir),
                    Call::Rename(from, to) => fs::rename(from, to),
                    Call::MakeDir(path) => fs::make_dir(path),
                }
            }
        })))
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

//! `Statx`: a file's metadata by path or by open fd (Linux only).
//!
//! `IORING_OP_STATX` (Linux 5.6) on io_uring; `statx(2)` on the compat
//! blocking pool (a stat may wait on the disk for an inode not in cache).
//! An open file's is read at once instead ([`open_file_now`]). The
//! kernel writes a `struct statx` through a pointer, so the op keeps it in a
//! `Box` that stays put when the op moves into its slot, and hands it back on
//! completion. Other systems use std's `metadata` (see `fs/metadata.rs`).

use std::ffi::CString;
use std::io;

use ringo_compat::Operation;

use super::fs::{no_readiness, PoolPtr};
use super::{cvt, BlockingCall, CompatMode, OpCode};
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::Completion;
use crate::fd::SharedFd;

/// What to stat.
pub(crate) enum Target {
    /// A path, relative to the working directory; `follow` resolves a final
    /// symlink (as `metadata`) or not (as `symlink_metadata`).
    Path { path: CString, follow: bool },
    /// An open file (`AT_EMPTY_PATH`).
    Fd(SharedFd),
}

/// Reads the metadata of a [`Target`].
pub(crate) struct Statx {
    target: Target,
    /// The empty path `AT_EMPTY_PATH` needs, for [`Target::Fd`].
    empty: CString,
    out: Box<libc::statx>,
}

impl Statx {
    pub(crate) fn new(target: Target) -> Statx {
        Statx {
            target,
            empty: CString::default(),
            // SAFETY: `statx` is a plain C struct for which all-zero is valid.
            out: Box::new(unsafe { std::mem::zeroed() }),
        }
    }

    /// `(dirfd, path, flags)` for the syscall.
    fn args(&self) -> (libc::c_int, *const libc::c_char, libc::c_int) {
        match &self.target {
            Target::Path { path, follow } => {
                let flags = if *follow {
                    0
                } else {
                    libc::AT_SYMLINK_NOFOLLOW
                };
                (libc::AT_FDCWD, path.as_ptr(), flags)
            }
            Target::Fd(fd) => (fd.raw(), self.empty.as_ptr(), libc::AT_EMPTY_PATH),
        }
    }
}

impl Operation for Statx {
    no_readiness!();
}

/// The fields ringo reads: type and mode, size, times, ids, links, inode.
const MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME;

/// The metadata of the open file `fd`, read on the calling thread.
///
/// An open fd pins its inode in memory, and `AT_STATX_DONT_SYNC` lets a
/// network file system answer from its cache, so this does not wait on a
/// disk or a server: `File::metadata` makes it on the loop thread, as
/// nginx's `fstat`, where io_uring's STATX is always a trip to an io-wq
/// worker (about 4 µs of a static file server's request).
pub(crate) fn open_file_now(fd: &SharedFd) -> io::Result<Box<libc::statx>> {
    // SAFETY: `statx` is a plain C struct for which all-zero is valid.
    let mut out: Box<libc::statx> = Box::new(unsafe { std::mem::zeroed() });
    let flags = libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC;
    // SAFETY: the descriptor stays open while the borrowed `SharedFd` lives;
    // the path is an empty NUL-terminated string (AT_EMPTY_PATH); `out` is a
    // valid, writable statx that outlives the call.
    cvt(unsafe { libc::statx(fd.raw(), c"".as_ptr(), flags, MASK, &mut *out) } as isize)?;
    Ok(out)
}

impl OpCode for Statx {
    type Output = io::Result<Box<libc::statx>>;

    fn uring_entry(&mut self, _: &FixedFiles) -> io_uring::squeue::Entry {
        let (dirfd, path, flags) = self.args();
        let out: *mut libc::statx = &mut *self.out;
        io_uring::opcode::Statx::new(io_uring::types::Fd(dirfd), path, out.cast())
            .flags(flags)
            .mask(MASK)
            .build()
    }

    fn compat_mode(&mut self) -> CompatMode {
        let (dirfd, path, flags) = self.args();
        let (path, out) = (PoolPtr(path.cast_mut()), PoolPtr(&mut *self.out as *mut _));
        CompatMode::Blocking(BlockingCall(Box::new(move || {
            // SAFETY: `path` is a NUL-terminated CString and `out` a boxed statx,
            // both owned by the op, whose slot keeps them alive until this call's
            // result is delivered; `dirfd` is held open by the op's target.
            cvt(unsafe { libc::statx(dirfd, path.get(), flags, MASK, out.get()) } as isize)
        })))
    }

    fn complete(self, completion: Completion) -> Self::Output {
        completion.result.map(|_| self.out)
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;

    use super::*;
    use crate::op::Op;
    use crate::{Builder, DriverKind};

    /// The op stays the fallback where a sandbox refuses the call on the
    /// loop, so it must read what that call reads, on both drivers.
    #[test]
    fn the_fallback_op_reads_what_the_call_on_the_loop_reads() {
        let path = std::env::temp_dir().join(format!("ringo-statx-{}", std::process::id()));
        std::fs::write(&path, b"twelve bytes").expect("seed");
        for kind in [DriverKind::Uring, DriverKind::Compat] {
            let rt = Builder::new().driver(kind).build().expect("runtime");
            rt.block_on(async {
                let file = std::fs::File::open(&path).expect("open");
                let fd = SharedFd::new(OwnedFd::from(file));
                let now = open_file_now(&fd).expect("statx on the loop");
                let op = Op::new(Statx::new(Target::Fd(fd.clone())))
                    .await
                    .expect("the op");
                assert_eq!(now.stx_size, 12, "{kind:?}");
                assert_eq!(
                    (
                        now.stx_size,
                        now.stx_ino,
                        now.stx_mode,
                        now.stx_mtime.tv_sec
                    ),
                    (op.stx_size, op.stx_ino, op.stx_mode, op.stx_mtime.tv_sec),
                    "{kind:?}"
                );
            });
        }
        std::fs::remove_file(path).expect("clean up");
    }
}

//! Unix: a file is an fd, a path the NUL-terminated C string the kernel
//! takes, and each compat blocking call is the `libc` call its io_uring op
//! mirrors (`pread` for `READ`, `unlinkat` for `UNLINKAT`, ...). The paths a
//! call reads stay in the op, and the call reads them through a pointer, as
//! the kernel does for the io_uring op.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::PoolPtr;
use crate::fd::SharedFd;
use crate::op::cvt;
use crate::op::file_ctl::Ctl;
use crate::sys::{Owned, RawSource};

pub(crate) use std::os::fd::OwnedFd as OwnedFile;

/// A path as an op holds it: the bytes the kernel reads.
pub(crate) type OsPath = CString;

/// A path as a blocking call takes it: a pointer to the op's [`OsPath`],
/// whose bytes live on the heap and so stay put when the op moves.
pub(crate) type PathArg = PoolPtr<libc::c_char>;

/// One buffer of a vectored read or write, as `preadv` takes it.
pub(crate) type IoVec = libc::iovec;

/// How to open a file: `open(2)` flags and the mode of a created file.
#[derive(Debug, Clone)]
pub(crate) struct OpenHow {
    pub(crate) flags: libc::c_int,
    pub(crate) mode: libc::mode_t,
}

/// Mode of directories made by `create_dir` (before the umask), as in std.
pub(crate) const DIR_MODE: libc::mode_t = 0o777;

/// `path` as the NUL-terminated string the kernel takes.
///
/// # Errors
/// `InvalidInput` if the path holds a NUL byte.
pub(crate) fn os_path(path: &Path) -> io::Result<OsPath> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {:?} contains a NUL byte", path),
        )
    })
}

pub(crate) fn path_arg(path: &OsPath) -> PathArg {
    PoolPtr(path.as_ptr().cast_mut())
}

pub(crate) fn io_vec(ptr: *mut u8, len: usize) -> IoVec {
    libc::iovec {
        iov_base: ptr.cast(),
        iov_len: len,
    }
}

/// A second fd for the open file `fd` (close-on-exec).
pub(crate) fn duplicate(fd: &SharedFd) -> io::Result<OwnedFile> {
    // SAFETY: F_DUPFD_CLOEXEC on an fd held open by `fd`; no pointers.
    let dup = unsafe { libc::fcntl(fd.raw(), libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is a new fd that nothing else owns.
    Ok(unsafe { OwnedFile::from_raw_fd(dup) })
}

/// A file's fd, given up by its `SharedFd`, as a std file.
pub(crate) fn into_std(owned: Owned) -> std::fs::File {
    std::fs::File::from(owned)
}

/// The number a completed open carries, as the fd it is.
///
/// # Safety
/// `raw` must be an fd just opened for the caller, owned by nothing else.
pub(crate) unsafe fn opened(raw: usize) -> OwnedFile {
    // SAFETY: the caller's contract.
    unsafe { OwnedFile::from_raw_fd(raw as RawFd) }
}

/// Opens `path` with `how`; returns the new fd's number.
///
/// # Safety
/// `path` must point at a live NUL-terminated string for the whole call.
pub(crate) unsafe fn open(path: PathArg, how: OpenHow) -> io::Result<usize> {
    // SAFETY: the caller's contract on `path`.
    let fd = unsafe { libc::open(path.get(), how.flags, libc::c_uint::from(how.mode)) };
    cvt(fd as isize)
}

/// `pread`: into `len` bytes at `ptr` from `offset` of `fd`.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes, and `fd` open, for the
/// whole call.
pub(crate) unsafe fn read_at(
    fd: RawSource,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::pread(fd, ptr.cast(), len, offset as libc::off_t) })
}

/// `pwrite`: `len` bytes at `ptr` to `offset` of `fd`.
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes, and `fd` open, for the whole
/// call.
pub(crate) unsafe fn write_at(
    fd: RawSource,
    ptr: *const u8,
    len: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::pwrite(fd, ptr.cast(), len, offset as libc::off_t) })
}

/// `preadv`: into the `count` buffers at `iovecs`, in order, from `offset`.
///
/// # Safety
/// `iovecs` must point at `count` iovecs, each naming memory valid for
/// writes, and `fd` be open, for the whole call.
pub(crate) unsafe fn read_vectored_at(
    fd: RawSource,
    iovecs: *const IoVec,
    count: usize,
    offset: u64,
) -> io::Result<usize> {
    let count = libc::c_int::try_from(count).unwrap_or(libc::c_int::MAX);
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::preadv(fd, iovecs, count, offset as libc::off_t) })
}

/// `pwritev`: the `count` buffers at `iovecs`, in order, to `offset`.
///
/// # Safety
/// `iovecs` must point at `count` iovecs, each naming memory valid for
/// reads, and `fd` be open, for the whole call.
pub(crate) unsafe fn write_vectored_at(
    fd: RawSource,
    iovecs: *const IoVec,
    count: usize,
    offset: u64,
) -> io::Result<usize> {
    let count = libc::c_int::try_from(count).unwrap_or(libc::c_int::MAX);
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::pwritev(fd, iovecs, count, offset as libc::off_t) })
}

/// Removes the file `path`, or the empty directory when `dir`.
///
/// # Safety
/// `path` must point at a live NUL-terminated string for the whole call.
pub(crate) unsafe fn remove(path: PathArg, dir: bool) -> io::Result<usize> {
    let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::unlinkat(libc::AT_FDCWD, path.get(), flags) } as isize)
}

/// Moves `from` to `to`, replacing `to` if it exists.
///
/// # Safety
/// Both must point at live NUL-terminated strings for the whole call.
pub(crate) unsafe fn rename(from: PathArg, to: PathArg) -> io::Result<usize> {
    let cwd = libc::AT_FDCWD;
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::renameat(cwd, from.get(), cwd, to.get()) } as isize)
}

/// Makes the directory `path`, with [`DIR_MODE`].
///
/// # Safety
/// `path` must point at a live NUL-terminated string for the whole call.
pub(crate) unsafe fn make_dir(path: PathArg) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    cvt(unsafe { libc::mkdirat(libc::AT_FDCWD, path.get(), DIR_MODE) } as isize)
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

/// Runs `ctl` on `fd` as a blocking syscall. `fallocate` and `fadvise` are
/// Linux calls: `Unsupported` elsewhere.
///
/// # Safety
/// `fd` must be open for the whole call.
pub(crate) unsafe fn ctl(fd: RawSource, ctl: Ctl) -> io::Result<usize> {
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

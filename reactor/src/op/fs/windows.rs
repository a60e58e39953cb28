//! Windows: a file is a handle, and each blocking call is std's own
//! (`FileExt::seek_read` for a positional read, `fs::remove_file` for an
//! unlink, ...) on the compat driver's pool, where every file op runs: there
//! is no io_uring, and a file handle is never polled. A call borrows the op's
//! handle as a std `File` that never closes it, and takes its own copy of the
//! paths it needs (std's calls take a `&Path`, not a pointer into the op).

use std::io;
use std::mem::ManuallyDrop;
use std::os::windows::fs::FileExt;
use std::os::windows::io::{BorrowedHandle, FromRawHandle, IntoRawHandle, RawHandle};
use std::path::{Path, PathBuf};

use crate::fd::SharedFd;
use crate::op::file_ctl::Ctl;
use crate::sys::{Owned, RawSource};

pub(crate) use std::os::windows::io::OwnedHandle as OwnedFile;

/// A path as an op holds it.
pub(crate) type OsPath = PathBuf;

/// A path as a blocking call takes it: its own copy.
pub(crate) type PathArg = PathBuf;

/// One buffer of a vectored read or write: where and how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IoVec {
    ptr: *mut u8,
    len: usize,
}

/// How to open a file: std's options (opened not inheritable, as std does).
pub(crate) type OpenHow = std::fs::OpenOptions;

/// `path` as an op holds it. Never fails: Windows paths need no conversion.
pub(crate) fn os_path(path: &Path) -> io::Result<OsPath> {
    Ok(path.to_owned())
}

pub(crate) fn path_arg(path: &OsPath) -> PathArg {
    path.clone()
}

pub(crate) fn io_vec(ptr: *mut u8, len: usize) -> IoVec {
    IoVec { ptr, len }
}

/// The open file `fd` as a std file that never closes it.
///
/// # Safety
/// `fd` must be an open file handle for as long as the result is used.
unsafe fn borrow(fd: RawSource) -> ManuallyDrop<std::fs::File> {
    // SAFETY: the caller's contract; `ManuallyDrop` never closes the handle,
    // which stays its `SharedFd`'s.
    ManuallyDrop::new(unsafe { std::fs::File::from_raw_handle(fd as RawHandle) })
}

/// A second handle to the open file `fd`, not inheritable.
pub(crate) fn duplicate(fd: &SharedFd) -> io::Result<OwnedFile> {
    // SAFETY: `fd` holds the handle open for this call.
    let handle = unsafe { BorrowedHandle::borrow_raw(fd.raw() as RawHandle) };
    handle.try_clone_to_owned()
}

/// A file's handle, given up by its `SharedFd`, as a std file.
pub(crate) fn into_std(owned: Owned) -> std::fs::File {
    match owned {
        Owned::File(handle) => std::fs::File::from(handle),
        Owned::Socket(_) => unreachable!("a fs::File's SharedFd is made from a file handle"),
    }
}

/// The number a completed open carries, as the handle it is.
///
/// # Safety
/// `raw` must be a handle just opened for the caller, owned by nothing else.
pub(crate) unsafe fn opened(raw: usize) -> OwnedFile {
    // SAFETY: the caller's contract.
    unsafe { OwnedFile::from_raw_handle(raw as RawHandle) }
}

/// Opens `path` with `how`; returns the new handle as a number.
///
/// # Safety
/// None: `unsafe` only to match the Unix call, which reads a pointer.
pub(crate) unsafe fn open(path: PathArg, how: OpenHow) -> io::Result<usize> {
    Ok(how.open(path)?.into_raw_handle() as usize)
}

/// Into `len` bytes at `ptr` from `offset` of `fd` (`ReadFile` at an offset;
/// `Ok(0)` at the end of the file).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes, and `fd` an open file
/// handle, for the whole call.
pub(crate) unsafe fn read_at(
    fd: RawSource,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract; the op's buffer is reached through
    // nothing else while the call runs.
    let (file, buf) = unsafe { (borrow(fd), std::slice::from_raw_parts_mut(ptr, len)) };
    file.seek_read(buf, offset)
}

/// `len` bytes at `ptr` to `offset` of `fd` (`WriteFile` at an offset).
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes, and `fd` an open file
/// handle, for the whole call.
pub(crate) unsafe fn write_at(
    fd: RawSource,
    ptr: *const u8,
    len: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    let (file, buf) = unsafe { (borrow(fd), std::slice::from_raw_parts(ptr, len)) };
    file.seek_write(buf, offset)
}

/// Into the `count` buffers at `iovecs`, in order, from `offset`: one
/// positional read per buffer (Windows has no `preadv` for buffered files),
/// stopping at a short one. An error after some bytes ends the read with
/// those bytes, as a short `preadv` would.
///
/// # Safety
/// `iovecs` must point at `count` iovecs, each naming memory valid for
/// writes, and `fd` be an open file handle, for the whole call.
pub(crate) unsafe fn read_vectored_at(
    fd: RawSource,
    iovecs: *const IoVec,
    count: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    let iovecs = unsafe { std::slice::from_raw_parts(iovecs, count) };
    each_at(iovecs, offset, |iovec, at| {
        // SAFETY: the caller's contract, for each iovec.
        unsafe { read_at(fd, iovec.ptr, iovec.len, at) }
    })
}

/// The `count` buffers at `iovecs`, in order, to `offset`: one positional
/// write per buffer, stopping at a short one, as [`read_vectored_at`].
///
/// # Safety
/// `iovecs` must point at `count` iovecs, each naming memory valid for
/// reads, and `fd` be an open file handle, for the whole call.
pub(crate) unsafe fn write_vectored_at(
    fd: RawSource,
    iovecs: *const IoVec,
    count: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    let iovecs = unsafe { std::slice::from_raw_parts(iovecs, count) };
    each_at(iovecs, offset, |iovec, at| {
        // SAFETY: the caller's contract, for each iovec.
        unsafe { write_at(fd, iovec.ptr, iovec.len, at) }
    })
}

/// Runs `call` on each buffer at its offset from `offset`, until one moves
/// fewer bytes than its length; the total moved, or the first error if it
/// came before any byte.
fn each_at(
    iovecs: &[IoVec],
    offset: u64,
    mut call: impl FnMut(&IoVec, u64) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut done = 0usize;
    for iovec in iovecs {
        match call(iovec, offset + done as u64) {
            Ok(n) => {
                done += n;
                if n < iovec.len {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Runs `ctl` on `fd`: `FlushFileBuffers` for both syncs, `SetEndOfFile`
/// for a new length. Windows has no `fallocate` or `fadvise` to match:
/// `Unsupported`, as on the other systems without them.
///
/// # Safety
/// `fd` must be an open file handle for the whole call.
pub(crate) unsafe fn ctl(fd: RawSource, ctl: Ctl) -> io::Result<usize> {
    // SAFETY: the caller's contract.
    let file = unsafe { borrow(fd) };
    match ctl {
        Ctl::Sync { data_only: false } => file.sync_all(),
        Ctl::Sync { data_only: true } => file.sync_data(),
        Ctl::SetLen { len } => file.set_len(len),
        Ctl::Allocate { .. } | Ctl::Advise { .. } => Err(io::ErrorKind::Unsupported.into()),
    }
    .map(|()| 0)
}

/// Removes the file `path`, or the empty directory when `dir`.
///
/// # Safety
/// None: `unsafe` only to match the Unix call, which reads a pointer.
pub(crate) unsafe fn remove(path: PathArg, dir: bool) -> io::Result<usize> {
    if dir {
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    }
    .map(|()| 0)
}

/// Moves `from` to `to`, replacing `to` if it exists (`MoveFileExW` with
/// `MOVEFILE_REPLACE_EXISTING`, as std does).
///
/// # Safety
/// None: `unsafe` only to match the Unix call, which reads pointers.
pub(crate) unsafe fn rename(from: PathArg, to: PathArg) -> io::Result<usize> {
    std::fs::rename(from, to).map(|()| 0)
}

/// Makes the directory `path`.
///
/// # Safety
/// None: `unsafe` only to match the Unix call, which reads a pointer.
pub(crate) unsafe fn make_dir(path: PathArg) -> io::Result<usize> {
    std::fs::create_dir(path).map(|()| 0)
}
